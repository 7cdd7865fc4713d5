/**
 * Threshold BLS on app ids (short signatures: G1 signatures, G2 keys).
 * Operator i holds x_i; its partial is σ_i = x_i·H1(appId). Any t partials give the
 * app key s·H1(appId) = Σ λ_i·σ_i, checkable against the master public key with
 * e(σ, G2) = e(H1(appId), MPK).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { assertAppId } from './appId.js';
import { CryptoError, CryptoErrorCode, alist, anumber } from './errors.js';
import { hashToG1 } from './hashToG1.js';
import { lagrangeCoefficientsAtZero } from './lagrange.js';
import { G1, G2, msmG1, type G1Point, type G2Point } from './points.js';
import { evaluateCommitments } from './polynomial.js';
import { ascalar } from './scalar.js';

const Fp12 = bls12_381.fields.Fp12;

function aG1(p: unknown, title: string, allowIdentity = false): G1Point {
  if (!(p instanceof G1)) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${title}" expected a G1 point`);
  const point = p;
  if (!allowIdentity && point.is0()) throw new CryptoError(CryptoErrorCode.IDENTITY_POINT, `"${title}" is the G1 identity`);
  return point;
}

function aG2(p: unknown, title: string): G2Point {
  if (!(p instanceof G2)) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${title}" expected a G2 point`);
  const point = p;
  if (point.is0()) throw new CryptoError(CryptoErrorCode.IDENTITY_POINT, `"${title}" is the G2 identity`);
  return point;
}

/** e(a, b) == e(c, d), as one two-pair Miller loop with a single final exponentiation. */
export function pairingEquals(a: G1Point, b: G2Point, c: G1Point, d: G2Point): boolean {
  const gt = bls12_381.pairingBatch([
    { g1: a, g2: b.negate() },
    { g1: c, g2: d },
  ]);
  return Fp12.eql(gt, Fp12.ONE);
}

/** σ_i = x_i·H1(appId). */
export function partialSign(share: bigint, appId: string): G1Point {
  ascalar(share, 'share', true);
  return partialSignHashed(share, hashToG1(assertAppId(appId)));
}

/** σ_i = x_i·h for h = H1(appId) computed earlier (the node keeps H1 of recent app ids). */
export function partialSignHashed(share: bigint, hashedAppId: G1Point): G1Point {
  ascalar(share, 'share', true);
  return aG1(hashedAppId, 'hashedAppId').multiply(share);
}

/** X_i = Σ C_k·id^k: an operator's public share under aggregated commitments. */
export function publicShare(commitments: readonly G2Point[], id: bigint): G2Point {
  return evaluateCommitments(commitments, ascalar(id, 'id', true));
}

/** e(σ_i, G2) == e(H1(appId), X_i). */
export function verifyPartial(partial: G1Point, appId: string, signerPublicShare: G2Point): boolean {
  aG1(partial, 'partial');
  aG2(signerPublicShare, 'signerPublicShare');
  return pairingEquals(partial, G2.BASE, hashToG1(assertAppId(appId)), signerPublicShare);
}

export interface PartialSignature {
  /** The signer's operator id. */
  readonly id: bigint;
  readonly signature: G1Point;
}

/**
 * s·H1(appId) = Σ λ_i(S)·σ_i over the given set S (distinct ids, |S| ≥ threshold).
 * Does not verify: pass partials checked with verifyPartial, or check the result
 * with verifyAppKey.
 */
export function recoverAppKey(partials: readonly PartialSignature[], threshold: number): G1Point {
  anumber(threshold, 'threshold', 1);
  alist(partials, 'partials');
  if (partials.length < threshold) {
    throw new CryptoError(
      CryptoErrorCode.NOT_ENOUGH_PARTIALS,
      `recovering an app key needs at least ${threshold} partial signatures, got ${partials.length}`,
      { fix: 'collect partial signatures from more operators' },
    );
  }
  partials.forEach((p, i) => aG1(p.signature, `partials[${i}].signature`));
  const lambdas = lagrangeCoefficientsAtZero(partials.map((p) => p.id));
  return msmG1(
    partials.map((p) => p.signature),
    lambdas,
  );
}

/** e(appKey, G2) == e(H1(appId), MPK). */
export function verifyAppKey(appKey: G1Point, appId: string, masterPublicKey: G2Point): boolean {
  aG1(appKey, 'appKey');
  aG2(masterPublicKey, 'masterPublicKey');
  return pairingEquals(appKey, G2.BASE, hashToG1(assertAppId(appId)), masterPublicKey);
}
