/**
 * The finality rule: a session's outcome is the key hash(D) ‖ hash(C) that t signed
 * completions carry. Every operator signs one completion, and t > n/2, so two different
 * keys can never both reach t: whatever dealer sets nodes chose from their own views, at
 * most one outcome finalizes anywhere. A node that signed another key still finalizes the
 * certified one when it holds that outcome's deals (session.ts): it adds no signature, so
 * the rule is untouched.
 */

export type QuorumVerdict =
  /** t operators completed with `key`: the session's only possible outcome. */
  | { readonly kind: 'finalize'; readonly key: string; readonly count: number }
  | { readonly kind: 'wait'; readonly best: number; readonly outstanding: number }
  /** Even if every outstanding operator joined the best-supported key, fewer than t would hold it. */
  | { readonly kind: 'unreachable'; readonly best: number; readonly outstanding: number };

/** Judges the completions received so far (one key per operator, this node's own included). */
export function judgeCompletions(keys: Iterable<string>, threshold: number, operatorCount: number): QuorumVerdict {
  const counts = new Map<string, number>();
  let received = 0;
  for (const key of keys) {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    received++;
  }
  let best: { key: string; count: number } | null = null;
  for (const [key, count] of counts) {
    if (best === null || count > best.count || (count === best.count && key < best.key)) best = { key, count };
  }
  const outstanding = operatorCount - received;
  if (best !== null && best.count >= threshold) return { kind: 'finalize', key: best.key, count: best.count };
  const most = best?.count ?? 0;
  if (most + outstanding < threshold) return { kind: 'unreachable', best: most, outstanding };
  return { kind: 'wait', best: most, outstanding };
}
