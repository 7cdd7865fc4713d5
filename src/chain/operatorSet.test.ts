import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { bytesToHex } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import { OperatorFileError, OperatorSetDuplicateError, OperatorSetInvalidError } from './errors.js';
import { normalizeOperatorSet, signingAddressOf, StaticFileOperatorSetSource, type OperatorEntry } from './operatorSet.js';

/** A deterministic signing key: secret = seed (small, valid scalars). */
function signingKey(seed: number): Uint8Array {
  const secret = new Uint8Array(32);
  secret[31] = seed;
  return secp256k1.getPublicKey(secret, false).subarray(1);
}

function entry(seed: number, overrides: Partial<OperatorEntry> = {}): OperatorEntry {
  return {
    address: `0x${seed.toString(16).padStart(2, '0').repeat(20)}`,
    socketUrl: `http://127.0.0.1:${8000 + seed}`,
    signingPublicKey: bytesToHex(signingKey(seed)),
    ...overrides,
  };
}

describe('signingAddressOf', () => {
  test('default: equals the Ethereum address of the key', () => {
    const key = signingKey(7);
    expect(signingAddressOf(key)).toBe(publicKeyToAddress(bytesToHex(Uint8Array.of(4, ...key))).toLowerCase());
  });
});

describe('normalizeOperatorSet', () => {
  test('default: lowercases, derives signing addresses and sorts ascending by address', () => {
    const set = normalizeOperatorSet(
      [entry(3, { address: '0xCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC' }), entry(1), entry(2)],
      'test',
    );
    expect(set.map((o) => o.address)).toEqual([
      '0x0101010101010101010101010101010101010101',
      '0x0202020202020202020202020202020202020202',
      '0xcccccccccccccccccccccccccccccccccccccccc',
    ]);
    expect(set[0]!.signingAddress).toBe(signingAddressOf(signingKey(1)));
    expect(set[0]!.signingPublicKey).toEqual(signingKey(1));
  });

  test('args: a matching signingAddress is accepted in any case', () => {
    const signingAddress = signingAddressOf(signingKey(4)).toUpperCase().replace('0X', '0x');
    expect(normalizeOperatorSet([entry(4, { signingAddress })], 'test')).toHaveLength(1);
  });

  test('error: duplicate operator address (case-insensitive)', () => {
    const a = entry(1);
    const b = entry(2, { address: a.address.toUpperCase().replace('0X', '0x') });
    expect(() => normalizeOperatorSet([a, b], 'test')).toThrow(OperatorSetDuplicateError);
  });

  test('error: two operators with one signing key', () => {
    expect(() => normalizeOperatorSet([entry(1), entry(2, { signingPublicKey: entry(1).signingPublicKey })], 'test'))
      .toThrow('operator set from test lists signingAddress');
  });

  test.each([
    ['address', { address: '0x1234' }, 'operators[0].address is not a 0x-prefixed 20-byte hex address'],
    ['short key', { signingPublicKey: '0x04' }, 'operators[0].signingPublicKey is 1 bytes, expected 64'],
    ['key off the curve', { signingPublicKey: `0x${'11'.repeat(64)}` }, 'is not a point on secp256k1'],
    ['non-hex key', { signingPublicKey: 'zz' }, 'operators[0].signingPublicKey is not hex'],
    ['empty url', { socketUrl: '' }, 'operators[0].socketUrl is 0 bytes'],
    ['long url', { socketUrl: `http://a/${'x'.repeat(250)}` }, 'expected 1-256'],
    ['relative url', { socketUrl: '/kms' }, 'is not an absolute URL'],
    ['wrong scheme', { socketUrl: 'ftp://host' }, 'has scheme ftp:'],
    ['credentials in url', { socketUrl: 'http://user:pw@host' }, 'carries credentials'],
    ['signingAddress mismatch', { signingAddress: `0x${'ab'.repeat(20)}` }, 'but the signing key hashes to'],
  ])('error: %s', (_name, overrides, message) => {
    expect(() => normalizeOperatorSet([entry(1, overrides)], 'test')).toThrow(OperatorSetInvalidError);
    expect(() => normalizeOperatorSet([entry(1, overrides)], 'test')).toThrow(message);
  });
});

describe('normalizeOperatorSet properties', () => {
  const keys = Array.from({ length: 12 }, (_, i) => bytesToHex(signingKey(i + 1)));
  test('property: any order of the same entries gives the same strictly ascending set', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 12 }).chain((seeds) =>
          fc.tuple(fc.constant(seeds), fc.shuffledSubarray(seeds, { minLength: seeds.length, maxLength: seeds.length }))),
        ([seeds, shuffled]) => {
          const make = (seed: number): OperatorEntry => ({
            address: `0x${(seed * 7919).toString(16).padStart(40, '0')}`,
            socketUrl: `http://127.0.0.1:${8000 + seed}`,
            signingPublicKey: keys[seed - 1]!,
          });
          const a = normalizeOperatorSet(seeds.map(make), 'a');
          const b = normalizeOperatorSet(shuffled.map(make), 'b');
          expect(b).toEqual(a);
          for (let i = 1; i < a.length; i++) expect(a[i - 1]!.address < a[i]!.address).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('StaticFileOperatorSetSource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kms-operators-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, content: string): string => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  test('default: reads, validates and sorts; atBlock is ignored', async () => {
    const file = write('ok.json', JSON.stringify({ operators: [entry(2), entry(1)] }));
    const source = new StaticFileOperatorSetSource(file);
    const set = await source.getOperators(123n);
    expect(set.map((o) => o.socketUrl)).toEqual(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
  });

  test('behavior: an edit takes effect at the next read', async () => {
    const file = write('edit.json', JSON.stringify({ operators: [entry(1)] }));
    const source = new StaticFileOperatorSetSource(file);
    expect(await source.getOperators()).toHaveLength(1);
    writeFileSync(file, JSON.stringify({ operators: [entry(1), entry(2), entry(3)] }));
    expect(await source.getOperators()).toHaveLength(3);
  });

  test('error: missing file', async () => {
    const source = new StaticFileOperatorSetSource(join(dir, 'absent.json'));
    await expect(source.getOperators()).rejects.toThrow(OperatorFileError);
    await expect(source.getOperators()).rejects.toThrow(`operator file ${join(dir, 'absent.json')} cannot be read`);
  });

  test('error: not JSON', async () => {
    const file = write('bad.json', '{ operators: ');
    await expect(new StaticFileOperatorSetSource(file).getOperators()).rejects.toThrow('is not valid JSON');
  });

  test('error: schema violations name the field and the file', async () => {
    const file = write('schema.json', JSON.stringify({ operators: [entry(1), { ...entry(2), signingPublicKey: '0x00' }] }));
    const error = await new StaticFileOperatorSetSource(file).getOperators().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorSetInvalidError);
    expect((error as OperatorSetInvalidError).message).toContain(`operator set from file ${file}: operators[1].signingPublicKey`);
    expect((error as OperatorSetInvalidError).code).toBe('OPERATOR_SET_INVALID');
  });

  test('error: unknown keys and an empty list are rejected', async () => {
    const extra = write('extra.json', JSON.stringify({ operators: [{ ...entry(1), port: 1 }] }));
    await expect(new StaticFileOperatorSetSource(extra).getOperators()).rejects.toThrow('operators[0]');
    const empty = write('empty.json', JSON.stringify({ operators: [] }));
    await expect(new StaticFileOperatorSetSource(empty).getOperators()).rejects.toThrow('expected at least one operator');
  });

  test('error: duplicates in the file', async () => {
    const file = write('dup.json', JSON.stringify({ operators: [entry(1), entry(1)] }));
    await expect(new StaticFileOperatorSetSource(file).getOperators()).rejects.toThrow(OperatorSetDuplicateError);
  });
});
