/**
 * Decoding a deal's payload: exactly t commitments that are valid G2 points and a
 * canonical share. Only the shape is checked here; whether the share matches the
 * commitments is the session's (batched) verification.
 */
import { decodeG2, type G2Point } from '../crypto/points.js';
import { decodeScalar } from '../crypto/scalar.js';
import { fromHex } from './digests.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { DealMessage } from './messages.js';

export interface DecodedDeal {
  readonly commitments: readonly G2Point[];
  readonly commitmentBytes: readonly Uint8Array[];
  readonly share: bigint;
}

/** @throws ProtocolError INVALID_COMMITMENT or INVALID_SHARE (the receiver complains about the dealer). */
export function decodeDeal(msg: DealMessage, threshold: number): DecodedDeal {
  const details = { type: 'deal', from: msg.from };
  if (msg.commitments.length !== threshold) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_COMMITMENT,
      `deal from ${msg.from} has ${msg.commitments.length} commitments, the threshold is ${threshold}`,
      { details: { ...details, field: 'commitments' } },
    );
  }
  const commitmentBytes = msg.commitments.map(fromHex);
  let commitments: G2Point[];
  try {
    commitments = commitmentBytes.map((b, k) => decodeG2(b, { title: `commitments[${k}]` }));
  } catch (cause) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_COMMITMENT, `deal from ${msg.from} has a commitment that is not a valid G2 point`, {
      cause,
      details: { ...details, field: 'commitments' },
    });
  }
  let share: bigint;
  try {
    share = decodeScalar(fromHex(msg.share), 'share');
  } catch (cause) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_SHARE, `deal from ${msg.from} has a non-canonical share`, {
      cause,
      details: { ...details, field: 'share' },
    });
  }
  return { commitments, commitmentBytes, share };
}
