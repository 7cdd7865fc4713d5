/**
 * Lagrange interpolation at 0 over Fr. For a set S of distinct non-zero ids,
 * λ_i(S) = Π_{j∈S, j≠i} x_j / (x_j − x_i), so f(0) = Σ λ_i·f(x_i) for any f of
 * degree < |S|. One batched inversion for the whole set.
 */
import { CryptoError, CryptoErrorCode, alist } from './errors.js';
import { Fr, ascalar } from './scalar.js';

/** Validates that ids are distinct, non-zero scalars (throws CRYPTO_DUPLICATE_ID / CRYPTO_INVALID_SCALAR). */
export function assertDistinctIds(ids: readonly bigint[], title = 'ids'): void {
  alist(ids, title);
  const seen = new Set<bigint>();
  ids.forEach((id, i) => {
    ascalar(id, `${title}[${i}]`, true);
    if (seen.has(id)) {
      throw new CryptoError(CryptoErrorCode.DUPLICATE_ID, `"${title}" contains the same id twice (index ${i})`, {
        fix: 'interpolate over a set of distinct operators',
      });
    }
    seen.add(id);
  });
}

/** λ_i(S) at 0 for every id of S, in the order given. */
export function lagrangeCoefficientsAtZero(ids: readonly bigint[]): bigint[] {
  assertDistinctIds(ids);
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  for (const [i, xi] of ids.entries()) {
    let num = 1n;
    let den = 1n;
    for (const [j, xj] of ids.entries()) {
      if (i === j) continue;
      num = Fr.mul(num, xj);
      den = Fr.mul(den, Fr.sub(xj, xi));
    }
    nums.push(num);
    dens.push(den);
  }
  const inv = Fr.invertBatch(dens);
  return nums.map((n, i) => Fr.mul(n, inv[i] ?? 0n));
}

/** f(0) from points (x_i, f(x_i)) with distinct non-zero x_i. */
export function interpolateAtZero(points: readonly { readonly x: bigint; readonly y: bigint }[]): bigint {
  const lambdas = lagrangeCoefficientsAtZero(points.map((p) => p.x));
  let acc = 0n;
  points.forEach((p, i) => {
    ascalar(p.y, `points[${i}].y`);
    acc = Fr.add(acc, Fr.mul(lambdas[i] ?? 0n, p.y));
  });
  return acc;
}
