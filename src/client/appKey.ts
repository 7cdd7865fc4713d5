/**
 * App key derivation: collect partial signatures σ_i = x_i·H1(appId) from every node,
 * check EACH against the signer's public share X_i = Σ C_k·id_i^k under the agreed
 * commitments of the version it was signed with (e(σ_i, G2) = e(H1(appId), X_i),
 * batched, per node only when the batch fails), keep t valid ones from distinct
 * participants of one version, interpolate, and check the result against that
 * version's MPK. A node that sends a wrong partial is named and dropped; the Go client instead
 * tried threshold subsets blindly until one verified (up to 1000 combinations).
 */
import {
  Fr,
  G2,
  appIdProblem,
  defaultRandomSource,
  g1FromHex,
  hashToG1,
  msmG1,
  msmG2,
  operatorId,
  pairingEquals,
  publicShare,
  recoverAppKey,
  verifyAppKey,
  verifyPartial,
  type G1Point,
  type G2Point,
  type PartialSignature,
} from '../crypto/index.js';
import { ClientError, ClientErrorCode, badInput, isClientError, type NodeOutcome } from './errors.js';
import { agreeOnMasterPublicKey, type AgreedMasterPublicKey } from './masterPublicKey.js';
import { describeNodeFailure, requestPartialSignature, type NodeRequestOptions, type NodeTarget, type PartialSignatureResponse } from './nodeApi.js';


export interface DeriveAppKeyOptions {
  /** Unix seconds: nodes sign with the key version valid at that time (default: the active one). */
  readonly attestationTime?: number;
}

/** A recovered, verified app key and how it was obtained. */
export interface DerivedAppKey {
  readonly appId: string;
  /** s·H1(appId): the app's private key. Secret: handle like a password. */
  readonly appKey: G1Point;
  /** The key version whose partials were interpolated (the agreed one, or the one the nodes signed with). */
  readonly version: number;
  /** That version's threshold and master public key (a reshare keeps the MPK). */
  readonly threshold: number;
  readonly masterPublicKeyHex: `0x${string}`;
  /** The operators whose partials were interpolated (exactly `threshold`, ascending by address). */
  readonly contributors: readonly { readonly url: string; readonly operatorAddress: string }[];
  /** Valid partials beyond the threshold, not needed for interpolation. */
  readonly spare: readonly { readonly url: string; readonly operatorAddress: string }[];
  /** Nodes whose answer was not used, and why. */
  readonly rejected: readonly NodeOutcome[];
}

/** Throws CLIENT_BAD_INPUT unless appId meets the nodes' rule (src/crypto/appId.ts: 5..1024 UTF-8 bytes, no lone surrogates). */
export function assertAppId(appId: unknown): string {
  const problem = appIdProblem(appId);
  if (problem !== null) throw badInput(problem, 'pass the app id the app was registered with', 'appId');
  return appId as string;
}

/** Throws CLIENT_BAD_INPUT unless t is a non-negative safe integer (Unix seconds). */
export function assertAttestationTime(t: unknown): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
    throw badInput('attestation time must be a non-negative integer number of Unix seconds', 'pass e.g. 1767225600', 'attestationTime');
  }
  return t;
}

interface Candidate {
  readonly url: string;
  readonly operatorAddress: string;
  readonly id: bigint;
  readonly signature: G1Point;
  /** The key version the node says it signed with. */
  readonly version: number;
}

/** Why this node's answer cannot be used whatever its version, or its decoded signature. */
function judge(node: NodeTarget, answer: PartialSignatureResponse, agreed: AgreedMasterPublicKey): { ok: Candidate } | { reason: string } {
  const addr = answer.OperatorAddress;
  const knownAddress = node.expectedAddress ?? agreed.addressByUrl.get(node.display);
  if (knownAddress !== undefined && knownAddress !== addr) {
    return { reason: `signed as operator ${addr}, but this URL is operator ${knownAddress}` };
  }
  let signature: G1Point;
  try {
    signature = g1FromHex(answer.PartialSignature, { title: 'PartialSignature', allowIdentity: true });
  } catch (error) {
    return { reason: `partial signature is not a valid G1 point (${describeNodeFailure(error)})` };
  }
  // The Go original's "no signature" is its zero point; like its client, drop it by name.
  if (signature.is0()) return { reason: 'sent the identity point instead of a partial signature' };
  return { ok: { url: node.display, operatorAddress: addr, id: operatorId(addr), signature, version: answer.Version } };
}

/**
 * The agreed public data of every version some partial claims: the agreed view itself
 * for its version, and for any other a fresh agreement on /pubkey?version=<epoch>
 * (same rule, same nodes), or why there is none.
 */
async function viewsOf(
  versions: ReadonlySet<number>,
  nodes: readonly NodeTarget[],
  agreed: AgreedMasterPublicKey,
  options: NodeRequestOptions,
): Promise<Map<number, AgreedMasterPublicKey | string>> {
  const others = [...versions].filter((v) => v !== agreed.version);
  const answers = await Promise.allSettled(others.map((v) => agreeOnMasterPublicKey(nodes, options, v)));
  const views = new Map<number, AgreedMasterPublicKey | string>([[agreed.version, agreed]]);
  answers.forEach((answer, i) => {
    const version = others[i];
    if (version === undefined) return;
    // The summary sentence only: the fix and per-node lines would repeat for every partial.
    const why = answer.status === 'fulfilled' ? null : isClientError(answer.reason) ? (answer.reason.message.split(/\. Fix: |\n/)[0] ?? answer.reason.code) : describeNodeFailure(answer.reason);
    views.set(version, answer.status === 'fulfilled' ? answer.value : `signed with key version ${version}, whose public data the nodes do not agree on (${why ?? 'no answer'})`);
  });
  return views;
}

function randomWeight(): bigint {
  for (;;) {
    let acc = 0n;
    for (const b of defaultRandomSource(16)) acc = (acc << 8n) | BigInt(b);
    if (acc !== 0n) return acc;
  }
}

/**
 * All partials valid at once, by a random linear combination:
 *   e(Σ ρ_i·σ_i, G2) = e(H1(appId), Σ ρ_i·X_i), with Σ ρ_i·X_i = Σ_k C_k·(Σ_i ρ_i·id_i^k),
 * one pairing check and one t-point MSM instead of a pairing and a commitment
 * evaluation per node (four individual checks took ~0.8 s under tsx on the 2-core dev
 * box, 2026-11-26). A false partial passes with
 * probability ≤ 2^-128 (ρ_i random 128-bit, points checked in the subgroup).
 */
function allValid(candidates: readonly Candidate[], appId: string, commitments: readonly G2Point[]): boolean {
  const rhos = candidates.map(() => randomWeight());
  const sigma = msmG1(
    candidates.map((c) => c.signature),
    rhos,
  );
  const scalars = commitments.map(() => 0n);
  candidates.forEach((c, i) => {
    let power = rhos[i] ?? 0n;
    for (let k = 0; k < scalars.length; k++) {
      scalars[k] = Fr.add(scalars[k] ?? 0n, power);
      power = Fr.mul(power, c.id);
    }
  });
  try {
    return pairingEquals(sigma, G2.BASE, hashToG1(appId), msmG2(commitments, scalars));
  } catch {
    // A combination at infinity (negligible odds) makes the pairing refuse: check one by one instead.
    return false;
  }
}

/**
 * The partials of one key version that verify against its agreed commitments, one per
 * operator, ascending by address; every other one goes to `rejected` with its reason.
 */
function validPartials(candidates: readonly Candidate[], view: AgreedMasterPublicKey, appId: string, rejected: NodeOutcome[]): Candidate[] {
  let checked = candidates.filter((c) => {
    if (view.participants.includes(c.operatorAddress)) return true;
    rejected.push({ url: c.url, outcome: `operator ${c.operatorAddress} is not a participant of version ${view.version}` });
    return false;
  });
  if (checked.length > 0 && !allValid(checked, appId, view.commitments)) {
    // Some partial is wrong: check each against its own public share to name the culprits.
    checked = checked.filter((c) => {
      if (verifyPartial(c.signature, appId, publicShare(view.commitments, c.id))) return true;
      rejected.push({ url: c.url, outcome: `partial signature of ${c.operatorAddress} does not verify against its public share (wrong share or wrong app id)` });
      return false;
    });
  }
  // Deduplicate after verification, so a node claiming an honest operator's address cannot shadow it with a bad partial.
  const valid = new Map<string, Candidate>();
  for (const c of checked) {
    const earlier = valid.get(c.operatorAddress);
    if (earlier === undefined) valid.set(c.operatorAddress, c);
    else rejected.push({ url: c.url, outcome: `duplicate partial of operator ${c.operatorAddress} (already have it from ${earlier.url})` });
  }
  return [...valid.values()].sort((a, b) => (a.operatorAddress < b.operatorAddress ? -1 : 1));
}

/**
 * Collects, checks and interpolates partial signatures for appId. Each partial is
 * checked under the public data of the version it was signed with: the agreed view for
 * its version, and for another version (an attestation time, or a node mid-rotation)
 * that version's /pubkey?version= view, agreed on by the same rule. The key is
 * interpolated from one version: the agreed one when it has t valid partials, else the
 * newest that has its t. Throws CLIENT_TOO_FEW_PARTIALS (listing every node's outcome)
 * when no version has enough, and CLIENT_APP_KEY_INVALID if the interpolated key fails
 * the MPK pairing check.
 */
export async function deriveAppKey(
  nodes: readonly NodeTarget[],
  agreed: AgreedMasterPublicKey,
  appId: string,
  options: NodeRequestOptions & DeriveAppKeyOptions,
): Promise<DerivedAppKey> {
  assertAppId(appId);
  const request = options.attestationTime === undefined ? { appId } : { appId, attestationTime: assertAttestationTime(options.attestationTime) };
  const answers = await Promise.allSettled(nodes.map((node) => requestPartialSignature(node, request, options)));
  const rejected: NodeOutcome[] = [];
  const candidates: Candidate[] = [];
  answers.forEach((answer, i) => {
    const node = nodes[i];
    if (node === undefined) return;
    if (answer.status === 'rejected') {
      rejected.push({ url: node.display, outcome: describeNodeFailure(answer.reason) });
      return;
    }
    const verdict = judge(node, answer.value, agreed);
    if ('reason' in verdict) rejected.push({ url: node.display, outcome: verdict.reason });
    else candidates.push(verdict.ok);
  });
  const signedVersions = new Set(candidates.map((c) => c.version));
  const views = await viewsOf(signedVersions, nodes, agreed, options);
  // The agreed version first, then the others newest first: the order versions are tried in.
  const order = [...views.keys()].sort((a, b) => (a === agreed.version ? -1 : b === agreed.version ? 1 : b - a));
  const groups: { view: AgreedMasterPublicKey; valid: Candidate[] }[] = [];
  for (const version of order) {
    const view = views.get(version);
    const claimed = candidates.filter((c) => c.version === version);
    if (typeof view === 'string') for (const c of claimed) rejected.push({ url: c.url, outcome: view });
    else if (view !== undefined) groups.push({ view, valid: validPartials(claimed, view, appId, rejected) });
  }
  const chosen = groups.find((g) => g.valid.length >= g.view.threshold);
  if (chosen === undefined) throw tooFewPartials(appId, groups, rejected, agreed, signedVersions.size);
  for (const other of groups) {
    if (other === chosen) continue;
    for (const c of other.valid) {
      rejected.push({ url: c.url, outcome: `valid partial of ${c.operatorAddress} under key version ${other.view.version}, not used: key version ${chosen.view.version} was` });
    }
  }
  const { view, valid } = chosen;
  const used = valid.slice(0, view.threshold);
  const partials: PartialSignature[] = used.map((c) => ({ id: c.id, signature: c.signature }));
  const appKey = recoverAppKey(partials, view.threshold);
  if (!verifyAppKey(appKey, appId, view.masterPublicKey)) {
    // Unreachable with verified partials and C_0 = MPK; kept so a bug can never hand out a wrong key.
    throw new ClientError(ClientErrorCode.APP_KEY_INVALID, `the app key recovered for "${appId}" does not verify against the master public key`, {
      fix: 'report this: individually valid partials should always interpolate to a key that verifies',
      details: { version: view.version, contributors: used.length },
    });
  }
  const strip = (c: Candidate) => ({ url: c.url, operatorAddress: c.operatorAddress });
  return {
    appId,
    appKey,
    version: view.version,
    threshold: view.threshold,
    masterPublicKeyHex: view.masterPublicKeyHex,
    contributors: used.map(strip),
    spare: valid.slice(view.threshold).map(strip),
    rejected,
  };
}

/** CLIENT_TOO_FEW_PARTIALS for the version that came closest (the agreed one on a tie). */
function tooFewPartials(
  appId: string,
  groups: readonly { view: AgreedMasterPublicKey; valid: readonly Candidate[] }[],
  rejected: readonly NodeOutcome[],
  agreed: AgreedMasterPublicKey,
  signedVersions: number,
): ClientError {
  const closest = groups.reduce<{ view: AgreedMasterPublicKey; valid: readonly Candidate[] } | null>(
    (best, g) => (best === null || g.valid.length > best.valid.length ? g : best),
    null,
  ) ?? { view: agreed, valid: [] };
  const { view, valid } = closest;
  const versionHint = signedVersions > 1
    ? `; nodes signed with ${signedVersions} different key versions: retry once the current round has finished, or pick an attestation time within one version`
    : '';
  const validOutcomes = groups.flatMap((g) => g.valid.map((c) => ({ url: c.url, outcome: `valid partial from ${c.operatorAddress} (key version ${g.view.version})` })));
  return new ClientError(
    ClientErrorCode.TOO_FEW_PARTIALS,
    `only ${valid.length} valid partial signature(s) for "${appId}", ${view.threshold} needed (key version ${view.version})`,
    {
      fix: `bring more of the ${view.participants.length} operators of version ${view.version} online or into the node list${versionHint}`,
      details: { valid: valid.length, threshold: view.threshold, version: view.version },
      nodes: [...validOutcomes, ...rejected],
    },
  );
}
