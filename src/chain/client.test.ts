import type { PublicClient } from 'viem';
import { assertChainId, chainFor, createChainClient, redactRpcUrl } from './client.js';
import { ChainConfigError, ChainIdMismatchError, ChainRpcError } from './errors.js';

const fakeChainId = (result: () => Promise<number>): Pick<PublicClient, 'getChainId'> => ({ getChainId: result });

describe('chainFor', () => {
  test('default: known chains keep their names and read through the given URL', () => {
    expect(chainFor(1).name).toBe('Ethereum');
    expect(chainFor(11_155_111).name).toBe('Sepolia');
    expect(chainFor(31_337, 'http://127.0.0.1:1234')).toMatchObject({ id: 31_337, name: 'Anvil', rpcUrls: { default: { http: ['http://127.0.0.1:1234'] } } });
  });

  test('behavior: unknown chains get a minimal definition on the given URL', () => {
    const chain = chainFor(424_242, 'http://127.0.0.1:9999');
    expect(chain).toMatchObject({ id: 424_242, name: 'chain-424242', rpcUrls: { default: { http: ['http://127.0.0.1:9999'] } } });
  });
});

describe('createChainClient', () => {
  test('default: binds the chain and caches nothing', () => {
    const client = createChainClient({ rpcUrl: 'http://127.0.0.1:8545', chainId: 31_337 });
    expect(client.chain?.id).toBe(31_337);
    expect(client.cacheTime).toBe(0);
  });

  test('error: chain id must be a positive integer', () => {
    expect(() => createChainClient({ rpcUrl: 'http://127.0.0.1:8545', chainId: 0 })).toThrow(ChainConfigError);
  });
});

describe('assertChainId', () => {
  test('default: passes when the endpoint serves the configured chain', async () => {
    await expect(assertChainId(fakeChainId(() => Promise.resolve(31_337)), 31_337)).resolves.toBeUndefined();
  });

  test('error: another chain', async () => {
    const error = await assertChainId(fakeChainId(() => Promise.resolve(1)), 31_337).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainIdMismatchError);
    expect((error as ChainIdMismatchError).message).toBe(
      'the RPC endpoint serves chain id 1, but chain id 31337 is configured. ' +
        'Fix: point the RPC URL at the configured chain, or configure the chain id the endpoint serves',
    );
  });

  test('error: endpoint unreachable', async () => {
    const error = await assertChainId(fakeChainId(() => Promise.reject(new Error('ECONNREFUSED'))), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainRpcError);
    expect((error as ChainRpcError).code).toBe('CHAIN_RPC_FAILED');
  });
});

describe('redactRpcUrl', () => {
  test.each([
    ['https://user:pass@eth.example.com/v3/abcdef?key=1', 'https://eth.example.com/…'],
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
    ['http://127.0.0.1:8545/', 'http://127.0.0.1:8545'],
    ['not a url', '(unparseable URL)'],
  ])('%s', (input, expected) => {
    expect(redactRpcUrl(input)).toBe(expected);
  });
});
