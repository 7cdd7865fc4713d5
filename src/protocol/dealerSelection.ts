/**
 * Which dealers a session combines (D), decided from what one node has seen. Pure:
 * the session passes in its deals, acks, exclusions and completions.
 *
 * Without force a dealer is usable only once every operator acknowledged its deal, and
 * the node waits while any dealer is undecided. Under force (the node's ack deadline) a
 * dealer is usable once every PRESENT operator acknowledged it: present = this node and
 * every operator it accepted a valid message from. An operator that stayed silent the
 * whole round so no longer blocks everyone; it receives nothing usable and finalizes
 * nothing this round. Nodes whose views of "present" differ may pick different sets:
 * their completions then do not match, and the t-of-n completion quorum (t > n/2) lets
 * at most one outcome finalize — the round may fail, never split.
 */
import { ProtocolErrorCode } from './errors.js';
import type { OperatorAddress } from './types.js';

/** full: usable; excluded: never usable this round; pending: still waiting for its deal or acks. */
export type DealerState = 'full' | 'excluded' | 'pending';

/** The size rule of D: DKG takes every usable dealer (at least t); reshare exactly previousThreshold. */
export interface DealerSetRule {
  readonly threshold: number;
  /** Reshare: the previous version's threshold; DKG: null. */
  readonly previousThreshold: number | null;
}

/** D, a reason to keep waiting, or why no D can be formed. */
export type DealerSelection =
  | { readonly kind: 'chosen'; readonly dealers: readonly OperatorAddress[] }
  | { readonly kind: 'wait' }
  | { readonly kind: 'short'; readonly code: ProtocolErrorCode; readonly message: string };

/**
 * Whether a dealer that is not excluded has all the acks it needs: its deal reached this
 * node and every operator in `required` acknowledged it.
 */
export function ackState(hasDeal: boolean, ackedBy: ReadonlyMap<OperatorAddress, unknown> | undefined, required: Iterable<OperatorAddress>): DealerState {
  if (!hasDeal || ackedBy === undefined) return 'pending';
  for (const player of required) if (!ackedBy.has(player)) return 'pending';
  return 'full';
}

/**
 * Chooses D from the dealers' states (dealers ascending). Without force, any pending
 * dealer that could still change the outcome means wait.
 */
export function chooseDealers(
  states: readonly (readonly [OperatorAddress, DealerState])[],
  rule: DealerSetRule,
  force: boolean,
): DealerSelection {
  const who = force ? 'every operator heard from this round' : 'every operator';
  if (rule.previousThreshold === null) {
    if (!force && states.some(([, s]) => s === 'pending')) return { kind: 'wait' };
    const full = states.filter(([, s]) => s === 'full').map(([d]) => d);
    if (full.length < rule.threshold) {
      return { kind: 'short', code: ProtocolErrorCode.NOT_ENOUGH_DEALERS, message: `only ${full.length} dealers were acknowledged by ${who}, ${rule.threshold} needed` };
    }
    return { kind: 'chosen', dealers: full };
  }
  const need = rule.previousThreshold;
  const chosen: OperatorAddress[] = [];
  for (const [d, s] of states) {
    if (chosen.length === need) break;
    if (s === 'full') chosen.push(d);
    else if (s === 'pending' && !force) return { kind: 'wait' };
  }
  if (chosen.length < need) {
    return { kind: 'short', code: ProtocolErrorCode.NOT_ENOUGH_DEALERS, message: `only ${chosen.length} previous holders were acknowledged by ${who}, ${need} needed` };
  }
  return { kind: 'chosen', dealers: chosen };
}

/**
 * A dealer set that at least t operators completed with one key (hash(D) ‖ hash(C)),
 * whose size fits the rule and whose every dealer `usable` accepts (this node holds its
 * valid deal), or null.
 */
export function adoptableDealerSet(
  completions: Iterable<{ readonly dealers: readonly OperatorAddress[]; readonly key: string }>,
  rule: DealerSetRule,
  usable: (dealer: OperatorAddress) => boolean,
): OperatorAddress[] | null {
  const counts = new Map<string, { n: number; dealers: readonly OperatorAddress[] }>();
  for (const rec of completions) {
    const e = counts.get(rec.key) ?? { n: 0, dealers: rec.dealers };
    counts.set(rec.key, { n: e.n + 1, dealers: e.dealers });
  }
  for (const { n, dealers } of counts.values()) {
    const sizeOk = rule.previousThreshold === null ? dealers.length >= rule.threshold : dealers.length === rule.previousThreshold;
    if (n >= rule.threshold && sizeOk && dealers.every(usable)) return [...dealers];
  }
  return null;
}
