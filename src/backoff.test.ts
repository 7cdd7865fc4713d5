import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 5_000 };

  it('is zero before any failure and doubles per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 6, 7, 1_000].map((n) => backoffDelay(policy, n))).toEqual([0, 100, 200, 400, 3_200, 5_000, 5_000]);
  });

  it('with jitter stays within [ceiling/2, ceiling]', () => {
    const jittered = { ...policy, jitter: true };
    expect(backoffDelay(jittered, 3, () => 0)).toBe(200);
    expect(backoffDelay(jittered, 3, () => 1)).toBe(400);
    expect(backoffDelay(jittered, 40, () => 0.5)).toBe(3_750);
  });

  it('refuses a policy that cannot produce sane delays', () => {
    expect(() => backoffDelay({ initialMs: 0, maxMs: 10 }, 1)).toThrow(RangeError);
    expect(() => backoffDelay({ initialMs: 10, maxMs: 5 }, 1)).toThrow(/maxMs/);
    expect(() => backoffDelay({ initialMs: Number.NaN, maxMs: 5 }, 1)).toThrow(/initialMs/);
  });
});
