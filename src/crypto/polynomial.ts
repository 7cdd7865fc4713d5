/**
 * Shamir polynomials over Fr and their Feldman commitments in G2.
 * f(x) = a_0 + a_1·x + … + a_{t−1}·x^{t−1}; commitments C_k = a_k·G2, so anyone can
 * check a share s = f(x) with s·G2 == Σ C_k·x^k without learning f.
 */
import { alist, anumber } from './errors.js';
import { G2, msmG2, type G2Point } from './points.js';
import { Fr, ascalar, defaultRandomSource, randomScalar, type RandomSource } from './scalar.js';

/** Coefficients a_0 … a_{t−1}; a_0 is the secret. */
export type Polynomial = readonly bigint[];

/**
 * A random polynomial of `degree` with f(0) = `constant`; the other coefficients are
 * uniform non-zero scalars from `rng`.
 */
export function randomPolynomial(constant: bigint, degree: number, rng: RandomSource = defaultRandomSource): Polynomial {
  ascalar(constant, 'polynomial constant');
  anumber(degree, 'degree', 0, 10_000);
  const coeffs: bigint[] = [constant];
  for (let k = 1; k <= degree; k++) coeffs.push(randomScalar(rng));
  return coeffs;
}

function apolynomial(coeffs: readonly bigint[], title: string): void {
  alist(coeffs, title);
  coeffs.forEach((c, k) => ascalar(c, `${title}[${k}]`));
}

/** f(x) by Horner's rule in Fr. */
export function evaluatePolynomial(coeffs: Polynomial, x: bigint): bigint {
  apolynomial(coeffs, 'polynomial');
  ascalar(x, 'x');
  let acc = 0n;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fr.add(Fr.mul(acc, x), coeffs[k] ?? 0n);
  return acc;
}

/** Feldman commitments C_k = a_k·G2 (constant-time multiply: the coefficients are secret). */
export function commitPolynomial(coeffs: Polynomial): G2Point[] {
  apolynomial(coeffs, 'polynomial');
  return coeffs.map((a) => (a === 0n ? G2.ZERO : G2.BASE.multiply(a)));
}

export interface EvaluateCommitmentsOptions {
  /** Use multi-scalar multiplication (default true); false does t separate multiplications, for benchmarks. */
  readonly msm?: boolean;
}

/** The powers 1, x, x², …, x^{count−1} in Fr. */
export function powers(x: bigint, count: number): bigint[] {
  const out: bigint[] = [];
  let p = 1n;
  for (let k = 0; k < count; k++) {
    out.push(p);
    p = Fr.mul(p, x);
  }
  return out;
}

/**
 * Σ C_k·x^k: the public image f(x)·G2 of the committed polynomial at x (a player's
 * expected share image, or an operator's public share X_i when x = id_i).
 */
export function evaluateCommitments(
  commitments: readonly G2Point[],
  x: bigint,
  options: EvaluateCommitmentsOptions = {},
): G2Point {
  alist(commitments, 'commitments');
  ascalar(x, 'x');
  const xs = powers(x, commitments.length);
  if (options.msm === false) {
    let acc = G2.ZERO;
    commitments.forEach((c, k) => {
      const s = xs[k] ?? 0n;
      if (s !== 0n) acc = acc.add(c.multiplyUnsafe(s));
    });
    return acc;
  }
  return msmG2(commitments, xs);
}

/** Checks a dealt share against its dealer's commitments: s·G2 == Σ C_k·x^k. */
export function verifyShare(
  share: bigint,
  x: bigint,
  commitments: readonly G2Point[],
  options: EvaluateCommitmentsOptions = {},
): boolean {
  ascalar(share, 'share');
  const lhs = share === 0n ? G2.ZERO : G2.BASE.multiply(share);
  return lhs.equals(evaluateCommitments(commitments, x, options));
}
