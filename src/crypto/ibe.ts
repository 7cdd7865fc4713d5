/**
 * Identity-based encryption to an app id (Boneh–Franklin style, key-compatible with
 * the Go original, pkg/crypto/bls.go):
 *
 *   encrypt: r ← Fr, C1 = r·G2, g = e(H1(appId), MPK)^r,
 *   decrypt: g = e(s·H1(appId), C1) with the recovered app key.
 *   key = HKDF-SHA256(IKM = GT bytes in gnark order, salt, info = "IBE-encryption|v1|" ‖ appId), 32 bytes
 *   ciphertext = "IBE" ‖ 0x01 ‖ C1 (96) ‖ nonce (12) ‖ AES-256-GCM(ct ‖ tag 16), AAD = appId ‖ 0x01 ‖ C1.
 *
 * GT bytes: gnark's E12.Bytes() writes the twelve 48-byte Fp coefficients in reverse
 * tower order; noble's Fp12.toBytes writes them forward, so the IKM is noble's
 * chunks reversed. Both libraries use the same final exponentiation power (see
 * shared/reference/upstream-go-kms-facts.md §5); confirm with Go-produced vectors.
 *
 * AES-GCM runs on WebCrypto (globalThis.crypto.subtle), hence async.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { assertAppId } from './appId.js';
import { CryptoError, CryptoErrorCode, abytes } from './errors.js';
import { hashToG1 } from './hashToG1.js';
import { G1, G2_BYTES, decodeG2, encodeG2, type G1Point, type G2Point } from './points.js';
import { defaultRandomSource, randomScalar, type RandomSource } from './scalar.js';

const Fp12 = bls12_381.fields.Fp12;
type Gt = ReturnType<typeof bls12_381.pairing>;

export const IBE_MAGIC = utf8ToBytes('IBE');
export const IBE_VERSION = 0x01;
export const IBE_NONCE_BYTES = 12;
export const IBE_TAG_BYTES = 16;
export const IBE_HEADER_BYTES = IBE_MAGIC.length + 1 + G2_BYTES + IBE_NONCE_BYTES;
/** Header plus an empty plaintext's tag. */
export const IBE_MIN_CIPHERTEXT_BYTES = IBE_HEADER_BYTES + IBE_TAG_BYTES;
export const IBE_HKDF_SALT = utf8ToBytes('eigenx-kms-go-ibe-encryption');
export const IBE_INFO_PREFIX = 'IBE-encryption|v1|';

const FP_BYTES = 48;

/** GT element as gnark's E12.Bytes(): noble's twelve Fp chunks in reverse order. */
export function gtToGnarkBytes(gt: Gt): Uint8Array {
  const forward = Fp12.toBytes(gt);
  const chunks = forward.length / FP_BYTES;
  const out = new Uint8Array(forward.length);
  for (let i = 0; i < chunks; i++) {
    out.set(forward.subarray(i * FP_BYTES, (i + 1) * FP_BYTES), (chunks - 1 - i) * FP_BYTES);
  }
  return out;
}

/** The AES key for one (GT element, appId). */
export function deriveIbeKey(gt: Gt, appId: string): Uint8Array {
  const ikm = gtToGnarkBytes(gt);
  const key = hkdf(sha256, ikm, IBE_HKDF_SALT, utf8ToBytes(IBE_INFO_PREFIX + appId), 32);
  ikm.fill(0);
  return key;
}

function aad(appId: string, c1: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(appId), new Uint8Array([IBE_VERSION]), c1);
}

type AesKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

async function aesKey(raw: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<AesKey> {
  const key = await globalThis.crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, [usage]);
  raw.fill(0);
  return key;
}

/** Encrypts `plaintext` to `appId` under the master public key. */
export async function ibeEncrypt(
  appId: string,
  masterPublicKey: G2Point,
  plaintext: Uint8Array,
  rng: RandomSource = defaultRandomSource,
): Promise<Uint8Array> {
  assertAppId(appId);
  abytes(plaintext, undefined, 'plaintext');
  if (!(masterPublicKey instanceof bls12_381.G2.Point) || masterPublicKey.is0()) {
    throw new CryptoError(CryptoErrorCode.INVALID_POINT, '"masterPublicKey" expected a non-identity G2 point');
  }
  const r = randomScalar(rng);
  const c1 = encodeG2(bls12_381.G2.Point.BASE.multiply(r));
  const g = bls12_381.pairing(hashToG1(appId), masterPublicKey.multiply(r));
  if (Fp12.eql(g, Fp12.ONE)) {
    throw new CryptoError(CryptoErrorCode.INVALID_POINT, 'IBE pairing result is the GT identity; refusing to encrypt');
  }
  const nonce = abytes(rng(IBE_NONCE_BYTES), IBE_NONCE_BYTES, 'rng output');
  const key = await aesKey(deriveIbeKey(g, appId), 'encrypt');
  const sealed = new Uint8Array(
    await globalThis.crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad(appId, c1), tagLength: IBE_TAG_BYTES * 8 },
      key,
      plaintext,
    ),
  );
  return concatBytes(IBE_MAGIC, new Uint8Array([IBE_VERSION]), c1, nonce, sealed);
}

/** Parsed, validated parts of an IBE ciphertext. */
export interface IbeCiphertextParts {
  readonly c1: G2Point;
  readonly c1Bytes: Uint8Array;
  readonly nonce: Uint8Array;
  /** AES-GCM output: ciphertext ‖ 16-byte tag. */
  readonly sealed: Uint8Array;
}

/** Splits and checks the layout (magic, version, length, C1 a non-identity subgroup point). */
export function parseIbeCiphertext(ciphertext: Uint8Array): IbeCiphertextParts {
  abytes(ciphertext, undefined, 'ciphertext');
  if (ciphertext.length < IBE_MIN_CIPHERTEXT_BYTES) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_CIPHERTEXT,
      `IBE ciphertext too short: ${ciphertext.length} bytes, minimum ${IBE_MIN_CIPHERTEXT_BYTES}`,
    );
  }
  for (let i = 0; i < IBE_MAGIC.length; i++) {
    if (ciphertext[i] !== IBE_MAGIC[i]) {
      throw new CryptoError(CryptoErrorCode.INVALID_CIPHERTEXT, 'IBE ciphertext does not start with "IBE"');
    }
  }
  const version = ciphertext[IBE_MAGIC.length];
  if (version !== IBE_VERSION) {
    throw new CryptoError(CryptoErrorCode.INVALID_CIPHERTEXT, `unsupported IBE ciphertext version ${String(version)}`, {
      fix: `only version ${IBE_VERSION} is supported`,
    });
  }
  let offset = IBE_MAGIC.length + 1;
  const c1Bytes = ciphertext.slice(offset, offset + G2_BYTES);
  offset += G2_BYTES;
  let c1: G2Point;
  try {
    c1 = decodeG2(c1Bytes, { title: 'C1' });
  } catch (cause) {
    throw new CryptoError(CryptoErrorCode.INVALID_CIPHERTEXT, 'IBE ciphertext C1 is not a valid non-identity G2 point', {
      cause,
    });
  }
  const nonce = ciphertext.slice(offset, offset + IBE_NONCE_BYTES);
  offset += IBE_NONCE_BYTES;
  return { c1, c1Bytes, nonce, sealed: ciphertext.slice(offset) };
}

/** Decrypts with the recovered app key s·H1(appId); throws CRYPTO_DECRYPTION_FAILED on any tampering. */
export async function ibeDecrypt(appId: string, appKey: G1Point, ciphertext: Uint8Array): Promise<Uint8Array> {
  assertAppId(appId);
  if (!(appKey instanceof G1) || appKey.is0()) {
    throw new CryptoError(CryptoErrorCode.INVALID_POINT, '"appKey" expected a non-identity G1 point');
  }
  const parts = parseIbeCiphertext(ciphertext);
  const g = bls12_381.pairing(appKey, parts.c1);
  if (Fp12.eql(g, Fp12.ONE)) {
    throw new CryptoError(CryptoErrorCode.DECRYPTION_FAILED, 'IBE pairing result is the GT identity');
  }
  const key = await aesKey(deriveIbeKey(g, appId), 'decrypt');
  try {
    return new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: parts.nonce, additionalData: aad(appId, parts.c1Bytes), tagLength: IBE_TAG_BYTES * 8 },
        key,
        parts.sealed,
      ),
    );
  } catch (cause) {
    throw new CryptoError(
      CryptoErrorCode.DECRYPTION_FAILED,
      'IBE ciphertext failed authentication (tampered, wrong app id, or wrong app key)',
      { cause },
    );
  }
}
