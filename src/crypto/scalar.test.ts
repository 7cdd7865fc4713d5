import fc from 'fast-check';
import { createDeterministicRng } from './deterministicRng.js';
import {
  CURVE_ORDER,
  decodeScalar,
  encodeScalar,
  randomScalar,
  scalarFromHex,
  scalarToHex,
} from './scalar.js';
import { codeOf } from '../../test/gen/errorCode.js';

const scalarArb = fc.bigInt({ min: 0n, max: CURVE_ORDER - 1n });


describe('scalar codec', () => {
  it('round-trips every canonical scalar through bytes and hex', () => {
    fc.assert(
      fc.property(scalarArb, (s) => {
        const bytes = encodeScalar(s);
        expect(bytes).toHaveLength(32);
        expect(decodeScalar(bytes)).toBe(s);
        expect(scalarFromHex(scalarToHex(s))).toBe(s);
      }),
    );
  });

  it('encodes big-endian', () => {
    const bytes = encodeScalar(0x0102n);
    expect(bytes[30]).toBe(1);
    expect(bytes[31]).toBe(2);
    expect(scalarToHex(1n)).toBe(`0x${'0'.repeat(63)}1`);
  });

  it('rejects wrong lengths', () => {
    expect(codeOf(() => decodeScalar(new Uint8Array(31)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => decodeScalar(new Uint8Array(33)))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => scalarFromHex('0x1234'))).toBe('CRYPTO_INVALID_ENCODING');
    expect(codeOf(() => scalarFromHex('1'.repeat(64)))).toBe('CRYPTO_INVALID_ENCODING');
  });

  it('rejects non-canonical values r … 2^256−1 instead of reducing them', () => {
    const rBytes = new Uint8Array(32);
    let v = CURVE_ORDER;
    for (let i = 31; i >= 0; i--) {
      rBytes[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    expect(codeOf(() => decodeScalar(rBytes))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => decodeScalar(new Uint8Array(32).fill(0xff)))).toBe('CRYPTO_INVALID_SCALAR');
    fc.assert(
      fc.property(fc.bigInt({ min: CURVE_ORDER, max: (1n << 256n) - 1n }), (big) => {
        const hex = `0x${big.toString(16).padStart(64, '0')}`;
        expect(codeOf(() => scalarFromHex(hex))).toBe('CRYPTO_INVALID_SCALAR');
      }),
    );
  });

  it('refuses to encode out-of-range values', () => {
    expect(codeOf(() => encodeScalar(CURVE_ORDER))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => encodeScalar(-1n))).toBe('CRYPTO_INVALID_SCALAR');
  });

  it('draws non-zero scalars below r, reproducibly from an injected rng', () => {
    const a = createDeterministicRng('seed');
    const b = createDeterministicRng('seed');
    for (let i = 0; i < 20; i++) {
      const s = randomScalar(a);
      expect(s).toBeGreaterThan(0n);
      expect(s).toBeLessThan(CURVE_ORDER);
      expect(randomScalar(b)).toBe(s);
    }
  });

  it('retries a zero draw', () => {
    let calls = 0;
    const rng = (n: number): Uint8Array => (calls++ === 0 ? new Uint8Array(n) : new Uint8Array(n).fill(7));
    expect(randomScalar(rng)).not.toBe(0n);
    expect(calls).toBe(2);
  });
});
