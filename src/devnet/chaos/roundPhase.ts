import type { FaultPhase } from './schedule.js';

/**
 * Where a node's round is, read from the node's own metrics: its SessionRunner saves a
 * snapshot of the protocol session at every phase change, and each save is one more
 * kms_persistence_operation_duration_seconds_count{operation="saveProtocolSession"}.
 * Counted from the value before the boundary: 1 save = the round started and its deals
 * are out (waiting for deals and acks), 2 = every needed ack is in and completions are
 * out, 3 = finalized.
 */
export type RoundPhase = 'not-started' | 'dealing' | 'completing' | 'finalized';

const SNAPSHOT_COUNT = /^kms_persistence_operation_duration_seconds_count\{([^}]*)\}\s+(\d+(?:\.\d+)?(?:e\+?\d+)?)\s*$/m;

/** The number of session snapshots a node has saved since it started, from its /metrics text (null: not reported). */
export function sessionSnapshotCount(metricsText: string): number | null {
  for (const line of metricsText.split('\n')) {
    const match = SNAPSHOT_COUNT.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    if (!/(^|,)operation="saveProtocolSession"(,|$)/.test(match[1])) continue;
    return Number(match[2]);
  }
  return null;
}

export function roundPhaseOf(snapshotsSinceBoundary: number): RoundPhase {
  if (snapshotsSinceBoundary <= 0) return 'not-started';
  if (snapshotsSinceBoundary === 1) return 'dealing';
  if (snapshotsSinceBoundary === 2) return 'completing';
  return 'finalized';
}

/**
 * Whether a fault planned for `phase` may strike, given the round phase of every node
 * that answered. after-boundary and startup strike at once (the orchestrator acts right
 * after mining); deals once any node has its deals out; acks once any node has moved on
 * to completions.
 */
export function phaseReached(phase: FaultPhase, roundPhases: readonly RoundPhase[]): boolean {
  switch (phase) {
    case 'after-boundary':
    case 'startup':
      return true;
    case 'deals':
      return roundPhases.some((p) => p !== 'not-started');
    case 'acks':
      return roundPhases.some((p) => p === 'completing' || p === 'finalized');
  }
}
