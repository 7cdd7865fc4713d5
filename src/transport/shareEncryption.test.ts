import { createDecipheriv, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { TransportError } from './errors.js';
import { openShare, sealShare, sealedShareSchema, type SealedShare, type ShareContext } from './shareEncryption.js';
import { OperatorSigner } from './signer.js';

const bobKey = keccak_256(utf8ToBytes('bob'));
const bob = OperatorSigner.fromPrivateKey(bobKey);
const carol = OperatorSigner.fromPrivateKey(keccak_256(utf8ToBytes('carol')));
const context: ShareContext = {
  sender: `0x${'a1'.repeat(20)}`,
  recipient: `0x${'b2'.repeat(20)}`,
  sessionTimestamp: 1_700_000_000,
  dealer: `0x${'a1'.repeat(20)}`,
};
const share = hexToBytes('0badc0ffee0ddf00d0000000000000000000000000000000000000000000002a');

/** Deterministic byte stream so sealed outputs are reproducible in tests. */
function counterRng(seed: number): (n: number) => Uint8Array {
  let counter = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) out.set(keccak_256(Uint8Array.of(counter++ & 0xff, seed)).subarray(0, Math.min(32, n - i)), i);
    return out;
  };
}

function failure(fn: () => unknown): TransportError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransportError) return error;
    throw error;
  }
  throw new Error('expected a TransportError');
}

function flipHexDigit(value: string, index: number): string {
  const i = 2 + (index % (value.length - 2));
  const digit = value[i] === '0' ? '1' : '0';
  return value.slice(0, i) + digit + value.slice(i + 1);
}

describe('share ECIES', () => {
  it('round-trips to the recipient, with a well-formed wire shape', () => {
    const sealed = sealShare(share, bob.publicKey, context);
    expect(sealedShareSchema.safeParse(sealed).success).toBe(true);
    expect(sealed.ciphertext).toHaveLength(2 + 2 * (32 + 16));
    expect(sealed.ciphertext).not.toContain(bytesToHex(share));
    expect(bytesToHex(openShare(JSON.parse(JSON.stringify(sealed)), bob, context))).toBe(bytesToHex(share));
  });

  it('follows the documented construction (re-derived with node:crypto)', () => {
    const sealed = sealShare(share, bob.publicKey, context, counterRng(7));
    const ephemeral = hexToBytes(sealed.ephemeralPublicKey.slice(2));
    const z = secp256k1.getSharedSecret(bobKey, ephemeral, true).subarray(1);
    const session = hexToBytes(context.sessionTimestamp.toString(16).padStart(16, '0'));
    const addr = (a: string): Uint8Array => hexToBytes(a.slice(2));
    const salt = utf8ToBytes('kms-node/share-ecies/v1');
    const key = new Uint8Array(hkdfSync('sha256', z, salt, concatBytes(addr(context.sender), addr(context.recipient), session, ephemeral), 32));
    const body = hexToBytes(sealed.ciphertext.slice(2));
    const decipher = createDecipheriv('aes-256-gcm', key, hexToBytes(sealed.nonce.slice(2)));
    decipher.setAAD(concatBytes(salt, addr(context.sender), addr(context.recipient), session, addr(context.dealer)));
    decipher.setAuthTag(body.subarray(body.length - 16));
    const plain = concatBytes(decipher.update(body.subarray(0, body.length - 16)), decipher.final());
    expect(bytesToHex(plain)).toBe(bytesToHex(share));
  });

  it('is reproducible with an injected rng and fresh otherwise', () => {
    expect(sealShare(share, bob.publicKey, context, counterRng(1))).toEqual(sealShare(share, bob.publicKey, context, counterRng(1)));
    const a = sealShare(share, bob.publicKey, context);
    const b = sealShare(share, bob.publicKey, context);
    expect(a.ephemeralPublicKey).not.toBe(b.ephemeralPublicKey);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('fails for any other operator key', () => {
    const sealed = sealShare(share, bob.publicKey, context);
    const err = failure(() => openShare(sealed, carol, context));
    expect(err.code).toBe('SHARE_DECRYPTION_FAILED');
    expect(err.message).not.toContain(bytesToHex(share));
  });

  it.each([
    ['session', { sessionTimestamp: context.sessionTimestamp + 1 }],
    ['sender', { sender: `0x${'c3'.repeat(20)}` }],
    ['recipient', { recipient: `0x${'c3'.repeat(20)}` }],
    ['dealer', { dealer: `0x${'c3'.repeat(20)}` }],
  ])('fails when the %s differs from what was sealed', (_name, change) => {
    const sealed = sealShare(share, bob.publicKey, context);
    expect(failure(() => openShare(sealed, bob, { ...context, ...change })).code).toBe('SHARE_DECRYPTION_FAILED');
  });

  it.each(['ciphertext', 'nonce', 'ephemeralPublicKey'] as const)('detects a flipped digit in %s', (field) => {
    const sealed = sealShare(share, bob.publicKey, context);
    const expected = field === 'ephemeralPublicKey' ? ['SHARE_DECRYPTION_FAILED', 'MALFORMED_SEALED_SHARE'] : ['SHARE_DECRYPTION_FAILED'];
    for (const index of [0, 5, 17, 40, 65]) {
      const tampered: SealedShare = { ...sealed, [field]: flipHexDigit(sealed[field], index + (field === 'ephemeralPublicKey' ? 2 : 0)) };
      if (tampered[field] === sealed[field]) continue;
      expect(expected).toContain(failure(() => openShare(tampered, bob, context)).code);
    }
  });

  it.each([
    ['not an object', 'nope', 'sealedShare'],
    ['short nonce', { nonce: '0x00' }, 'sealedShare.nonce'],
    ['uncompressed ephemeral', { ephemeralPublicKey: `0x04${'11'.repeat(64)}` }, 'sealedShare.ephemeralPublicKey'],
    ['truncated ciphertext', { ciphertext: '0x0011' }, 'sealedShare.ciphertext'],
    ['odd-length ciphertext', { ciphertext: `0x${'0'.repeat(33)}` }, 'sealedShare.ciphertext'],
    ['extra field', { plaintext: '0x00' }, 'sealedShare'],
  ])('rejects a malformed sealed share: %s', (_name, patch, field) => {
    const body = typeof patch === 'string' ? patch : { ...sealShare(share, bob.publicKey, context), ...patch };
    const err = failure(() => openShare(body, bob, context));
    expect(err.code).toBe('MALFORMED_SEALED_SHARE');
    expect(err.details.field).toBe(field);
  });

  it('rejects an ephemeral key that is not on the curve', () => {
    const sealed = sealShare(share, bob.publicKey, context);
    const offCurve = `0x02${'00'.repeat(31)}05`;
    const valid = secp256k1.utils.isValidPublicKey(hexToBytes(offCurve.slice(2)), true);
    expect(valid).toBe(false);
    expect(failure(() => openShare({ ...sealed, ephemeralPublicKey: offCurve }, bob, context)).code).toBe('MALFORMED_SEALED_SHARE');
  });

  it('refuses an invalid recipient key or context when sealing', () => {
    expect(failure(() => sealShare(share, new Uint8Array(64), context)).code).toBe('INVALID_PUBLIC_KEY');
    expect(failure(() => sealShare(share, bob.publicKey, { ...context, dealer: 'alice' })).code).toBe('INVALID_TRANSPORT_CONFIG');
    expect(failure(() => sealShare(share, bob.publicKey, { ...context, sessionTimestamp: -1 })).code).toBe('INVALID_TRANSPORT_CONFIG');
  });

  it('property: any plaintext and session round-trip, and only the sealed session opens it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 2 ** 40 }), (plaintext, session) => {
        const ctx = { ...context, sessionTimestamp: session };
        const sealed = sealShare(plaintext, bob.publicKey, ctx);
        expect(bytesToHex(openShare(sealed, bob, ctx))).toBe(bytesToHex(plaintext));
        expect(failure(() => openShare(sealed, bob, { ...ctx, sessionTimestamp: session + 1 })).code).toBe('SHARE_DECRYPTION_FAILED');
      }),
      { numRuns: 40 },
    );
  });

  it('property: any single flipped ciphertext digit is rejected', () => {
    const sealed = sealShare(share, bob.publicKey, context);
    fc.assert(
      fc.property(fc.nat(), (index) => {
        const tampered = { ...sealed, ciphertext: flipHexDigit(sealed.ciphertext, index) };
        expect(failure(() => openShare(tampered, bob, context)).code).toBe('SHARE_DECRYPTION_FAILED');
      }),
      { numRuns: 60 },
    );
  });
});
