import fc from 'fast-check';
import { parseSeed, seededRandom } from './random.js';
import { chaosSchedule, FAULT_KINDS, FAULT_PHASES, peakConcurrentFaults } from './schedule.js';

describe('seededRandom', () => {
  test('the same seed gives the same sequence; another seed another one', () => {
    const take = (seed: number): number[] => { const r = seededRandom(seed); return Array.from({ length: 20 }, () => r.next()); };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(42).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  test('int stays within its inclusive bounds and reaches both ends', () => {
    const r = seededRandom(7);
    const seen = new Set(Array.from({ length: 500 }, () => r.int(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  test('a seed outside 0…2^32−1 or not an integer is refused, naming the range', () => {
    expect(() => parseSeed('12x')).toThrow(/integer from 0 to 4294967295, got "12x"/);
    expect(() => parseSeed('4294967296')).toThrow(RangeError);
    expect(parseSeed(' 17 ')).toBe(17);
    expect(() => seededRandom(-1)).toThrow(RangeError);
  });
});

describe('chaosSchedule', () => {
  test('same seed ⇒ same schedule (a printed seed replays the run)', () => {
    const a = chaosSchedule({ seed: 1234, nodes: 7, boundaries: 60 });
    const b = chaosSchedule({ seed: 1234, nodes: 7, boundaries: 60 });
    expect(b).toEqual(a);
    expect(chaosSchedule({ seed: 1235, nodes: 7, boundaries: 60 }).faults).not.toEqual(a.faults);
  });

  test('n = 4 allows one faulty node at a time, n = 7 two (n − t with t = ⌈2n/3⌉)', () => {
    const four = chaosSchedule({ seed: 1, nodes: 4, boundaries: 60 });
    const seven = chaosSchedule({ seed: 1, nodes: 7, boundaries: 60 });
    expect([four.threshold, four.maxFaulty]).toEqual([3, 1]);
    expect([seven.threshold, seven.maxFaulty]).toEqual([5, 2]);
    expect(peakConcurrentFaults(four)).toBe(1);
    expect(peakConcurrentFaults(seven)).toBe(2);
  });

  test('property: never more than n − t faulty in a slot, no node twice at once, quiet tail kept, fields in range', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 2, max: 10 }), fc.integer({ min: 1, max: 80 }), fc.double({ min: 0, max: 1, noNaN: true }),
      (seed, nodes, boundaries, faultRate) => {
        const s = chaosSchedule({ seed, nodes, boundaries, faultRate });
        expect(peakConcurrentFaults(s)).toBeLessThanOrEqual(nodes - s.threshold);
        for (let slot = 0; slot < boundaries; slot++) {
          const here = s.faults.filter((f) => f.boundary <= slot && slot < f.boundary + f.slots).map((f) => f.node);
          expect(new Set(here).size).toBe(here.length);
        }
        for (const f of s.faults) {
          expect(f.boundary + f.slots - 1).toBeLessThan(boundaries - s.quietTail);
          expect(f.node).toBeGreaterThanOrEqual(0);
          expect(f.node).toBeLessThan(nodes);
          expect(FAULT_KINDS).toContain(f.kind);
          expect(FAULT_PHASES).toContain(f.phase);
          if (f.kind === 'sigstop-across-boundary') expect([f.acrossBoundary, f.phase === 'startup']).toEqual([true, false]);
          expect(f.slots).toBe(f.phase === 'startup' || f.acrossBoundary ? 2 : 1);
        }
      },
    ));
  });

  test('a 60-boundary run exercises every kind and every phase', () => {
    const s = chaosSchedule({ seed: 99, nodes: 7, boundaries: 60 });
    expect(new Set(s.faults.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(new Set(s.faults.map((f) => f.phase))).toEqual(new Set(FAULT_PHASES));
  });

  test('noFaults keeps the shape and plans nothing (the baseline run)', () => {
    const s = chaosSchedule({ seed: 5, nodes: 4, boundaries: 60, noFaults: true });
    expect(s.faults).toEqual([]);
    expect(s.boundaries).toBe(60);
  });

  test('bad shapes are refused with the allowed range', () => {
    expect(() => chaosSchedule({ seed: 1, nodes: 1, boundaries: 10 })).toThrow(/nodes must be an integer ≥ 2, got 1/);
    expect(() => chaosSchedule({ seed: 1, nodes: 4, boundaries: 0 })).toThrow(/boundaries/);
    expect(() => chaosSchedule({ seed: 1, nodes: 4, boundaries: 10, quietTail: 2 })).toThrow(/quietTail must be an integer ≥ 3/);
    expect(() => chaosSchedule({ seed: 1, nodes: 4, boundaries: 10, faultRate: 2 })).toThrow(/faultRate/);
  });
});
