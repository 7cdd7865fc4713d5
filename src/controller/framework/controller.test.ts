import { silentLogger } from '../../logging/logger.js';
import { ManualTimers } from '../../../test/gen/manualTimers.js';
import { Controller, type KeySource, type ProcessResult, type SourceHandlers } from './controller.js';

/** A source the test drives by hand. */
class FakeSource implements KeySource {
  handlers: SourceHandlers | null = null;
  starts = 0;
  stops = 0;
  held: string[] = [];
  failNextStart = false;

  start(handlers: SourceHandlers): Promise<void> {
    this.starts++;
    this.handlers = handlers;
    if (this.failNextStart) {
      this.failNextStart = false;
      return Promise.reject(new Error('list failed: connection refused'));
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stops++;
    return Promise.resolve();
  }

  keys(): readonly string[] {
    return this.held;
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('Controller', () => {
  function setup(process: (key: string) => Promise<ProcessResult | undefined>) {
    const timers = new ManualTimers();
    const source = new FakeSource();
    const calls: string[] = [];
    const controller = new Controller({
      name: 'test',
      source,
      reconciler: { processItem: async (key) => { calls.push(key); return process(key); } },
      logger: silentLogger(),
      timers,
      resyncPeriodMs: 30_000,
    });
    controller.run();
    return { timers, source, calls, controller };
  }

  test('keys from the source are processed; a failure comes back after 1 s, then 2 s', async () => {
    let failures = 2;
    const { timers, source, calls, controller } = setup(() => {
      if (failures-- > 0) return Promise.reject(new Error('boom'));
      return Promise.resolve(undefined);
    });
    source.handlers!.enqueue('ns/a');
    await flush();
    expect(calls).toEqual(['ns/a']);
    timers.advance(999);
    await flush();
    expect(calls).toHaveLength(1);
    timers.advance(1);
    await flush();
    expect(calls).toHaveLength(2);
    timers.advance(1_999);
    await flush();
    expect(calls).toHaveLength(2);
    timers.advance(1);
    await flush();
    expect(calls).toHaveLength(3);
    // Success forgets the failures: no further retry is pending except the resync.
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    await controller.stop();
  });

  test('requeueAfterMs asks for an explicit revisit', async () => {
    const { timers, source, calls, controller } = setup(() => Promise.resolve({ requeueAfterMs: 5_000 }));
    source.handlers!.enqueue('ns/a');
    await flush();
    timers.advance(5_000);
    await flush();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    await controller.stop();
  });

  test('resync re-queues every key the source holds each period', async () => {
    const { timers, source, calls, controller } = setup(() => Promise.resolve(undefined));
    source.held = ['ns/a', 'ns/b'];
    timers.advance(30_000);
    await flush();
    expect(calls.sort()).toEqual(['ns/a', 'ns/b']);
    timers.advance(30_000);
    await flush();
    expect(calls).toHaveLength(4);
    await controller.stop();
  });

  test('a source that fails is restarted with backoff, and a connect resets the backoff', async () => {
    const { timers, source, controller } = setup(() => Promise.resolve(undefined));
    expect(source.starts).toBe(1);
    source.handlers!.onError(new Error('watch closed: 500'));
    timers.advance(999);
    await flush();
    expect(source.starts).toBe(1);
    timers.advance(1);
    await flush();
    expect(source.starts).toBe(2);
    source.failNextStart = true;
    source.handlers!.onError(new Error('again'));
    timers.advance(2_000);
    await flush();
    expect(source.starts).toBe(3);
    // The start itself rejected: the next restart waits 4 s.
    timers.advance(3_999);
    await flush();
    expect(source.starts).toBe(3);
    timers.advance(1);
    await flush();
    expect(source.starts).toBe(4);
    source.handlers!.onConnect();
    source.handlers!.onError(new Error('later'));
    timers.advance(1_000);
    await flush();
    expect(source.starts).toBe(5);
    await controller.stop();
  });

  test('enqueueKnown queues a key the source holds, at once; a burst during a pass makes one more pass', async () => {
    const releases: (() => void)[] = [];
    const { source, calls, controller } = setup(() => new Promise((resolve) => { releases.push(() => { resolve(undefined); }); }));
    source.held = ['ns/a'];
    expect(controller.enqueueKnown('ns/a')).toBe(true);
    await flush();
    expect(calls).toEqual(['ns/a']);
    // Three triggers while the pass runs: the key is in flight, so it is queued once.
    for (let i = 0; i < 3; i++) controller.enqueueKnown('ns/a');
    releases.shift()!();
    await flush();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    releases.shift()!();
    await flush();
    expect(calls).toHaveLength(2);
    await controller.stop();
  });

  test('enqueueKnown ignores a key the source does not hold (never read as a deletion) and any key after stop', async () => {
    const { source, calls, controller } = setup(() => Promise.resolve(undefined));
    expect(controller.enqueueKnown('ns/a')).toBe(false);
    await flush();
    expect(calls).toEqual([]);
    source.held = ['ns/a'];
    await controller.stop();
    expect(controller.enqueueKnown('ns/a')).toBe(false);
    expect(calls).toEqual([]);
  });

  test('stop waits for the item in flight and ends the workers', async () => {
    let release: (() => void) | null = null;
    const { source, controller } = setup(() => new Promise((resolve) => { release = () => { resolve(undefined); }; }));
    source.handlers!.enqueue('ns/a');
    await flush();
    let stopped = false;
    const stopping = controller.stop().then(() => { stopped = true; });
    await flush();
    expect(stopped).toBe(false);
    release!();
    await stopping;
    expect(stopped).toBe(true);
    expect(source.stops).toBeGreaterThanOrEqual(1);
  });
});
