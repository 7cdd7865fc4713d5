/**
 * The crypto work a worker thread does for the node, as plain data that crosses
 * postMessage, and the one function that runs it (in a worker, or in process when the
 * pool has no workers). The work itself is src/crypto's; this module only moves points
 * across the thread boundary as affine coordinates (bigints clone as they are), so no
 * side pays for decompression or subgroup checks on values the main thread already
 * validated.
 */
import { assertAppId, encodeG1, findInvalidDeals, G1, G2, hashToG1, partialSignHashed, type DealCheck, type G1Point, type G2Point } from '../../crypto/index.js';
import type { DealChecks } from '../../protocol/index.js';

export interface AffineG1 { readonly x: bigint; readonly y: bigint }
interface Fp2Value { readonly c0: bigint; readonly c1: bigint }
export interface AffineG2 { readonly x: Fp2Value; readonly y: Fp2Value }

/**
 * σ = share·H1(appId). `hashed` is H1(appId) when the caller already has it. The app id
 * was validated by the caller (crypto/appId.ts) before it got here.
 */
export interface PartialSignTask {
  readonly kind: 'partialSign';
  readonly share: bigint;
  readonly appId: string;
  readonly hashed: AffineG1 | null;
}

/** findInvalidDeals for one player x (see crypto/batchVerify.ts). */
export interface DealVerificationTask {
  readonly kind: 'findInvalidDeals';
  readonly x: bigint;
  readonly deals: readonly { readonly share: bigint; readonly commitments: readonly AffineG2[]; readonly dealerId?: bigint }[];
  readonly previousCommitments: readonly AffineG2[] | null;
}

export type CryptoTask = PartialSignTask | DealVerificationTask;

export interface PartialSignResult {
  readonly kind: 'partialSign';
  /** The compressed partial signature (48 bytes). */
  readonly signature: Uint8Array;
  readonly hashed: AffineG1;
}

export interface DealVerificationResult {
  readonly kind: 'findInvalidDeals';
  readonly invalid: readonly number[];
}

export type CryptoResult = PartialSignResult | DealVerificationResult;
export type ResultOf<T extends CryptoTask> = Extract<CryptoResult, { kind: T['kind'] }>;

export function toAffineG1(point: G1Point): AffineG1 {
  const { x, y } = point.toAffine();
  return { x, y };
}

export function fromAffineG1(point: AffineG1): G1Point {
  return G1.fromAffine(point);
}

function toAffineG2(point: G2Point): AffineG2 {
  const { x, y } = point.toAffine();
  return { x: { c0: x.c0, c1: x.c1 }, y: { c0: y.c0, c1: y.c1 } };
}

function fromAffineG2(point: AffineG2): G2Point {
  return G2.fromAffine(point);
}

export function partialSignTask(share: bigint, appId: string, hashed: G1Point | undefined): PartialSignTask {
  return { kind: 'partialSign', share, appId, hashed: hashed === undefined ? null : toAffineG1(hashed) };
}

export function dealVerificationTask(checks: DealChecks): DealVerificationTask {
  return {
    kind: 'findInvalidDeals',
    x: checks.x,
    deals: checks.deals.map((d) => ({ share: d.share, commitments: d.commitments.map(toAffineG2), ...(d.dealerId === undefined ? {} : { dealerId: d.dealerId }) })),
    previousCommitments: checks.previousCommitments?.map(toAffineG2) ?? null,
  };
}

/** Runs one task. Pure: the same inputs give the same bytes in any thread. */
export function runCryptoTask(task: CryptoTask): CryptoResult {
  return task.kind === 'partialSign' ? runPartialSign(task) : runDealVerification(task);
}

export function runPartialSign(task: PartialSignTask): PartialSignResult {
  const hashed = task.hashed === null ? hashToG1(assertAppId(task.appId)) : fromAffineG1(task.hashed);
  return { kind: 'partialSign', signature: encodeG1(partialSignHashed(task.share, hashed)), hashed: toAffineG1(hashed) };
}

export function runDealVerification(task: DealVerificationTask): DealVerificationResult {
  const deals: DealCheck[] = task.deals.map((d) => ({ share: d.share, commitments: d.commitments.map(fromAffineG2), ...(d.dealerId === undefined ? {} : { dealerId: d.dealerId }) }));
  return { kind: 'findInvalidDeals', invalid: findInvalidDeals(task.x, deals, task.previousCommitments?.map(fromAffineG2) ?? null) };
}
