/**
 * App key derivation: collect partial signatures σ_i = x_i·H1(appId) from every node,
 * check EACH against the signer's public share X_i = Σ C_k·id_i^k under the agreed
 * commitments (e(σ_i, G2) = e(H1(appId), X_i)), keep t valid ones from distinct
 * participants of the agreed version, interpolate, and check the result against the
 * MPK. A node that sends a wrong partial is named and dropped; the Go client instead
 * tried threshold subsets blindly until one verified (up to 1000 combinations).
 */
import {
  g1FromHex,
  operatorId,
  publicShare,
  recoverAppKey,
  verifyAppKey,
  verifyPartial,
  type G1Point,
  type PartialSignature,
} from '../crypto/index.js';
import { ClientError, ClientErrorCode, badInput, type NodeOutcome } from './errors.js';
import type { AgreedMasterPublicKey } from './masterPublicKey.js';
import { describeNodeFailure, requestPartialSignature, type NodeRequestOptions, type NodeTarget, type PartialSignatureResponse } from './nodeApi.js';

/** The node's app id rule (POST /app/sign). */
export const APP_ID_MIN_LENGTH = 5;
export const APP_ID_MAX_LENGTH = 256;

export interface DeriveAppKeyOptions {
  /** Unix seconds: nodes sign with the key version valid at that time (default: the active one). */
  readonly attestationTime?: number;
}

/** A recovered, verified app key and how it was obtained. */
export interface DerivedAppKey {
  readonly appId: string;
  /** s·H1(appId): the app's private key. Secret: handle like a password. */
  readonly appKey: G1Point;
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKeyHex: `0x${string}`;
  /** The operators whose partials were interpolated (exactly `threshold`, ascending by address). */
  readonly contributors: readonly { readonly url: string; readonly operatorAddress: string }[];
  /** Valid partials beyond the threshold, not needed for interpolation. */
  readonly spare: readonly { readonly url: string; readonly operatorAddress: string }[];
  /** Nodes whose answer was not used, and why. */
  readonly rejected: readonly NodeOutcome[];
}

/** Throws CLIENT_BAD_INPUT unless appId meets the nodes' rule (5..256 characters). */
export function assertAppId(appId: unknown): string {
  if (typeof appId !== 'string' || appId.length < APP_ID_MIN_LENGTH || appId.length > APP_ID_MAX_LENGTH) {
    throw badInput(
      `app id must be a string of ${APP_ID_MIN_LENGTH} to ${APP_ID_MAX_LENGTH} characters`,
      'pass the app id the app was registered with',
      'appId',
    );
  }
  return appId;
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
  readonly signature: G1Point;
}

/** Why this node's partial cannot be used, or its decoded signature. */
function judge(
  node: NodeTarget,
  answer: PartialSignatureResponse,
  agreed: AgreedMasterPublicKey,
  appId: string,
): { ok: Candidate } | { reason: string } {
  const addr = answer.operatorAddress;
  const knownAddress = node.expectedAddress ?? agreed.addressByUrl.get(node.display);
  if (knownAddress !== undefined && knownAddress !== addr) {
    return { reason: `signed as operator ${addr}, but this URL is operator ${knownAddress}` };
  }
  if (!agreed.participants.includes(addr)) return { reason: `operator ${addr} is not a participant of version ${agreed.version}` };
  if (answer.version !== agreed.version) {
    return { reason: `signed with key version ${answer.version}, but the agreed version is ${agreed.version}` };
  }
  let signature: G1Point;
  try {
    signature = g1FromHex(answer.partialSignature, { title: 'partialSignature' });
  } catch (error) {
    return { reason: `partial signature is not a valid G1 point (${describeNodeFailure(error)})` };
  }
  if (!verifyPartial(signature, appId, publicShare(agreed.commitments, operatorId(addr)))) {
    return { reason: `partial signature of ${addr} does not verify against its public share (wrong share or wrong app id)` };
  }
  return { ok: { url: node.display, operatorAddress: addr, signature } };
}

/**
 * Collects, checks and interpolates partial signatures for appId under the agreed
 * view. Throws CLIENT_TOO_FEW_PARTIALS (listing every node's outcome) with fewer than
 * t valid partials, and CLIENT_APP_KEY_INVALID if the interpolated key fails the MPK
 * pairing check.
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
  const valid = new Map<string, Candidate>();
  answers.forEach((answer, i) => {
    const node = nodes[i];
    if (node === undefined) return;
    if (answer.status === 'rejected') {
      rejected.push({ url: node.display, outcome: describeNodeFailure(answer.reason) });
      return;
    }
    const verdict = judge(node, answer.value, agreed, appId);
    if ('reason' in verdict) {
      rejected.push({ url: node.display, outcome: verdict.reason });
      return;
    }
    const earlier = valid.get(verdict.ok.operatorAddress);
    if (earlier !== undefined) {
      rejected.push({ url: node.display, outcome: `duplicate partial of operator ${verdict.ok.operatorAddress} (already have it from ${earlier.url})` });
      return;
    }
    valid.set(verdict.ok.operatorAddress, verdict.ok);
  });

  const sorted = [...valid.values()].sort((a, b) => (a.operatorAddress < b.operatorAddress ? -1 : 1));
  if (sorted.length < agreed.threshold) {
    const versionHint = rejected.some((r) => r.outcome.startsWith('signed with key version'))
      ? '; nodes signed with another key version than /pubkey reports: retry once the current round has finished, or pick an attestation time within the active version'
      : '';
    throw new ClientError(
      ClientErrorCode.TOO_FEW_PARTIALS,
      `only ${sorted.length} valid partial signature(s) for "${appId}", ${agreed.threshold} needed (key version ${agreed.version})`,
      {
        fix: `bring more of the ${agreed.participants.length} operators of version ${agreed.version} online or into the node list${versionHint}`,
        details: { valid: sorted.length, threshold: agreed.threshold, version: agreed.version },
        nodes: [...sorted.map((c) => ({ url: c.url, outcome: `valid partial from ${c.operatorAddress}` })), ...rejected],
      },
    );
  }
  const used = sorted.slice(0, agreed.threshold);
  const partials: PartialSignature[] = used.map((c) => ({ id: operatorId(c.operatorAddress), signature: c.signature }));
  const appKey = recoverAppKey(partials, agreed.threshold);
  if (!verifyAppKey(appKey, appId, agreed.masterPublicKey)) {
    // Unreachable with verified partials and C_0 = MPK; kept so a bug can never hand out a wrong key.
    throw new ClientError(ClientErrorCode.APP_KEY_INVALID, `the app key recovered for "${appId}" does not verify against the master public key`, {
      fix: 'report this: individually valid partials should always interpolate to a key that verifies',
      details: { version: agreed.version, contributors: used.length },
    });
  }
  const strip = (c: Candidate) => ({ url: c.url, operatorAddress: c.operatorAddress });
  return {
    appId,
    appKey,
    version: agreed.version,
    threshold: agreed.threshold,
    masterPublicKeyHex: agreed.masterPublicKeyHex,
    contributors: used.map(strip),
    spare: sorted.slice(agreed.threshold).map(strip),
    rejected,
  };
}
