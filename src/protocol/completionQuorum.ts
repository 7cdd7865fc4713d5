/**
 * The finality rule: a node finalizes once t signed completions (its own included) carry
 * its key hash(D) ‖ hash(C). Every operator signs one completion, and t > n/2, so two
 * different keys can never both reach t: whatever dealer sets nodes chose from their
 * own views, at most one outcome finalizes anywhere.
 */

export type QuorumVerdict =
  | { readonly kind: 'finalize' }
  | { readonly kind: 'wait'; readonly matching: number; readonly outstanding: number }
  /** t operators completed with another key: this node's outcome can never finalize. */
  | { readonly kind: 'conflict'; readonly count: number }
  /** Even if every outstanding operator matched, fewer than t would. */
  | { readonly kind: 'unreachable'; readonly matching: number; readonly outstanding: number };

/** Judges the completions received so far (one key per operator, own included) against this node's key. */
export function judgeCompletions(keys: Iterable<string>, ownKey: string, threshold: number, operatorCount: number): QuorumVerdict {
  const counts = new Map<string, number>();
  let received = 0;
  for (const key of keys) {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    received++;
  }
  const matching = counts.get(ownKey) ?? 0;
  if (matching >= threshold) return { kind: 'finalize' };
  for (const [key, count] of counts) if (key !== ownKey && count >= threshold) return { kind: 'conflict', count };
  const outstanding = operatorCount - received;
  if (matching + outstanding < threshold) return { kind: 'unreachable', matching, outstanding };
  return { kind: 'wait', matching, outstanding };
}
