import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { recoverAddress, type Hex } from 'viem';
import { privateKeyToAccount, sign } from 'viem/accounts';
import { createLogger } from '../logging/logger.js';
import { TransportError } from './errors.js';
import { OperatorSigner, publicKeyToAddress, recoverDigestSigner, toSec1 } from './signer.js';

const KEY_HEX = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const digest = keccak_256(utf8ToBytes('kms-node signer test'));

function hex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

function expectCode(fn: () => unknown, code: string): TransportError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe(code);
    return error as TransportError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('OperatorSigner', () => {
  const signer = OperatorSigner.fromPrivateKey(KEY_HEX);

  it('derives the same address as viem', () => {
    expect(signer.signingAddress).toBe(privateKeyToAccount(KEY_HEX).address.toLowerCase());
    expect(signer.publicKey).toHaveLength(64);
    expect(publicKeyToAddress(signer.publicKey)).toBe(signer.signingAddress);
    expect(publicKeyToAddress(Uint8Array.of(4, ...signer.publicKey))).toBe(signer.signingAddress);
  });

  it('derives the public key noble getPublicKey derives, for any key (it multiplies a copy of the base point)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      fc.pre(secp256k1.utils.isValidSecretKey(bytes));
      expect(hex(OperatorSigner.fromPrivateKey(bytes).publicKey)).toBe(hex(secp256k1.getPublicKey(bytes, false).subarray(1)));
    }), { numRuns: 50 });
  });

  it('accepts the key as bytes or unprefixed hex', () => {
    expect(OperatorSigner.fromPrivateKey(hexToBytes(KEY_HEX.slice(2))).signingAddress).toBe(signer.signingAddress);
    expect(OperatorSigner.fromPrivateKey(KEY_HEX.slice(2)).signingAddress).toBe(signer.signingAddress);
  });

  it('signs digests byte-for-byte like viem (RFC 6979, r ‖ s ‖ v with v = 27/28)', async () => {
    const ours = signer.signDigest(digest);
    const theirs = await sign({ hash: hex(digest), privateKey: KEY_HEX, to: 'hex' });
    expect(hex(ours)).toBe(theirs);
    expect([27, 28]).toContain(ours[64]);
    expect((await recoverAddress({ hash: hex(digest), signature: hex(ours) })).toLowerCase()).toBe(signer.signingAddress);
  });

  it('recovers the signer and accepts v as 0/1', () => {
    const sig = signer.signDigest(digest);
    expect(recoverDigestSigner(digest, sig)).toBe(signer.signingAddress);
    const zeroOne = Uint8Array.from(sig);
    zeroOne[64] = (sig[64] ?? 0) - 27;
    expect(recoverDigestSigner(digest, zeroOne)).toBe(signer.signingAddress);
  });

  it('recovers a different address for another digest', () => {
    const sig = signer.signDigest(digest);
    const other = keccak_256(utf8ToBytes('something else'));
    expect(recoverDigestSigner(other, sig)).not.toBe(signer.signingAddress);
  });

  it('rejects malformed signatures with BAD_SIGNATURE', () => {
    const sig = signer.signDigest(digest);
    expectCode(() => recoverDigestSigner(digest, sig.subarray(0, 64)), 'BAD_SIGNATURE');
    const badV = Uint8Array.from(sig);
    badV[64] = 29;
    expectCode(() => recoverDigestSigner(digest, badV), 'BAD_SIGNATURE');
    expectCode(() => recoverDigestSigner(digest, new Uint8Array(65)), 'BAD_SIGNATURE');
  });

  it('rejects the malleated (high-S) twin of a valid signature', () => {
    const sig = signer.signDigest(digest);
    const s = BigInt(hex(sig.subarray(32, 64)));
    const highS = secp256k1.Point.CURVE().n - s;
    const twin = Uint8Array.from(sig);
    twin.set(hexToBytes(highS.toString(16).padStart(64, '0')), 32);
    twin[64] = sig[64] === 27 ? 28 : 27;
    const err = expectCode(() => recoverDigestSigner(digest, twin), 'BAD_SIGNATURE');
    expect(err.message).toContain('high S');
  });

  it('refuses a digest that is not 32 bytes', () => {
    expect(() => signer.signDigest(new Uint8Array(31))).toThrow(TypeError);
  });

  it('refuses invalid private keys without echoing them', () => {
    const err = expectCode(() => OperatorSigner.fromPrivateKey('0x1234'), 'INVALID_PRIVATE_KEY');
    expect(err.message).not.toContain('1234');
    expectCode(() => OperatorSigner.fromPrivateKey(new Uint8Array(32)), 'INVALID_PRIVATE_KEY');
    const order = secp256k1.Point.CURVE().n.toString(16);
    const err2 = expectCode(() => OperatorSigner.fromPrivateKey(order), 'INVALID_PRIVATE_KEY');
    expect(err2.message).not.toContain(order);
  });

  it('never shows the private key in JSON, inspect, string or logs', () => {
    const secret = KEY_HEX.slice(2);
    expect(JSON.stringify(signer)).not.toContain(secret);
    expect(JSON.stringify(signer)).toContain(signer.signingAddress);
    expect(inspect(signer, { showHidden: true, depth: 5 })).not.toContain(secret);
    expect(inspect(signer)).toContain('[Redacted]');
    expect(String(signer)).not.toContain(secret);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    createLogger({ destination }).info({ signer }, 'signer ready');
    expect(lines.join('')).toContain(signer.signingAddress);
    expect(lines.join('')).not.toContain(secret);
  });

  it('computes the same ECDH secret from both sides', () => {
    const other = OperatorSigner.fromPrivateKey(bytesToHex(secp256k1.utils.randomSecretKey()));
    expect(hex(signer.ecdh(other.publicKey))).toBe(hex(other.ecdh(signer.publicKey)));
    expect(signer.ecdh(other.publicKey)).toHaveLength(32);
  });

  it('rejects public keys that are not curve points', () => {
    const bad = Uint8Array.from(signer.publicKey);
    bad[63] = (bad[63] ?? 0) ^ 1;
    expectCode(() => toSec1(bad), 'INVALID_PUBLIC_KEY');
    expectCode(() => signer.ecdh(bad), 'INVALID_PUBLIC_KEY');
    expectCode(() => publicKeyToAddress(new Uint8Array(33)), 'INVALID_PUBLIC_KEY');
  });

  it('property: every key signs digests that recover to its address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed, d) => {
        const s = OperatorSigner.fromPrivateKey(secp256k1.utils.randomSecretKey(seed));
        return recoverDigestSigner(d, s.signDigest(d)) === s.signingAddress;
      }),
      { numRuns: 50 },
    );
  });
});
