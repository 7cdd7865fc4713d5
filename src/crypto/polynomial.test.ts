import { createDeterministicRng } from './deterministicRng.js';
import { batchVerifyShares, findInvalidDeals, findInvalidRelations, pointRelation } from './batchVerify.js';
import { G2 } from './points.js';
import {
  commitPolynomial,
  evaluateCommitments,
  evaluatePolynomial,
  randomPolynomial,
  verifyShare,
} from './polynomial.js';
import { Fr, randomScalar } from './scalar.js';
import { codeOf } from '../../test/gen/errorCode.js';


describe('polynomials and commitments', () => {
  const rng = createDeterministicRng('poly');
  const secret = randomScalar(rng);
  const f = randomPolynomial(secret, 4, rng);
  const commitments = commitPolynomial(f);

  it('has the requested constant and degree', () => {
    expect(f).toHaveLength(5);
    expect(f[0]).toBe(secret);
    expect(evaluatePolynomial(f, 0n)).toBe(secret);
    expect(commitments[0]!.equals(G2.BASE.multiply(secret))).toBe(true);
  });

  it('evaluates by Horner like the naive sum', () => {
    const x = 123456789n;
    let naive = 0n;
    f.forEach((a, k) => (naive = Fr.add(naive, Fr.mul(a, Fr.pow(x, BigInt(k))))));
    expect(evaluatePolynomial(f, x)).toBe(naive);
  });

  it('commitment evaluation with and without MSM agree and match the share image', () => {
    for (const x of [1n, 7n, 99999n]) {
      const s = evaluatePolynomial(f, x);
      const withMsm = evaluateCommitments(commitments, x);
      const without = evaluateCommitments(commitments, x, { msm: false });
      expect(withMsm.equals(without)).toBe(true);
      expect(withMsm.equals(G2.BASE.multiply(s))).toBe(true);
      expect(verifyShare(s, x, commitments)).toBe(true);
    }
  });

  it('detects a tampered share and a tampered commitment', () => {
    const x = 42n;
    const s = evaluatePolynomial(f, x);
    expect(verifyShare(Fr.add(s, 1n), x, commitments)).toBe(false);
    const bad = [...commitments];
    bad[2] = bad[2]!.add(G2.BASE);
    expect(verifyShare(s, x, bad)).toBe(false);
  });

  it('rejects invalid inputs', () => {
    expect(codeOf(() => evaluatePolynomial([], 1n))).toBe('CRYPTO_INVALID_ARGUMENT');
    expect(codeOf(() => evaluateCommitments([], 1n))).toBe('CRYPTO_INVALID_ARGUMENT');
    expect(codeOf(() => randomPolynomial(-1n, 2, rng))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => randomPolynomial(1n, -1, rng))).toBe('CRYPTO_INVALID_ARGUMENT');
  });
});

describe('batched share verification', () => {
  const rng = createDeterministicRng('batch');
  const dealers = Array.from({ length: 6 }, () => {
    const poly = randomPolynomial(randomScalar(rng), 3, rng);
    return { poly, commitments: commitPolynomial(poly) };
  });
  const x = 31337n;
  const items = dealers.map((d) => ({ share: evaluatePolynomial(d.poly, x), x, commitments: d.commitments }));

  it('accepts a batch of valid shares, batched or not', () => {
    expect(batchVerifyShares(items, rng)).toEqual([]);
    expect(batchVerifyShares(items, rng, { batch: false })).toEqual([]);
  });

  it('names exactly the tampered shares', () => {
    const tampered = items.map((it, i) => (i === 1 || i === 4 ? { ...it, share: Fr.add(it.share, 5n) } : it));
    expect(batchVerifyShares(tampered, rng)).toEqual([1, 4]);
    expect(batchVerifyShares(tampered, rng, { batch: false })).toEqual([1, 4]);
  });

  it('two errors that cancel without weights are still caught', () => {
    const tampered = items.map((it, i) =>
      i === 0 ? { ...it, share: Fr.add(it.share, 1n) } : i === 2 ? { ...it, share: Fr.sub(it.share, 1n) } : it,
    );
    expect(batchVerifyShares(tampered, rng)).toEqual([0, 2]);
  });

  it('checks point relations (a dealer constant against old commitments)', () => {
    const old = dealers[0]!;
    const id = 77n;
    const image = G2.BASE.multiply(evaluatePolynomial(old.poly, id));
    expect(findInvalidRelations([pointRelation(image, id, old.commitments), pointRelation(image, id, old.commitments)], rng)).toEqual([]);
    expect(findInvalidRelations([pointRelation(image, id, old.commitments), pointRelation(image.double(), id, old.commitments)], rng)).toEqual([1]);
  });
});

describe('findInvalidDeals (same player, shared powers, reshare constants)', () => {
  const rng = createDeterministicRng('deals');
  const t = 4;
  const previous = randomPolynomial(randomScalar(rng), 2, rng);
  const previousCommitments = commitPolynomial(previous);
  const dealerIds = [11n, 22n, 33n, 44n, 55n];
  const x = 987654321n;
  // Reshare: dealer i deals g_i with g_i(0) = previous(id_i).
  const polys = dealerIds.map((id) => randomPolynomial(evaluatePolynomial(previous, id), t - 1, rng));
  const deals = polys.map((g, i) => ({ share: evaluatePolynomial(g, x), commitments: commitPolynomial(g), dealerId: dealerIds[i]! }));

  it('accepts valid deals batched and one by one, and plain DKG deals without dealer ids', () => {
    expect(findInvalidDeals(x, deals, previousCommitments, rng)).toEqual([]);
    expect(findInvalidDeals(x, deals, previousCommitments, rng, { batch: false })).toEqual([]);
    expect(findInvalidDeals(x, deals.map(({ share, commitments }) => ({ share, commitments })), null, rng)).toEqual([]);
  });

  it('names a tampered share and a dealer that shares a different constant', () => {
    const other = randomPolynomial(randomScalar(rng), t - 1, rng);
    const bad = [...deals];
    bad[1] = { ...deals[1]!, share: Fr.add(deals[1]!.share, 1n) };
    bad[3] = { share: evaluatePolynomial(other, x), commitments: commitPolynomial(other), dealerId: dealerIds[3]! };
    expect(findInvalidDeals(x, bad, previousCommitments, rng)).toEqual([1, 3]);
    expect(findInvalidDeals(x, bad, previousCommitments, rng, { batch: false })).toEqual([1, 3]);
    // Without the reshare constraint deal 3 is a fine DKG deal.
    expect(findInvalidDeals(x, bad.map(({ share, commitments }) => ({ share, commitments })), null, rng)).toEqual([1]);
  });

  it('rejects inconsistent input', () => {
    expect(codeOf(() => findInvalidDeals(x, [deals[0]!, { ...deals[1]!, commitments: deals[1]!.commitments.slice(1) }], previousCommitments, rng))).toBe('CRYPTO_INVALID_ARGUMENT');
    expect(codeOf(() => findInvalidDeals(x, deals, null, rng))).toBe('CRYPTO_INVALID_ARGUMENT');
  });
});
