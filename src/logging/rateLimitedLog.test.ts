import { capturingLogger } from '../../test/harness/logCapture.js';
import { RateLimitedLog } from './rateLimitedLog.js';

interface Line { msg: string; key?: string; suppressed?: number; topKeys?: Record<string, number> }

function setup(options: { perKey?: number; total?: number; maxKeys?: number } = {}): { log: RateLimitedLog; lines: () => Line[]; clock: { now: number } } {
  const { logger, lines } = capturingLogger();
  const clock = { now: 0 };
  const log = new RateLimitedLog(logger, 'request rejected', { windowMs: 60_000, now: () => clock.now, ...options });
  return { log, clock, lines: () => lines().map((l) => JSON.parse(l) as Line) };
}

describe('RateLimitedLog', () => {
  it('a flood of 100,000 events writes a bounded number of lines and says how many it suppressed', () => {
    const { log, lines, clock } = setup({ perKey: 5, total: 50 });
    for (let i = 0; i < 100_000; i++) log.warn(`BAD_SIGNATURE|0x${(i % 3).toString(16)}`, { key: String(i % 3) });
    expect(lines()).toHaveLength(15);
    clock.now = 60_000;
    log.warn('BAD_SIGNATURE|0x0', { key: '0' });
    const written = lines();
    expect(written).toHaveLength(17);
    const summary = written[15];
    expect(summary?.msg).toBe('request rejected: suppressed 99985 similar lines');
    expect(summary?.suppressed).toBe(99_985);
    expect(summary?.topKeys).toEqual({ 'BAD_SIGNATURE|0x0': 33_329, 'BAD_SIGNATURE|0x1': 33_328, 'BAD_SIGNATURE|0x2': 33_328 });
    expect(written[16]?.msg).toBe('request rejected');
  });

  it('caps the lines of a window across keys, and the keys it tracks (a sender can invent keys)', () => {
    const { log, lines } = setup({ perKey: 5, total: 50, maxKeys: 100 });
    for (let i = 0; i < 1_000_000; i++) log.warn(`UNKNOWN_SENDER|${i}`, {});
    expect(lines()).toHaveLength(50);
    log.flush();
    const summary = lines()[50];
    expect(summary?.suppressed).toBe(1_000_000 - 50);
    expect(Object.keys(summary?.topKeys ?? {}).length).toBeLessThanOrEqual(10);
    // 50 written, the next 100 keys counted by name, everything after as "other".
    expect(summary?.topKeys?.other).toBe(1_000_000 - 150);
  });

  it('writes every line while under budget, and no summary when nothing was suppressed', () => {
    const { log, lines } = setup();
    log.warn('a', { n: 1 });
    log.warn('b', { n: 2 });
    log.flush();
    expect(lines().map((l) => l.msg)).toEqual(['request rejected', 'request rejected']);
  });

  it('reports the last window of a flood by timer, even if nothing follows it', async () => {
    const { logger, lines } = capturingLogger();
    const log = new RateLimitedLog(logger, 'request rejected', { perKey: 1, windowMs: 30 });
    for (let i = 0; i < 10; i++) log.warn('k', {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lines().map((l) => (JSON.parse(l) as Line).msg)).toEqual(['request rejected', 'request rejected: suppressed 9 similar lines']);
  });
});
