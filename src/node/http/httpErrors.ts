import { isKmsError } from '../../errors.js';
import { isProtocolError } from '../../protocol/errors.js';
import { TransportError, transportErrorStatus } from '../../transport/errors.js';

/** A request the API refuses: the status and a code the caller can match on. */
export class HttpRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Non-secret context for the caller, e.g. which parameter was wrong. */
    readonly details?: Readonly<Record<string, string | number>>,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Readonly<Record<string, string | number>> };
}

/** Codes of typed errors that are the caller's fault, and the status that says so. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  NODE_NO_KEY_VERSION: 404,
  NODE_NOT_READY: 503,
  // Early protocol messages over the inbox's caps (src/node/sessionInbox.ts).
  INBOX_SENDER_QUOTA: 429,
  INBOX_FULL: 429,
  EARLY_MESSAGE_TOO_LARGE: 413,
};

/**
 * Codes of typed errors that say "not now": the node is at capacity or lost the work to a
 * crashed worker. 503 with Retry-After (the error's details.retryAfterSeconds); not logged
 * per request, since a flood would flood the log (metrics count them).
 */
const RETRY_LATER_STATUS: Readonly<Record<string, number>> = {
  CRYPTO_POOL_BUSY: 503,
  CRYPTO_WORKER_CRASHED: 503,
};

/**
 * Maps anything thrown by a handler to a status and a JSON body. Typed errors keep their
 * code and message (they are written to be shown and never carry secrets); anything else
 * becomes a bare 500 so no stack trace or internal detail leaves the process.
 */
export function toHttpError(error: unknown): { status: number; body: ErrorBody; internal: boolean; retryAfterSeconds?: number } {
  if (error instanceof HttpRequestError) {
    const body = { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) };
    return { status: error.status, body: { error: body }, internal: false };
  }
  if (error instanceof TransportError) {
    return { status: transportErrorStatus(error.code), body: { error: { code: error.code, message: error.message } }, internal: false };
  }
  if (isProtocolError(error)) {
    // The sender's message was refused by the protocol core: its fault, never retried.
    return { status: error.code === 'DUPLICATE_MESSAGE' ? 409 : 400, body: { error: { code: error.code, message: error.message } }, internal: false };
  }
  if (isKmsError(error) && RETRY_LATER_STATUS[error.code] !== undefined) {
    const retryAfter = error.details.retryAfterSeconds;
    const retryAfterSeconds = typeof retryAfter === 'number' && Number.isSafeInteger(retryAfter) && retryAfter > 0 ? retryAfter : 1;
    const body = { code: error.code, message: error.message, details: { retryAfterSeconds } };
    return { status: RETRY_LATER_STATUS[error.code] ?? 503, body: { error: body }, internal: false, retryAfterSeconds };
  }
  if (isKmsError(error)) {
    const status = CLIENT_ERROR_STATUS[error.code] ?? 500;
    return { status, body: { error: { code: error.code, message: error.message } }, internal: status >= 500 };
  }
  const fastifyError = error as { statusCode?: unknown; code?: unknown };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const code = typeof fastifyError.code === 'string' ? fastifyError.code : 'BAD_REQUEST';
    const message = fastifyError.statusCode === 413 ? 'request body is too large' : 'malformed request';
    return { status: fastifyError.statusCode, body: { error: { code, message } }, internal: false };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error (see the node log)' } }, internal: true };
}
