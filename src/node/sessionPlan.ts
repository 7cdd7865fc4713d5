import { z } from 'zod';
import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import { newestCertificate, type CompletionCertificate, type PreviousVersion } from '../protocol/index.js';

/** A peer's view of its active version as the certificate exchange carries it (hex points); not the /pubkey wire format (src/wire/pubkey.ts). */
export interface PeerKeyView {
  readonly operatorAddress: OperatorAddress;
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKey: `0x${string}`;
  readonly commitments: readonly `0x${string}`[];
  readonly participants: readonly OperatorAddress[];
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-f]{${bytes * 2}}$`)).transform((s) => s as `0x${string}`);
const address = z.string().regex(/^0x[0-9a-f]{40}$/).transform((s) => s as OperatorAddress);

export const peerKeyViewSchema = z.object({
  operatorAddress: address,
  version: z.number().int().nonnegative(),
  threshold: z.number().int().positive(),
  masterPublicKey: hex(96),
  commitments: z.array(hex(96)).min(1).max(1024),
  participants: z.array(address).min(1).max(1024),
});

/** What this node does at a boundary. */
export type SessionPlan =
  | { readonly kind: 'dkg' }
  | { readonly kind: 'reshare'; readonly previous: PreviousVersion; readonly previousShare: bigint | null }
  | { readonly kind: 'wait'; readonly reason: string };

/**
 * Decides DKG vs reshare. The agreed latest version is the newest one a verified
 * completion certificate proves (`certificates`, from peers; the active version's own
 * counts too): t operators signed its completion, so it is vouched for by a threshold of
 * holders whoever forwarded it, and every node that sees it plans from it. A node whose
 * active version is older (it restarted, lagged or missed the completions) takes part as
 * a receiver of it and never deals from its stale share; one that still deals from an
 * older version is refused as WRONG_SOURCE by everyone (see the protocol's source digest).
 *
 * Without any certificate (versions stored before certificates existed), the rule below
 * applies to the peers' active versions as they report them (`peerViews`).
 * The version to reshare is the one a threshold of its own holders vouch for (this
 * node's view counts once): a node that lags behind, lost its data, or is new joins as
 * a receiver of that version instead of dealing from a stale share. DKG only when no
 * operator reports any key, so a live cluster is never replaced by a fresh secret.
 * `sessionTimestamp` (this boundary's): when the agreed version is already that new,
 * the others ran this boundary's round without this node (it was offline and only now
 * saw the boundary); a round of its own could only fail, so it waits for the next.
 */
export function planSession(
  active: KeyShareVersion | null,
  self: OperatorAddress,
  peerViews: readonly PeerKeyView[],
  sessionTimestamp?: number,
  certificates: readonly CompletionCertificate[] = [],
): SessionPlan {
  const certified = newestCertificate(active?.certificate === undefined ? certificates : [...certificates, active.certificate]);
  if (certified !== null && (active === null || active.epoch <= certified.sessionTimestamp)) {
    return planFromCertificate(certified, active, self, sessionTimestamp);
  }
  const views = new Map<OperatorAddress, PeerKeyView>();
  for (const view of peerViews) if (view.operatorAddress !== self) views.set(view.operatorAddress, view);
  if (active !== null) views.set(self, viewOf(active, self));
  if (views.size === 0) return { kind: 'dkg' };

  const groups = new Map<string, { view: PeerKeyView; holders: Set<OperatorAddress> }>();
  for (const view of views.values()) {
    // Only holders of a version can vouch for it.
    if (!view.participants.includes(view.operatorAddress)) continue;
    const key = `${view.version}|${view.threshold}|${view.commitments.join(',')}|${view.participants.join(',')}`;
    const group = groups.get(key) ?? { view, holders: new Set<OperatorAddress>() };
    group.holders.add(view.operatorAddress);
    groups.set(key, group);
  }
  const agreed = [...groups.values()]
    .filter((g) => g.holders.size >= g.view.threshold)
    .sort((a, b) => b.view.version - a.view.version)[0];
  if (agreed === undefined) {
    return { kind: 'wait', reason: `${views.size} operators report keys but no version is vouched for by its threshold of holders` };
  }
  if (sessionTimestamp !== undefined && agreed.view.version >= sessionTimestamp) {
    return { kind: 'wait', reason: `version ${agreed.view.version} already came from the round of this boundary (${sessionTimestamp}) or a later one` };
  }
  const previous: PreviousVersion = {
    epoch: agreed.view.version,
    threshold: agreed.view.threshold,
    masterPublicKey: hexToBytes(agreed.view.masterPublicKey),
    commitments: agreed.view.commitments.map(hexToBytes),
    participants: agreed.view.participants,
  };
  const holdsAgreed = active !== null && active.epoch === agreed.view.version && agreed.holders.has(self);
  return { kind: 'reshare', previous, previousShare: holdsAgreed ? active.privateShare : null };
}

function planFromCertificate(cert: CompletionCertificate, active: KeyShareVersion | null, self: OperatorAddress, sessionTimestamp: number | undefined): SessionPlan {
  if (sessionTimestamp !== undefined && cert.sessionTimestamp >= sessionTimestamp) {
    return { kind: 'wait', reason: `version ${cert.sessionTimestamp} already came from the round of this boundary (${sessionTimestamp}) or a later one` };
  }
  const previous: PreviousVersion = {
    epoch: cert.sessionTimestamp,
    threshold: cert.threshold,
    masterPublicKey: cert.commitments[0] ?? new Uint8Array(0),
    commitments: cert.commitments,
    participants: cert.participants,
  };
  const same = (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean => a.length === b.length && a.every((x, i) => Buffer.from(x).equals(Buffer.from(b[i] ?? new Uint8Array(0))));
  const holds = active !== null && active.epoch === cert.sessionTimestamp && same(active.commitments, cert.commitments) && cert.participants.includes(self);
  return { kind: 'reshare', previous, previousShare: holds ? active.privateShare : null };
}

export function viewOf(version: KeyShareVersion, self: OperatorAddress): PeerKeyView {
  return {
    operatorAddress: self,
    version: version.epoch,
    threshold: version.threshold,
    masterPublicKey: bytesToHex(version.masterPublicKey),
    commitments: version.commitments.map(bytesToHex),
    participants: version.participants,
  };
}

function bytesToHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
}
