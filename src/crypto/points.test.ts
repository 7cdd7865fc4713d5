import { bls12_381 } from '@noble/curves/bls12-381.js';
import fc from 'fast-check';
import {
  G1,
  G2,
  decodeG1,
  decodeG2,
  encodeG1,
  encodeG2,
  g1FromHex,
  g1ToHex,
  g2FromHex,
  g2ToHex,
  msmG1,
  msmG2,
  type G1Point,
  type G2Point,
} from './points.js';
import { CURVE_ORDER } from './scalar.js';
import { codeOf } from '../../test/gen/errorCode.js';

const { Fp, Fp2 } = bls12_381.fields;
const P = Fp.ORDER;
const HALF = (P - 1n) / 2n;

function fpBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(48);
  for (let i = 47; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Independent ZCash compressed encoders, so rejections are about the point and not our encoding. */
function rawCompressG1(x: bigint, y: bigint): Uint8Array {
  const out = fpBytes(x);
  out[0] = (out[0] ?? 0) | 0x80 | (y > HALF ? 0x20 : 0);
  return out;
}

function rawCompressG2(x: { c0: bigint; c1: bigint }, y: { c0: bigint; c1: bigint }): Uint8Array {
  const out = new Uint8Array(96);
  out.set(fpBytes(x.c1), 0);
  out.set(fpBytes(x.c0), 48);
  const big = y.c1 !== 0n ? y.c1 > HALF : y.c0 > HALF;
  out[0] = (out[0] ?? 0) | 0x80 | (big ? 0x20 : 0);
  return out;
}


const scalarArb = fc.bigInt({ min: 1n, max: CURVE_ORDER - 1n });

/** A point on E(Fp) outside the order-r subgroup (the cofactor part is non-trivial). */
function nonSubgroupG1(): G1Point {
  for (let x = 1n; ; x++) {
    const y2 = Fp.add(Fp.pow(x, 3n), 4n);
    let y: bigint;
    try {
      y = Fp.sqrt(y2);
    } catch {
      continue;
    }
    const pt = G1.fromAffine({ x, y });
    if (!pt.isTorsionFree()) return pt;
  }
}

function nonSubgroupG2(): G2Point {
  const b = Fp2.fromBigTuple([4n, 4n]);
  for (let k = 1n; ; k++) {
    const x = Fp2.fromBigTuple([k, 1n]);
    const y2 = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y: ReturnType<typeof Fp2.sqrt>;
    try {
      y = Fp2.sqrt(y2);
    } catch {
      continue;
    }
    const pt = G2.fromAffine({ x, y });
    if (!pt.isTorsionFree()) return pt;
  }
}

describe('G1/G2 codecs', () => {
  it('round-trip subgroup points (property)', () => {
    fc.assert(
      fc.property(scalarArb, (s) => {
        const p1 = G1.BASE.multiply(s);
        const b1 = encodeG1(p1);
        expect(b1).toHaveLength(48);
        expect(decodeG1(b1).equals(p1)).toBe(true);
        expect(g1FromHex(g1ToHex(p1)).equals(p1)).toBe(true);
      }),
      { numRuns: 25 },
    );
    fc.assert(
      fc.property(scalarArb, (s) => {
        const p2 = G2.BASE.multiply(s);
        const b2 = encodeG2(p2);
        expect(b2).toHaveLength(96);
        expect(decodeG2(b2).equals(p2)).toBe(true);
        expect(g2FromHex(g2ToHex(p2)).equals(p2)).toBe(true);
      }),
      { numRuns: 10 },
    );
  });

  it('the independent encoders agree with ours on valid points', () => {
    const p1 = G1.BASE.multiply(12345n).toAffine();
    expect(rawCompressG1(p1.x, p1.y)).toEqual(encodeG1(G1.BASE.multiply(12345n)));
    const p2 = G2.BASE.multiply(777n).toAffine();
    expect(rawCompressG2(p2.x, p2.y)).toEqual(encodeG2(G2.BASE.multiply(777n)));
  });

  it('rejects wrong lengths', () => {
    const g1 = encodeG1(G1.BASE);
    const g2 = encodeG2(G2.BASE);
    expect(codeOf(() => decodeG1(g1.slice(0, 47)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG1(new Uint8Array(96)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG1(G1.BASE.toBytes(false)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG2(g2.slice(1)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG2(g1))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => g2FromHex('0x00'))).toBe('CRYPTO_INVALID_ENCODING');
  });

  it('rejects points off the curve', () => {
    let x = 1n;
    for (; ; x++) {
      const y2 = Fp.add(Fp.pow(x, 3n), 4n);
      if (!Fp.eql(Fp.pow(y2, HALF), Fp.ONE)) break; // x³+4 is a non-residue: no point has this x
    }
    const bytes = fpBytes(x);
    bytes[0] = (bytes[0] ?? 0) | 0x80;
    expect(codeOf(() => decodeG1(bytes))).toBe('CRYPTO_INVALID_POINT');
    const g2 = encodeG2(G2.BASE);
    g2[95] = (g2[95] ?? 0) ^ 1;
    expect(['CRYPTO_INVALID_POINT']).toContain(codeOf(() => decodeG2(g2)));
  });

  it('rejects curve points outside the prime-order subgroup', () => {
    const q1 = nonSubgroupG1().toAffine();
    expect(G1.fromAffine(q1).assertValidity.bind(G1.fromAffine(q1))).toThrow();
    expect(codeOf(() => decodeG1(rawCompressG1(q1.x, q1.y)))).toBe('CRYPTO_INVALID_POINT');
    const q2 = nonSubgroupG2().toAffine();
    expect(codeOf(() => decodeG2(rawCompressG2(q2.x, q2.y)))).toBe('CRYPTO_INVALID_POINT');
    // Clearing the cofactor lands in the subgroup: same construction, now accepted.
    const cleared = G2.fromAffine(q2).clearCofactor();
    expect(decodeG2(encodeG2(cleared)).equals(cleared)).toBe(true);
  });

  it('rejects the identity unless allowed', () => {
    const z1 = encodeG1(G1.ZERO);
    const z2 = encodeG2(G2.ZERO);
    expect(z1[0]).toBe(0xc0);
    expect(codeOf(() => decodeG1(z1))).toBe('CRYPTO_IDENTITY_POINT');
    expect(codeOf(() => decodeG2(z2))).toBe('CRYPTO_IDENTITY_POINT');
    expect(decodeG1(z1, { allowIdentity: true }).is0()).toBe(true);
    expect(decodeG2(z2, { allowIdentity: true }).is0()).toBe(true);
  });

  it('rejects non-canonical encodings: missing compression flag, x ≥ p, dirty identity', () => {
    const g1 = encodeG1(G1.BASE.multiply(5n));
    g1[0] = (g1[0] ?? 0) & 0x7f;
    expect(codeOf(() => decodeG1(g1))).toBe('CRYPTO_INVALID_POINT');
    const p1 = G1.BASE.multiply(9n).toAffine();
    const big = rawCompressG1(p1.x + P, p1.y);
    if (p1.x + P < 1n << 381n) expect(codeOf(() => decodeG1(big))).toBe('CRYPTO_INVALID_POINT');
    const dirty = encodeG1(G1.ZERO);
    dirty[47] = 1;
    expect(codeOf(() => decodeG1(dirty, { allowIdentity: true }))).toBe('CRYPTO_INVALID_POINT');
  });

  it('decodes the Go original’s uncompressed identity (0x40, 96/192 bytes) as the identity where allowed, and never writes it', () => {
    const goZeroG1 = new Uint8Array(96);
    goZeroG1[0] = 0x40;
    const goZeroG2 = new Uint8Array(192);
    goZeroG2[0] = 0x40;
    expect(decodeG1(goZeroG1, { allowIdentity: true }).is0()).toBe(true);
    expect(decodeG2(goZeroG2, { allowIdentity: true }).is0()).toBe(true);
    // Where the identity is not legitimate it stays refused, now by name.
    expect(codeOf(() => decodeG1(goZeroG1))).toBe('CRYPTO_IDENTITY_POINT');
    expect(codeOf(() => decodeG2(goZeroG2))).toBe('CRYPTO_IDENTITY_POINT');
    // Any other uncompressed bytes are still refused: a stray bit, the other group's length, a real point uncompressed.
    const stray = goZeroG1.slice();
    stray[95] = 1;
    expect(codeOf(() => decodeG1(stray, { allowIdentity: true }))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG1(goZeroG2, { allowIdentity: true }))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeG1(G1.BASE.toBytes(false), { allowIdentity: true }))).toBe('CRYPTO_INVALID_ENCODING');
    expect(encodeG1(G1.ZERO)).toHaveLength(48);
    expect(encodeG2(G2.ZERO)).toHaveLength(96);
    expect(encodeG1(G1.ZERO)[0]).toBe(0xc0);
  });

  it('msm equals the sum of separate multiplications', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: CURVE_ORDER - 1n }), { minLength: 1, maxLength: 6 }), (ks) => {
        const pts1 = ks.map((_, i) => G1.BASE.multiply(BigInt(i + 3)));
        const want1 = pts1.reduce((acc, p, i) => acc.add(p.multiplyUnsafe(ks[i]!)), G1.ZERO);
        expect(msmG1(pts1, ks).equals(want1)).toBe(true);
        const pts2 = ks.map((_, i) => G2.BASE.multiply(BigInt(i + 3)));
        const want2 = pts2.reduce((acc, p, i) => acc.add(p.multiplyUnsafe(ks[i]!)), G2.ZERO);
        expect(msmG2(pts2, ks).equals(want2)).toBe(true);
      }),
      { numRuns: 8 },
    );
    const many = Array.from({ length: 70 }, (_, i) => G1.BASE.multiply(BigInt(i + 1)));
    const sc = many.map((_, i) => BigInt(i * 7 + 1));
    const want = many.reduce((acc, p, i) => acc.add(p.multiply(sc[i]!)), G1.ZERO);
    expect(msmG1(many, sc).equals(want)).toBe(true);
    expect(codeOf(() => msmG1(many, sc.slice(1)))).toBe('CRYPTO_INVALID_ARGUMENT');
  });
});
