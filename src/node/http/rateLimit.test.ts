import fc from 'fast-check';
import { ClientRateLimiter, ConcurrencyGate, clientKey } from './rateLimit.js';

describe('ClientRateLimiter (token bucket per client)', () => {
  it('gives a burst, then one request per 1/rate seconds, with a truthful Retry-After', () => {
    let now = 1_000_000;
    const limiter = new ClientRateLimiter({ ratePerSecond: 50, burst: 100, clock: () => now });
    for (let i = 0; i < 100; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Another client has its own bucket.
    expect(limiter.take('b').allowed).toBe(true);
    now += 20; // one token at 50/s
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    now += 2_000; // refills to the burst, not beyond
    for (let i = 0; i < 100; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('never allows more than burst + rate·t requests in any span t (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 200 }),
        (rate, burst, gaps) => {
          let now = 0;
          const limiter = new ClientRateLimiter({ ratePerSecond: rate, burst, clock: () => now });
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            const r = limiter.take('c');
            if (r.allowed) allowed++;
            else if (r.retryAfterSeconds < 1) return false;
          }
          return allowed <= burst + (rate * now) / 1000 + 1e-9;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('forgets the least recently seen client first when full', () => {
    const now = 0;
    const limiter = new ClientRateLimiter({ ratePerSecond: 1, burst: 1, maxClients: 2, clock: () => now });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false); // a is now the most recent
    expect(limiter.take('c').allowed).toBe(true); // b is forgotten
    expect(limiter.trackedClients).toBe(2);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('refuses nonsense settings', () => {
    expect(() => new ClientRateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new ClientRateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('ConcurrencyGate', () => {
  it('admits up to the limit, refuses beyond, and a double release frees one slot only', () => {
    const gate = new ConcurrencyGate(2);
    const a = gate.tryEnter();
    const b = gate.tryEnter();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(gate.tryEnter()).toBeNull();
    a?.();
    a?.();
    expect(gate.inUse).toBe(1);
    expect(gate.tryEnter()).not.toBeNull();
    expect(gate.tryEnter()).toBeNull();
  });
});

describe('clientKey', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::7', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s → %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });
});
