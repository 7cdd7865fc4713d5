import { Writable } from 'node:stream';
import type { Hash } from 'viem';
import { createLogger } from '../logging/logger.js';
import { BlockSource, describeRpcError, type BlockReader, type BoundaryEvent } from './blockSource.js';
import { ChainConfigError } from './errors.js';

/** A chain whose head the test moves; block n has timestamp 1_700_000_000 + 12n. */
class FakeChain {
  head = 0n;
  failing: Error | null = null;
  blockReads: bigint[] = [];

  readonly client = {
    getBlockNumber: (): Promise<bigint> => (this.failing === null ? Promise.resolve(this.head) : Promise.reject(this.failing)),
    getBlock: ({ blockNumber }: { blockNumber: bigint }): Promise<{ timestamp: bigint; hash: Hash }> => {
      if (this.failing !== null) return Promise.reject(this.failing);
      this.blockReads.push(blockNumber);
      return Promise.resolve({ timestamp: timestampOf(blockNumber), hash: `0x${blockNumber.toString(16).padStart(64, '0')}` });
    },
  } as unknown as BlockReader;
}

const timestampOf = (n: bigint): bigint => 1_700_000_000n + 12n * n;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function rpcDown(): Error {
  return Object.assign(new Error('HTTP request failed.\n\nURL: http://user:secret@rpc.example/key123'), {
    shortMessage: 'HTTP request failed.',
  });
}

describe('BlockSource', () => {
  test('default: emits the boundary with the boundary block timestamp, not the head', async () => {
    const chain = new FakeChain();
    const events: BoundaryEvent[] = [];
    const source = new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, onBoundary: (e) => { events.push(e); } });
    chain.head = 13n;
    const result = await source.pollOnce();
    expect(result).toEqual({
      ok: true,
      event: { blockNumber: 10n, blockTimestamp: 1_700_000_120, blockHash: `0x${'a'.padStart(64, '0')}`, skippedBoundaries: 0n },
    });
    expect(chain.blockReads).toEqual([10n]);
    // Not started: the event waits and is delivered by start().
    expect(events).toEqual([]);
    source.start();
    await waitFor(() => events.length === 1, 'delivery');
    await source.stop();
    expect(events[0]!.blockNumber).toBe(10n);
    expect(source.health()).toMatchObject({ running: false, lastHead: 13n, lastBoundary: 10n, consecutiveFailures: 0 });
  });

  test('behavior: each boundary is emitted once; heads between boundaries emit nothing', async () => {
    const chain = new FakeChain();
    const source = new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, onBoundary: () => undefined });
    const emitted: bigint[] = [];
    for (const head of [5n, 10n, 11n, 19n, 20n, 20n, 29n, 30n]) {
      chain.head = head;
      const result = await source.pollOnce();
      if (result.ok && result.event !== null) emitted.push(result.event.blockNumber);
    }
    expect(emitted).toEqual([10n, 20n, 30n]);
  });

  test('behavior: resuming after downtime emits only the latest boundary', async () => {
    const chain = new FakeChain();
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, lastProcessedBoundary: 20n, onBoundary: () => undefined,
    });
    chain.head = 55n;
    const result = await source.pollOnce();
    expect(result.ok && result.event).toMatchObject({ blockNumber: 50n, skippedBoundaries: 2n, blockTimestamp: 1_700_000_600 });
    expect(chain.blockReads).toEqual([50n]);
  });

  test('args: maxLagBlocks waits for the next boundary instead of acting on a stale one', async () => {
    const chain = new FakeChain();
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, maxLagBlocks: 3, onBoundary: () => undefined,
    });
    chain.head = 17n;
    expect(await source.pollOnce()).toEqual({ ok: true, event: null });
    chain.head = 21n;
    const result = await source.pollOnce();
    expect(result.ok && result.event?.blockNumber).toBe(20n);
    expect(chain.blockReads).toEqual([20n]);
  });

  test('behavior: a head going backwards is ignored', async () => {
    const chain = new FakeChain();
    const source = new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, onBoundary: () => undefined });
    chain.head = 25n;
    await source.pollOnce();
    chain.head = 19n;
    expect(await source.pollOnce()).toEqual({ ok: true, event: null });
    expect(source.health()).toMatchObject({ lastHead: 25n, lastBoundary: 20n });
  });

  test('behavior: a head stuck below the highest seen warns once per episode', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
    const chain = new FakeChain();
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, onBoundary: () => undefined,
      logger: createLogger({ level: 'warn', destination }),
    });
    for (const head of [30n, 5n, 6n, 7n, 31n, 4n]) {
      chain.head = head;
      await source.pollOnce();
    }
    expect(lines.filter((l) => l.includes('chain head went backwards')).length).toBe(2);
  });

  test('behavior: while the handler runs, newer boundaries replace the waiting one (latest wins)', async () => {
    const chain = new FakeChain();
    const seen: bigint[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => { release = resolve; });
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1,
      onBoundary: async (event) => {
        seen.push(event.blockNumber);
        if (event.blockNumber === 10n) await blocked;
      },
    });
    chain.head = 10n;
    source.start();
    await waitFor(() => seen.length === 1, 'first boundary');
    for (const head of [20n, 30n, 47n]) {
      chain.head = head;
      await waitFor(() => source.health().lastHead === head, `head ${head}`);
    }
    expect(source.health().handlerBusy).toBe(true);
    release();
    await waitFor(() => !source.health().handlerBusy, 'handler idle');
    await source.stop();
    expect(seen).toEqual([10n, 40n]);
  });

  test('behavior: stop() aborts the running handler signal and waits for it', async () => {
    const chain = new FakeChain();
    let observedAbort = false;
    let finished = false;
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1,
      onBoundary: async (_event, signal) => {
        await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve(); }, { once: true }); });
        observedAbort = signal.aborted;
        finished = true;
      },
    });
    chain.head = 10n;
    source.start();
    await waitFor(() => source.health().handlerBusy, 'handler start');
    await source.stop();
    expect(observedAbort).toBe(true);
    expect(finished).toBe(true);
    expect(source.health()).toMatchObject({ running: false, handlerBusy: false });
  });

  test('behavior: a failing handler does not stop the source', async () => {
    const chain = new FakeChain();
    const seen: bigint[] = [];
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 1,
      onBoundary: (event) => {
        seen.push(event.blockNumber);
        throw new Error('protocol failed');
      },
    });
    chain.head = 10n;
    source.start();
    await waitFor(() => seen.length === 1, 'first');
    chain.head = 20n;
    await waitFor(() => seen.length === 2, 'second');
    await source.stop();
    expect(seen).toEqual([10n, 20n]);
  });

  test('error: RPC failures are surfaced in health, retried with capped exponential backoff, and recover', async () => {
    const chain = new FakeChain();
    chain.failing = rpcDown();
    const delays: number[] = [];
    let now = 1000;
    const source = new BlockSource({
      client: chain.client, boundaryInterval: 10, pollIntervalMs: 50, backoff: { initialMs: 100, maxMs: 500 },
      now: () => now,
      onBoundary: () => undefined,
      sleep: (ms, signal) => {
        delays.push(ms);
        now += ms;
        if (delays.length === 5) chain.failing = null;
        if (delays.length < 7) return Promise.resolve();
        return new Promise((resolve) => { signal.addEventListener('abort', () => { resolve(); }, { once: true }); });
      },
    });
    chain.head = 10n;
    source.start();
    await waitFor(() => delays.length === 7, 'seven polls');
    const health = source.health();
    await source.stop();
    expect(delays).toEqual([100, 200, 400, 500, 500, 50, 50]);
    expect(health.consecutiveFailures).toBe(0);
    expect(health.lastBoundary).toBe(10n);
    expect(health.lastHeadAt).toBe(1000 + 100 + 200 + 400 + 500 + 500 + 50);
    expect(health.lastError).toEqual({ code: 'CHAIN_RPC_FAILED', reason: 'eth_blockNumber: HTTP request failed.', at: 1000 + 100 + 200 + 400 + 500 });
  });

  test('error: a failed boundary block read is retried, not lost', async () => {
    const chain = new FakeChain();
    const source = new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, onBoundary: () => undefined });
    chain.head = 10n;
    const getBlock = chain.client.getBlock;
    (chain.client as { getBlock: unknown }).getBlock = () => Promise.reject(rpcDown());
    const failed = await source.pollOnce();
    expect(failed.ok).toBe(false);
    expect(source.health()).toMatchObject({ lastBoundary: 0n, consecutiveFailures: 1 });
    (chain.client as { getBlock: unknown }).getBlock = getBlock;
    const retried = await source.pollOnce();
    expect(retried.ok && retried.event?.blockNumber).toBe(10n);
  });

  test('error: invalid configuration', () => {
    const chain = new FakeChain();
    expect(() => new BlockSource({ client: chain.client, boundaryInterval: 0, pollIntervalMs: 1, onBoundary: () => undefined }))
      .toThrow(ChainConfigError);
    expect(() => new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: -1, onBoundary: () => undefined }))
      .toThrow('chain config "pollIntervalMs" is -1, expected positive integer');
    expect(() => new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, confirmations: 1.5, onBoundary: () => undefined }))
      .toThrow('chain config "confirmations" is 1.5');
    expect(() => new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, maxLagBlocks: -2, onBoundary: () => undefined }))
      .toThrow('chain config "maxLagBlocks" is -2');
    expect(() => new BlockSource({ client: chain.client, boundaryInterval: 10, pollIntervalMs: 1, lastProcessedBoundary: -1n, onBoundary: () => undefined }))
      .toThrow('chain config "lastProcessedBoundary" is -1');
  });

  test('describeRpcError leaves the URL out', () => {
    expect(describeRpcError(rpcDown())).toBe('HTTP request failed.');
    expect(describeRpcError(new TypeError('x http://secret'))).toBe('TypeError');
    expect(describeRpcError('boom')).toBe('unknown error');
  });
});
