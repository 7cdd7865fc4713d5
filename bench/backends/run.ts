/**
 * BLS12-381 backends side by side in one run (issue 15 item 3): @noble/curves as
 * src/crypto uses it today (the baseline, speed-up 1), noble's own options
 * (precomputed tables, cached pairing lines, no repeated subgroup checks), and
 * mcl-wasm, the one registry package that exposes generic G1/G2 arithmetic, pairings
 * and RFC 9380 hash-to-G1 with a custom DST (see docs/performance.md "BLS backend" for
 * the packages that do not).
 *
 * Every candidate row is also checked for byte identity with noble on random inputs
 * drawn by fast-check (seeded, so a run can be replayed): compressed G1/G2 encodings,
 * hash-to-G1 with our DST, GT bytes, and the outcome of pairing checks on valid and
 * tampered inputs. A row's `identical` is true only if every sample matched.
 *
 *   tsx bench/backends/run.ts        (or: tsx bench/run.ts backends)
 */
import { createRequire } from 'node:module';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import fc from 'fast-check';
import {
  Fr,
  G1,
  appIdProblem,
  createDeterministicRng,
  randomScalar,
  G2,
  decodeG2,
  encodeG1,
  encodeG2,
  hashToG1,
  msmG2,
  partialSign,
  type G1Point,
  type G2Point,
} from '../../src/crypto/index.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { isMain, measure, printTable, writeResults, type Measurement, type MeasureOptions, type Row } from '../lib/index.js';
import * as mc from './mcl.js';

const SEED = Number(process.env.KMS_BENCH_SEED ?? 20261203);
const Fp12 = bls12_381.fields.Fp12;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Random samples from fast-check, seeded per check so each is replayable on its own. */
function samples<T>(arb: fc.Arbitrary<T>, numRuns: number, salt: number): T[] {
  return fc.sample(arb, { numRuns, seed: SEED + salt });
}

/** fast-check's bigInt leans to small and edge values (good for identity); half the draws are full-size instead. */
const scalarArb = fc.oneof(
  fc.bigInt({ min: 1n, max: Fr.ORDER - 1n }),
  fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Fr.create(BigInt(`0x${hex(b)}`)) || 1n),
);

// Timed inputs are full-size: a small scalar would make a multiplication look cheap.
const timingRng = createDeterministicRng('bench/backends');
const fullScalar = (): bigint => randomScalar(timingRng);
const appIdArb = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }).filter((id) => appIdProblem(id) === null);

interface Variant {
  readonly backend: string;
  readonly fn: () => unknown;
  /** The identity check's result over `checked` samples; null for the baseline (the first variant) and for cost-only rows. */
  readonly identical: boolean | null;
  readonly checked: number;
  readonly note?: string;
}

interface Operation {
  readonly op: string;
  readonly variants: readonly Variant[];
  readonly options?: MeasureOptions;
}

function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length] as T;
}

function hashToG1Op(): Operation {
  const ids = samples(appIdArb, 48, 1);
  const identical = ids.every((id) => hex(encodeG1(hashToG1(id))) === hex(mc.hashToG1(utf8ToBytes(id)).serialize()));
  let n = 0;
  return {
    op: 'hash-to-G1, our DST (RFC 9380)',
    variants: [
      { backend: 'noble (today)', fn: () => hashToG1(`app-${n++}`), identical: null, checked: 0 },
      { backend: 'mcl-wasm', fn: () => mc.hashToG1(utf8ToBytes(`app-${n++}`)), identical, checked: ids.length },
    ],
  };
}

function g1MulOp(): Operation {
  const pairs = samples(fc.tuple(appIdArb, scalarArb), 32, 2);
  const identicalCT = pairs.every(([id, s]) => hex(encodeG1(hashToG1(id).multiply(s))) === hex(mc.mulG1CT(mc.hashToG1(utf8ToBytes(id)), mc.frOf(s)).serialize()));
  const identicalVT = pairs.every(([id, s]) => hex(encodeG1(hashToG1(id).multiply(s))) === hex(mc.mcl.mul(mc.hashToG1(utf8ToBytes(id)), mc.frOf(s)).serialize()));
  // The hot case: σ_i = x_i·H(appId), an arbitrary point times the secret share.
  const share = fullScalar();
  const h = hashToG1('bench-app');
  const hTable = hashToG1('bench-app').precompute(8, false);
  // Distinct app ids: a different point each call, nothing cached between calls.
  const ids = Array.from({ length: 64 }, (_, i) => `bench-app-${i}`);
  const nextPoint = cycle(ids.map((id) => hashToG1(id)));
  const nextMclPoint = cycle(ids.map((id) => mc.hashToG1(utf8ToBytes(id))));
  const tableSamples = samples(scalarArb, 32, 4);
  const identicalTable = tableSamples.every((s) => hex(encodeG1(hTable.multiply(s))) === hex(encodeG1(h.multiply(s))));
  const mShare = mc.frOf(share);
  return {
    op: 'G1 mul, arbitrary point × secret scalar (partial sign)',
    variants: [
      { backend: 'noble (today)', fn: () => nextPoint().multiply(share), identical: null, checked: 0 },
      { backend: 'noble, precompute(8) table on H(appId)', fn: () => hTable.multiply(share), identical: identicalTable, checked: tableSamples.length, note: 'table built once per app id; pays off only for repeat app ids, which the partial-signature cache already serves' },
      { backend: 'noble, building that table (once per app id)', fn: () => hashToG1('bench-app').precompute(8, false), identical: null, checked: 0, note: 'includes one hash-to-G1; the table pays off after about this many ms / (today − table) signings of one app id' },
      { backend: 'mcl-wasm mulCT (constant-time)', fn: () => mc.mulG1CT(nextMclPoint(), mShare), identical: identicalCT, checked: pairs.length },
      { backend: 'mcl-wasm mul (variable-time; not for secrets)', fn: () => mc.mcl.mul(nextMclPoint(), mShare), identical: identicalVT, checked: pairs.length },
    ],
  };
}

function partialSignOp(): Operation {
  const pairs = samples(fc.tuple(appIdArb, scalarArb), 32, 5);
  const identical = pairs.every(([id, s]) => hex(encodeG1(partialSign(s, id))) === hex(mc.mulG1CT(mc.hashToG1(utf8ToBytes(id)), mc.frOf(s)).serialize()));
  const share = fullScalar();
  const mShare = mc.frOf(share);
  let n = 0;
  return {
    op: 'partial sign end to end: app id → hash → × share → 48 bytes',
    variants: [
      { backend: 'noble (today)', fn: () => encodeG1(partialSign(share, `app-${n++}`)), identical: null, checked: 0 },
      { backend: 'mcl-wasm (mulCT)', fn: () => mc.mulG1CT(mc.hashToG1(utf8ToBytes(`app-${n++}`)), mShare).serialize(), identical, checked: pairs.length },
    ],
  };
}

function g2MulOp(): Operation {
  const pairs = samples(fc.tuple(scalarArb, scalarArb), 16, 7);
  const identical = pairs.every(([a, s]) => {
    const p = G2.BASE.multiply(a);
    return hex(encodeG2(p.multiply(s))) === hex(mc.mulG2CT(mc.g2FromBytes(encodeG2(p)), mc.frOf(s)).serialize());
  });
  const [a, s] = [fullScalar(), fullScalar()];
  const p = G2.BASE.multiply(a);
  const mp = mc.g2FromBytes(encodeG2(p));
  const ms = mc.frOf(s);
  return {
    op: 'G2 mul, arbitrary point × scalar',
    variants: [
      { backend: 'noble (today)', fn: () => p.multiply(s), identical: null, checked: 0 },
      { backend: 'mcl-wasm mulCT', fn: () => mc.mulG2CT(mp, ms), identical, checked: pairs.length },
    ],
  };
}

function g2GeneratorOp(): Operation {
  const scalars = samples(scalarArb, 16, 12);
  const timed = Array.from({ length: 64 }, fullScalar);
  // A separate object equal to the generator, so its larger table leaves G2.BASE's (used by "today") alone.
  const base8 = G2.fromAffine(G2.BASE.toAffine()).precompute(8, false);
  const mBase = mc.g2FromBytes(encodeG2(G2.BASE));
  const identicalTable = scalars.every((s) => hex(encodeG2(base8.multiply(s))) === hex(encodeG2(G2.BASE.multiply(s))));
  const identicalMcl = scalars.every((s) => hex(mc.mulG2CT(mBase, mc.frOf(s)).serialize()) === hex(encodeG2(G2.BASE.multiply(s))));
  const next = cycle(timed);
  const nextFr = cycle(timed.map(mc.frOf));
  return {
    op: 'G2 mul, generator × secret coefficient (DKG commitments)',
    variants: [
      { backend: 'noble (today, default table)', fn: () => G2.BASE.multiply(next()), identical: null, checked: 0 },
      { backend: 'noble, precompute(8) table', fn: () => base8.multiply(next()), identical: identicalTable, checked: scalars.length },
      { backend: 'mcl-wasm mulCT', fn: () => mc.mulG2CT(mBase, nextFr()), identical: identicalMcl, checked: scalars.length },
    ],
  };
}

function pairingOp(): Operation {
  const pairs = samples(fc.tuple(scalarArb, scalarArb), 8, 8);
  const identical = pairs.every(([a, b]) => {
    const P = G1.BASE.multiply(a);
    const Q = G2.BASE.multiply(b);
    const gt = mc.mcl.pairing(mc.g1FromBytes(encodeG1(P)), mc.g2FromBytes(encodeG2(Q)));
    return hex(mc.gtToNobleBytes(gt)) === hex(Fp12.toBytes(bls12_381.pairing(P, Q)));
  });
  const [a, b] = [fullScalar(), fullScalar()];
  const P = G1.BASE.multiply(a);
  const Q = G2.BASE.multiply(b);
  const mP = mc.g1FromBytes(encodeG1(P));
  const mQ = mc.g2FromBytes(encodeG2(Q));
  return {
    op: 'pairing e(P, Q) (IBE encrypt/decrypt)',
    options: { minIterations: 5 },
    variants: [
      { backend: 'noble (today)', fn: () => bls12_381.pairing(P, Q), identical: null, checked: 0 },
      { backend: 'mcl-wasm', fn: () => mc.mcl.pairing(mP, mQ), identical, checked: pairs.length, note: 'GT compared as 576 bytes in noble order (IBE hashes them)' },
    ],
  };
}

interface PartialCase {
  readonly sigma: G1Point;
  readonly h: G1Point;
  readonly x: G2Point;
  readonly valid: boolean;
}

function partialCases(): PartialCase[] {
  // Half valid σ = s·H, half tampered (σ = (s+1)·H), so a backend that always says yes or no fails.
  return samples(fc.tuple(appIdArb, scalarArb, fc.boolean()), 12, 9).map(([id, s, valid]) => {
    const h = hashToG1(id);
    return { sigma: h.multiply(valid ? s : Fr.add(s, 1n)), h, x: G2.BASE.multiply(s), valid };
  });
}

function verifyPartialOp(): Operation {
  const cases = partialCases();
  const nobleCheck = (c: PartialCase): boolean =>
    Fp12.eql(bls12_381.pairingBatch([{ g1: c.sigma, g2: G2.BASE.negate() }, { g1: c.h, g2: c.x }]), Fp12.ONE);
  // noble option: the generator's line coefficients once, and no second subgroup check of points decoded already.
  const negBaseLines = bls12_381.utils.calcPairingPrecomputes(G2.BASE.negate());
  const nobleCached = (c: PartialCase): boolean => {
    const s = c.sigma.toAffine();
    const h = c.h.toAffine();
    const f = bls12_381.millerLoopBatch([[negBaseLines, s.x, s.y], [bls12_381.utils.calcPairingPrecomputes(c.x), h.x, h.y]]);
    return Fp12.eql(Fp12.finalExponentiate(f), Fp12.ONE);
  };
  // Public shares X_i are fixed for a key version, so their lines can be cached too.
  const nobleAllCached = (c: PartialCase, xLines: ReturnType<typeof bls12_381.utils.calcPairingPrecomputes>): boolean => {
    const s = c.sigma.toAffine();
    const h = c.h.toAffine();
    return Fp12.eql(Fp12.finalExponentiate(bls12_381.millerLoopBatch([[negBaseLines, s.x, s.y], [xLines, h.x, h.y]])), Fp12.ONE);
  };
  const mBase = mc.g2FromBytes(encodeG2(G2.BASE));
  const mBaseLines = new mc.mcl.PrecomputedG2(mBase);
  const toMcl = (c: PartialCase): [mc.McG1, mc.McG1, mc.McG2] => [mc.g1FromBytes(encodeG1(c.sigma)), mc.g1FromBytes(encodeG1(c.h)), mc.g2FromBytes(encodeG2(c.x))];
  const mcCheck = (c: PartialCase): boolean => {
    const [s, h, x] = toMcl(c);
    return mc.pairingEquals(s, mBase, h, x);
  };
  const mcCached = (c: PartialCase): boolean => {
    const [s, h, x] = toMcl(c);
    return mc.pairingEqualsPrecomputed(s, mBaseLines, h, x);
  };
  const agree = (f: (c: PartialCase) => boolean): boolean => cases.every((c) => f(c) === c.valid && nobleCheck(c) === c.valid);
  const share = fullScalar();
  const h = hashToG1('bench-app');
  const c0: PartialCase = { sigma: h.multiply(share), h, x: G2.BASE.multiply(share), valid: true };
  const [s0, h0, x0] = toMcl(c0);
  const x0Lines = bls12_381.utils.calcPairingPrecomputes(c0.x);
  return {
    op: 'verify partial: e(σ, G2) == e(H(appId), X_i)',
    options: { minIterations: 5 },
    variants: [
      { backend: 'noble (today)', fn: () => nobleCheck(c0), identical: null, checked: 0 },
      { backend: 'noble, cached G2 lines, no re-validation', fn: () => nobleCached(c0), identical: agree(nobleCached), checked: cases.length },
      { backend: 'noble, cached lines for G2 and X_i', fn: () => nobleAllCached(c0, x0Lines), identical: agree((c) => nobleAllCached(c, bls12_381.utils.calcPairingPrecomputes(c.x))), checked: cases.length },
      { backend: 'mcl-wasm', fn: () => mc.pairingEquals(s0, mBase, h0, x0), identical: agree(mcCheck), checked: cases.length, note: 'identical = same accept/reject as noble on valid and tampered partials' },
      { backend: 'mcl-wasm, precomputed G2 lines', fn: () => mc.pairingEqualsPrecomputed(s0, mBaseLines, h0, x0), identical: agree(mcCached), checked: cases.length },
    ],
  };
}

function g2DecodeOp(): Operation {
  const encodings = samples(scalarArb, 16, 10).map((s) => encodeG2(G2.BASE.multiply(s)));
  const identical = encodings.every((b) => hex(mc.g2FromBytes(b).serialize()) === hex(encodeG2(decodeG2(b))));
  const next = cycle(Array.from({ length: 16 }, () => encodeG2(G2.BASE.multiply(fullScalar()))));
  return {
    op: 'G2 decode, compressed, subgroup check (each received commitment)',
    variants: [
      { backend: 'noble (today)', fn: () => decodeG2(next()), identical: null, checked: 0 },
      { backend: 'mcl-wasm', fn: () => mc.g2FromBytes(next()), identical, checked: encodings.length },
    ],
  };
}

function g2MsmOp(): Operation {
  const t = 7;
  const draw = samples(fc.array(fc.tuple(scalarArb, scalarArb), { minLength: t, maxLength: t }), 4, 11);
  const identical = draw.every((rows) => {
    const pts = rows.map(([a]) => G2.BASE.multiply(a));
    const sc = rows.map(([, s]) => s);
    const m = mc.mcl.mulVec(pts.map((p) => mc.g2FromBytes(encodeG2(p))), sc.map(mc.frOf));
    return hex(m.serialize()) === hex(encodeG2(msmG2(pts, sc)));
  });
  const pts = Array.from({ length: t }, () => G2.BASE.multiply(fullScalar()));
  const sc = Array.from({ length: t }, fullScalar);
  const mPts = pts.map((p) => mc.g2FromBytes(encodeG2(p)));
  const mSc = sc.map(mc.frOf);
  return {
    op: `G2 MSM, t=${t} points (one share check)`,
    variants: [
      { backend: 'noble (today)', fn: () => msmG2(pts, sc), identical: null, checked: 0 },
      { backend: 'mcl-wasm mulVec', fn: () => mc.mcl.mulVec(mPts, mSc), identical, checked: draw.length },
    ],
  };
}

const ROUNDS = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Variants of one operation take turns, ROUNDS times, so each sees the same machine
 * load; a row's p50 is the median of its per-round p50s and its speed-up the median of
 * its per-round ratios against the baseline's p50 from the same round.
 */
async function measureOperation(o: Operation): Promise<Row[]> {
  const perRound: Measurement[][] = o.variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, v] of o.variants.entries()) perRound[i]?.push(await measure(v.backend, v.fn, { minTimeMs: 300, ...o.options }));
  }
  const base = perRound[0] ?? [];
  return o.variants.map((v, i) => {
    const ms = perRound[i] ?? [];
    const p50 = median(ms.map((m) => m.p50Ms));
    return {
      op: o.op,
      backend: v.backend,
      iterations: ms.reduce((n, m) => n + m.iterations, 0),
      'p50 ms': p50,
      'ops/s': 1000 / p50,
      'speed-up vs noble (p50)': median(ms.map((m, r) => (base[r]?.p50Ms ?? Number.NaN) / m.p50Ms)),
      identical: i === 0 ? 'baseline' : v.identical === null ? 'n/a' : String(v.identical),
      'samples checked': v.checked,
      note: v.note ?? '',
    };
  });
}

export async function run(): Promise<void> {
  const t0 = performance.now();
  await mc.loadMcl();
  const initMs = performance.now() - t0;
  const builders = [hashToG1Op, g1MulOp, partialSignOp, g2MulOp, g2GeneratorOp, pairingOp, verifyPartialOp, g2DecodeOp, g2MsmOp];
  const rows: Row[] = [];
  for (const build of builders) rows.push(...(await measureOperation(build())));
  printTable(`BLS12-381 backends (baseline: noble as src/crypto uses it; fast-check seed ${SEED}; mcl-wasm init ${initMs.toFixed(0)} ms)`, rows, [
    'op',
    'backend',
    'iterations',
    'p50 ms',
    'ops/s',
    'speed-up vs noble (p50)',
    'identical',
    'samples checked',
  ]);
  const mismatched = rows.filter((r) => r.identical === 'false');
  const path = writeResults('backends', {
    notes: [
      `Single thread, same process, same run; the variants of an operation take turns ${ROUNDS} times; p50 = median of per-round p50s, speed-up = median of per-round (noble p50 / candidate p50).`,
      'identical: every fast-check sample gave byte-identical encodings (points: 48/96-byte compressed; GT: 576 bytes in noble order) or the same accept/reject on valid and tampered partials.',
      `fast-check seed ${SEED} (KMS_BENCH_SEED replays it).`,
    ],
    candidates: { 'mcl-wasm': { version: mclVersion(), initMs } },
    rows,
  });
  console.log(`\nwrote ${path}`);
  if (mismatched.length > 0) throw new Error(`bench: ${mismatched.length} candidate row(s) not byte-identical to noble: ${mismatched.map((r) => `${String(r.op)} / ${String(r.backend)}`).join('; ')}`);
}

function mclVersion(): string {
  return (createRequire(import.meta.url)('mcl-wasm/package.json') as { version: string }).version;
}

if (isMain(import.meta.url)) await run();
