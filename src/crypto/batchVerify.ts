/**
 * Batched verification of many G2 linear relations by a random linear combination.
 *
 * A relation says Σ_j a_j·P_j == s·G2 (e.g. a dealt share s against commitments:
 * P = C_k, a = x^k). For relations R_1..R_m and random 128-bit ρ_i,
 *   Σ_i ρ_i·(Σ_j a_ij·P_ij − s_i·G2) == O
 * holds for all i with certainty when each holds, and for any false one with
 * probability ≤ 2^-128 (ρ from a secure rng). One MSM replaces m separate ones; when
 * the batch fails, each relation is checked alone to name the culprits.
 */
import { CryptoError, CryptoErrorCode, abytes } from './errors.js';
import { G2, msmG2, type G2Point } from './points.js';
import { Fr, ascalar, defaultRandomSource, type RandomSource } from './scalar.js';
import { powers } from './polynomial.js';

/** Σ scalars[j]·points[j] == gScalar·G2. */
export interface G2Relation {
  readonly points: readonly G2Point[];
  readonly scalars: readonly bigint[];
  readonly gScalar: bigint;
}

/** The relation "share·G2 == Σ C_k·x^k". */
export function shareRelation(share: bigint, x: bigint, commitments: readonly G2Point[]): G2Relation {
  return { points: commitments, scalars: powers(ascalar(x, 'x'), commitments.length), gScalar: ascalar(share, 'share') };
}

/** The relation "point == Σ C_k·x^k" (a dealer's C_0 equals its public share under older commitments). */
export function pointRelation(point: G2Point, x: bigint, commitments: readonly G2Point[]): G2Relation {
  const xs = powers(ascalar(x, 'x'), commitments.length).map((p) => Fr.neg(p));
  return { points: [point, ...commitments], scalars: [1n, ...xs], gScalar: 0n };
}

function checkOne(rel: G2Relation): boolean {
  const lhs = msmG2(rel.points, rel.scalars);
  const rhs = rel.gScalar === 0n ? G2.ZERO : G2.BASE.multiply(rel.gScalar);
  return lhs.equals(rhs);
}

function randomWeight(rng: RandomSource): bigint {
  for (;;) {
    const b = abytes(rng(16), 16, 'rng output');
    let acc = 0n;
    for (const byte of b) acc = (acc << 8n) | BigInt(byte);
    if (acc !== 0n) return acc;
  }
}

export interface BatchVerifyOptions {
  /** false: check every relation on its own (the unbatched baseline). Default true. */
  readonly batch?: boolean;
}

/**
 * Indices of the relations that do not hold (empty when all hold). Relations with
 * mismatched points/scalars lengths are rejected with CRYPTO_INVALID_ARGUMENT.
 */
export function findInvalidRelations(
  relations: readonly G2Relation[],
  rng: RandomSource = defaultRandomSource,
  options: BatchVerifyOptions = {},
): number[] {
  relations.forEach((rel, i) => {
    if (rel.points.length !== rel.scalars.length || rel.points.length === 0) {
      throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `relation ${i} has ${rel.points.length} points and ${rel.scalars.length} scalars`);
    }
  });
  const individually = (): number[] => relations.flatMap((rel, i) => (checkOne(rel) ? [] : [i]));
  if (options.batch === false || relations.length < 2) return individually();
  const points: G2Point[] = [G2.BASE];
  const scalars: bigint[] = [0n];
  let g = 0n;
  for (const rel of relations) {
    const rho = randomWeight(rng);
    rel.points.forEach((p, j) => {
      points.push(p);
      scalars.push(Fr.mul(rho, rel.scalars[j] ?? 0n));
    });
    g = Fr.add(g, Fr.mul(rho, rel.gScalar));
  }
  scalars[0] = Fr.neg(g);
  if (msmG2(points, scalars).is0()) return [];
  return individually();
}

/** Verifies many shares for one or more players: indices of the invalid ones. */
export function batchVerifyShares(
  items: readonly { readonly share: bigint; readonly x: bigint; readonly commitments: readonly G2Point[] }[],
  rng: RandomSource = defaultRandomSource,
  options: BatchVerifyOptions = {},
): number[] {
  return findInvalidRelations(
    items.map((it) => shareRelation(it.share, it.x, it.commitments)),
    rng,
    options,
  );
}

/** One dealt share to check at a common x (a player's own id), see findInvalidDeals. */
export interface DealCheck {
  readonly share: bigint;
  readonly commitments: readonly G2Point[];
  /** Reshare: the dealer's id; C_0 must equal Σ previous_k·id^k (its share of the previous version). */
  readonly dealerId?: bigint;
}

/**
 * Indices of the invalid deals among many dealt to the same player x. Batched, it is
 * one check of
 *   Σ_k x^k·(Σ_i ρ_i·C_ik) + Σ_i σ_i·C_i0 − Σ_k (Σ_i σ_i·id_i^k)·P_k − (Σ_i ρ_i·s_i)·G2 == O
 * with 128-bit weights ρ, σ: the inner sums are half-length scalars and the powers of
 * x are shared by all dealers, so the cost is about t short MSMs of n points plus one
 * full MSM of t + t_old + 1 points, instead of n full MSMs. Falls back to per-deal
 * checks to name the culprits.
 */
export function findInvalidDeals(
  x: bigint,
  deals: readonly DealCheck[],
  previousCommitments: readonly G2Point[] | null,
  rng: RandomSource = defaultRandomSource,
  options: BatchVerifyOptions = {},
): number[] {
  ascalar(x, 'x', true);
  const t = deals[0]?.commitments.length ?? 0;
  deals.forEach((d, i) => {
    if (d.commitments.length !== t || t === 0) {
      throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `deal ${i} has ${d.commitments.length} commitments, expected ${t}`);
    }
    ascalar(d.share, `deals[${i}].share`);
    if ((d.dealerId === undefined) !== (previousCommitments === null)) {
      throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `deal ${i}: dealerId and previousCommitments go together`);
    }
  });
  const one = (d: DealCheck): boolean => {
    const rels = [shareRelation(d.share, x, d.commitments)];
    const c0 = d.commitments[0];
    if (previousCommitments !== null && d.dealerId !== undefined && c0 !== undefined) rels.push(pointRelation(c0, d.dealerId, previousCommitments));
    return rels.every(checkOne);
  };
  const individually = (): number[] => deals.flatMap((d, i) => (one(d) ? [] : [i]));
  if (options.batch === false || deals.length < 2) return individually();
  const rho = deals.map(() => randomWeight(rng));
  const sigma = deals.map(() => (previousCommitments === null ? 0n : randomWeight(rng)));
  const points: G2Point[] = [];
  const coeffs: bigint[] = [];
  const xs = powers(x, t);
  for (let k = 0; k < t; k++) {
    // k = 0 also carries the reshare constant check: (ρ_i + σ_i)·C_i0.
    const inner = msmG2(
      deals.map((d) => d.commitments[k] ?? G2.ZERO),
      deals.map((_, i) => (k === 0 ? Fr.add(rho[i] ?? 0n, sigma[i] ?? 0n) : (rho[i] ?? 0n))),
    );
    points.push(inner);
    coeffs.push(k === 0 ? 1n : (xs[k] ?? 0n));
  }
  if (previousCommitments !== null) {
    previousCommitments.forEach((p, k) => {
      let s = 0n;
      deals.forEach((d, i) => (s = Fr.add(s, Fr.mul(sigma[i] ?? 0n, Fr.pow(d.dealerId ?? 0n, BigInt(k))))));
      points.push(p);
      coeffs.push(Fr.neg(s));
    });
  }
  let g = 0n;
  deals.forEach((d, i) => (g = Fr.add(g, Fr.mul(rho[i] ?? 0n, d.share))));
  points.push(G2.BASE);
  coeffs.push(Fr.neg(g));
  if (msmG2(points, coeffs).is0()) return [];
  return individually();
}
