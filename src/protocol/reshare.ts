/**
 * Reshare: moves the master secret to a new operator set / threshold without
 * reconstructing it. Dealers are the previous holders still in the set; dealer i deals
 * g_i with g_i(0) = x_i (its previous share), which players check against
 * X_i = Σ C^old_k·id_i^k. D = the first t_old fully acknowledged dealers (ascending
 * address); x'_j = Σ λ_i(D)·s'_ij, C_k = Σ λ_i(D)·C'_ik, accepted only if C_0 equals
 * the previous MPK. Joiners (no previous share) only receive; leavers take no part.
 */
import { decodeG2, evaluateCommitments, G2, type G2Point } from '../crypto/index.js';
import { ascalar } from '../crypto/scalar.js';
import { invalidConfig, normalizeOperatorList, validateBase } from './config.js';
import { sourceDigest, toHex } from './digests.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { ProtocolSession } from './session.js';
import { thresholdFor } from './threshold.js';
import type { ReshareSessionConfig } from './types.js';

/** A reshare session for this operator (existing holder or joiner). */
export function createReshareSession(config: ReshareSessionConfig): ProtocolSession {
  const base = validateBase(config);
  const prev = config.previous;
  if (typeof prev !== 'object') throw invalidConfig('"previous" (the version to reshare) is required', 'previous');
  if (!Number.isSafeInteger(prev.epoch) || prev.epoch < 0) throw invalidConfig('"previous.epoch" must be a non-negative integer', 'previous.epoch');
  if (!Number.isSafeInteger(prev.threshold) || prev.threshold < 1) {
    throw invalidConfig('"previous.threshold" must be a positive integer', 'previous.threshold');
  }
  const rawCommitments: unknown = prev.commitments;
  if (!Array.isArray(rawCommitments) || prev.commitments.length !== prev.threshold) {
    throw invalidConfig(`"previous.commitments" must hold exactly previous.threshold (${prev.threshold}) points`, 'previous.commitments');
  }
  let previousCommitments: G2Point[];
  let previousMpk: G2Point;
  try {
    previousCommitments = prev.commitments.map((b, k) => decodeG2(b, { title: `previous.commitments[${k}]` }));
    previousMpk = decodeG2(prev.masterPublicKey, { title: 'previous.masterPublicKey' });
  } catch (cause) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_CONFIG, 'the previous version holds an invalid G2 point', { cause, details: { field: 'previous' } });
  }
  if (!(previousCommitments[0] ?? G2.ZERO).equals(previousMpk)) {
    throw invalidConfig('"previous.masterPublicKey" is not previous.commitments[0]', 'previous.masterPublicKey');
  }
  const previousParticipants = normalizeOperatorList(prev.participants, 'previous.participants');
  if (previousParticipants.length < prev.threshold) {
    throw invalidConfig('"previous.participants" has fewer operators than the previous threshold', 'previous.participants');
  }
  const dealers = previousParticipants.filter((a) => base.operators.includes(a));
  if (dealers.length < prev.threshold) {
    throw new ProtocolError(
      ProtocolErrorCode.NOT_ENOUGH_DEALERS,
      `only ${dealers.length} holders of version ${prev.epoch} remain in the set, ${prev.threshold} are needed to reshare`,
      { details: { field: 'operators' }, fix: 'the new operator set must keep at least the previous threshold of holders' },
    );
  }
  const isHolder = previousParticipants.includes(base.self);
  let ownConstant: bigint | null = null;
  // A listed holder that lost its share (crashed before persisting, or its data was
  // wiped) takes part as a receiver: it stays in the dealer list every node derives, never
  // deals, and the others leave it out of D once their acknowledgement phase times out.
  if (isHolder && config.previousShare !== undefined) {
    const share = ascalar(config.previousShare, 'previousShare', true);
    const id = base.ids.get(base.self) ?? 0n;
    if (!G2.BASE.multiply(share).equals(evaluateCommitments(previousCommitments, id))) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_PREVIOUS_SHARE, `the previous share of ${base.self} does not match version ${prev.epoch}`, {
        details: { field: 'previousShare' },
        fix: 'pass the share of the same version as previous (the active version)',
      });
    }
    ownConstant = share;
  } else if (config.previousShare !== undefined) {
    throw invalidConfig(`${base.self} is not a participant of version ${prev.epoch} but a previousShare was given`, 'previousShare');
  }
  return new ProtocolSession({
    type: 'reshare',
    sessionTimestamp: config.sessionTimestamp,
    ...base,
    signer: config.signer,
    recoverSigner: config.recoverSigner,
    rng: config.rng,
    startTime: config.startTime ?? 0,
    msm: config.verification?.msm ?? true,
    batch: config.verification?.batch ?? true,
    dealers,
    threshold: thresholdFor(base.operators.length),
    ownConstant,
    reshare: { previousCommitments, previousMpk, previousThreshold: prev.threshold },
    source: toHex(sourceDigest(prev.epoch, prev.commitments)),
  });
}
