import { percentile } from './percentile.js';

/**
 * The chaos soak's figures and invariants, computed from what the run observed (pure:
 * the orchestration records, this module judges).
 */

/** One soak boundary as observed. */
export interface BoundaryObservation {
  /** Soak boundary index (0-based). */
  readonly index: number;
  /** The boundary block's timestamp: the epoch of the version its round would produce. */
  readonly sessionTimestamp: number;
  /** Nodes faulty at any time in this boundary's slot (boundary mined → next boundary mined). */
  readonly faulty: readonly number[];
  /** Nodes that hold the version of this boundary's round (epoch = sessionTimestamp) at the end. */
  readonly producedOn: readonly number[];
  /** Each node's active version just before the next boundary (null: no answer or no key). */
  readonly activeAfter: readonly (number | null)[];
}

/** One injected fault as it happened. */
export interface FaultObservation {
  readonly id: number;
  readonly node: number;
  /** Slot the fault struck in. */
  readonly boundary: number;
  /** The first boundary mined after the node was healthy again (null: never recovered in the run). */
  readonly recoveredBeforeBoundary: number | null;
}

export interface SoakObservations {
  readonly nodes: number;
  readonly threshold: number;
  readonly boundaries: readonly BoundaryObservation[];
  readonly faults: readonly FaultObservation[];
  /** The MPK every node served before the soak. */
  readonly initialMasterPublicKey: string;
  /** Every MPK a node served during the run, with the node (one entry per distinct answer seen). */
  readonly masterPublicKeysSeen: readonly { readonly node: number; readonly masterPublicKey: string }[];
  /** Versions each node was seen active with, and whether the node still holds them at the end (same MPK). */
  readonly activated: readonly { readonly node: number; readonly version: number; readonly heldAtEnd: boolean }[];
}

export interface ReconvergenceStats {
  /** Boundaries from a fault's recovery until a round produced a version on every live node including it. */
  readonly perFault: readonly { readonly id: number; readonly boundaries: number | null }[];
  readonly p50: number | null;
  readonly max: number | null;
  /** Faults whose node never rejoined a round within the run. */
  readonly notReconverged: number;
}

export interface SoakFigures {
  /** Boundaries with at most n − t faulty that produced a new version on every live node ÷ all such boundaries. */
  readonly livenessRatio: number;
  readonly eligibleBoundaries: number;
  readonly liveBoundaries: number;
  /** Boundaries with more than n − t faulty (the schedule never plans them; a slow recovery can cause them). */
  readonly overBudgetBoundaries: number;
  readonly reconvergence: ReconvergenceStats;
  /** Distinct MPK answers that differ from the initial MPK. */
  readonly mpkChanges: number;
  /** Versions a node was seen active with that it no longer holds at the end. */
  readonly lostVersions: number;
  /** Boundaries after the last fault's recovery until every node shows one active version (null: never). */
  readonly convergedAfterLastFault: number | null;
  /** Index of the first boundary mined after the last fault had recovered (null: no fault). */
  readonly lastFaultRecoveredBefore: number | null;
}

/** Every node not faulty in the slot holds the boundary's version. */
export function producedOnEveryLiveNode(b: BoundaryObservation, nodes: number): boolean {
  for (let node = 0; node < nodes; node++) {
    if (!b.faulty.includes(node) && !b.producedOn.includes(node)) return false;
  }
  return true;
}

function reconvergence(o: SoakObservations): ReconvergenceStats {
  const perFault = o.faults.map((f) => {
    if (f.recoveredBeforeBoundary === null) return { id: f.id, boundaries: null };
    const from = f.recoveredBeforeBoundary;
    const hit = o.boundaries.find((b) => b.index >= from && b.producedOn.includes(f.node) && producedOnEveryLiveNode(b, o.nodes));
    return { id: f.id, boundaries: hit === undefined ? null : hit.index - from + 1 };
  });
  const counts = perFault.flatMap((f) => (f.boundaries === null ? [] : [f.boundaries])).sort((a, b) => a - b);
  return {
    perFault,
    p50: counts.length === 0 ? null : percentile(counts, 50),
    max: counts.length === 0 ? null : (counts[counts.length - 1] ?? null),
    notReconverged: perFault.length - counts.length,
  };
}

function convergedAfter(o: SoakObservations, from: number): number | null {
  const hit = o.boundaries.find((b) => {
    if (b.index < from) return false;
    const first = b.activeAfter[0];
    return first !== null && first !== undefined && b.activeAfter.length === o.nodes && b.activeAfter.every((v) => v === first);
  });
  return hit === undefined ? null : hit.index - from + 1;
}

export function soakFigures(o: SoakObservations): SoakFigures {
  const budget = o.nodes - o.threshold;
  const eligible = o.boundaries.filter((b) => b.faulty.length <= budget);
  const live = eligible.filter((b) => producedOnEveryLiveNode(b, o.nodes));
  const recoveries = o.faults.map((f) => f.recoveredBeforeBoundary);
  const lastFaultRecoveredBefore = o.faults.length === 0 ? null
    : recoveries.includes(null) ? null : Math.max(...recoveries.map((r) => r ?? 0));
  return {
    livenessRatio: eligible.length === 0 ? 0 : live.length / eligible.length,
    eligibleBoundaries: eligible.length,
    liveBoundaries: live.length,
    overBudgetBoundaries: o.boundaries.length - eligible.length,
    reconvergence: reconvergence(o),
    mpkChanges: new Set(o.masterPublicKeysSeen.filter((m) => m.masterPublicKey !== o.initialMasterPublicKey).map((m) => `${m.node}:${m.masterPublicKey}`)).size,
    lostVersions: o.activated.filter((a) => !a.heldAtEnd).length,
    convergedAfterLastFault: convergedAfter(o, lastFaultRecoveredBefore ?? 0),
    lastFaultRecoveredBefore,
  };
}

/** The soak's invariants; each broken one is a sentence naming what and where. */
export function brokenInvariants(o: SoakObservations, figures: SoakFigures = soakFigures(o)): string[] {
  const broken: string[] = [];
  for (const m of o.masterPublicKeysSeen) {
    if (m.masterPublicKey !== o.initialMasterPublicKey) broken.push(`node ${m.node + 1} served MPK ${m.masterPublicKey}, not the network's ${o.initialMasterPublicKey}`);
  }
  for (const a of o.activated) {
    if (!a.heldAtEnd) broken.push(`node ${a.node + 1} lost version ${a.version}, which it had activated`);
  }
  const unrecovered = o.faults.filter((f) => f.recoveredBeforeBoundary === null);
  for (const f of unrecovered) broken.push(`fault ${f.id} (node ${f.node + 1}) never recovered within the run`);
  if (unrecovered.length === 0 && (figures.convergedAfterLastFault === null || figures.convergedAfterLastFault > 2)) {
    broken.push(`the nodes did not converge on one active version within 2 boundaries after the last fault (took ${figures.convergedAfterLastFault ?? 'more than the rest of the run'})`);
  }
  return broken;
}
