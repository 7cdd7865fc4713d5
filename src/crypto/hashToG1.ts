/**
 * H1: hash an app id to G1 with RFC 9380 hash_to_curve (SSWU, random oracle), using
 * the DST of the Go original so app keys match across implementations.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { assertWellFormed } from './appId.js';
import { CryptoError, CryptoErrorCode } from './errors.js';
import type { G1Point } from './points.js';

export const HASH_TO_G1_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

/**
 * H1(message); a string is hashed as its UTF-8 bytes. A string with lone surrogates is
 * refused: TextEncoder would replace each with U+FFFD, so distinct strings would collide.
 */
export function hashToG1(message: string | Uint8Array): G1Point {
  let bytes: Uint8Array;
  if (typeof message === 'string') bytes = utf8ToBytes(assertWellFormed(message, 'message'));
  else if (message instanceof Uint8Array) bytes = message;
  else throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, '"message" expected a string or Uint8Array');
  return bls12_381.G1.hashToCurve(bytes, { DST: HASH_TO_G1_DST });
}
