/**
 * Crypto and protocol-core benchmarks: BLS12-381 primitives, share verification (with
 * and without multi-scalar multiplication and random-linear-combination batching) and
 * full in-memory DKGs. Every figure sits next to a baseline measured in the same run:
 * primitives against one G1 scalar multiplication, verification variants against the
 * plain per-share check, DKG n = 10 with MSM + batching against without.
 *
 *   tsx bench/crypto/run.ts        (or: make bench, tsx bench/run.ts crypto)
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import {
  G1,
  G2,
  batchVerifyShares,
  commitPolynomial,
  createDeterministicRng,
  decodeG2,
  encodeG2,
  evaluatePolynomial,
  findInvalidDeals,
  hashToG1,
  operatorId,
  partialSign,
  randomPolynomial,
  randomScalar,
  verifyPartial,
  verifyShare,
} from '../../src/crypto/index.js';
import {
  createSimulatedOperators,
  createSimulatedSigner,
  finalizedVersions,
  recoverSimulatedSigner,
  runSimulatedDkg,
  seededRandomSources,
} from '../../src/protocol/index.js';
import { isMain, measure, printTable, summarize, writeResults, type Measurement, type Row } from '../lib/index.js';

const rng = createDeterministicRng('bench/crypto');
const scalars = Array.from({ length: 64 }, () => randomScalar(rng));
let cursor = 0;
const nextScalar = (): bigint => scalars[cursor++ % scalars.length] ?? 1n;

function row(m: Measurement, baseline: Measurement, extra: Row = {}): Row {
  return {
    name: m.name,
    iterations: m.iterations,
    'p50 ms': m.p50Ms,
    'p99 ms': m.p99Ms,
    'ops/s': m.opsPerSec,
    'ratio vs baseline (p50)': m.p50Ms / baseline.p50Ms,
    ...extra,
  };
}

async function primitives(): Promise<Row[]> {
  // Arbitrary points (no precomputed tables), as in signing H(appId) or checking commitments.
  const P1 = G1.BASE.multiply(nextScalar());
  const P2 = G2.BASE.multiply(nextScalar());
  const g1 = await measure('G1 mul, arbitrary point (baseline)', () => P1.multiply(nextScalar()));
  const g1Base = await measure('G1 mul, generator (precomputed)', () => G1.BASE.multiply(nextScalar()));
  const g2 = await measure('G2 mul, arbitrary point', () => P2.multiply(nextScalar()));
  const g2Base = await measure('G2 mul, generator', () => G2.BASE.multiply(nextScalar()));
  const pairing = await measure('pairing e(G1, G2)', () => bls12_381.pairing(G1.BASE, G2.BASE), { minIterations: 3 });
  let appCounter = 0;
  const h2c = await measure('hash-to-G1 (app id)', () => hashToG1(`app-${appCounter++}`));
  const g2Bytes = encodeG2(G2.BASE.multiply(nextScalar()));
  const dec = await measure('G2 decode (compressed, subgroup check)', () => decodeG2(g2Bytes));
  const share = nextScalar();
  const sign = await measure('partial sign x_i·H(appId)', () => partialSign(share, 'bench-app'));
  const sigma = partialSign(share, 'bench-app');
  const X = G2.BASE.multiply(share);
  const vp = await measure('verify partial (2-pair pairing)', () => verifyPartial(sigma, 'bench-app', X), { minIterations: 3 });
  const signer = createSimulatedSigner('bench');
  const digest = new Uint8Array(32).fill(7);
  const signature = signer.sign(digest);
  const ackSign = await measure('ack signature sign (secp256k1)', () => signer.sign(digest));
  const ackRecover = await measure('ack signature recover (secp256k1)', () => recoverSimulatedSigner(digest, signature));
  return [g1, g1Base, g2, g2Base, pairing, h2c, dec, sign, vp, ackSign, ackRecover].map((m) => row(m, g1));
}

async function shareVerification(): Promise<Row[]> {
  const n = 10;
  const t = 7;
  const x = operatorId('0x00000000000000000000000000000000000000aa');
  const dealers = Array.from({ length: n }, () => {
    const poly = randomPolynomial(randomScalar(rng), t - 1, rng);
    const commitments = commitPolynomial(poly);
    return { share: evaluatePolynomial(poly, x), x, commitments };
  });
  const first = dealers[0]!;
  const oneNoMsm = await measure(`1 share check, t=${t}, no MSM (baseline)`, () => verifyShare(first.share, x, first.commitments, { msm: false }));
  const oneMsm = await measure(`1 share check, t=${t}, MSM`, () => verifyShare(first.share, x, first.commitments));
  const allNoMsm = await measure(`${n} shares, one by one, no MSM`, () => dealers.every((d) => verifyShare(d.share, x, d.commitments, { msm: false })), { minIterations: 3 });
  const allMsm = await measure(`${n} shares, one by one, MSM`, () => dealers.every((d) => verifyShare(d.share, x, d.commitments)), { minIterations: 3 });
  const generic = await measure(`${n} shares, generic RLC batch (one big MSM)`, () => batchVerifyShares(dealers, rng), { minIterations: 3 });
  const sameX = await measure(`${n} shares, RLC batch sharing x^k (findInvalidDeals)`, () => findInvalidDeals(x, dealers, null, rng), { minIterations: 3 });
  const perShare = (m: Measurement): Row => ({ 'per share ms': m.p50Ms / n, 'speed-up vs 10 one by one, no MSM': allNoMsm.p50Ms / m.p50Ms });
  return [
    row(oneNoMsm, oneNoMsm),
    row(oneMsm, oneNoMsm),
    row(allNoMsm, oneNoMsm, perShare(allNoMsm)),
    row(allMsm, oneNoMsm, perShare(allMsm)),
    row(generic, oneNoMsm, perShare(generic)),
    row(sameX, oneNoMsm, perShare(sameX)),
  ];
}

function runDkg(n: number, optimized: boolean, seed: string): number {
  const { sessions, report } = runSimulatedDkg(
    {
      signers: createSimulatedOperators(n, seed),
      sessionTimestamp: 1_700_000_000,
      rng: seededRandomSources(seed),
      verification: { msm: optimized, batch: optimized },
    },
    { batch: optimized },
  );
  if (report.rejected.length > 0) throw new Error(`DKG n=${n}: ${report.rejected.length} messages rejected`);
  return finalizedVersions(sessions).size;
}

async function dkg(): Promise<Row[]> {
  let round = 0;
  const once = { warmup: 0, minTimeMs: 0 };
  const n4 = await measure('DKG n=4, MSM+batch', () => runDkg(4, true, `n4-${round++}`), { ...once, minIterations: 3 });
  // With and without alternate so both see the same machine load.
  const with10: number[] = [];
  const without10: number[] = [];
  for (let i = 0; i < 2; i++) {
    const a = await measure('x', () => runDkg(10, true, `n10-${i}`), { ...once, minIterations: 1 });
    const b = await measure('x', () => runDkg(10, false, `n10-${i}`), { ...once, minIterations: 1 });
    with10.push(a.p50Ms);
    without10.push(b.p50Ms);
  }
  const w = summarize('DKG n=10, MSM+batch', with10);
  const wo = summarize('DKG n=10, no MSM, no batch (baseline)', without10);
  const n16 = await measure('DKG n=16, MSM+batch', () => runDkg(16, true, 'n16'), { ...once, minIterations: 1 });
  return [
    row(wo, wo),
    row(w, wo, { 'speed-up vs baseline': wo.p50Ms / w.p50Ms }),
    row(n4, wo),
    row(n16, wo),
  ];
}

export async function run(): Promise<void> {
  const prim = await primitives();
  printTable('BLS12-381 primitives (baseline: one G1 scalar multiplication of an arbitrary point)', prim);
  const verification = await shareVerification();
  printTable('Share verification, n=10 dealers, t=7 (baseline: one share, no MSM)', verification);
  const dkgRows = await dkg();
  printTable('Full in-memory DKG, all n operators in one thread (baseline: n=10 without MSM/batching)', dkgRows);
  const path = writeResults('crypto', {
    notes: [
      'Single thread; DKG rows run every operator of the network in this one process, so per-node cost is about total/n.',
      'DKG cost includes secp256k1 signing/recovery of every ack and completion and the subgroup check of every received commitment.',
      'Ratios compare figures from this same run only.',
    ],
    primitives: prim,
    shareVerification: verification,
    dkg: dkgRows,
  });
  console.log(`\nwrote ${path}`);
}

if (isMain(import.meta.url)) await run();
