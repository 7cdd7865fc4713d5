/**
 * G1 and G2 points of BLS12-381 and their canonical compressed encodings (ZCash
 * flags: 0x80 compressed, 0x40 infinity, 0x20 larger-y), 48 bytes for G1 and 96 for G2.
 *
 * Decoders accept exactly one encoding per point: the right length, compressed,
 * on the curve, in the prime-order subgroup, and byte-identical when re-encoded
 * (which rejects x ≥ p and stray flag bits). The identity is rejected unless the
 * caller opts in with `allowIdentity`.
 *
 * The Go original writes the identity in gnark's *uncompressed* form (its ZeroG1Point /
 * ZeroG2Point: 96 or 192 bytes, 0x40 then zeros). Where a point comes from the wire or
 * a file, that encoding decodes as the identity too (under the same `allowIdentity`
 * rule); every other uncompressed encoding is still refused, and we only ever write
 * the compressed form.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import type { Fp2 } from '@noble/curves/abstract/tower.js';
import { mulAddUnsafe, pippenger } from '@noble/curves/abstract/curve.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { CryptoError, CryptoErrorCode, abytes } from './errors.js';

export type G1Point = WeierstrassPoint<bigint>;
export type G2Point = WeierstrassPoint<Fp2>;

export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export const G1_BYTES = 48;
export const G2_BYTES = 96;

export interface DecodePointOptions {
  /** Accept the point at infinity (default false). */
  readonly allowIdentity?: boolean;
  /** Name of the input, used in error messages. */
  readonly title?: string;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** gnark's uncompressed infinity (mUncompressedInfinity): 0x40 then zeros, twice the compressed length. */
export function isUncompressedInfinity(bytes: Uint8Array, compressedLength: number): boolean {
  if (bytes.length !== 2 * compressedLength || bytes[0] !== 0x40) return false;
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function decodeWith<P extends G1Point | G2Point>(
  bytes: Uint8Array,
  length: number,
  group: string,
  fromBytes: (b: Uint8Array) => P,
  identity: P,
  options: DecodePointOptions,
): P {
  const title = options.title ?? `${group} point`;
  abytes(bytes, undefined, title);
  if (isUncompressedInfinity(bytes, length)) {
    if (options.allowIdentity !== true) {
      throw new CryptoError(CryptoErrorCode.IDENTITY_POINT, `"${title}" is the ${group} identity (uncompressed form), which is not allowed here`);
    }
    return identity;
  }
  abytes(bytes, length, title);
  if (((bytes[0] ?? 0) & 0x80) === 0) {
    throw new CryptoError(CryptoErrorCode.INVALID_POINT, `"${title}" is not a compressed ${group} encoding (flag 0x80 unset)`);
  }
  let point: P;
  try {
    point = fromBytes(bytes);
  } catch (cause) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_POINT,
      `"${title}" is not a valid ${group} point (not on the curve, not in the prime-order subgroup, or bad flags)`,
      { cause, fix: `send the canonical ${length}-byte compressed encoding of a ${group} subgroup point` },
    );
  }
  if (point.is0() && options.allowIdentity !== true) {
    throw new CryptoError(CryptoErrorCode.IDENTITY_POINT, `"${title}" is the ${group} identity, which is not allowed here`);
  }
  if (!equalBytes(point.toBytes(true), bytes)) {
    throw new CryptoError(CryptoErrorCode.INVALID_POINT, `"${title}" is not the canonical encoding of its ${group} point`);
  }
  return point;
}

function assertPoint(point: unknown, Cons: typeof G1 | typeof G2, group: string, title: string): void {
  if (!(point instanceof Cons)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${title}" expected a ${group} point`);
  }
}

/** 48-byte compressed encoding of a G1 point (the identity encodes as 0xc0 ‖ 0…). */
export function encodeG1(point: G1Point): Uint8Array {
  assertPoint(point, G1, 'G1', 'G1 point');
  return point.toBytes(true);
}

/** 96-byte compressed encoding of a G2 point. */
export function encodeG2(point: G2Point): Uint8Array {
  assertPoint(point, G2, 'G2', 'G2 point');
  return point.toBytes(true);
}

/** Decodes a canonical 48-byte compressed G1 subgroup point (or Go's 96-byte identity); see module doc. */
export function decodeG1(bytes: Uint8Array, options: DecodePointOptions = {}): G1Point {
  return decodeWith(bytes, G1_BYTES, 'G1', (b) => G1.fromBytes(b), G1.ZERO, options);
}

/** Decodes a canonical 96-byte compressed G2 subgroup point (or Go's 192-byte identity); see module doc. */
export function decodeG2(bytes: Uint8Array, options: DecodePointOptions = {}): G2Point {
  return decodeWith(bytes, G2_BYTES, 'G2', (b) => G2.fromBytes(b), G2.ZERO, options);
}

function hexBody(hex: string, length: number, title: string): Uint8Array {
  if (typeof hex !== 'string' || !new RegExp(`^0x[0-9a-fA-F]{${length * 2}}$`).test(hex)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ENCODING, `"${title}" expected 0x followed by ${length * 2} hex digits`, {
      details: { field: title },
    });
  }
  return hexToBytes(hex.slice(2));
}

export function g1ToHex(point: G1Point): `0x${string}` {
  return `0x${bytesToHex(encodeG1(point))}`;
}

export function g2ToHex(point: G2Point): `0x${string}` {
  return `0x${bytesToHex(encodeG2(point))}`;
}

export function g1FromHex(hex: string, options: DecodePointOptions = {}): G1Point {
  const title = options.title ?? 'G1 point';
  return decodeG1(hexBody(hex, G1_BYTES, title), { ...options, title });
}

export function g2FromHex(hex: string, options: DecodePointOptions = {}): G2Point {
  const title = options.title ?? 'G2 point';
  return decodeG2(hexBody(hex, G2_BYTES, title), { ...options, title });
}

/** Scalar multiplication that accepts 0 (noble's `multiply` rejects it). */
export function mulG1(point: G1Point, scalar: bigint): G1Point {
  return scalar === 0n ? G1.ZERO : point.multiply(scalar);
}

/** Scalar multiplication that accepts 0. */
export function mulG2(point: G2Point, scalar: bigint): G2Point {
  return scalar === 0n ? G2.ZERO : point.multiply(scalar);
}

/**
 * Multi-scalar multiplication Σ s_i·P_i over public points and public scalars.
 * Not constant-time: never pass secret scalars. Small inputs use interleaved wNAF
 * (shared doublings); large ones Pippenger buckets.
 */
export function msmG1(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  return msm(G1, points, scalars);
}

/** Σ s_i·P_i on G2; public inputs only (see msmG1). */
export function msmG2(points: readonly G2Point[], scalars: readonly bigint[]): G2Point {
  return msm(G2, points, scalars);
}

const PIPPENGER_FROM = 64;

function msm<P extends G1Point | G2Point>(
  Cons: typeof G1 | typeof G2,
  points: readonly P[],
  scalars: readonly bigint[],
): P {
  if (points.length !== scalars.length) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `msm: ${points.length} points but ${scalars.length} scalars`);
  }
  // The casts bridge noble's generic constructor types; both branches return a point of Cons.
  const c = Cons as unknown as Parameters<typeof pippenger>[0];
  const pts = points as unknown as Parameters<typeof pippenger>[1];
  const sc = [...scalars];
  return (points.length >= PIPPENGER_FROM ? pippenger(c, pts, sc) : mulAddUnsafe(c, pts, sc)) as unknown as P;
}
