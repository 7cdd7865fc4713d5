import { jest } from '@jest/globals';
import { BlockSource, type BoundaryEvent } from '../../../src/chain/blockSource.js';
import { createChainClient } from '../../../src/chain/client.js';
import { startAnvil, startRpcProxy, type AnvilHandle, type RpcProxyHandle } from '../../harness/anvil.js';

jest.setTimeout(90_000);

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the source has seen `head` and then polled once more, so nothing is still in flight. */
async function settled(source: BlockSource, head: bigint): Promise<void> {
  await waitFor(() => source.health().lastHead === head, `head ${head}`);
  const seenAt = source.health().lastHeadAt;
  await waitFor(() => source.health().lastHeadAt !== seenAt && !source.health().handlerBusy, 'one more poll');
}

describe('BlockSource against anvil', () => {
  let anvil: AnvilHandle;
  beforeAll(async () => {
    anvil = await startAnvil({ genesisTimestamp: 1_750_000_000 });
  });
  afterAll(async () => {
    await anvil.stop();
  });

  test('behavior: boundaries at multiples of the interval carry the boundary block timestamp; downtime emits only the latest', async () => {
    const client = createChainClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, timeoutMs: 2_000, retryCount: 0 });
    const events: BoundaryEvent[] = [];
    const source = new BlockSource({
      client, boundaryInterval: 10, pollIntervalMs: 20, onBoundary: (event) => { events.push(event); },
    });
    const start = await anvil.blockNumber();
    expect(start).toBe(0n);
    source.start();
    // Advance 3 blocks at a time, so most boundaries are first seen from a later head.
    let head = start;
    while (head < 33n) {
      head = await anvil.mine(3, 12);
      await settled(source, head);
    }
    expect(events.map((e) => e.blockNumber)).toEqual([10n, 20n, 30n]);
    for (const event of events) {
      const block = await anvil.publicClient.getBlock({ blockNumber: event.blockNumber });
      expect(event.blockTimestamp).toBe(Number(block.timestamp));
      expect(event.blockHash).toBe(block.hash);
      expect(event.skippedBoundaries).toBe(0n);
    }
    // 20 was first seen at head 21, whose timestamp is 12 s later: the event has block 20's.
    const head21 = await anvil.publicClient.getBlock({ blockNumber: 21n });
    expect(events[1]!.blockTimestamp).toBe(Number(head21.timestamp) - 12);

    // Downtime: stop polling, 35 blocks pass, resume.
    await source.stop();
    head = await anvil.mine(35, 12);
    expect(head).toBe(68n);
    events.length = 0;
    source.start();
    await settled(source, head);
    await source.stop();
    const block60 = await anvil.publicClient.getBlock({ blockNumber: 60n });
    expect(events).toEqual([{ blockNumber: 60n, blockTimestamp: Number(block60.timestamp), blockHash: block60.hash, skippedBoundaries: 2n }]);

    // A fresh source resuming from a persisted boundary behaves the same.
    const restarted = new BlockSource({
      client, boundaryInterval: 10, pollIntervalMs: 20, lastProcessedBoundary: 30n, onBoundary: () => undefined,
    });
    const first = await restarted.pollOnce();
    expect(first.ok && first.event).toMatchObject({ blockNumber: 60n, skippedBoundaries: 2n });
    expect(await restarted.pollOnce()).toEqual({ ok: true, event: null });
  });

  describe('RPC outage', () => {
    let proxy: RpcProxyHandle;
    beforeAll(async () => {
      proxy = await startRpcProxy(anvil);
    });
    afterAll(async () => {
      await proxy.close();
    });

    test('error: surfaced in health while down; the source recovers and emits the boundary it missed', async () => {
      const client = createChainClient({ rpcUrl: proxy.url, chainId: anvil.chainId, timeoutMs: 1_000, retryCount: 0 });
      const events: BoundaryEvent[] = [];
      const head = await anvil.blockNumber();
      const nextBoundary = head - (head % 10n) + 10n;
      const source = new BlockSource({
        client, boundaryInterval: 10, pollIntervalMs: 20, lastProcessedBoundary: head - (head % 10n),
        backoff: { initialMs: 20, maxMs: 200 },
        onBoundary: (event) => { events.push(event); },
      });
      source.start();
      try {
        await settled(source, head);
        proxy.setDown(true);
        await waitFor(() => source.health().consecutiveFailures >= 3, 'three failed polls');
        const down = source.health();
        expect(down.running).toBe(true);
        expect(down.lastError).toMatchObject({ code: 'CHAIN_RPC_FAILED', reason: expect.stringMatching(/^eth_blockNumber: /) as unknown });
        expect(down.lastError?.reason).not.toContain(proxy.url);

        const after = await anvil.mine(Number(nextBoundary - head) + 1, 12);
        expect(events).toEqual([]);
        proxy.setDown(false);
        await settled(source, after);
        const healthy = source.health();
        expect(healthy.consecutiveFailures).toBe(0);
        expect(healthy.lastHeadAt).toBeGreaterThan(down.lastError!.at);
        expect(events.map((e) => e.blockNumber)).toEqual([nextBoundary]);
      } finally {
        await source.stop();
      }
    });
  });
});
