import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { TransportError } from './errors.js';

/**
 * Operator signing key: Ethereum-style secp256k1 over 32-byte digests, signatures
 * r ‖ s ‖ v with v = 27/28 (what viem and ecrecover produce and accept). Signing is
 * synchronous because the protocol core signs acknowledgements inline.
 *
 * The same key also does ECDH for share encryption ({@link OperatorSigner.ecdh});
 * that is the key operators already publish, so peers need no second key.
 */

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const SIGNATURE_BYTES = 65;
const DIGEST_BYTES = 32;

/**
 * The 64-byte uncompressed public key x ‖ y of a valid secret key. Not
 * secp256k1.getPublicKey: that multiplies the shared base point, whose first use builds
 * its 8-bit window table (~60 ms) on the start-up path of every node; a copy of the
 * base point takes the same constant-time ladder with a 1-bit table (~7 ms), and the
 * first signature builds the big table instead, off the path to serving.
 */
function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const { Point } = secp256k1;
  return Point.fromAffine(Point.BASE.toAffine()).multiply(Point.Fn.fromBytes(secretKey)).toBytes(false).subarray(1);
}

/** The operator's signing identity; the private key never leaves the instance. */
export class OperatorSigner {
  readonly #secretKey: Uint8Array;
  /** keccak256(publicKey)[12:], lowercase 0x-prefixed. */
  readonly signingAddress: string;
  /** 64-byte uncompressed public key x ‖ y (no 0x04 prefix). */
  readonly publicKey: Uint8Array;

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.publicKey = publicKeyOf(secretKey);
    this.signingAddress = publicKeyToAddress(this.publicKey);
  }

  /**
   * @param privateKey 32 bytes, or 64 hex digits with or without 0x.
   * @throws TransportError INVALID_PRIVATE_KEY (the message never contains the key).
   */
  static fromPrivateKey(privateKey: string | Uint8Array): OperatorSigner {
    let bytes: Uint8Array;
    if (typeof privateKey === 'string') {
      const hex = privateKey.startsWith('0x') ? privateKey.slice(2) : privateKey;
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        throw new TransportError('INVALID_PRIVATE_KEY', 'operator private key is not 32 bytes of hex', {
          fix: 'pass the secp256k1 key as 64 hex digits (optionally 0x-prefixed)',
          details: { length: hex.length },
        });
      }
      bytes = hexToBytes(hex);
    } else {
      bytes = Uint8Array.from(privateKey);
    }
    if (!secp256k1.utils.isValidSecretKey(bytes)) {
      bytes.fill(0);
      throw new TransportError('INVALID_PRIVATE_KEY', 'operator private key is not a valid secp256k1 scalar', {
        fix: 'use a key in [1, n-1] of 32 bytes, as produced by any Ethereum wallet',
        details: { length: bytes.length },
      });
    }
    return new OperatorSigner(bytes);
  }

  /** Signs a 32-byte digest as-is (no prehash); returns 65 bytes r ‖ s ‖ v, v = 27/28, low-S. */
  signDigest(digest: Uint8Array): Uint8Array {
    assertDigest(digest);
    const recovered = secp256k1.sign(digest, this.#secretKey, { prehash: false, format: 'recovered' });
    // noble's 'recovered' layout is recovery ‖ r ‖ s; Ethereum's is r ‖ s ‖ (27 + recovery).
    const out = new Uint8Array(SIGNATURE_BYTES);
    out.set(recovered.subarray(1), 0);
    out[64] = 27 + (recovered[0] ?? 0);
    return out;
  }

  /**
   * ECDH with a peer public key: the 32-byte x-coordinate of secretKey·P. Used by
   * share decryption so the private key itself is never handed out.
   * @throws TransportError INVALID_PUBLIC_KEY if the point is not on the curve.
   */
  ecdh(publicKey: Uint8Array): Uint8Array {
    const point = toSec1(publicKey);
    const shared = secp256k1.getSharedSecret(this.#secretKey, point, true);
    return shared.subarray(1);
  }

  /** Redacted view: the key never reaches JSON logs. */
  toJSON(): { signingAddress: string } {
    return { signingAddress: this.signingAddress };
  }

  /** Redacted view for console/util.inspect. */
  [INSPECT](): string {
    return `OperatorSigner { signingAddress: '${this.signingAddress}', privateKey: [Redacted] }`;
  }

  toString(): string {
    return `OperatorSigner(${this.signingAddress})`;
  }
}

/**
 * Recovers the signing address from a 65-byte r ‖ s ‖ v signature over a 32-byte
 * digest. Accepts v ∈ {0, 1, 27, 28}; rejects high-S (malleated) signatures.
 * @returns lowercase 0x address.
 * @throws TransportError BAD_SIGNATURE when the signature is not well-formed or recovers nothing.
 */
export function recoverDigestSigner(digest: Uint8Array, signature: Uint8Array): string {
  assertDigest(digest);
  if (signature.length !== SIGNATURE_BYTES) {
    throw badSignature(`signature is ${signature.length} bytes, expected 65 (r ‖ s ‖ v)`);
  }
  const v = signature[64] ?? -1;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) throw badSignature(`signature recovery byte v=${v} is not 0, 1, 27 or 28`);
  const noble = new Uint8Array(SIGNATURE_BYTES);
  noble[0] = recovery;
  noble.set(signature.subarray(0, 64), 1);
  let publicKey: Uint8Array;
  try {
    const sig = secp256k1.Signature.fromBytes(noble, 'recovered');
    if (sig.hasHighS()) throw badSignature('signature has a high S value (malleated)');
    publicKey = sig.recoverPublicKey(digest).toBytes(false);
  } catch (error) {
    if (error instanceof TransportError) throw error;
    throw badSignature('signature does not recover a public key', error);
  }
  return publicKeyToAddress(publicKey.subarray(1));
}

/** Address of a 64-byte (x ‖ y) or 65-byte (0x04 ‖ x ‖ y) uncompressed public key. */
export function publicKeyToAddress(publicKey: Uint8Array): string {
  const xy = publicKey.length === 65 && publicKey[0] === 4 ? publicKey.subarray(1) : publicKey;
  if (xy.length !== 64) {
    throw new TransportError('INVALID_PUBLIC_KEY', `public key is ${publicKey.length} bytes, expected 64 (x ‖ y)`, {
      fix: 'pass the uncompressed secp256k1 key without or with its 0x04 prefix',
    });
  }
  return `0x${bytesToHex(keccak_256(xy).subarray(12))}`;
}

/**
 * SEC1 encoding of a peer key given as 64 bytes (x ‖ y), 65 bytes (04 ‖ x ‖ y) or
 * 33 bytes (compressed), checked to be on the curve.
 * @throws TransportError INVALID_PUBLIC_KEY
 */
export function toSec1(publicKey: Uint8Array): Uint8Array {
  const sec1 = publicKey.length === 64 ? Uint8Array.of(4, ...publicKey) : publicKey;
  if (!secp256k1.utils.isValidPublicKey(sec1, sec1.length === 33)) {
    throw new TransportError('INVALID_PUBLIC_KEY', 'public key is not a valid secp256k1 point', {
      fix: "check the operator's registered signing key (64-byte x ‖ y)",
      details: { length: publicKey.length },
    });
  }
  return sec1;
}

function assertDigest(digest: Uint8Array): void {
  if (digest.length !== DIGEST_BYTES) {
    throw new TypeError(`digest is ${digest.length} bytes, expected 32: hash the message with keccak256 first`);
  }
}

function badSignature(message: string, cause?: unknown): TransportError {
  return new TransportError('BAD_SIGNATURE', message, {
    fix: 'the message was altered or signed by a different key; the sender must re-sign it',
    cause,
  });
}
