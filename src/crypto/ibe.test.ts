import fc from 'fast-check';
import { CryptoError } from './errors.js';
import { createDeterministicRng } from './deterministicRng.js';
import { hashToG1 } from './hashToG1.js';
import {
  IBE_HEADER_BYTES,
  IBE_MIN_CIPHERTEXT_BYTES,
  gtToGnarkBytes,
  ibeDecrypt,
  ibeEncrypt,
  parseIbeCiphertext,
} from './ibe.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { G1, G2, decodeG2, encodeG2 } from './points.js';
import { randomScalar } from './scalar.js';

async function codeOfAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return err instanceof CryptoError ? err.code : 'NOT_A_CRYPTO_ERROR';
  }
  return undefined;
}

const rng = createDeterministicRng('ibe');
const s = randomScalar(rng);
const mpk = G2.BASE.multiply(s);
const appId = 'my-application';
const appKey = hashToG1(appId).multiply(s);
const enc = new TextEncoder();
// Pairings are slow on a loaded 2-core machine; async tests would otherwise hit jest's 5 s default.
const SLOW = 120_000;

describe('IBE', () => {
  it('round-trips arbitrary plaintexts and app ids (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.string({ minLength: 5, maxLength: 40 }), async (pt, id) => {
        const key = hashToG1(id).multiply(s);
        const ct = await ibeEncrypt(id, mpk, pt, rng);
        expect(ct.length).toBe(IBE_MIN_CIPHERTEXT_BYTES + pt.length);
        expect(await ibeDecrypt(id, key, ct)).toEqual(pt);
      }),
      { numRuns: 12 },
    );
  }, SLOW);

  it('writes "IBE" ‖ 0x01 ‖ C1 ‖ nonce ‖ ct‖tag with C1 = r·G2 and the rng nonce', async () => {
    const seed = 'layout';
    const pt = enc.encode('hello');
    const ct = await ibeEncrypt(appId, mpk, pt, createDeterministicRng(seed));
    const replay = createDeterministicRng(seed);
    const r = randomScalar(replay);
    const nonce = replay(12);
    expect(Array.from(ct.slice(0, 4))).toEqual([0x49, 0x42, 0x45, 0x01]);
    expect(ct.slice(4, 100)).toEqual(encodeG2(G2.BASE.multiply(r)));
    expect(ct.slice(100, 112)).toEqual(nonce);
    expect(ct.length).toBe(IBE_HEADER_BYTES + pt.length + 16);
    expect(IBE_MIN_CIPHERTEXT_BYTES).toBe(128);
    const parts = parseIbeCiphertext(ct);
    expect(parts.c1.equals(decodeG2(ct.slice(4, 100)))).toBe(true);
    expect(parts.sealed).toHaveLength(pt.length + 16);
  }, SLOW);

  it('is randomized: same plaintext twice gives different ciphertexts', async () => {
    const pt = enc.encode('same');
    const a = await ibeEncrypt(appId, mpk, pt, rng);
    const b = await ibeEncrypt(appId, mpk, pt, rng);
    expect(a).not.toEqual(b);
  }, SLOW);

  it('rejects any tampered byte (property over positions)', async () => {
    const pt = enc.encode('secret environment');
    const ct = await ibeEncrypt(appId, mpk, pt, rng);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: ct.length - 1 }), fc.integer({ min: 1, max: 255 }), async (pos, mask) => {
        const bad = ct.slice();
        bad[pos] = (bad[pos] ?? 0) ^ mask;
        const code = await codeOfAsync(() => ibeDecrypt(appId, appKey, bad));
        expect(['CRYPTO_INVALID_CIPHERTEXT', 'CRYPTO_DECRYPTION_FAILED']).toContain(code);
      }),
      { numRuns: 25 },
    );
  }, SLOW);

  it('names the malformed part: short, magic, version, identity C1', async () => {
    const ct = await ibeEncrypt(appId, mpk, enc.encode('x'), rng);
    expect(await codeOfAsync(() => ibeDecrypt(appId, appKey, ct.slice(0, 127)))).toBe('CRYPTO_INVALID_CIPHERTEXT');
    const magic = ct.slice();
    magic[0] = 0x58;
    expect(await codeOfAsync(() => ibeDecrypt(appId, appKey, magic))).toBe('CRYPTO_INVALID_CIPHERTEXT');
    const version = ct.slice();
    version[3] = 0x02;
    expect(await codeOfAsync(() => ibeDecrypt(appId, appKey, version))).toBe('CRYPTO_INVALID_CIPHERTEXT');
    const identity = ct.slice();
    identity.set(encodeG2(G2.ZERO), 4);
    expect(await codeOfAsync(() => ibeDecrypt(appId, appKey, identity))).toBe('CRYPTO_INVALID_CIPHERTEXT');
  }, SLOW);

  it('fails with the wrong app id or wrong key, and validates inputs', async () => {
    const ct = await ibeEncrypt(appId, mpk, enc.encode('x'), rng);
    expect(await codeOfAsync(() => ibeDecrypt('other-application', appKey, ct))).toBe('CRYPTO_DECRYPTION_FAILED');
    expect(await codeOfAsync(() => ibeDecrypt(appId, appKey.double(), ct))).toBe('CRYPTO_DECRYPTION_FAILED');
    expect(await codeOfAsync(() => ibeDecrypt(appId, G1.ZERO, ct))).toBe('CRYPTO_INVALID_POINT');
    expect(await codeOfAsync(() => ibeEncrypt('abcd', mpk, enc.encode('x'), rng))).toBe('CRYPTO_INVALID_APP_ID');
    expect(await codeOfAsync(() => ibeEncrypt(appId, G2.ZERO, enc.encode('x'), rng))).toBe('CRYPTO_INVALID_POINT');
  }, SLOW);

  it('orders GT bytes as gnark: noble chunks reversed', () => {
    const gt = bls12_381.pairing(G1.BASE, G2.BASE);
    const forward = bls12_381.fields.Fp12.toBytes(gt);
    const gnark = gtToGnarkBytes(gt);
    expect(gnark).toHaveLength(576);
    expect(gnark.slice(0, 48)).toEqual(forward.slice(528, 576));
    expect(gnark.slice(528, 576)).toEqual(forward.slice(0, 48));
    expect(gnark.slice(48, 96)).toEqual(forward.slice(480, 528));
  });
});
