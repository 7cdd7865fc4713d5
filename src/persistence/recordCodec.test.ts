import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { keyShareVersion, nodeState, protocolSession } from '../../test/integration/persistence/fixtures.js';
import { CorruptRecordError } from './errors.js';
import { createRecordCodec, RECORD_FORMAT } from './recordCodec.js';
import { createRecordSealer } from './sealing.js';
import type { KeyShareVersion, OperatorAddress } from './types.js';
import { FR_ORDER } from './validation.js';

describe('record codec', () => {
  const sealer = createRecordSealer(randomBytes(32));
  const codec = createRecordCodec(sealer);
  const key = 'kms:keyshare:1764000000';

  /** Seals an arbitrary body as a record of `kind`, to test strict decoding behind the seal. */
  const forge = (recordKey: string, kind: string, body: unknown): string => JSON.stringify({
    format: RECORD_FORMAT, v: 1, kind,
    sealed: Buffer.from(sealer.seal(recordKey, Buffer.from(JSON.stringify(body)))).toString('base64'),
  });

  it('round-trips all three record kinds', () => {
    const v = keyShareVersion(1_764_000_000);
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

  it('decodes strictly: unknown fields, wrong types, out-of-range values and a wrong epoch all name the key', () => {
    const v = keyShareVersion(1_764_000_000);
    const body = JSON.parse(Buffer.from(sealer.open(key, Buffer.from((JSON.parse(codec.encodeKeyShare(key, v)) as { sealed: string }).sealed, 'base64'))).toString()) as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...body, extra: 1 }, /body: Unrecognized key/],
      [{ ...body, threshold: '3' }, /body\.threshold/],
      [{ ...body, privateShare: '12' }, /body\.privateShare/],
      [{ ...body, privateShare: `0x${'f'.repeat(64)}` }, /record\.privateShare is out of range/],
      [{ ...body, commitments: ['abcd'] }, /record\.commitments\[0\] is out of range/],
      [{ ...body, epoch: 5 }, /holds epoch 5/],
    ];
    for (const [forged, message] of cases) {
      const error = (() => { try { codec.decodeKeyShare(key, forge(key, 'keyshare', forged), v.epoch); } catch (e) { return e; } return null; })();
      expect(error).toBeInstanceOf(CorruptRecordError);
      expect((error as CorruptRecordError).key).toBe(key);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(v.privateShare.toString(16));
    }
  });

  it('rejects envelopes of another format, version or kind', () => {
    const good = JSON.parse(codec.encodeKeyShare(key, keyShareVersion(1_764_000_000))) as Record<string, unknown>;
    for (const envelope of [{ ...good, format: 'x' }, { ...good, v: 2 }, { ...good, kind: 'nodestate' }, { ...good, sealed: '!!' }, [], null]) {
      expect(() => codec.decodeKeyShare(key, JSON.stringify(envelope), 1_764_000_000)).toThrow(CorruptRecordError);
    }
  });

  it('tells a matching sealing check from a foreign one', () => {
    const check = codec.encodeSealingCheck('kms:metadata:sealing_check');
    expect(codec.openSealingCheck('kms:metadata:sealing_check', check)).toBe(true);
    expect(createRecordCodec(createRecordSealer(randomBytes(32))).openSealingCheck('kms:metadata:sealing_check', check)).toBe(false);
    expect(() => codec.openSealingCheck('kms:metadata:sealing_check', 'garbage')).toThrow(CorruptRecordError);
  });
});
