import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { keyShareVersion, nodeState, protocolSession } from '../../../test/integration/persistence/fixtures.js';
import { CorruptRecordError } from '../errors.js';
import { createRecordSealer } from '../sealing.js';
import type { KeyShareVersion, OperatorAddress } from '../types.js';
import { FR_ORDER } from '../validation.js';
import { createRecordCodec } from './codec.js';
import { associatedData, recordHeader, type RecordKind } from './envelope.js';
import { encodeKeyShareBody } from './keyShareLayout.js';
import { LEGACY_RECORD_FORMAT } from './legacyJsonRecord.js';

describe('record codec', () => {
  const sealer = createRecordSealer(randomBytes(32));
  const codec = createRecordCodec(sealer);
  const EPOCH = 1_764_000_000;
  const key = `kms:keyshare:${EPOCH}`;

  /** A correctly sealed layout-2 record around an arbitrary body, to test strict decoding behind the seal. */
  const forge = (recordKey: string, kind: RecordKind, body: Uint8Array): Buffer => {
    const header = recordHeader(kind);
    return Buffer.from(sealer.seal(associatedData(header, recordKey), body, header));
  };
  /** A layout-1 record as earlier builds wrote it: JSON envelope, blob sealed with the key alone. */
  const legacy = (recordKey: string, kind: string, body: unknown): Buffer => Buffer.from(JSON.stringify({
    format: LEGACY_RECORD_FORMAT, v: 1, kind,
    sealed: Buffer.from(sealer.seal(recordKey, Buffer.from(JSON.stringify(body)))).toString('base64'),
  }));
  const failureOf = (decode: () => unknown): CorruptRecordError => {
    try {
      decode();
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptRecordError);
      return error as CorruptRecordError;
    }
    throw new Error('expected the record to be refused');
  };

  it('round-trips all record kinds', () => {
    const v = keyShareVersion(EPOCH);
    expect(codec.decodeKeyShare(key, codec.encodeKeyShare(key, v), v.epoch)).toEqual(v);
    const s = nodeState();
    expect(codec.decodeNodeState('kms:nodestate:main', codec.encodeNodeState('kms:nodestate:main', s))).toEqual(s);
    const session = protocolSession(55);
    expect(codec.decodeSession('kms:session:55', codec.encodeSession('kms:session:55', session), 55)).toEqual(session);
  });

  it('round-trips any valid version (property)', () => {
    const bytes96 = fc.uint8Array({ minLength: 96, maxLength: 96 });
    const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b): OperatorAddress => `0x${Buffer.from(b).toString('hex')}`);
    const version = fc.record({
      epoch: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      privateShare: fc.bigInt({ min: 0n, max: FR_ORDER - 1n }),
      commitments: fc.array(bytes96, { minLength: 1, maxLength: 5 }),
      masterPublicKey: bytes96,
      participants: fc.uniqueArray(addr, { minLength: 1, maxLength: 7, selector: (a) => a }).map((a) => a.sort()),
      createdAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    }).chain((v) => fc.integer({ min: 1, max: v.participants.length }).map((threshold): KeyShareVersion => ({ ...v, threshold })));
    fc.assert(fc.property(version, (v) => {
      const k = `kms:keyshare:${v.epoch}`;
      expect(codec.decodeKeyShare(k, codec.encodeKeyShare(k, v), v.epoch)).toEqual(v);
    }), { numRuns: 200 });
  });

  /** A version with a completion certificate (signatures are opaque bytes to persistence). */
  const certified = (epoch: number): KeyShareVersion => {
    const v = keyShareVersion(epoch);
    const sig = (): `0x${string}` => `0x${randomBytes(65).toString('hex')}`;
    return {
      ...v,
      certificate: {
        type: 'reshare',
        sessionTimestamp: epoch,
        dealers: v.participants.slice(0, 3),
        commitments: v.commitments,
        threshold: v.threshold,
        participants: v.participants,
        signatures: v.participants.slice(1).map((operator) => ({ operator, signature: sig() })),
      },
    };
  };

  it('round-trips a version with its completion certificate, and reads bodies written before certificates', () => {
    const v = certified(EPOCH);
    const stored = codec.encodeKeyShare(key, v);
    expect(codec.decodeKeyShare(key, stored, EPOCH)).toEqual(v);
    const cert = v.certificate!;
    const extra = 1 + 2 + cert.dealers.length * 20 + 2 + cert.signatures.length * 20 + 2 + cert.signatures.length * 65;
    expect(stored.length).toBe(codec.encodeKeyShare(key, keyShareVersion(EPOCH)).length + extra);
    // An older build's body is the same bytes without the trailing section.
    const { certificate: _dropped, ...plain } = v;
    const oldBody = encodeKeyShareBody(plain);
    expect(Buffer.from(encodeKeyShareBody(v).subarray(0, oldBody.length)).equals(Buffer.from(oldBody))).toBe(true);
    const decodedOld = codec.decodeKeyShare(key, forge(key, 'keyshare', oldBody), EPOCH);
    expect(decodedOld).toEqual(plain);
    expect(decodedOld.certificate).toBeUndefined();
  });

  it('refuses a certificate section that is cut short, of an unknown type, or not its version\'s', () => {
    const body = encodeKeyShareBody(certified(EPOCH));
    expect(failureOf(() => codec.decodeKeyShare(key, forge(key, 'keyshare', body.subarray(0, body.length - 10)), EPOCH)).message).toContain('certificate.signatures');
    const plainLength = encodeKeyShareBody(keyShareVersion(EPOCH)).length;
    const badType = Buffer.from(body);
    badType[plainLength] = 9;
    expect(failureOf(() => codec.decodeKeyShare(key, forge(key, 'keyshare', badType), EPOCH)).message).toContain('certificate.type');
    const v = certified(EPOCH);
    const foreign = { ...v, certificate: { ...v.certificate!, threshold: 2 } };
    expect(() => codec.encodeKeyShare(key, foreign)).not.toThrow();
    expect(failureOf(() => codec.decodeKeyShare(key, codec.encodeKeyShare(key, { ...v, certificate: { ...v.certificate!, dealers: [...v.certificate!.dealers].reverse() } }), EPOCH)).message).toContain('certificate');
  });

  it('stores a key share in a fixed binary layout: header, nonce, body, tag and nothing else', () => {
    const v = keyShareVersion(EPOCH);
    const stored = codec.encodeKeyShare(key, v);
    const body = 8 + 8 + 2 + 32 + 96 + 2 + v.commitments.length * 96 + 2 + v.participants.length * 20;
    expect(stored.length).toBe(4 + 1 + 12 + body + 16);
    expect([...stored.subarray(0, 4)]).toEqual([0x4b, 0x52, 2, 1]);
  });

  it('decoded values share no memory with the stored bytes, and no public point\'s buffer holds the share', () => {
    const v = keyShareVersion(EPOCH);
    const stored = codec.encodeKeyShare(key, v);
    const decoded = codec.decodeKeyShare(key, stored, EPOCH);
    stored.fill(0);
    expect(decoded).toEqual(v);
    const share = Buffer.from(v.privateShare.toString(16).padStart(64, '0'), 'hex');
    for (const point of [decoded.masterPublicKey, ...decoded.commitments]) {
      expect(Buffer.from(point.buffer).includes(share)).toBe(false);
    }
  });

  it('versions with the same operator set share one frozen participants array; another set gets its own', () => {
    const first = keyShareVersion(EPOCH);
    const same = { ...keyShareVersion(EPOCH + 1), participants: [...first.participants] };
    const other = keyShareVersion(EPOCH + 2);
    const [a, b, c] = [first, same, other].map((v) => codec.decodeKeyShare(`kms:keyshare:${v.epoch}`, codec.encodeKeyShare(`kms:keyshare:${v.epoch}`, v), v.epoch));
    expect(a?.participants).toBe(b?.participants);
    expect(Object.isFrozen(a?.participants)).toBe(true);
    expect(c?.participants).not.toBe(a?.participants);
    expect(c?.participants).toEqual(other.participants);
    expect(() => { (a?.participants as string[]).push('0x00'); }).toThrow(TypeError);
  });

  it('decodes the binary body strictly: every malformed field names the key and the field', () => {
    const v = keyShareVersion(EPOCH);
    const good = encodeKeyShareBody(v);
    const withShare = (share: bigint) => encodeKeyShareBody({ ...v, privateShare: share % (1n << 256n) });
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 5), /body\.participants\b.*ends first|body\.participants/],
      // After the participants only a certificate section may follow.
      ['a stray byte after the participants', Buffer.concat([good, Uint8Array.of(0)]), /body\.certificate\.type: unknown type 0/],
      ['trailing bytes after a certificate', Buffer.concat([encodeKeyShareBody(certified(EPOCH)), Uint8Array.of(0)]), /body\.key-share body: 1 unexpected trailing bytes/],
      ['empty', new Uint8Array(0), /body\.epoch: the record ends before this field/],
      ['share not below r', withShare(FR_ORDER + 5n), /record\.privateShare is out of range/],
      ['threshold above n', encodeKeyShareBody({ ...v, threshold: v.participants.length + 1 }), /record\.threshold is out of range/],
      ['participants unsorted', encodeKeyShareBody({ ...v, participants: [...v.participants].reverse() }), /record\.participants is out of range/],
      ['no commitments', encodeKeyShareBody({ ...v, commitments: [] }), /record\.commitments is out of range/],
      ['another epoch', encodeKeyShareBody({ ...v, epoch: 5 }), /holds epoch 5/],
      ['epoch beyond safe integers', Buffer.concat([Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0), good.subarray(8)]), /body\.epoch: exceeds the largest safe integer/],
    ];
    for (const [name, body, message] of cases) {
      const error = failureOf(() => codec.decodeKeyShare(key, forge(key, 'keyshare', body), v.epoch));
      expect({ name, key: error.key }).toEqual({ name, key });
      expect({ name, message: error.message }).toEqual({ name, message: expect.stringMatching(message) as string });
      expect(error.message).not.toContain(v.privateShare.toString(16));
    }
  });

  it('refuses a header of another kind, layout or format, a record moved to another key, and any flipped bit', () => {
    const v = keyShareVersion(EPOCH);
    const stored = codec.encodeKeyShare(key, v);
    const withByte = (index: number, value: number): Buffer => { const copy = Buffer.from(stored); copy[index] = value; return copy; };
    expect(failureOf(() => codec.decodeKeyShare(key, withByte(0, 0x00), EPOCH)).message).toMatch(/unrecognised header/);
    expect(failureOf(() => codec.decodeKeyShare(key, withByte(2, 9), EPOCH)).message).toMatch(/record layout 9/);
    expect(failureOf(() => codec.decodeKeyShare(key, withByte(3, 77), EPOCH)).message).toMatch(/unknown record kind 77/);
    expect(failureOf(() => codec.decodeKeyShare(key, withByte(3, 2), EPOCH)).message).toMatch(/expected a keyshare record, found nodestate/);
    expect(failureOf(() => codec.decodeKeyShare(key, Buffer.alloc(0), EPOCH)).message).toMatch(/unrecognised header/);
    expect(failureOf(() => codec.decodeKeyShare(`kms:keyshare:${EPOCH + 1}`, stored, EPOCH + 1)).message).toMatch(/cannot be decrypted/);
    // A session relabelled as a node state (header and AAD change together) still fails: the header is authenticated.
    const session = codec.encodeSession('kms:nodestate:main', protocolSession(1));
    session[3] = 2;
    expect(failureOf(() => codec.decodeNodeState('kms:nodestate:main', session)).message).toMatch(/cannot be decrypted/);
    for (let i = 4; i < stored.length; i += 97) {
      expect(failureOf(() => codec.decodeKeyShare(key, withByte(i, (stored[i] ?? 0) ^ 0x20), EPOCH)).message).toMatch(/cannot be decrypted/);
    }
  });

  it('reads layout-1 records written by earlier builds, strictly', () => {
    const v = keyShareVersion(EPOCH);
    const body = {
      epoch: v.epoch, privateShare: `0x${v.privateShare.toString(16)}`, commitments: v.commitments.map((c) => Buffer.from(c).toString('hex')),
      masterPublicKey: Buffer.from(v.masterPublicKey).toString('hex'), threshold: v.threshold, participants: v.participants, createdAt: v.createdAt,
    };
    expect(codec.decodeKeyShare(key, legacy(key, 'keyshare', body), EPOCH)).toEqual(v);
    const s = nodeState();
    expect(codec.decodeNodeState('kms:nodestate:main', legacy('kms:nodestate:main', 'nodestate', s))).toEqual(s);
    expect(codec.openSealingCheck('kms:metadata:sealing_check', legacy('kms:metadata:sealing_check', 'sealing-check', 'kms-node sealing check v1'))).toBe(true);

    const cases: [unknown, RegExp][] = [
      [{ ...body, extra: 1 }, /body: Unrecognized key/],
      [{ ...body, threshold: '3' }, /body\.threshold/],
      [{ ...body, privateShare: '12' }, /body\.privateShare/],
      [{ ...body, privateShare: `0x${'f'.repeat(64)}` }, /record\.privateShare is out of range/],
      [{ ...body, commitments: ['abcd'] }, /record\.commitments\[0\] is out of range/],
      [{ ...body, epoch: 5 }, /holds epoch 5/],
    ];
    for (const [forged, message] of cases) {
      const error = failureOf(() => codec.decodeKeyShare(key, legacy(key, 'keyshare', forged), EPOCH));
      expect(error.key).toBe(key);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(v.privateShare.toString(16));
    }
    const good = JSON.parse(legacy(key, 'keyshare', body).toString()) as Record<string, unknown>;
    for (const envelope of [{ ...good, format: 'x' }, { ...good, v: 2 }, { ...good, kind: 'nodestate' }, { ...good, sealed: '!!' }, []]) {
      failureOf(() => codec.decodeKeyShare(key, Buffer.from(JSON.stringify(envelope)), EPOCH));
    }
    expect(failureOf(() => codec.decodeKeyShare(key, Buffer.from('{not json'), EPOCH)).message).toMatch(/is not valid JSON/);
  });

  it('tells a matching sealing check from a foreign one', () => {
    const check = codec.encodeSealingCheck('kms:metadata:sealing_check');
    expect(codec.openSealingCheck('kms:metadata:sealing_check', check)).toBe(true);
    expect(createRecordCodec(createRecordSealer(randomBytes(32))).openSealingCheck('kms:metadata:sealing_check', check)).toBe(false);
    expect(() => codec.openSealingCheck('kms:metadata:sealing_check', Buffer.from('garbage'))).toThrow(CorruptRecordError);
  });
});
