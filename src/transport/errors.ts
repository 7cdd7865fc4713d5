import { KmsError, type KmsErrorOptions } from '../errors.js';

/**
 * Why an inbound node-to-node message was refused, or why a local transport
 * primitive could not do its job. Codes are stable: the HTTP layer maps them to
 * status codes with {@link transportErrorStatus} and peers match on them.
 */
export type TransportErrorCode =
  | 'MALFORMED_ENVELOPE'
  | 'BODY_TOO_LARGE'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_SENDER'
  | 'SENDER_MISMATCH'
  | 'WRONG_RECIPIENT'
  | 'STALE_MESSAGE'
  | 'REPLAYED_MESSAGE'
  | 'WRONG_SESSION'
  | 'REPLAY_GUARD_FULL'
  | 'INVALID_PRIVATE_KEY'
  | 'INVALID_PUBLIC_KEY'
  | 'MALFORMED_SEALED_SHARE'
  | 'SHARE_DECRYPTION_FAILED'
  | 'INVALID_TRANSPORT_CONFIG'
  | 'UNKNOWN_RECIPIENT';

/** A rejected message or a misuse of a transport primitive; `code` says which. */
export class TransportError extends KmsError {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options: KmsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The HTTP status a server answers with when {@link openEnvelope} rejects a request.
 * 409 for replays matters: {@link PeerClient} treats a 409 REPLAYED_MESSAGE on a
 * retry as "an earlier attempt was delivered".
 */
export function transportErrorStatus(code: TransportErrorCode): number {
  switch (code) {
    // SHARE_DECRYPTION_FAILED: the share was sealed to another key or tampered with. The
    // sender's fault, and resending the same bytes cannot help (it was a 500, which peers retried).
    case 'SHARE_DECRYPTION_FAILED':
    case 'MALFORMED_ENVELOPE':
    case 'MALFORMED_SEALED_SHARE':
    case 'WRONG_RECIPIENT':
    case 'WRONG_SESSION':
    case 'STALE_MESSAGE':
      return 400;
    case 'BAD_SIGNATURE':
    case 'SENDER_MISMATCH':
      return 401;
    case 'UNKNOWN_SENDER':
      return 403;
    case 'REPLAYED_MESSAGE':
      return 409;
    case 'BODY_TOO_LARGE':
      return 413;
    case 'REPLAY_GUARD_FULL':
      return 503;
    case 'INVALID_PRIVATE_KEY':
    case 'INVALID_PUBLIC_KEY':
    case 'INVALID_TRANSPORT_CONFIG':
    case 'UNKNOWN_RECIPIENT':
      return 500;
  }
}

/** Why an outbound request to a peer failed after the client gave up. */
export type PeerRequestErrorCode =
  | 'PEER_UNREACHABLE'
  | 'PEER_TIMEOUT'
  | 'PEER_HTTP_ERROR'
  | 'PEER_RESPONSE_TOO_LARGE'
  | 'PEER_INVALID_RESPONSE'
  | 'PEER_REQUEST_ABORTED'
  | 'PEER_REQUEST_TOO_LARGE'
  | 'PEER_INVALID_URL';

/**
 * An outbound request failed. `details` carries the peer address, route, attempt
 * count and (for PEER_HTTP_ERROR) the HTTP status and the peer's error code, never
 * the request or response body.
 */
export class PeerRequestError extends KmsError {
  readonly code: PeerRequestErrorCode;
  /** True when the failure is one the client retries (network, timeout, 5xx). */
  readonly retryable: boolean;

  constructor(code: PeerRequestErrorCode, message: string, retryable: boolean, options: KmsErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.retryable = retryable;
  }
}
