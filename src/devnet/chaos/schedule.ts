import { thresholdFor } from '../../protocol/threshold.js';
import { seededRandom } from './random.js';

/**
 * The chaos soak's fault schedule: a pure function of a seed and the run's shape, so
 * a printed seed replays the same faults at the same boundaries, phases and nodes.
 * It never plans more than n − t nodes faulty in the same boundary slot (slot k is the
 * time from boundary k to boundary k + 1), and leaves a quiet tail of fault-free
 * boundaries at the end for the convergence checks.
 */

export const FAULT_KINDS = ['sigkill-restart', 'sigstop-across-boundary', 'redis-sigkill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * When in a boundary's round the fault strikes:
 *  - after-boundary: as soon as the boundary block is mined (before the round starts);
 *  - deals: once the round has started and deals are out (a node saved its first snapshot);
 *  - acks: once a node has moved on to completions (every ack it needed has arrived);
 *  - startup: the node is killed, restarted, and struck again while it starts up
 *    (its redis-server is up, it is not serving yet).
 */
export const FAULT_PHASES = ['after-boundary', 'deals', 'acks', 'startup'] as const;
export type FaultPhase = (typeof FAULT_PHASES)[number];

export interface ScheduledFault {
  readonly id: number;
  /** Soak boundary index (0-based) whose slot the fault starts in. */
  readonly boundary: number;
  /** Node index (0-based). */
  readonly node: number;
  readonly kind: FaultKind;
  readonly phase: FaultPhase;
  /** Wait after the phase is seen before striking (ms): spreads faults within a phase. */
  readonly delayMs: number;
  /**
   * The node is restarted (sigkill-restart) or resumed (sigstop) only after the next
   * boundary is mined: always for a stop, sometimes for a kill.
   */
  readonly acrossBoundary: boolean;
  /** How long the node stays down before its restart or SIGCONT (ms), counted from the
   *  strike, or from the next boundary when `acrossBoundary`. */
  readonly downMs: number;
  /** Slots this fault may keep the node faulty: from `boundary` to `boundary + slots - 1`. */
  readonly slots: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Soak boundaries (after the DKG and a first reshare). */
  readonly boundaries: number;
  /** Chance that a free fault budget starts a new fault in a slot (default 0.6). */
  readonly faultRate?: number;
  /** Fault-free boundaries at the end (default 3; at least 3: convergence takes ≤ 2). */
  readonly quietTail?: number;
  /** No faults at all: the same run shape as a baseline. */
  readonly noFaults?: boolean;
}

export interface ChaosSchedule {
  readonly seed: number;
  readonly nodes: number;
  readonly threshold: number;
  /** n − t: the most nodes the schedule ever makes faulty at once. */
  readonly maxFaulty: number;
  readonly boundaries: number;
  readonly quietTail: number;
  readonly faultRate: number;
  readonly faults: readonly ScheduledFault[];
}

/** Slots each kind occupies: a stop spans the next boundary; a crash may stay down across one. */
function slotsFor(phase: FaultPhase, acrossBoundary: boolean): number {
  return phase === 'startup' || acrossBoundary ? 2 : 1;
}

export function chaosSchedule(options: ScheduleOptions): ChaosSchedule {
  const { seed, nodes, boundaries } = options;
  if (!Number.isSafeInteger(nodes) || nodes < 2) throw new RangeError(`nodes must be an integer ≥ 2, got ${nodes}`);
  if (!Number.isSafeInteger(boundaries) || boundaries < 1) throw new RangeError(`boundaries must be a positive integer, got ${boundaries}`);
  const quietTail = options.quietTail ?? 3;
  if (!Number.isSafeInteger(quietTail) || quietTail < 3) throw new RangeError(`quietTail must be an integer ≥ 3, got ${quietTail}`);
  const faultRate = options.faultRate ?? 0.6;
  if (!(faultRate >= 0 && faultRate <= 1)) throw new RangeError(`faultRate must be within [0, 1], got ${faultRate}`);
  const threshold = thresholdFor(nodes);
  const maxFaulty = nodes - threshold;
  const random = seededRandom(seed);
  const faults: ScheduledFault[] = [];
  // busyThrough[node] = last slot the node's current fault may occupy.
  const busyThrough = Array.from({ length: nodes }, () => -1);
  const lastFaultSlot = boundaries - quietTail - 1;
  for (let slot = 0; slot <= lastFaultSlot && options.noFaults !== true; slot++) {
    const busy = (): number => busyThrough.filter((through) => through >= slot).length;
    while (busy() < maxFaulty && random.chance(faultRate)) {
      const kind = random.pick(FAULT_KINDS);
      const phases = kind === 'sigstop-across-boundary' ? FAULT_PHASES.filter((p) => p !== 'startup') : FAULT_PHASES;
      const phase = random.pick(phases);
      const acrossBoundary = kind === 'sigstop-across-boundary' || (kind === 'sigkill-restart' && phase !== 'startup' && random.chance(0.25));
      const slots = slotsFor(phase, acrossBoundary);
      const free = busyThrough.flatMap((through, node) => (through < slot ? [node] : []));
      if (slot + slots - 1 > lastFaultSlot || free.length === 0) break;
      const node = random.pick(free);
      const delayMs = random.int(0, phase === 'after-boundary' ? 1_500 : 300);
      const downMs = random.int(acrossBoundary ? 500 : 0, acrossBoundary ? 3_000 : 2_000);
      busyThrough[node] = slot + slots - 1;
      faults.push({ id: faults.length + 1, boundary: slot, node, kind, phase, delayMs, acrossBoundary, downMs, slots });
    }
  }
  return { seed, nodes, threshold, maxFaulty, boundaries, quietTail, faultRate, faults };
}

/** The most faults the schedule has planned in any one slot. */
export function peakConcurrentFaults(schedule: Pick<ChaosSchedule, 'boundaries' | 'faults'>): number {
  let peak = 0;
  for (let slot = 0; slot < schedule.boundaries; slot++) {
    peak = Math.max(peak, schedule.faults.filter((f) => f.boundary <= slot && slot < f.boundary + f.slots).length);
  }
  return peak;
}
