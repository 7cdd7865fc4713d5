import fc from 'fast-check';
import { createDeterministicRng } from './deterministicRng.js';
import { interpolateAtZero, lagrangeCoefficientsAtZero } from './lagrange.js';
import { operatorId } from './operatorId.js';
import { evaluatePolynomial, randomPolynomial } from './polynomial.js';
import { CURVE_ORDER, Fr, randomScalar } from './scalar.js';
import { codeOf } from '../../test/gen/errorCode.js';


function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head as T, ...s]), ...subsets(rest, k)];
}

function address(i: number): string {
  return `0x${(i + 1).toString(16).padStart(40, '0')}`;
}

const threshold = (n: number): number => Math.ceil((2 * n) / 3);

describe('Lagrange interpolation at 0', () => {
  it.each([1, 3, 4, 7, 10])('n=%i: every t-subset recovers the secret, no (t−1)-subset does', (n) => {
    const t = threshold(n);
    const rng = createDeterministicRng(`shamir-${n}`);
    const secret = randomScalar(rng);
    const f = randomPolynomial(secret, t - 1, rng);
    const shares = Array.from({ length: n }, (_, i) => {
      const x = operatorId(address(i));
      return { x, y: evaluatePolynomial(f, x) };
    });
    const good = subsets(shares, t);
    expect(good.length).toBeGreaterThan(0);
    for (const s of good) expect(interpolateAtZero(s)).toBe(secret);
    if (t > 1) {
      for (const s of subsets(shares, t - 1)) expect(interpolateAtZero(s)).not.toBe(secret);
    }
  });

  it('coefficients sum to 1 and reproduce f(0) for random polynomials (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.uniqueArray(fc.bigInt({ min: 1n, max: CURVE_ORDER - 1n }), { minLength: 9, maxLength: 12 }),
        fc.string(),
        (degree, xs, seed) => {
          const ids = xs.slice(0, degree + 1);
          const lambdas = lagrangeCoefficientsAtZero(ids);
          expect(lambdas.reduce((a, b) => Fr.add(a, b), 0n)).toBe(1n);
          const f = randomPolynomial(randomScalar(createDeterministicRng(seed)), degree, createDeterministicRng(`${seed}!`));
          expect(interpolateAtZero(ids.map((x) => ({ x, y: evaluatePolynomial(f, x) })))).toBe(f[0]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is independent of the order of the set', () => {
    const ids = [5n, 9n, 11n, 2n];
    const a = lagrangeCoefficientsAtZero(ids);
    const b = lagrangeCoefficientsAtZero([...ids].reverse());
    expect(b).toEqual([...a].reverse());
  });

  it('rejects duplicates, zero and out-of-range ids, and empty sets', () => {
    expect(codeOf(() => lagrangeCoefficientsAtZero([1n, 2n, 1n]))).toBe('CRYPTO_DUPLICATE_ID');
    expect(codeOf(() => lagrangeCoefficientsAtZero([0n, 2n]))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => lagrangeCoefficientsAtZero([CURVE_ORDER]))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => lagrangeCoefficientsAtZero([]))).toBe('CRYPTO_INVALID_ARGUMENT');
  });
});

describe('operator ids', () => {
  it('is keccak256(address) mod r, case-insensitive, non-zero', () => {
    const a = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const id = operatorId(a);
    expect(id).toBe(operatorId(a.toLowerCase()));
    expect(id).toBeGreaterThan(0n);
    expect(id).toBeLessThan(CURVE_ORDER);
    expect(operatorId(address(1))).not.toBe(operatorId(address(2)));
  });

  it('matches an independently computed keccak256 (viem)', async () => {
    const { keccak256 } = await import('viem');
    const a = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
    expect(operatorId(a)).toBe(BigInt(keccak256(a)) % CURVE_ORDER);
  }, 60_000);

  it('rejects malformed addresses', () => {
    expect(codeOf(() => operatorId('0x1234'))).toBe('CRYPTO_INVALID_ARGUMENT');
    expect(codeOf(() => operatorId('70997970c51812dc3a010c7d01b50e0d17dc79c8'))).toBe('CRYPTO_INVALID_ARGUMENT');
    expect(codeOf(() => operatorId(`0x${'g'.repeat(40)}`))).toBe('CRYPTO_INVALID_ARGUMENT');
  });
});
