import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { silentLogger } from '../../logging/logger.js';
import { MigrationError, SchemaVersionError } from '../errors.js';
import { createRecordSealer } from '../sealing.js';
import { convertGoKeyShare, type Migration } from './migrations.js';
import { RedisPersistence } from './redisPersistence.js';

interface FixtureKey { type: 'string' | 'set' | 'bytes'; value?: string; members?: string[]; hex?: string }
interface Fixture {
  keys: Record<string, FixtureKey>;
  expected: { participants: string[]; shares: Record<string, string>; sessionShare: string; operatorAddress: string };
}
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/go-v0-keyspace.json', import.meta.url), 'utf8')) as Fixture;

let count = 0;
function server(): () => Redis {
  const host = `migrate-${process.pid}-${++count}`;
  return () => new RedisMock({ host, port: 6379 });
}

async function load(client: Redis, keys: Record<string, FixtureKey>): Promise<void> {
  for (const [key, entry] of Object.entries(keys)) {
    if (entry.type === 'string') await client.set(key, entry.value!);
    else if (entry.type === 'set') await client.sadd(key, ...entry.members!);
    else await client.set(key, Buffer.from(entry.hex!, 'hex'));
  }
}

async function dump(client: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of (await client.keys('*')).sort()) {
    const type = await client.type(key);
    out[key] = type === 'set' ? (await client.smembers(key)).sort().join(',') : (await client.getBuffer(key))!.toString('hex');
  }
  return out;
}

const open = (connect: () => Redis, secret: Uint8Array, migrations?: ReadonlyMap<string, Migration>) => RedisPersistence.open(connect(), {
  logger: silentLogger(), sealer: createRecordSealer(secret), durability: 'none-mock', ...(migrations === undefined ? {} : { migrations }),
});

describe('schema migration v0 (Go original) → v1', () => {
  it('migrates the Go fixture: versions sealed, pointer, node state; sessions dropped; Go-only keys kept', async () => {
    const connect = server();
    const raw = connect();
    await load(raw, fixture.keys);
    const secret = randomBytes(32);
    const p = await open(connect, secret);

    const versions = await p.listKeyShareVersions();
    expect(versions.map((v) => v.epoch)).toEqual([1764000000, 1764000600]);
    for (const v of versions) {
      expect(`0x${v.privateShare.toString(16)}`).toBe(fixture.expected.shares[String(v.epoch)]);
      expect(v.participants).toEqual(fixture.expected.participants);
      expect(v.threshold).toBe(3);
      expect(v.createdAt).toBe(v.epoch * 1000);
      expect(v.commitments).toHaveLength(3);
      expect(v.masterPublicKey).toHaveLength(96);
    }
    expect(await p.getActiveVersionEpoch()).toBe(1764000600);
    expect(await p.loadNodeState()).toEqual({ lastProcessedBoundary: 9870, nodeStartTime: 1763990000000, operatorAddress: fixture.expected.operatorAddress });
    expect(await p.listProtocolSessions()).toEqual([]);

    expect(await raw.exists('kms:session:1764001200', 'kms:keyshares:index', 'kms:sessions:index')).toBe(0);
    expect(await raw.get('kms:metadata:schema_version')).toBe('v1');
    expect(await raw.smembers('kms:poisoned')).toEqual(['1763999400']);
    const stored = Object.values(await dump(raw)).map((hex) => Buffer.from(hex, 'hex').toString('latin1')).join('\n');
    for (const share of [...Object.values(fixture.expected.shares), fixture.expected.sessionShare]) {
      expect(stored).not.toContain(BigInt(share).toString(10));
    }
    await p.close();

    // A second open finds v1 and changes nothing.
    const before = await dump(raw);
    const again = await open(connect, secret);
    expect(await dump(raw)).toEqual(before);
    await again.close();
    await raw.quit();
  });

  it('refuses a Go version without a master public key, naming it, and changes nothing', async () => {
    const connect = server();
    const raw = connect();
    const keys = structuredClone(fixture.keys);
    const record = JSON.parse(keys['kms:keyshare:1764000000']!.value!) as Record<string, unknown>;
    keys['kms:keyshare:1764000000']!.value = JSON.stringify({ ...record, MasterPublicKey: null });
    await load(raw, keys);
    const before = await dump(raw);
    const error = await open(connect, randomBytes(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('kms:keyshare:1764000000');
    expect((error as Error).message).toContain('no master public key');
    expect(await dump(raw)).toEqual(before);
    await raw.quit();
  });

  it('reads Go’s uncompressed identity (ZeroG2Point) in a commitment as the identity, and refuses it as the MPK', () => {
    const raw = fixture.keys['kms:keyshare:1764000000']!.value!;
    const record = JSON.parse(raw) as { Commitments: unknown[] };
    const zero = { CompressedBytes: Buffer.concat([Buffer.from([0x40]), Buffer.alloc(191)]).toString('base64') };
    const withZero = JSON.stringify({ ...record, Commitments: [...record.Commitments, zero] });
    const converted = convertGoKeyShare('k', withZero);
    expect(Buffer.from(converted.commitments.at(-1)!).toString('hex')).toBe(`c0${'00'.repeat(95)}`);
    expect(() => convertGoKeyShare('k', JSON.stringify({ ...record, MasterPublicKey: zero }))).toThrow(/MasterPublicKey is the identity point/);
  });

  it('refuses an active pointer that names a missing version', async () => {
    const connect = server();
    const raw = connect();
    await load(raw, { ...fixture.keys, 'kms:active:version': { type: 'bytes', hex: (1764009999n).toString(16).padStart(16, '0') } });
    await expect(open(connect, randomBytes(32))).rejects.toThrow(/kms:active:version.*names version 1764009999/);
    await raw.quit();
  });

  it('runs registered migrations in a chain through the hook, and refuses unknown versions', async () => {
    const connect = server();
    const raw = connect();
    await raw.set('kms:metadata:schema_version', 'v0.9');
    await raw.set('kms:old-note', 'x');
    const ran: string[] = [];
    const step: Migration = {
      from: 'v0.9', to: 'v1', description: 'test step',
      async run({ client, keys }) { ran.push('v0.9'); await client.del(`${keys.prefix}old-note`); await client.set(keys.schemaVersion, 'v1'); },
    };
    const p = await open(connect, randomBytes(32), new Map([['v0.9', step]]));
    expect(ran).toEqual(['v0.9']);
    expect(await raw.exists('kms:old-note')).toBe(0);
    await p.close();

    await raw.set('kms:metadata:schema_version', 'v0.8');
    await expect(open(connect, randomBytes(32), new Map([['v0.9', step]]))).rejects.toBeInstanceOf(SchemaVersionError);
    await raw.quit();
  });

  it('refuses our own indexes without a schema marker', async () => {
    const connect = server();
    const raw = connect();
    await raw.zadd('kms:index:keyshares', 1, '1');
    await expect(open(connect, randomBytes(32))).rejects.toThrow(/"missing"/);
    await raw.quit();
  });
});
