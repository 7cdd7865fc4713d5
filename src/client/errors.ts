/**
 * Errors of the KMS client library and the kms-client CLI. One class, a stable `code`
 * per kind of failure; every message names what went wrong (which nodes said what) and
 * carries a fix. App keys and plaintexts never appear in messages or details.
 */
import { KmsError, type KmsErrorOptions } from '../errors.js';

export const ClientErrorCode = {
  /** An argument or input the caller passed is invalid (app id, URL, ciphertext layout, flag). */
  BAD_INPUT: 'CLIENT_BAD_INPUT',
  /** No node URL to ask, or the operator-set source returned none. */
  NO_NODES: 'CLIENT_NO_NODES',
  /** One node failed: unreachable, timed out, answered an error status or garbage. */
  NODE_ERROR: 'CLIENT_NODE_ERROR',
  /** No master public key view was reported by enough nodes. */
  NO_AGREEMENT: 'CLIENT_NO_AGREEMENT',
  /** Fewer valid partial signatures than the threshold. */
  TOO_FEW_PARTIALS: 'CLIENT_TOO_FEW_PARTIALS',
  /** The recovered app key does not verify against the agreed master public key. */
  APP_KEY_INVALID: 'CLIENT_APP_KEY_INVALID',
  /** The ciphertext failed authentication under the recovered app key. */
  DECRYPTION_FAILED: 'CLIENT_DECRYPTION_FAILED',
  /** The operator set could not be read (registry or file). */
  OPERATOR_SET_UNAVAILABLE: 'CLIENT_OPERATOR_SET_UNAVAILABLE',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** What one node contributed to a multi-node failure, for messages and `--json` output. */
export interface NodeOutcome {
  /** The node URL without credentials or query. */
  readonly url: string;
  readonly outcome: string;
}

export interface ClientErrorOptions extends KmsErrorOptions {
  /** Per-node outcomes behind a multi-node failure (who said what). */
  readonly nodes?: readonly NodeOutcome[];
}

/** Every failure of src/client. Match on `code`, not on the message. */
export class ClientError extends KmsError {
  readonly code: ClientErrorCode;
  readonly nodes: readonly NodeOutcome[];

  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.nodes = options.nodes ?? [];
    // Listed after the fix so the first line stays a one-sentence summary.
    this.message += this.nodes.map((n) => `\n  ${n.url}: ${n.outcome}`).join('');
  }
}

/** A bad argument: names the argument and the rule it broke. */
export function badInput(message: string, fix: string, field: string, cause?: unknown): ClientError {
  return new ClientError(ClientErrorCode.BAD_INPUT, message, { fix, details: { field }, cause });
}

export function isClientError(value: unknown): value is ClientError {
  return value instanceof ClientError;
}
