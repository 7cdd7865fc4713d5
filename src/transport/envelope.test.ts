import fc from 'fast-check';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { recoverAddress } from 'viem';
import { wireJsonValue } from '../../test/harness/jsonArbitrary.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, envelopeDigest, openEnvelope, sealEnvelope, type OpenOptions } from './envelope.js';
import { TransportError, transportErrorStatus } from './errors.js';
import { ReplayGuard } from './replayGuard.js';
import { OperatorSigner } from './signer.js';
import type { PeerIdentity, SignedEnvelope, TransportPayload } from './types.js';

// Operator addresses deliberately differ from signing addresses: `from` names the
// operator, the signature must match that operator's signing key.
function operator(seed: number, port: number): { signer: OperatorSigner; peer: PeerIdentity } {
  const signer = OperatorSigner.fromPrivateKey(bytesToHex(keccak_256(Uint8Array.of(seed))));
  const peer: PeerIdentity = {
    address: `0x${seed.toString(16).padStart(2, '0').repeat(20)}`,
    socketUrl: `http://127.0.0.1:${port}`,
    signingPublicKey: signer.publicKey,
    signingAddress: signer.signingAddress,
  };
  return { signer, peer };
}

const alice = operator(1, 7001);
const bob = operator(2, 7002);
const carol = operator(3, 7003);
const mallory = operator(9, 7009);
const operators = [alice.peer, bob.peer, carol.peer];
const ROUTE = '/dkg/share';
const SESSION = 1_700_000_000;
const NOW = 1_700_000_123_000;
const NONCE = hexToBytes('00112233445566778899aabbccddeeff');

function sharePayload(overrides: Record<string, unknown> = {}): TransportPayload {
  return { type: 'dkg/share', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address, share: { ciphertext: '0xabcd' }, ...overrides };
}

function openOpts(overrides: Partial<OpenOptions> = {}): OpenOptions {
  return {
    route: ROUTE, self: bob.peer.address, operators, now: NOW, maxSkewMs: 30_000,
    replayGuard: new ReplayGuard({ maxEntries: 100 }), currentSession: (ts) => ts === SESSION, ...overrides,
  };
}

/** The wire trip: what the receiver sees is parsed JSON, not our object. */
function wire(envelope: SignedEnvelope): unknown {
  return JSON.parse(JSON.stringify(envelope));
}

function rejection(body: unknown, options: OpenOptions): TransportError {
  try {
    openEnvelope(body, options);
  } catch (error) {
    if (error instanceof TransportError) return error;
    throw error;
  }
  throw new Error('envelope was accepted');
}

describe('sealEnvelope / openEnvelope', () => {
  it('round-trips a payload and names the sending operator', () => {
    const envelope = sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW, nonce: NONCE });
    expect(envelope).toMatchObject({ v: 1, sentAt: NOW, nonce: '0x00112233445566778899aabbccddeeff' });
    expect(envelope.signature).toMatch(/^0x[0-9a-f]{130}$/);
    const opened = openEnvelope(wire(envelope), openOpts());
    expect(opened.payload).toEqual(sharePayload());
    expect(opened.sender).toBe(alice.peer);
  });

  it('writes canonical JSON, so key order does not change the bytes', () => {
    const a = sealEnvelope({ from: alice.peer.address, type: 't', sessionTimestamp: 1, z: 1, a: 2 }, alice.signer, { route: ROUTE, now: NOW, nonce: NONCE });
    const b = sealEnvelope({ a: 2, z: 1, sessionTimestamp: 1, type: 't', from: alice.peer.address }, alice.signer, { route: ROUTE, now: NOW, nonce: NONCE });
    expect(a).toEqual(b);
    expect(a.payload).toBe(`{"a":2,"from":"${alice.peer.address}","sessionTimestamp":1,"type":"t","z":1}`);
  });

  it('signs the documented digest layout (checked independently with viem)', async () => {
    const envelope = sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW, nonce: NONCE });
    const u32 = (n: number): Uint8Array => hexToBytes(n.toString(16).padStart(8, '0'));
    const expected = keccak_256(concatBytes(
      utf8ToBytes('kms-node/envelope/v1'), u32(ROUTE.length), utf8ToBytes(ROUTE),
      u32(utf8ToBytes(envelope.payload).length), utf8ToBytes(envelope.payload),
      hexToBytes(NOW.toString(16).padStart(16, '0')), NONCE,
    ));
    expect(bytesToHex(envelopeDigest(ROUTE, envelope.payload, NOW, NONCE))).toBe(bytesToHex(expected));
    const signer = await recoverAddress({ hash: `0x${bytesToHex(expected)}`, signature: envelope.signature as `0x${string}` });
    expect(signer.toLowerCase()).toBe(alice.signer.signingAddress);
  });

  it('refuses to seal a "__proto__" member, which the receiver could not parse back as a field', () => {
    const payload = sharePayload();
    Object.defineProperty(payload, '__proto__', { value: [], enumerable: true });
    expect(() => sealEnvelope(payload, alice.signer, { route: ROUTE, now: NOW })).toThrow(/__proto__/);
  });

  it('uses a fresh random nonce by default', () => {
    const a = sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW });
    const b = sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW });
    expect(a.nonce).not.toBe(b.nonce);
  });

  it('refuses bad routes, clocks and nonces at sealing time', () => {
    expect(() => sealEnvelope(sharePayload(), alice.signer, { route: 'dkg/share', now: NOW })).toThrow(TypeError);
    expect(() => sealEnvelope(sharePayload(), alice.signer, { route: '/a?b=1', now: NOW })).toThrow(TypeError);
    expect(() => sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: -1 })).toThrow(TypeError);
    expect(() => sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW, nonce: new Uint8Array(8) })).toThrow(TypeError);
  });

  describe('rejections', () => {
    const good = (): SignedEnvelope => sealEnvelope(sharePayload(), alice.signer, { route: ROUTE, now: NOW, nonce: NONCE });

    it('BAD_SIGNATURE: tampered payload', () => {
      const envelope = good();
      const tampered = { ...envelope, payload: envelope.payload.replace('0xabcd', '0xabce') };
      expect(rejection(wire(tampered), openOpts()).code).toBe('BAD_SIGNATURE');
    });

    it('BAD_SIGNATURE: tampered sentAt, nonce or signature', () => {
      const envelope = good();
      expect(rejection({ ...envelope, sentAt: NOW + 1 }, openOpts()).code).toBe('BAD_SIGNATURE');
      expect(rejection({ ...envelope, nonce: `0x${'ff'.repeat(16)}` }, openOpts()).code).toBe('BAD_SIGNATURE');
      const flipped = `${envelope.signature.slice(0, 10)}${envelope.signature[10] === '0' ? '1' : '0'}${envelope.signature.slice(11)}`;
      expect(rejection({ ...envelope, signature: flipped }, openOpts()).code).toBe('BAD_SIGNATURE');
    });

    it('BAD_SIGNATURE: delivered on a different route than it was sealed for', () => {
      const err = rejection(wire(good()), openOpts({ route: '/dkg/ack' }));
      expect(err.code).toBe('BAD_SIGNATURE');
      expect(transportErrorStatus(err.code)).toBe(401);
    });

    it('REPLAYED_MESSAGE: the same envelope twice', () => {
      const options = openOpts();
      openEnvelope(wire(good()), options);
      const err = rejection(wire(good()), { ...options, now: NOW + 1_000 });
      expect(err.code).toBe('REPLAYED_MESSAGE');
      expect(transportErrorStatus(err.code)).toBe(409);
    });

    it('STALE_MESSAGE: too old or too far in the future', () => {
      expect(rejection(wire(good()), openOpts({ now: NOW + 30_001 })).code).toBe('STALE_MESSAGE');
      expect(rejection(wire(good()), openOpts({ now: NOW - 30_001 })).code).toBe('STALE_MESSAGE');
      expect(() => openEnvelope(wire(good()), openOpts({ now: NOW + 30_000 }))).not.toThrow();
    });

    it('a message replayed after its replay entry expired is stale', () => {
      const options = openOpts();
      openEnvelope(wire(good()), options);
      options.replayGuard.sweep(NOW + 60_000);
      expect(options.replayGuard.size).toBe(0);
      expect(rejection(wire(good()), { ...options, now: NOW + 60_000 }).code).toBe('STALE_MESSAGE');
    });

    it('WRONG_RECIPIENT: a share for bob delivered to carol; broadcasts go to anyone', () => {
      expect(rejection(wire(good()), openOpts({ self: carol.peer.address })).code).toBe('WRONG_RECIPIENT');
      const broadcast = sealEnvelope(sharePayload({ to: undefined }), alice.signer, { route: ROUTE, now: NOW });
      expect(openEnvelope(wire(broadcast), openOpts({ self: carol.peer.address })).payload.to).toBeUndefined();
    });

    it('UNKNOWN_SENDER: a key outside the operator set', () => {
      const envelope = sealEnvelope(sharePayload({ from: mallory.peer.address }), mallory.signer, { route: ROUTE, now: NOW });
      const err = rejection(wire(envelope), openOpts());
      expect(err.code).toBe('UNKNOWN_SENDER');
      expect(err.details).toEqual({ from: mallory.peer.address });
    });

    it('BAD_SIGNATURE: an outsider claiming to be an operator', () => {
      const envelope = sealEnvelope(sharePayload(), mallory.signer, { route: ROUTE, now: NOW });
      expect(rejection(wire(envelope), openOpts()).code).toBe('BAD_SIGNATURE');
    });

    it('SENDER_MISMATCH: carol signs a message in alice\'s name', () => {
      const envelope = sealEnvelope(sharePayload(), carol.signer, { route: ROUTE, now: NOW });
      const err = rejection(wire(envelope), openOpts());
      expect(err.code).toBe('SENDER_MISMATCH');
      expect(err.details).toEqual({ from: alice.peer.address, signedBy: carol.peer.address });
    });

    it('WRONG_SESSION: the caller\'s predicate decides, given the session', () => {
      const seen: number[] = [];
      const err = rejection(wire(good()), openOpts({ currentSession: (ts) => { seen.push(ts); return false; } }));
      expect(err.code).toBe('WRONG_SESSION');
      expect(seen).toEqual([SESSION]);
    });

    it('only fully valid messages reach the replay memory', () => {
      const options = openOpts({ currentSession: () => false });
      rejection(wire(good()), options);
      rejection(wire(good()), { ...options, self: carol.peer.address });
      expect(options.replayGuard.size).toBe(0);
      expect(() => openEnvelope(wire(good()), { ...options, currentSession: () => true })).not.toThrow();
      expect(options.replayGuard.size).toBe(1);
    });

    it.each([
      ['not an object', 'hello', 'envelope'],
      ['missing signature', { signature: undefined }, 'envelope.signature'],
      ['wrong version', { v: 2 }, 'envelope.v'],
      ['short nonce', { nonce: '0x00' }, 'envelope.nonce'],
      ['fractional sentAt', { sentAt: 1.5 }, 'envelope.sentAt'],
      ['unknown field', { extra: true }, 'envelope'],
      ['payload not JSON', { payload: '{nope' }, 'envelope.payload'],
      ['payload without from', { payload: '{"type":"t","sessionTimestamp":1}' }, 'payload.from'],
      ['checksummed from', { payload: `{"type":"t","sessionTimestamp":1,"from":"0x${'AB'.repeat(20)}"}` }, 'payload.from'],
      ['negative session', { payload: `{"type":"t","sessionTimestamp":-1,"from":"${alice.peer.address}"}` }, 'payload.sessionTimestamp'],
      ['bad recipient', { payload: `{"type":"t","sessionTimestamp":1,"from":"${alice.peer.address}","to":"bob"}` }, 'payload.to'],
      ['a "__proto__" member', { payload: `{"__proto__":[],"from":"${alice.peer.address}","sessionTimestamp":1,"type":"t"}` }, 'envelope.payload'],
    ])('MALFORMED_ENVELOPE: %s', (_name, patch, field) => {
      const body = typeof patch === 'string' ? patch : { ...good(), ...patch };
      const err = rejection(body, openOpts());
      expect(err.code).toBe('MALFORMED_ENVELOPE');
      expect(err.details.field).toBe(field);
      expect(err.message.startsWith(field)).toBe(true);
    });

    it('BODY_TOO_LARGE: payload above the limit', () => {
      const envelope = sealEnvelope(sharePayload({ blob: 'x'.repeat(2_000) }), alice.signer, { route: ROUTE, now: NOW });
      const err = rejection(wire(envelope), openOpts({ maxPayloadBytes: 1_000 }));
      expect(err.code).toBe('BODY_TOO_LARGE');
      expect(transportErrorStatus(err.code)).toBe(413);
      expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(1024 * 1024);
    });

    it('refuses a non-positive skew window as a configuration error', () => {
      expect(rejection(wire(good()), openOpts({ maxSkewMs: 0 })).code).toBe('INVALID_TRANSPORT_CONFIG');
    });
  });

  it('property: arbitrary JSON fields round-trip; any single-character change is rejected', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string().filter((k) => !['type', 'sessionTimestamp', 'from', 'to', '__proto__'].includes(k)), wireJsonValue(), { maxKeys: 4 }),
        fc.nat(),
        fc.integer({ min: 32, max: 126 }),
        (extra, position, charCode) => {
          const payload = { ...extra, type: 'dkg/ack', sessionTimestamp: SESSION, from: alice.peer.address };
          const envelope = sealEnvelope(payload, alice.signer, { route: ROUTE, now: NOW });
          const opened = openEnvelope(wire(envelope), openOpts());
          expect(opened.payload).toEqual(JSON.parse(JSON.stringify(payload)));
          const i = position % envelope.payload.length;
          const replacement = String.fromCharCode(charCode);
          fc.pre(envelope.payload[i] !== replacement);
          const tampered = { ...envelope, payload: envelope.payload.slice(0, i) + replacement + envelope.payload.slice(i + 1) };
          expect(() => openEnvelope(wire(tampered), openOpts())).toThrow(TransportError);
        },
      ),
      { numRuns: 100 },
    );
  });
});
