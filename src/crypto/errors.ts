/**
 * Errors of the BLS12-381 threshold crypto module. One class, a stable `code` per
 * kind of rejection. Messages name the input and the rule it broke, never its
 * secret value (callers pass names and lengths only).
 */
import { KmsError, type KmsErrorOptions } from '../errors.js';

export const CryptoErrorCode = {
  /** Bytes or hex of the wrong length or shape. */
  INVALID_ENCODING: 'CRYPTO_INVALID_ENCODING',
  /** A scalar outside [0, r) (or zero where zero is forbidden). */
  INVALID_SCALAR: 'CRYPTO_INVALID_SCALAR',
  /** Bytes that are not a canonical compressed point of the prime-order subgroup. */
  INVALID_POINT: 'CRYPTO_INVALID_POINT',
  /** The point at infinity where it is forbidden. */
  IDENTITY_POINT: 'CRYPTO_IDENTITY_POINT',
  /** An argument of the wrong type or range (ids, thresholds, lists). */
  INVALID_ARGUMENT: 'CRYPTO_INVALID_ARGUMENT',
  /** An app id outside the rule: 5..1024 UTF-8 bytes of well-formed Unicode (see appId.ts). */
  INVALID_APP_ID: 'CRYPTO_INVALID_APP_ID',
  /** Two equal ids in a set that must be distinct. */
  DUPLICATE_ID: 'CRYPTO_DUPLICATE_ID',
  /** A malformed IBE ciphertext (length, magic, version, C1). */
  INVALID_CIPHERTEXT: 'CRYPTO_INVALID_CIPHERTEXT',
  /** An IBE ciphertext that failed authentication (tampered, or wrong key / app id). */
  DECRYPTION_FAILED: 'CRYPTO_DECRYPTION_FAILED',
  /** Too few partial signatures to recover an app key. */
  NOT_ENOUGH_PARTIALS: 'CRYPTO_NOT_ENOUGH_PARTIALS',
} as const;

export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** Every rejection of src/crypto. Match on `code`, not on the message. */
export class CryptoError extends KmsError {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options: KmsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}

/** Throws CRYPTO_INVALID_ENCODING unless `value` is a Uint8Array of `length` bytes. */
export function abytes(value: unknown, length: number | undefined, title: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ENCODING, `"${title}" expected Uint8Array, got type=${typeof value}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ENCODING,
      `"${title}" expected ${length} bytes, got ${value.length}`,
      { details: { field: title, expected: length, actual: value.length } },
    );
  }
  return value;
}

/** Throws CRYPTO_INVALID_ARGUMENT unless `value` is a safe integer in [min, max]. */
export function anumber(value: unknown, title: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"${title}" expected an integer in [${min}, ${max}], got ${typeof value === 'number' ? String(value) : `type=${typeof value}`}`,
    );
  }
  return value;
}

/** Throws CRYPTO_INVALID_ARGUMENT unless `value` is an array with at least `minLength` items. */
export function alist(value: unknown, title: string, minLength = 1): void {
  if (!Array.isArray(value) || value.length < minLength) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${title}" expected a list of at least ${minLength} items`);
  }
}
