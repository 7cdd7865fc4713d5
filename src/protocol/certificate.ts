/**
 * Completion certificates: the t (or more) signed completions that finalized a version,
 * with the version's public data. Self-verifying: anyone who knows the operators' keys
 * checks it without trusting whoever forwarded it, so it is both
 *  - the proof a node needs to finalize a version whose completions it missed (it holds
 *    its share, signed the same completion, and the certificate shows t operators did), and
 *  - the evidence, vouched for by a threshold of holders, of the network's latest version
 *    that a restarted or lagging node plans its next round from.
 * Every operator signs one completion per session and t > n/2, so at most one version per
 * session can ever be certified (completionQuorum.ts).
 */
import { decodeG2 } from '../crypto/points.js';
import { commitmentsHash, completionDigest, dealerSetHash, fromHex, toHex } from './digests.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { CompleteMessage } from './messages.js';
import { thresholdFor } from './threshold.js';
import type { CompletionCertificate, FinalizedVersion, OperatorAddress, RecoverSigner } from './types.js';

const ascending = (list: readonly string[]): boolean => list.every((x, i) => i === 0 || (list[i - 1] ?? '') < x);

function invalid(message: string, field: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.INVALID_CERTIFICATE, `completion certificate: ${message}`, {
    details: { field },
    fix: 'a certificate must carry t valid completion signatures of the version\'s own operators over its dealer set and commitments',
  });
}

/**
 * Checks a certificate: its shape (threshold of the operator set, t commitments that are
 * G2 points, dealers and signers ascending and among the operators) and that at least t
 * distinct operators signed a completion over exactly its dealer set and commitments.
 * @throws ProtocolError INVALID_CERTIFICATE naming what is wrong.
 */
export function verifyCertificate(cert: CompletionCertificate, recoverSigner: RecoverSigner): void {
  const { participants, dealers, commitments, signatures } = cert;
  if (participants.length === 0 || !ascending(participants)) throw invalid('participants must be a non-empty ascending list', 'participants');
  if (cert.threshold !== thresholdFor(participants.length)) {
    throw invalid(`threshold ${cert.threshold} is not ⌈2n/3⌉ of its ${participants.length} participants`, 'threshold');
  }
  if (commitments.length !== cert.threshold) throw invalid(`holds ${commitments.length} commitments, its threshold is ${cert.threshold}`, 'commitments');
  commitments.forEach((c, k) => {
    try {
      decodeG2(c, { title: `commitments[${k}]` });
    } catch (cause) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_CERTIFICATE, `completion certificate: commitments[${k}] is not a G2 point`, { cause, details: { field: 'commitments' } });
    }
  });
  if (dealers.length === 0 || !ascending(dealers) || !dealers.every((d) => participants.includes(d))) {
    throw invalid('dealers must be a non-empty ascending subset of the participants', 'dealers');
  }
  const signers = signatures.map((s) => s.operator);
  if (!ascending(signers) || !signers.every((s) => participants.includes(s))) {
    throw invalid('signers must be distinct participants in ascending order', 'signatures');
  }
  if (signatures.length < cert.threshold) throw invalid(`${signatures.length} signatures, ${cert.threshold} needed`, 'signatures');
  const setHash = dealerSetHash(dealers);
  const cHash = commitmentsHash(commitments);
  // t valid signatures suffice: one whose signer's key this node no longer knows (it left
  // the operator set since) does not void the others.
  const failures: string[] = [];
  for (const { operator, signature } of signatures) {
    const digest = completionDigest(cert.type, cert.sessionTimestamp, operator, setHash, cHash);
    try {
      const signer = recoverSigner(digest, fromHex(signature)).toLowerCase();
      if (signer !== operator) failures.push(`the completion of ${operator} was signed by ${signer}`);
    } catch {
      failures.push(`the signature of ${operator} does not recover`);
    }
  }
  const valid = signatures.length - failures.length;
  if (valid < cert.threshold) throw invalid(`${valid} valid signatures, ${cert.threshold} needed (${failures.join('; ')})`, 'signatures');
}

/** The certificate's completions as messages to `to` (a forwarded completion verifies like a direct one: `to` is not signed). */
export function certificateCompletions(cert: CompletionCertificate, to: OperatorAddress): CompleteMessage[] {
  const commitmentsHashHex = toHex(commitmentsHash(cert.commitments));
  return cert.signatures
    .filter((s) => s.operator !== to)
    .map((s) => ({
      type: 'complete',
      protocol: cert.type,
      sessionTimestamp: cert.sessionTimestamp,
      from: s.operator,
      to,
      dealers: [...cert.dealers],
      commitmentsHash: commitmentsHashHex,
      signature: s.signature,
    }));
}

/**
 * What a node keeps of a round it completed (signed its completion) but did not see
 * finalize: enough to finalize the same version once a certificate for it turns up.
 * Holds the node's new share: memory only, never logged.
 */
export interface PendingCompletion {
  readonly type: CompletionCertificate['type'];
  readonly sessionTimestamp: number;
  readonly dealers: readonly OperatorAddress[];
  readonly commitments: readonly Uint8Array[];
  readonly threshold: number;
  readonly participants: readonly OperatorAddress[];
  readonly privateShare: bigint;
}

/** Whether `cert` certifies exactly the version `pending` completed (same session, dealers and commitments). */
export function certifies(cert: CompletionCertificate, pending: PendingCompletion): boolean {
  return cert.type === pending.type
    && cert.sessionTimestamp === pending.sessionTimestamp
    && cert.threshold === pending.threshold
    && cert.participants.join() === pending.participants.join()
    && cert.dealers.join() === pending.dealers.join()
    && toHex(commitmentsHash(cert.commitments)) === toHex(commitmentsHash(pending.commitments));
}

/**
 * Finalizes a pending completion with a certificate for the same version.
 * @throws ProtocolError INVALID_CERTIFICATE when it does not verify or certifies another version.
 */
export function finalizeWithCertificate(pending: PendingCompletion, cert: CompletionCertificate, recoverSigner: RecoverSigner): FinalizedVersion {
  verifyCertificate(cert, recoverSigner);
  if (!certifies(cert, pending)) {
    throw invalid(`it certifies another outcome of session ${cert.sessionTimestamp} than the one this node completed`, 'commitments');
  }
  return {
    epoch: pending.sessionTimestamp,
    privateShare: pending.privateShare,
    commitments: pending.commitments,
    masterPublicKey: pending.commitments[0] ?? new Uint8Array(0),
    threshold: pending.threshold,
    participants: pending.participants,
    dealers: pending.dealers,
    certificate: cert,
  };
}

/** The newest of some certificates (by session), or null. */
export function newestCertificate(certs: Iterable<CompletionCertificate>): CompletionCertificate | null {
  let best: CompletionCertificate | null = null;
  for (const c of certs) if (best === null || c.sessionTimestamp > best.sessionTimestamp) best = c;
  return best;
}
