/**
 * Rejections of the DKG / reshare cores. Each is a ProtocolError with a stable code;
 * `details` names the message type, sender and field, never share values.
 */
import { KmsError, type KmsErrorOptions } from '../errors.js';
import type { ProtocolMessage } from './messages.js';

export const ProtocolErrorCode = {
  /** Bad session configuration (operators, previous version, threshold). */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** This operator is not in the session's (new) operator set. */
  NOT_A_PARTICIPANT: 'NOT_A_PARTICIPANT',
  /** The previous share given to a reshare does not match the previous commitments. */
  INVALID_PREVIOUS_SHARE: 'INVALID_PREVIOUS_SHARE',
  /** A message body that does not parse (the field is in details.field). */
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  /** The message is for another session timestamp or protocol. */
  WRONG_SESSION: 'WRONG_SESSION',
  /** A reshare message built on another source version than this node's (a lagging or restarted node). */
  WRONG_SOURCE: 'WRONG_SOURCE',
  /** A completion certificate that does not verify, or certifies another outcome. */
  INVALID_CERTIFICATE: 'INVALID_CERTIFICATE',
  /** The sender (or the dealer/player it names) is not allowed in that role in this session. */
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  /** The message is addressed to another operator. */
  WRONG_RECIPIENT: 'WRONG_RECIPIENT',
  /** A second message for the same slot (deal, ack, complaint or completion). */
  DUPLICATE_MESSAGE: 'DUPLICATE_MESSAGE',
  /** A dealt share that fails s·G2 == Σ C_k·id^k (a complaint: no ack is sent). */
  INVALID_SHARE: 'INVALID_SHARE',
  /** Commitments of the wrong count, not decodable, or (reshare) C_0 ≠ the dealer's previous public share. */
  INVALID_COMMITMENT: 'INVALID_COMMITMENT',
  /** An acknowledgement whose fields contradict the session (e.g. player ≠ sender). */
  INVALID_ACK: 'INVALID_ACK',
  INVALID_ACK_SIGNATURE: 'INVALID_ACK_SIGNATURE',
  INVALID_COMPLAINT: 'INVALID_COMPLAINT',
  INVALID_COMPLAINT_SIGNATURE: 'INVALID_COMPLAINT_SIGNATURE',
  INVALID_COMPLETION: 'INVALID_COMPLETION',
  INVALID_COMPLETION_SIGNATURE: 'INVALID_COMPLETION_SIGNATURE',
  /** Fewer fully acknowledged dealers than the protocol needs. */
  NOT_ENOUGH_DEALERS: 'NOT_ENOUGH_DEALERS',
  /** Reshare: Σ λ_i·C'_i0 ≠ the previous master public key. */
  MPK_MISMATCH: 'MPK_MISMATCH',
  /** This node's combined share does not match the aggregated commitments. */
  SHARE_MISMATCH: 'SHARE_MISMATCH',
  /** At least t operators completed with a different dealer set or commitments than this node. */
  CONFLICTING_COMPLETION: 'CONFLICTING_COMPLETION',
  /** Every operator completed (or the wait ended) without t matching completions. */
  NO_QUORUM: 'NO_QUORUM',
  /** The call does not fit the session's phase (e.g. start twice, handle after failure). */
  INVALID_STATE: 'INVALID_STATE',
} as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export interface ProtocolErrorOptions extends KmsErrorOptions {
  readonly outbound?: readonly ProtocolMessage[];
}

export class ProtocolError extends KmsError {
  readonly code: ProtocolErrorCode;
  /**
   * Messages the session still wants sent although it rejected the input: a rejected
   * deal produces a signed complaint for every other operator. Send them like the
   * return value of a successful handle().
   */
  readonly outbound: readonly ProtocolMessage[];

  constructor(code: ProtocolErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.outbound = options.outbound ?? [];
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
