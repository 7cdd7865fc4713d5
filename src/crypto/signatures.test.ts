import { bls12_381 } from '@noble/curves/bls12-381.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { createDeterministicRng } from './deterministicRng.js';
import { HASH_TO_G1_DST, hashToG1 } from './hashToG1.js';
import { operatorId } from './operatorId.js';
import { G1, G2 } from './points.js';
import { commitPolynomial, evaluatePolynomial, randomPolynomial } from './polynomial.js';
import { randomScalar } from './scalar.js';
import { partialSign, publicShare, recoverAppKey, verifyAppKey, verifyPartial } from './signatures.js';
import { codeOf } from '../../test/gen/errorCode.js';


const address = (i: number): string => `0x${(1000 + i).toString(16).padStart(40, '0')}`;

describe('hash to G1', () => {
  it('uses the Go DST and equals noble short-signature hashing with it', () => {
    expect(HASH_TO_G1_DST).toBe('BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_');
    const h = hashToG1('my-app-id');
    expect(h.equals(bls12_381.shortSignatures.hash(utf8ToBytes('my-app-id'), HASH_TO_G1_DST))).toBe(true);
    expect(h.equals(hashToG1(utf8ToBytes('my-app-id')))).toBe(true);
    expect(h.equals(hashToG1('my-app-iD'))).toBe(false);
    expect(h.isTorsionFree()).toBe(true);
  });
});

describe('threshold signatures on app ids', () => {
  const n = 7;
  const t = 5;
  const rng = createDeterministicRng('sig');
  const secret = randomScalar(rng);
  const f = randomPolynomial(secret, t - 1, rng);
  const commitments = commitPolynomial(f);
  const mpk = commitments[0]!;
  const ops = Array.from({ length: n }, (_, i) => {
    const id = operatorId(address(i));
    return { id, share: evaluatePolynomial(f, id) };
  });
  const appId = 'app-0001';
  const partials = ops.map((o) => ({ id: o.id, signature: partialSign(o.share, appId) }));

  it('every partial verifies against the public share from the commitments', () => {
    ops.forEach((o, i) => {
      const X = publicShare(commitments, o.id);
      expect(X.equals(G2.BASE.multiply(o.share))).toBe(true);
      expect(verifyPartial(partials[i]!.signature, appId, X)).toBe(true);
    });
  });

  it('rejects a partial for another app, another signer, or tampered', () => {
    const X0 = publicShare(commitments, ops[0]!.id);
    expect(verifyPartial(partialSign(ops[0]!.share, 'other-app'), appId, X0)).toBe(false);
    expect(verifyPartial(partials[1]!.signature, appId, X0)).toBe(false);
    expect(verifyPartial(partials[0]!.signature.add(G1.BASE), appId, X0)).toBe(false);
  });

  it('recovers the same app key from different t-subsets, equal to s·H(appId) and verified by the MPK', () => {
    const want = hashToG1(appId).multiply(secret);
    for (const subset of [partials.slice(0, t), partials.slice(n - t), [partials[6]!, partials[0]!, partials[3]!, partials[2]!, partials[5]!]]) {
      const key = recoverAppKey(subset, t);
      expect(key.equals(want)).toBe(true);
      expect(verifyAppKey(key, appId, mpk)).toBe(true);
    }
    // Cross-check with noble's own BLS verification (short signatures: G1 sig, G2 key).
    expect(bls12_381.shortSignatures.verify(want, hashToG1(appId), mpk)).toBe(true);
  });

  it('t−1 partials give a key that does not verify, and recovery refuses fewer than t', () => {
    expect(codeOf(() => recoverAppKey(partials.slice(0, t - 1), t))).toBe('CRYPTO_NOT_ENOUGH_PARTIALS');
    const wrong = recoverAppKey(partials.slice(0, t - 1), t - 1);
    expect(verifyAppKey(wrong, appId, mpk)).toBe(false);
    expect(verifyAppKey(recoverAppKey(partials.slice(0, t), t), 'app-0002', mpk)).toBe(false);
  });

  it('rejects duplicate signers, identity points and bad arguments', () => {
    expect(codeOf(() => recoverAppKey([partials[0]!, partials[0]!], 2))).toBe('CRYPTO_DUPLICATE_ID');
    expect(codeOf(() => recoverAppKey([{ id: 1n, signature: G1.ZERO }], 1))).toBe('CRYPTO_IDENTITY_POINT');
    expect(codeOf(() => verifyAppKey(G1.BASE, appId, G2.ZERO))).toBe('CRYPTO_IDENTITY_POINT');
    expect(codeOf(() => partialSign(0n, appId))).toBe('CRYPTO_INVALID_SCALAR');
    expect(codeOf(() => partialSign(1n, ''))).toBe('CRYPTO_INVALID_APP_ID');
  });
});
