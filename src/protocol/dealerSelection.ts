/**
 * Which dealers a session combines (D), decided from what one node has seen. Pure:
 * the session passes in its deals, acks, exclusions and completions.
 *
 * Without force a dealer is usable only once every operator acknowledged its deal, and
 * the node waits while any dealer is undecided. Under force (the node's ack deadline,
 * chooseDealersAtDeadline) the decision is taken from the signed acknowledgement matrix
 * alone: start from the PRESENT operators (this node and every operator it accepted a
 * valid message from); while the dealers acknowledged by all of them are too few, the
 * operator holding most dealers back is left out (it stopped talking mid-round: killed,
 * partitioned or lagging), down to t operators. An operator silent the whole
 * round, or heard from and then silent past the deadline, so no longer blocks everyone;
 * it receives nothing usable and finalizes nothing this round. Acks are broadcast, so
 * nodes that received the same acks decide the same D, and a node that already received
 * a completion follows its D (adoptableDealerSet with minimum 1) rather than its own
 * view. Nodes that still pick different sets sign completions that do not match; the
 * t-of-n completion quorum (t > n/2) lets at most one outcome finalize — the round may
 * fail, never split.
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
 * The dealer set of the best-supported completion key (most completions, then the lowest
 * key) that at least `minimum` operators completed with, whose size fits the rule and
 * whose every dealer `usable` accepts (this node holds its valid deal), or null.
 * `minimum` = t: the outcome is certified, adopting it finalizes at once. `minimum` = 1
 * (at the ack deadline): a node that decides late follows the first decider instead of
 * its own view, so nodes that heard acks at different times do not split.
 */
export function adoptableDealerSet(
  completions: Iterable<{ readonly dealers: readonly OperatorAddress[]; readonly key: string }>,
  rule: DealerSetRule,
  usable: (dealer: OperatorAddress) => boolean,
  minimum: number = rule.threshold,
): OperatorAddress[] | null {
  const counts = new Map<string, { n: number; dealers: readonly OperatorAddress[] }>();
  for (const rec of completions) {
    const e = counts.get(rec.key) ?? { n: 0, dealers: rec.dealers };
    counts.set(rec.key, { n: e.n + 1, dealers: e.dealers });
  }
  const ranked = [...counts].sort(([ka, a], [kb, b]) => b.n - a.n || (ka < kb ? -1 : ka > kb ? 1 : 0));
  for (const [, { n, dealers }] of ranked) {
    const sizeOk = rule.previousThreshold === null ? dealers.length >= rule.threshold : dealers.length === rule.previousThreshold;
    if (n >= minimum && sizeOk && dealers.every(usable)) return [...dealers];
  }
  return null;
}

/** What a node knows at its ack deadline: the signed acks it holds and whom it heard from. */
export interface DeadlineView {
  /** The session's dealers, ascending. */
  readonly dealers: readonly OperatorAddress[];
  /** Dealers excluded for good (complaint, conflicting commitments, withdrawal). */
  readonly excluded: (dealer: OperatorAddress) => boolean;
  /** Whether this node holds the dealer's valid deal. */
  readonly hasDeal: (dealer: OperatorAddress) => boolean;
  /** The players whose signed ack of the dealer this node holds (its own included). */
  readonly ackedBy: (dealer: OperatorAddress) => ReadonlySet<OperatorAddress> | ReadonlyMap<OperatorAddress, unknown> | undefined;
  /** This node and every operator it accepted a valid message from this round. */
  readonly present: Iterable<OperatorAddress>;
}

/**
 * D at the ack deadline (see the header): the players kept are the present ones minus,
 * one at a time, the one whose absence frees the most dealers (ties: fewest acks, then
 * highest address) until the dealers all kept players acknowledged are enough, never
 * fewer than t players (the holders a finalized version needs). This node must hold
 * every chosen deal itself.
 */
export function chooseDealersAtDeadline(view: DeadlineView, rule: DealerSetRule): DealerSelection {
  const live = view.dealers.filter((d) => !view.excluded(d));
  const players = [...new Set(view.present)].sort();
  const acked = (player: OperatorAddress, dealer: OperatorAddress): boolean => view.ackedBy(dealer)?.has(player) === true;
  const need = rule.previousThreshold ?? rule.threshold;
  for (;;) {
    const common = live.filter((d) => players.every((p) => acked(p, d)));
    if (common.length >= need) {
      const dealers = rule.previousThreshold === null ? common : common.slice(0, need);
      const missing = dealers.filter((d) => !view.hasDeal(d));
      if (missing.length > 0) {
        return {
          kind: 'short',
          code: ProtocolErrorCode.NOT_ENOUGH_DEALERS,
          message: `the operators still talking agreed on dealers whose deals never reached this node (${missing.join(', ')}); it rejoins at the next reshare`,
        };
      }
      return { kind: 'chosen', dealers };
    }
    if (players.length <= rule.threshold) {
      const what = rule.previousThreshold === null ? 'dealers' : 'previous holders';
      return {
        kind: 'short',
        code: ProtocolErrorCode.NOT_ENOUGH_DEALERS,
        message: `only ${common.length} ${what} were acknowledged by every operator heard from this round (${players.length} still talking), ${need} needed`,
      };
    }
    // Leave out whoever holds the most dealers back; ties: fewest acks, then highest address.
    const rank = (p: OperatorAddress): readonly [number, number] => {
      const rest = players.filter((q) => q !== p);
      return [live.filter((d) => rest.every((q) => acked(q, d))).length, -live.filter((d) => acked(p, d)).length];
    };
    let out = players[0] as OperatorAddress;
    let best = rank(out);
    for (const p of players.slice(1)) {
      const r = rank(p);
      if (r[0] > best[0] || (r[0] === best[0] && r[1] >= best[1])) [out, best] = [p, r];
    }
    players.splice(players.indexOf(out), 1);
  }
}
