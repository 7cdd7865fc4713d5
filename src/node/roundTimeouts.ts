/**
 * When one node's round stops waiting. Both timeouts count from the moment the node saw
 * the boundary, so the certificate exchange before the round spends the same budget and a
 * round that times out still ends before the next boundary's.
 *
 * The ack deadlines are staggered. When acks are late (a slow or loaded machine, a member
 * killed mid-round) every node decides the dealer set from its own view at its deadline;
 * deciding at the same moment, nodes that heard different acks split the completions and
 * nobody finalizes. Staggered, the first node to decide broadcasts its completion before
 * the next one's deadline, and the others follow its dealer set (session.ts). Who goes
 * first rotates with the session, so one slow or dead operator is not always the leader.
 */
export interface RoundTimeouts {
  /** From the boundary until the dealer set is decided from the acks held. */
  readonly ackPhaseTimeoutMs: number;
  /** From the boundary until the round is given up. */
  readonly totalTimeoutMs: number;
}

export function roundTimeouts(o: {
  readonly protocolTimeoutMs: number;
  /** The session's operators, ascending. */
  readonly operators: readonly string[];
  readonly self: string;
  readonly sessionTimestamp: number;
}): RoundTimeouts {
  const n = o.operators.length;
  const index = o.operators.indexOf(o.self);
  if (index < 0 || n === 0) throw new RangeError(`${o.self} is not among the session's ${n} operators`);
  const rank = (index + (o.sessionTimestamp % n)) % n;
  // Half the budget, plus up to a quarter more by rank: the last completions still have a quarter.
  const ackPhaseTimeoutMs = Math.floor(o.protocolTimeoutMs / 2 + (rank * o.protocolTimeoutMs) / (4 * n));
  return { ackPhaseTimeoutMs, totalTimeoutMs: o.protocolTimeoutMs };
}

/**
 * When a round's timeouts start counting (epoch ms): when the node saw the boundary, or
 * the boundary block's own time if that is earlier by less than one round. A node that
 * restarts or polls late then ends the round with its peers instead of running into the
 * next boundary; a block time further back (or ahead: clock skew) is not trusted.
 */
export function roundClockStart(seenAtMs: number, blockTimestampSeconds: number, protocolTimeoutMs: number): number {
  const blockMs = blockTimestampSeconds * 1000;
  return blockMs < seenAtMs && seenAtMs - blockMs < protocolTimeoutMs ? blockMs : seenAtMs;
}
