import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { TransportError } from './errors.js';
import { toSec1 } from './signer.js';
import { ADDRESS_PATTERN } from './types.js';

/**
 * ECIES for key shares: a share travels encrypted to its recipient's operator key,
 * not just signed (upstream Go sent shares in the clear over plain HTTP).
 *
 *   e ← random scalar, E = e·G (33-byte compressed)
 *   Z = x(e·R)                      R = recipient's secp256k1 signing public key
 *   K = HKDF-SHA256(ikm = Z, salt = "kms-node/share-ecies/v1",
 *                   info = sender ‖ recipient ‖ u64be(session) ‖ E, 32 bytes)
 *   c = AES-256-GCM(K, nonce 12, AAD = salt ‖ sender ‖ recipient ‖ u64be(session) ‖ dealer)
 *
 * E in `info` binds the key to this ephemeral (as HPKE does), and the AAD binds the
 * ciphertext to who sent it, to whom, for which session and whose polynomial it
 * came from, so a share cannot be re-labelled for another session or dealer.
 * Addresses enter as their 20 raw bytes. Buffers holding Z and K are zeroed after
 * use; that is best effort (the JS heap may hold copies).
 */

const DOMAIN = 'kms-node/share-ecies/v1';
const SALT = utf8ToBytes(DOMAIN);
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const MAX_PLAINTEXT_BYTES = 64 * 1024;
const EPHEMERAL_SEED_BYTES = secp256k1.lengths.seed ?? 48;

/** Who a share is from and for; both sides must pass the same values. */
export interface ShareContext {
  /** Operator address of the node sending the message. */
  readonly sender: string;
  /** Operator address of the node the share is for. */
  readonly recipient: string;
  /** Protocol session (boundary timestamp). */
  readonly sessionTimestamp: number;
  /** Operator address of the dealer whose polynomial the share evaluates. */
  readonly dealer: string;
}

/** An encrypted share on the wire; all fields 0x-prefixed lowercase hex. */
export interface SealedShare {
  /** 33-byte compressed ephemeral public key E. */
  readonly ephemeralPublicKey: string;
  /** 12-byte AES-GCM nonce. */
  readonly nonce: string;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  readonly ciphertext: string;
}

/** Validator for a {@link SealedShare} received from a peer. */
export const sealedShareSchema = z.strictObject({
  ephemeralPublicKey: z.string().regex(/^0x0[23][0-9a-f]{64}$/, 'expected a 33-byte compressed secp256k1 point as 0x hex'),
  nonce: z.string().regex(/^0x[0-9a-f]{24}$/, 'expected 12 bytes as 0x hex'),
  ciphertext: z.string().regex(/^0x([0-9a-f]{2})+$/, 'expected 0x-prefixed lowercase hex')
    .min(2 + 2 * GCM_TAG_BYTES, 'shorter than the 16-byte tag')
    .max(2 + 2 * (MAX_PLAINTEXT_BYTES + GCM_TAG_BYTES), 'longer than the 64 KiB share limit'),
});

/** Anything that can do ECDH with its private key, e.g. {@link OperatorSigner}. */
export interface EcdhKey {
  /** x-coordinate (32 bytes) of privateKey · publicKey. */
  ecdh(publicKey: Uint8Array): Uint8Array;
}

/**
 * Encrypts `plaintext` to `recipientPublicKey` (64-byte x ‖ y, as in the operator set).
 * @param rng randomness source; injected by tests, node:crypto by default.
 * @throws TransportError INVALID_PUBLIC_KEY | INVALID_TRANSPORT_CONFIG (bad context).
 */
export function sealShare(
  plaintext: Uint8Array,
  recipientPublicKey: Uint8Array,
  context: ShareContext,
  rng: (bytes: number) => Uint8Array = randomBytes,
): SealedShare {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new TypeError(`sealShare: plaintext is ${plaintext.length} bytes, limit ${MAX_PLAINTEXT_BYTES}`);
  }
  const recipient = toSec1(recipientPublicKey);
  const bound = contextBytes(context);
  const ephemeralSecret = secp256k1.utils.randomSecretKey(rng(EPHEMERAL_SEED_BYTES));
  const ephemeralPublic = secp256k1.getPublicKey(ephemeralSecret, true);
  const shared = secp256k1.getSharedSecret(ephemeralSecret, recipient, true).subarray(1);
  const key = deriveKey(shared, bound, ephemeralPublic);
  const nonce = rng(GCM_NONCE_BYTES);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad(bound));
    const body = concatBytes(cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
    return {
      ephemeralPublicKey: `0x${bytesToHex(ephemeralPublic)}`,
      nonce: `0x${bytesToHex(nonce)}`,
      ciphertext: `0x${bytesToHex(body)}`,
    };
  } finally {
    ephemeralSecret.fill(0);
    shared.fill(0);
    key.fill(0);
  }
}

/**
 * Decrypts a share sealed to `key`'s public key under the same `context`.
 * @param sealed a {@link SealedShare}, or untrusted JSON to validate.
 * @throws TransportError MALFORMED_SEALED_SHARE (shape, or the ephemeral key is not a point) |
 *   SHARE_DECRYPTION_FAILED (tampered, encrypted to another key, or another sender/recipient/session/dealer).
 */
export function openShare(sealed: unknown, key: EcdhKey, context: ShareContext): Uint8Array {
  const parsed = sealedShareSchema.safeParse(sealed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ['sealedShare', ...(issue?.path ?? []).map(String)].join('.');
    throw new TransportError('MALFORMED_SEALED_SHARE', `${field}: ${issue?.message ?? 'invalid'}`, {
      fix: 'the sender must encrypt shares with sealShare',
      details: { field },
    });
  }
  const bound = contextBytes(context);
  const ephemeralPublic = hexToBytes(parsed.data.ephemeralPublicKey.slice(2));
  let shared: Uint8Array;
  try {
    shared = key.ecdh(ephemeralPublic);
  } catch (error) {
    throw new TransportError('MALFORMED_SEALED_SHARE', 'sealedShare.ephemeralPublicKey is not a secp256k1 point', {
      fix: 'the sender must encrypt shares with sealShare',
      details: { field: 'sealedShare.ephemeralPublicKey' },
      cause: error,
    });
  }
  const derived = deriveKey(shared, bound, ephemeralPublic);
  const body = hexToBytes(parsed.data.ciphertext.slice(2));
  try {
    const decipher = createDecipheriv('aes-256-gcm', derived, hexToBytes(parsed.data.nonce.slice(2)), {
      authTagLength: GCM_TAG_BYTES,
    });
    decipher.setAAD(aad(bound));
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
    return concatBytes(decipher.update(body.subarray(0, body.length - GCM_TAG_BYTES)), decipher.final());
  } catch (error) {
    throw new TransportError('SHARE_DECRYPTION_FAILED', `share from ${context.sender} for session ${context.sessionTimestamp} failed authentication`, {
      fix: 'the ciphertext was altered, encrypted to a different operator key, or for another sender, recipient, '
        + 'session or dealer; compare both nodes\' operator sets',
      details: { sender: context.sender, recipient: context.recipient, dealer: context.dealer, sessionTimestamp: context.sessionTimestamp },
      cause: error,
    });
  } finally {
    shared.fill(0);
    derived.fill(0);
  }
}

interface BoundContext {
  readonly sender: Uint8Array;
  readonly recipient: Uint8Array;
  readonly session: Uint8Array;
  readonly dealer: Uint8Array;
}

function contextBytes(context: ShareContext): BoundContext {
  if (!Number.isSafeInteger(context.sessionTimestamp) || context.sessionTimestamp < 0) {
    throw contextError('sessionTimestamp', String(context.sessionTimestamp));
  }
  const session = new Uint8Array(8);
  new DataView(session.buffer).setBigUint64(0, BigInt(context.sessionTimestamp));
  return {
    sender: addressBytes('sender', context.sender),
    recipient: addressBytes('recipient', context.recipient),
    session,
    dealer: addressBytes('dealer', context.dealer),
  };
}

function addressBytes(field: string, value: string): Uint8Array {
  if (!ADDRESS_PATTERN.test(value)) throw contextError(field, value);
  return hexToBytes(value.slice(2));
}

function contextError(field: string, value: string): TransportError {
  return new TransportError('INVALID_TRANSPORT_CONFIG', `share context ${field}="${value}" is invalid`, {
    fix: 'addresses must be lowercase 0x-prefixed 20-byte hex and the session a non-negative integer',
    details: { field },
  });
}

function deriveKey(shared: Uint8Array, bound: BoundContext, ephemeralPublic: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, SALT, concatBytes(bound.sender, bound.recipient, bound.session, ephemeralPublic), 32);
}

function aad(bound: BoundContext): Uint8Array {
  return concatBytes(SALT, bound.sender, bound.recipient, bound.session, bound.dealer);
}
