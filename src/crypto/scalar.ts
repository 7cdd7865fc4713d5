/**
 * Fr, the scalar field of BLS12-381 (r ≈ 2^255): shares, polynomial coefficients,
 * operator ids and Lagrange coefficients all live here.
 *
 * Encoding: 32 bytes big-endian, canonical (value < r); decoders reject everything
 * else instead of reducing, so one scalar has exactly one encoding.
 *
 * Memory hygiene: scalars are JS bigints, which are immutable and cannot be zeroized;
 * a share lives in the heap until the GC reclaims it. Byte buffers produced here can
 * be wiped by the caller (`bytes.fill(0)`). Field operations are not constant-time.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { CryptoError, CryptoErrorCode, abytes } from './errors.js';

/** Fr field operations (add, mul, inv, pow …) from @noble/curves. */
export const Fr = bls12_381.fields.Fr;
/** r, the prime order of G1, G2 and GT. */
export const CURVE_ORDER: bigint = Fr.ORDER;
export const SCALAR_BYTES = 32;

/** A source of cryptographically secure random bytes; injected so cores stay deterministic in tests. */
export type RandomSource = (length: number) => Uint8Array;

/** The default RandomSource: WebCrypto getRandomValues via @noble/hashes. */
export const defaultRandomSource: RandomSource = (length) => randomBytes(length);

/** Returns `value` if it is a bigint in [0, r) (and non-zero when `nonZero`), else throws CRYPTO_INVALID_SCALAR. */
export function ascalar(value: unknown, title: string, nonZero = false): bigint {
  if (typeof value !== 'bigint') {
    throw new CryptoError(CryptoErrorCode.INVALID_SCALAR, `"${title}" expected bigint, got type=${typeof value}`);
  }
  if (value < 0n || value >= CURVE_ORDER) {
    throw new CryptoError(CryptoErrorCode.INVALID_SCALAR, `"${title}" is outside the scalar field [0, r)`, {
      fix: 'reduce the value modulo r before use, or check where it came from',
    });
  }
  if (nonZero && value === 0n) {
    throw new CryptoError(CryptoErrorCode.INVALID_SCALAR, `"${title}" must not be zero`);
  }
  return value;
}

/**
 * A uniformly random non-zero scalar. Draws 64 bytes and reduces mod r, so the bias
 * is below 2^-256; retries on zero (probability 2^-255).
 */
export function randomScalar(rng: RandomSource = defaultRandomSource): bigint {
  for (;;) {
    const bytes = abytes(rng(64), 64, 'rng output');
    let acc = 0n;
    for (const b of bytes) acc = (acc << 8n) | BigInt(b);
    bytes.fill(0);
    const s = acc % CURVE_ORDER;
    if (s !== 0n) return s;
  }
}

/** 32-byte big-endian canonical encoding of a scalar in [0, r). */
export function encodeScalar(value: bigint): Uint8Array {
  ascalar(value, 'scalar');
  const out = new Uint8Array(SCALAR_BYTES);
  let v = value;
  for (let i = SCALAR_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Decodes 32 big-endian bytes; rejects a wrong length (CRYPTO_INVALID_ENCODING) and values ≥ r (CRYPTO_INVALID_SCALAR). */
export function decodeScalar(bytes: Uint8Array, title = 'scalar'): bigint {
  abytes(bytes, SCALAR_BYTES, title);
  let acc = 0n;
  for (const b of bytes) acc = (acc << 8n) | BigInt(b);
  if (acc >= CURVE_ORDER) {
    throw new CryptoError(CryptoErrorCode.INVALID_SCALAR, `"${title}" is not canonical: value ≥ r`, {
      fix: 'encode scalars reduced modulo r (32 bytes big-endian)',
    });
  }
  return acc;
}

const HEX_32 = /^0x[0-9a-fA-F]{64}$/;

/** `0x` + 64 lowercase hex digits. */
export function scalarToHex(value: bigint): `0x${string}` {
  return `0x${bytesToHex(encodeScalar(value))}`;
}

/** Parses `0x` + 64 hex digits (either case) into a canonical scalar. */
export function scalarFromHex(hex: string, title = 'scalar'): bigint {
  if (typeof hex !== 'string' || !HEX_32.test(hex)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ENCODING, `"${title}" expected 0x followed by 64 hex digits`, {
      details: { field: title },
    });
  }
  return decodeScalar(hexToBytes(hex.slice(2)), title);
}
