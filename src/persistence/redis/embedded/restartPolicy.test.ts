import { DEFAULT_RETRY_MAX_DELAY_MS, RestartPolicy } from './restartPolicy.js';

function policy(overrides: { maxRestarts?: number; windowMs?: number; maxDelayMs?: number } = {}): { policy: RestartPolicy; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return {
    clock,
    policy: new RestartPolicy({ maxRestarts: 5, windowMs: 60_000, maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS, now: () => clock.now, ...overrides }),
  };
}

describe('RestartPolicy: when the embedded redis-server supervisor tries again', () => {
  it('backs off 100 ms, 200 ms, … and never waits longer than 30 s, however long the failures last', () => {
    const { policy: p } = policy();
    const delays = Array.from({ length: 40 }, () => p.failed().delayMs);
    expect(delays.slice(0, 10)).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000]);
    expect(Math.max(...delays)).toBe(30_000);
    expect(delays.slice(9).every((d) => d === 30_000)).toBe(true);
  });

  it('reports giving up after maxRestarts failures in a row, and keeps answering with a delay', () => {
    const { policy: p } = policy({ maxRestarts: 2 });
    expect([p.failed(), p.failed(), p.failed(), p.failed()].map((a) => [a.failures, a.gaveUp])).toEqual([[1, false], [2, false], [3, true], [4, true]]);
  });

  it('a server that flaps (starts, then dies at once) does not reset the count; one that stays up a whole window does', () => {
    const { policy: p, clock } = policy({ maxRestarts: 2, windowMs: 60_000 });
    for (let i = 0; i < 4; i++) {
      p.failed();
      clock.now += 1_000;
      p.started();
      clock.now += 1_000;
    }
    expect(p.failed()).toMatchObject({ failures: 5, gaveUp: true, delayMs: 1_600 });
    p.started();
    clock.now += 60_000;
    expect(p.failed()).toEqual({ failures: 1, gaveUp: false, delayMs: 100 });
  });

  it('a hopeless failure (damaged AOF, missing binary) spends the quick budget at once and retries slowly', () => {
    const { policy: p } = policy({ maxRestarts: 5 });
    expect(p.failed({ hopeless: true })).toEqual({ failures: 6, gaveUp: true, delayMs: 3_200 });
    expect(p.failed({ hopeless: true })).toEqual({ failures: 7, gaveUp: true, delayMs: 6_400 });
  });

  it('a test-sized cap is honoured from the first delay on', () => {
    const { policy: p } = policy({ maxDelayMs: 50 });
    expect([p.failed().delayMs, p.failed().delayMs]).toEqual([50, 50]);
  });
});
