/**
 * mcl-wasm (herumi/mcl built to WebAssembly) set up to speak our encodings, for the
 * backend comparison in bench/backends/run.ts: ZCash/ETH compressed points, RFC 9380
 * hash-to-G1 with our DST, and GT bytes in noble's order.
 *
 * Two things mcl-wasm's JS layer does not wrap are reached through its raw WASM
 * exports: mclBnG1_setDst (mcl's own default DST is the ..._POP_ one, not ours) and
 * mclBnG1/G2_mulCT (its `mul` is variable-time, so unfit for a secret share).
 */
import * as mcl from 'mcl-wasm';
import mclCore from 'mcl-wasm/dist/mcl.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { HASH_TO_G1_DST } from '../../src/crypto/index.js';

type WasmFn = (...args: number[]) => number;
interface McModule {
  readonly HEAP8: Int8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  readonly _mclBnG1_setDst: WasmFn;
  readonly _mclBnG1_mulCT: WasmFn;
  readonly _mclBnG2_mulCT: WasmFn;
}
/** The internal binary-op helper every mcl value type has (`z = func(this, y)`, z of this's type). */
interface WithOp2<P> {
  _op2(func: WasmFn, y: mcl.Fr): P;
}

// mcl-wasm is CommonJS: its `mod` is assigned after init, so read it from the live exports object.
const core = mclCore as unknown as { mod: McModule };

export type McG1 = mcl.G1;
export type McG2 = mcl.G2;
export type McFr = mcl.Fr;
export type McGT = mcl.GT;
export { mcl };

let ready: Promise<void> | undefined;

/** Loads the WASM module once: BLS12-381, ETH (ZCash) serialization, RFC 9380 maps, our G1 DST, subgroup checks on decode. */
export function loadMcl(): Promise<void> {
  ready ??= (async () => {
    await mcl.init(mcl.BLS12_381);
    mcl.setETHserialization(true);
    mcl.setMapToMode(mcl.IRTF);
    mcl.verifyOrderG1(true);
    mcl.verifyOrderG2(true);
    const dst = utf8ToBytes(HASH_TO_G1_DST);
    const ptr = core.mod._malloc(dst.length);
    try {
      new Uint8Array(core.mod.HEAP8.buffer, ptr, dst.length).set(dst);
      if (core.mod._mclBnG1_setDst(ptr, dst.length) !== 0) throw new Error('mcl: mclBnG1_setDst refused our DST');
    } finally {
      core.mod._free(ptr);
    }
  })();
  return ready;
}

export function frOf(scalar: bigint): McFr {
  const fr = new mcl.Fr();
  fr.setBigEndianMod(numberToBytesBE(scalar, 32));
  return fr;
}

export function hashToG1(message: Uint8Array): McG1 {
  return mcl.hashAndMapToG1(message);
}

/** Constant-time scalar multiplication (mclBnG1_mulCT), the one fit for a secret share. */
export function mulG1CT(point: McG1, scalar: McFr): McG1 {
  return (point as unknown as WithOp2<McG1>)._op2(core.mod._mclBnG1_mulCT, scalar);
}

export function mulG2CT(point: McG2, scalar: McFr): McG2 {
  return (point as unknown as WithOp2<McG2>)._op2(core.mod._mclBnG2_mulCT, scalar);
}

export function g1FromBytes(bytes: Uint8Array): McG1 {
  const p = new mcl.G1();
  p.deserialize(bytes);
  return p;
}

export function g2FromBytes(bytes: Uint8Array): McG2 {
  const p = new mcl.G2();
  p.deserialize(bytes);
  return p;
}

/**
 * GT as noble's Fp12.toBytes writes it. Both use the same tower (Fp2 = Fp[u]/(u²+1),
 * Fp6 = Fp2[v]/(v³−(u+1)), Fp12 = Fp6[w]/(w²−v)); mcl's ETH serialization writes each
 * Fp2 as (c1, c0) and noble as (c0, c1), so the two 48-byte halves of every Fp2 swap.
 */
export function gtToNobleBytes(gt: McGT): Uint8Array {
  const raw = gt.serialize();
  if (raw.length !== 576) throw new Error(`mcl: GT serialized to ${raw.length} bytes, expected 576`);
  const out = new Uint8Array(576);
  for (let i = 0; i < 6; i++) {
    out.set(raw.subarray(i * 96 + 48, i * 96 + 96), i * 96);
    out.set(raw.subarray(i * 96, i * 96 + 48), i * 96 + 48);
  }
  return out;
}

/** e(a, b) == e(c, d) as one product of two Miller loops and one final exponentiation. */
export function pairingEquals(a: McG1, b: McG2, c: McG1, d: McG2): boolean {
  const f = mcl.mul(mcl.millerLoop(mcl.neg(a), b), mcl.millerLoop(c, d));
  return mcl.finalExp(f).isOne();
}

/** The same check with b's line coefficients computed once (b = the G2 generator in verifyPartial). */
export function pairingEqualsPrecomputed(a: McG1, b: mcl.PrecomputedG2, c: McG1, d: McG2): boolean {
  return mcl.finalExp(mcl.precomputedMillerLoop2mixed(c, d, mcl.neg(a), b)).isOne();
}
