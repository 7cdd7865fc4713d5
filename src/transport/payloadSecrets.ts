import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { TransportError } from './errors.js';
import { openShare, sealShare, type EcdhKey, type SealedShare, type ShareContext } from './shareEncryption.js';
import { ADDRESS_PATTERN, type PeerIdentity, type TransportPayload } from './types.js';

/**
 * Encrypts one secret field of a protocol message (the `share` of a deal) in place
 * before the message is sealed in an envelope, and restores it after the envelope
 * is opened. The protocol core keeps emitting and parsing plaintext messages; only
 * the wire carries ciphertext.
 *
 * The field must hold 0x hex (the core's byte encoding). Context for the ECIES AAD:
 * sender = `from`, recipient = `to`, session = `sessionTimestamp`, dealer = the
 * payload's `dealer` field when it is an address, else `from` (a deal is sent by its
 * dealer).
 */

/** Default secret field: DealMessage.share. */
export const SECRET_FIELD = 'share';

/**
 * Returns a copy of `payload` whose `field` is a {@link SealedShare} for `recipient`.
 * @throws TransportError INVALID_TRANSPORT_CONFIG when the payload has no recipient, the
 *   recipient is not `payload.to`, or the field is not 0x hex.
 */
export function sealPayloadSecret(
  payload: TransportPayload,
  recipient: Pick<PeerIdentity, 'address' | 'signingPublicKey'>,
  options: { readonly field?: string; readonly rng?: (bytes: number) => Uint8Array } = {},
): TransportPayload {
  const field = options.field ?? SECRET_FIELD;
  const value = payload[field];
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw misuse(`payload field "${field}" is not 0x hex`, field);
  }
  if (payload.to === undefined || payload.to !== recipient.address) {
    throw misuse(`payload.to (${payload.to ?? 'absent'}) is not the recipient ${recipient.address}; secrets go point-to-point`, 'to');
  }
  const plaintext = hexToBytes(value.slice(2));
  try {
    const sealed: SealedShare = sealShare(plaintext, recipient.signingPublicKey, contextOf(payload), options.rng);
    return { ...payload, [field]: { ...sealed } };
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Returns a copy of an opened envelope's payload with `field` decrypted back to
 * lowercase 0x hex. A plaintext value where ciphertext is expected is refused, so a
 * peer cannot skip encryption.
 * @throws TransportError MALFORMED_SEALED_SHARE | SHARE_DECRYPTION_FAILED
 */
export function openPayloadSecret(
  payload: TransportPayload,
  key: EcdhKey,
  options: { readonly field?: string } = {},
): TransportPayload {
  const field = options.field ?? SECRET_FIELD;
  if (payload.to === undefined) {
    throw new TransportError('MALFORMED_SEALED_SHARE', 'payload.to is absent; an encrypted secret must name its recipient', {
      fix: 'send secret-bearing messages point-to-point with `to` set',
      details: { field: 'payload.to' },
    });
  }
  const plaintext = openShare(payload[field], key, contextOf(payload));
  try {
    return { ...payload, [field]: `0x${bytesToHex(plaintext)}` };
  } finally {
    plaintext.fill(0);
  }
}

function contextOf(payload: TransportPayload): ShareContext {
  const dealer = typeof payload.dealer === 'string' && ADDRESS_PATTERN.test(payload.dealer) ? payload.dealer : payload.from;
  return { sender: payload.from, recipient: payload.to ?? '', sessionTimestamp: payload.sessionTimestamp, dealer };
}

function misuse(message: string, field: string): TransportError {
  return new TransportError('INVALID_TRANSPORT_CONFIG', message, {
    fix: 'encrypt only point-to-point messages whose secret field is 0x hex',
    details: { field },
  });
}
