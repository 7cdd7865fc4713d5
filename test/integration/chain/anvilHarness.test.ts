import { jest } from '@jest/globals';
import { getAddress } from 'viem';
import { ANVIL_CHAIN_ID, devAccounts, startAnvil, startRpcProxy, type AnvilHandle } from '../../harness/anvil.js';

jest.setTimeout(60_000);

describe('anvil harness', () => {
  let anvil: AnvilHandle;
  beforeAll(async () => {
    anvil = await startAnvil({ genesisTimestamp: 1_700_000_000 });
  });
  afterAll(async () => {
    await anvil.stop();
  });

  test('default: loopback, chain 31337, the derived dev accounts are the funded ones', async () => {
    expect(anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await anvil.publicClient.getChainId()).toBe(ANVIL_CHAIN_ID);
    const response = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] }),
    });
    const { result: accounts } = (await response.json()) as { result: `0x${string}`[] };
    expect(accounts.map((a) => getAddress(a))).toEqual(devAccounts.map((a) => a.address));
    // The first account of anvil's mnemonic is the widely published dev address.
    expect(devAccounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(await anvil.publicClient.getBalance({ address: devAccounts[9]!.address })).toBeGreaterThan(0n);
  });

  test('behavior: mine(n, interval) advances the head by n with spaced timestamps', async () => {
    const before = await anvil.blockNumber();
    const head = await anvil.mine(3, 12);
    expect(head).toBe(before + 3n);
    const [a, b] = await Promise.all([
      anvil.publicClient.getBlock({ blockNumber: head - 1n }),
      anvil.publicClient.getBlock({ blockNumber: head }),
    ]);
    expect(b.timestamp - a.timestamp).toBe(12n);
  });

  test('behavior: the proxy forwards, resets connections while down, and forwards again', async () => {
    const proxy = await startRpcProxy(anvil);
    try {
      const call = (): Promise<Response> =>
        fetch(proxy.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        });
      expect(await (await call()).json()).toMatchObject({ result: '0x7a69' });
      proxy.setDown(true);
      await expect(call()).rejects.toThrow();
      proxy.setDown(false);
      expect(await (await call()).json()).toMatchObject({ result: '0x7a69' });
    } finally {
      await proxy.close();
    }
  });

  test('args: blockTime mines on its own; automine false waits for mine()', async () => {
    const timed = await startAnvil({ blockTime: 1 });
    try {
      const deadline = Date.now() + 20_000;
      while ((await timed.blockNumber()) < 2n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await timed.blockNumber()).toBeGreaterThanOrEqual(2n);
    } finally {
      await timed.stop();
    }
    const manual = await startAnvil({ automine: false });
    try {
      const hash = await manual.wallet(0).sendTransaction({ to: devAccounts[1]!.address, value: 1n });
      expect(await manual.blockNumber()).toBe(0n);
      expect(await manual.mine(1)).toBe(1n);
      expect((await manual.publicClient.getTransactionReceipt({ hash })).blockNumber).toBe(1n);
    } finally {
      await manual.stop();
    }
  });

  test('behavior: stop() ends the process', async () => {
    const other = await startAnvil();
    await other.stop();
    expect(() => process.kill(other.pid, 0)).toThrow();
    await other.stop();
  });
});
