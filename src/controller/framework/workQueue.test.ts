import { ManualTimers } from '../../../test/gen/manualTimers.js';
import { WorkQueue } from './workQueue.js';

describe('WorkQueue', () => {
  test('dedupe: a key added twice before it is taken is handed out once', async () => {
    const q = new WorkQueue({ timers: new ManualTimers() });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  test('one in flight: a key added while processing is not handed out until done, then once', async () => {
    const q = new WorkQueue({ timers: new ManualTimers() });
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | null | undefined;
    void q.get().then((k) => { second = k; });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
    expect(q.isProcessing('a')).toBe(true);
    q.done('a');
    expect(q.len()).toBe(0);
  });

  test('a waiting worker receives a key as soon as it is added', async () => {
    const q = new WorkQueue({ timers: new ManualTimers() });
    const pending = q.get();
    q.add('x');
    await expect(pending).resolves.toBe('x');
  });

  test('backoff: 1 s doubling per failure up to 5 min, reset by forget', () => {
    const timers = new ManualTimers();
    const q = new WorkQueue({ timers });
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) delays.push(q.addRateLimited('k'));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]);
    expect(q.numRequeues('k')).toBe(12);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    expect(q.addRateLimited('k')).toBe(1_000);
  });

  test('a rate-limited key is added only when its delay has passed', async () => {
    const timers = new ManualTimers();
    const q = new WorkQueue({ timers });
    q.addRateLimited('k');
    q.addRateLimited('k');
    expect(q.len()).toBe(0);
    // The earlier of two pending delays wins: 1 s, not 2 s.
    timers.advance(999);
    expect(q.len()).toBe(0);
    timers.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('k');
  });

  test('addAfter keeps the earliest pending time and a later add does not postpone it', () => {
    const timers = new ManualTimers();
    const q = new WorkQueue({ timers });
    q.addAfter('k', 5_000);
    q.addAfter('k', 10_000);
    expect(timers.pendingDelays()).toEqual([5_000]);
    q.addAfter('k', 2_000);
    expect(timers.pendingDelays()).toEqual([2_000]);
    timers.advance(2_000);
    expect(q.len()).toBe(1);
  });

  test('shutDown releases idle workers with null and drops delayed keys', async () => {
    const timers = new ManualTimers();
    const q = new WorkQueue({ timers });
    const idle = q.get();
    q.addAfter('k', 1_000);
    q.shutDown();
    await expect(idle).resolves.toBeNull();
    expect(timers.pendingDelays()).toEqual([]);
    q.add('z');
    await expect(q.get()).resolves.toBeNull();
  });
});
