import { CHAIN_IDS, chainDefaults, isKnownChain } from './chainDefaults.js';

describe('chainDefaults', () => {
  test('default: the per-chain table', () => {
    expect(chainDefaults(CHAIN_IDS.mainnet)).toEqual({
      chainId: 1, boundaryInterval: 50, pollIntervalMs: 6000, protocolTimeoutMs: 480_000, confirmations: 2,
    });
    expect(chainDefaults(CHAIN_IDS.sepolia)).toEqual({
      chainId: 11_155_111, boundaryInterval: 10, pollIntervalMs: 6000, protocolTimeoutMs: 90_000, confirmations: 2,
    });
    expect(chainDefaults(CHAIN_IDS.anvil)).toEqual({
      chainId: 31_337, boundaryInterval: 10, pollIntervalMs: 1000, protocolTimeoutMs: 30_000, confirmations: 0,
    });
  });

  test('behavior: unknown chains fall back to interval 50 and the mainnet timeout', () => {
    expect(chainDefaults(8453)).toEqual({
      chainId: 8453, boundaryInterval: 50, pollIntervalMs: 6000, protocolTimeoutMs: 480_000, confirmations: 2,
    });
    expect(isKnownChain(8453)).toBe(false);
    expect(isKnownChain(31_337)).toBe(true);
  });

  test('behavior: on 12 s-block chains a session times out before the next boundary', () => {
    for (const id of [CHAIN_IDS.mainnet, CHAIN_IDS.sepolia, 8453]) {
      const d = chainDefaults(id);
      expect(d.protocolTimeoutMs).toBeLessThan(d.boundaryInterval * 12_000);
    }
  });
});
