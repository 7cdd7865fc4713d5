import fc from 'fast-check';
import { judgeCompletions } from './completionQuorum.js';
import { thresholdFor } from './threshold.js';

describe('judgeCompletions', () => {
  it('finalizes the key t operators completed (whichever this node signed), fails when no key can reach t, else waits', () => {
    expect(judgeCompletions(['x', 'x', 'x'], 3, 4)).toEqual({ kind: 'finalize', key: 'x', count: 3 });
    expect(judgeCompletions(['x', 'y', 'y', 'y'], 3, 4)).toEqual({ kind: 'finalize', key: 'y', count: 3 });
    expect(judgeCompletions(['x', 'y', 'y'], 3, 4)).toEqual({ kind: 'wait', best: 2, outstanding: 1 });
    expect(judgeCompletions(['x', 'y', 'z'], 3, 4)).toEqual({ kind: 'unreachable', best: 1, outstanding: 1 });
    expect(judgeCompletions(['x', 'x', 'y', 'y'], 3, 4)).toEqual({ kind: 'unreachable', best: 2, outstanding: 0 });
    expect(judgeCompletions(['x', 'x'], 3, 4)).toEqual({ kind: 'wait', best: 2, outstanding: 2 });
    expect(judgeCompletions([], 3, 4)).toEqual({ kind: 'wait', best: 0, outstanding: 4 });
  });

  it('property: with one completion per operator, at most one key can finalize anywhere, whatever each node received', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }), fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }))),
        ([n, signed, heard]) => {
          const t = thresholdFor(n);
          const finalized = new Set<string>();
          // Node i received operator j's completion when heard[i][j] (its own always).
          for (let i = 0; i < n; i++) {
            const keys = signed.filter((_, j) => j === i || heard[i]![j] === true).map(String);
            const verdict = judgeCompletions(keys, t, n);
            if (verdict.kind === 'finalize') finalized.add(verdict.key);
          }
          expect(finalized.size).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a key t completions carry is reported whatever else was received', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }))),
        ([n, signed]) => {
          const t = thresholdFor(n);
          const counts = new Map<number, number>();
          for (const s of signed) counts.set(s, (counts.get(s) ?? 0) + 1);
          const winner = [...counts].find(([, c]) => c >= t)?.[0];
          const verdict = judgeCompletions(signed.map(String), t, n);
          expect(verdict.kind === 'finalize' ? verdict.key : undefined).toBe(winner === undefined ? undefined : String(winner));
        },
      ),
      { numRuns: 300 },
    );
  });
});
