/**
 * Combining the deals of the chosen dealer set D into this node's new share and the
 * new version's commitments. DKG sums them (x_j = Σ s_ij, C_k = Σ C_ik); reshare weights
 * them by λ_i(D) at zero, so C_0 must come out as the previous master public key.
 * Pure: a problem is returned, and the session fails the round with it.
 */
import { lagrangeCoefficientsAtZero } from '../crypto/lagrange.js';
import { G2, msmG2, type G2Point } from '../crypto/points.js';
import { evaluateCommitments } from '../crypto/polynomial.js';
import { Fr } from '../crypto/scalar.js';
import { ProtocolErrorCode } from './errors.js';

/** One dealer's verified deal to this node. */
export interface DealToCombine {
  readonly dealerId: bigint;
  readonly share: bigint;
  readonly commitments: readonly G2Point[];
}

export interface CombineInput {
  /** The deals of D, in D's order. */
  readonly deals: readonly DealToCombine[];
  readonly threshold: number;
  readonly selfId: bigint;
  readonly msm: boolean;
  /** Reshare: the MPK the combined C_0 must equal; DKG: null. */
  readonly previousMpk: G2Point | null;
}

export type Combined =
  | { readonly ok: true; readonly share: bigint; readonly commitments: readonly G2Point[] }
  | { readonly ok: false; readonly code: ProtocolErrorCode; readonly message: string };

/** This node's share and the aggregated commitments, checked against each other (and the previous MPK). */
export function combineDeals(input: CombineInput): Combined {
  const { deals, threshold } = input;
  let share = 0n;
  let commitments: G2Point[];
  if (input.previousMpk === null) {
    for (const d of deals) share = Fr.add(share, d.share);
    commitments = Array.from({ length: threshold }, (_, k) => deals.reduce((acc, d) => acc.add(d.commitments[k] ?? G2.ZERO), G2.ZERO));
  } else {
    const lambdas = lagrangeCoefficientsAtZero(deals.map((d) => d.dealerId));
    deals.forEach((d, i) => (share = Fr.add(share, Fr.mul(lambdas[i] ?? 0n, d.share))));
    commitments = Array.from({ length: threshold }, (_, k) => {
      const pts = deals.map((d) => d.commitments[k] ?? G2.ZERO);
      if (input.msm) return msmG2(pts, lambdas);
      return pts.reduce((acc, p, i) => acc.add(p.multiplyUnsafe(lambdas[i] ?? 0n)), G2.ZERO);
    });
    if (!(commitments[0] ?? G2.ZERO).equals(input.previousMpk)) {
      return { ok: false, code: ProtocolErrorCode.MPK_MISMATCH, message: 'the reshared commitments do not keep the master public key' };
    }
  }
  const expected = evaluateCommitments(commitments, input.selfId, { msm: input.msm });
  if (share === 0n || !G2.BASE.multiply(share).equals(expected)) {
    return { ok: false, code: ProtocolErrorCode.SHARE_MISMATCH, message: "this node's combined share does not match the aggregated commitments" };
  }
  if (commitments.some((p) => p.is0())) {
    return { ok: false, code: ProtocolErrorCode.INVALID_COMMITMENT, message: 'an aggregated commitment is the identity' };
  }
  return { ok: true, share, commitments };
}
