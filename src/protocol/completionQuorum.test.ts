import fc from 'fast-check';
import { judgeCompletions } from './completionQuorum.js';
import { thresholdFor } from './threshold.js';

describe('judgeCompletions', () => {
  it('finalizes at t matching, fails on a conflicting t or when t can no longer be reached, else waits', () => {
    expect(judgeCompletions(['x', 'x', 'x'], 'x', 3, 4)).toEqual({ kind: 'finalize' });
    expect(judgeCompletions(['x', 'y', 'y', 'y'], 'x', 3, 4)).toEqual({ kind: 'conflict', count: 3 });
    expect(judgeCompletions(['x', 'y', 'y'], 'x', 3, 4)).toEqual({ kind: 'unreachable', matching: 1, outstanding: 1 });
    expect(judgeCompletions(['x', 'x'], 'x', 3, 4)).toEqual({ kind: 'wait', matching: 2, outstanding: 2 });
  });

  it('property: with one completion per operator, at most one key can finalize anywhere, whatever each node received', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }), fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }))),
        ([n, signed, heard]) => {
          const t = thresholdFor(n);
          const finalized = new Set<number>();
          // Node i received operator j's completion when heard[i][j] (its own always).
          for (let i = 0; i < n; i++) {
            const keys = signed.filter((_, j) => j === i || heard[i]![j] === true).map(String);
            if (judgeCompletions(keys, String(signed[i]), t, n).kind === 'finalize') finalized.add(signed[i]!);
          }
          expect(finalized.size).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});
