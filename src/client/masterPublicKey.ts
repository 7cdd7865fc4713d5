/**
 * Agreement on the master public key: ask every node for /pubkey, group identical
 * views (version, threshold, MPK, commitments, participants), and accept a view only
 * when enough distinct operators report it.
 *
 * "Enough" is max(t, ⌈2n/3⌉), where t is the view's own threshold and n the number of
 * nodes asked:
 * - t alone is not enough: t is self-reported, so one lying node could announce a
 *   self-consistent one-operator view with t = 1 and win whenever it answers first.
 * - ⌈2n/3⌉ of the nodes asked is the network's own trust assumption (that many
 *   operators can reconstruct any app key anyway), and because it is more than n/2, at
 *   most one view can ever reach it: the client never has to pick between two.
 * The price: during a round that moves nodes from one version to the next, or with
 * more than n/3 of the listed nodes down, no view qualifies and the client says so
 * (which node said what) instead of guessing. The Go client fell back to summing
 * commitments of a minority; we do not.
 *
 * Each view is also checked for self-consistency before it counts: commitments[0] is
 * the MPK, there are exactly t commitments, t ≥ ⌈2m/3⌉ for its m participants (a view
 * advertising a weaker threshold than the network's rule is refused), the reporter is
 * a participant, and (with an operator-set source) the reporter is the operator the
 * set lists for that URL. Everything later, partial-signature checks included, rests
 * on the agreed commitments, so this is the client's root of trust.
 */
import { g2FromHex, type G2Point } from '../crypto/index.js';
import { thresholdFor } from '../protocol/threshold.js';
import { ClientError, ClientErrorCode, type NodeOutcome } from './errors.js';
import { describeNodeFailure, fetchPubkey, type NodeRequestOptions, type NodeTarget, type PubkeyResponse } from './nodeApi.js';

/** The view of a key version (the active one unless asked for another) that enough nodes agree on. */
export interface AgreedMasterPublicKey {
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKey: G2Point;
  /** 0x + 96-byte compressed MPK, lowercase. */
  readonly masterPublicKeyHex: `0x${string}`;
  /** Aggregated commitments C_0..C_{t−1} (C_0 = MPK). */
  readonly commitments: readonly G2Point[];
  /** Holders of this version, lowercase, ascending. */
  readonly participants: readonly string[];
  /** Support the view needed: max(threshold, ⌈2n/3⌉ of the nodes asked). */
  readonly required: number;
  /** The nodes that reported this view. */
  readonly supporters: readonly { readonly url: string; readonly operatorAddress: string }[];
  /** The nodes that did not: failures, other views, inconsistent views. */
  readonly dissenters: readonly NodeOutcome[];
  /** The operator address each answering node URL (display form) reported. */
  readonly addressByUrl: ReadonlyMap<string, string>;
}

interface Group {
  readonly view: PubkeyResponse;
  readonly participants: readonly string[];
  readonly supporters: Map<string, string>;
  points: { mpk: G2Point; commitments: G2Point[] } | string | null;
}

/** Why a view cannot be right on its own terms, or null when it is consistent. */
function inconsistency(view: PubkeyResponse, expectedAddress: string | undefined, askedActive: boolean): string | null {
  if (view.masterPublicKey === null) return 'reports no master public key for its version';
  if (askedActive && !view.isActive) return `reports version ${view.version} as not active`;
  const participants = new Set(view.participants);
  if (participants.size !== view.participants.length) return 'inconsistent view: duplicate participants';
  if (view.commitments.length !== view.threshold) {
    return `inconsistent view: ${view.commitments.length} commitments for threshold ${view.threshold}`;
  }
  if (view.commitments[0] !== view.masterPublicKey) return 'inconsistent view: commitments[0] is not the master public key';
  const floor = thresholdFor(participants.size);
  if (view.threshold < floor || view.threshold > participants.size) {
    return `inconsistent view: threshold ${view.threshold} for ${participants.size} participants (expected ${floor}..${participants.size})`;
  }
  if (!participants.has(view.operatorAddress)) return `inconsistent view: reporter ${view.operatorAddress} is not a participant`;
  if (expectedAddress !== undefined && expectedAddress !== view.operatorAddress) {
    return `answered as operator ${view.operatorAddress}, but the operator set lists ${expectedAddress} at this URL`;
  }
  return null;
}

function decodePoints(view: PubkeyResponse): Group['points'] {
  try {
    // C_k for k ≥ 1 may be the identity (a zero coefficient sum); C_0, the MPK, never.
    const commitments = view.commitments.map((hex, k) => g2FromHex(hex, { title: `commitments[${k}]`, allowIdentity: k > 0 }));
    const mpk = commitments[0];
    if (mpk === undefined) return 'no commitments';
    return { mpk, commitments };
  } catch (error) {
    return `invalid view: ${describeNodeFailure(error)}`;
  }
}

function describeView(view: PubkeyResponse): string {
  return `version ${view.version}, threshold ${view.threshold}, MPK ${(view.masterPublicKey ?? 'none').slice(0, 18)}…`;
}

/**
 * Asks every node for /pubkey and returns the view at least max(t, ⌈2n/3⌉) distinct
 * operators report. With `version` (an epoch), asks for /pubkey?version=<epoch> instead
 * and agrees on that stored version under the same rule; a node answering another
 * version is a dissenter. Throws CLIENT_NO_NODES without nodes and CLIENT_NO_AGREEMENT
 * (listing every node's answer) when no view qualifies.
 */
export async function agreeOnMasterPublicKey(nodes: readonly NodeTarget[], options: NodeRequestOptions, version?: number): Promise<AgreedMasterPublicKey> {
  if (nodes.length === 0) {
    throw new ClientError(ClientErrorCode.NO_NODES, 'no node URLs to ask', { fix: 'pass node URLs (--nodes) or an operator registry' });
  }
  const answers = await Promise.allSettled(nodes.map((node) => fetchPubkey(node, options, version)));
  const outcomes = new Map<string, string>();
  const addressByUrl = new Map<string, string>();
  const groups = new Map<string, Group>();
  const groupOfUrl = new Map<string, Group>();
  answers.forEach((answer, i) => {
    const node = nodes[i];
    if (node === undefined) return;
    if (answer.status === 'rejected') {
      outcomes.set(node.display, describeNodeFailure(answer.reason));
      return;
    }
    const view = answer.value;
    addressByUrl.set(node.display, view.operatorAddress);
    const problem = version !== undefined && view.version !== version
      ? `answered key version ${view.version} when asked for version ${version}`
      : inconsistency(view, node.expectedAddress, version === undefined);
    if (problem !== null) {
      outcomes.set(node.display, problem);
      return;
    }
    const participants = [...view.participants].sort();
    const key = JSON.stringify([view.version, view.threshold, view.masterPublicKey, view.commitments, participants]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { view, participants, supporters: new Map(), points: null };
      groups.set(key, group);
    }
    const earlier = group.supporters.get(view.operatorAddress);
    if (earlier !== undefined) {
      outcomes.set(node.display, `answered as operator ${view.operatorAddress}, already counted for ${earlier}`);
      return;
    }
    group.supporters.set(view.operatorAddress, node.display);
    groupOfUrl.set(node.display, group);
  });

  const floor = thresholdFor(nodes.length);
  let winner: Group | null = null;
  for (const group of groups.values()) {
    const required = Math.max(group.view.threshold, floor);
    if (group.supporters.size < required) continue;
    group.points = decodePoints(group.view);
    if (typeof group.points === 'string') continue;
    winner = group;
  }
  for (const [url, group] of groupOfUrl) {
    const required = Math.max(group.view.threshold, floor);
    const summary = `${describeView(group.view)}: reported by ${group.supporters.size} operator(s), ${required} needed`;
    outcomes.set(url, typeof group.points === 'string' ? `${group.points} (${summary})` : summary);
  }
  if (winner === null || winner.points === null || typeof winner.points === 'string') {
    const what = version === undefined ? 'master public key view' : `view of key version ${version}`;
    throw new ClientError(ClientErrorCode.NO_AGREEMENT, `no ${what} is reported by enough of the ${nodes.length} nodes asked`, {
      fix:
        version === undefined
          ? 'check that the node list is the current operator set and that the listed nodes are up; if a DKG or reshare round is under way, retry once it has finished'
          : `check that enough of the listed nodes still hold key version ${version} (nodes that joined later do not) and are up`,
      details: { nodesAsked: nodes.length, views: groups.size, ...(version === undefined ? {} : { version }) },
      nodes: nodes.map((n) => ({ url: n.display, outcome: outcomes.get(n.display) ?? 'no answer' })),
    });
  }
  const agreed = winner;
  const points = winner.points;
  return {
    version: agreed.view.version,
    threshold: agreed.view.threshold,
    masterPublicKey: points.mpk,
    masterPublicKeyHex: agreed.view.masterPublicKey as `0x${string}`,
    commitments: points.commitments,
    participants: agreed.participants,
    required: Math.max(agreed.view.threshold, floor),
    supporters: [...agreed.supporters].map(([operatorAddress, url]) => ({ url, operatorAddress })),
    dissenters: nodes
      .filter((n) => groupOfUrl.get(n.display) !== agreed)
      .map((n) => ({ url: n.display, outcome: outcomes.get(n.display) ?? 'no answer' })),
    addressByUrl,
  };
}
