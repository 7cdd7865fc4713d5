import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { silentLogger } from '../../../src/logging/logger.js';
import { CorruptRecordError } from '../../../src/persistence/errors.js';
import { openPersistence } from '../../../src/persistence/open.js';
import { EmbeddedRedisServer } from '../../../src/persistence/redis/embedded/embeddedRedisServer.js';
import { RedisAofCorruptError } from '../../../src/persistence/redis/embedded/errors.js';
import type { NodePersistence } from '../../../src/persistence/nodePersistence.js';
import { makeTempDir } from '../../harness/tempDir.js';
import { keyShareVersion } from './fixtures.js';

/**
 * Broken data is reported, never skipped: an AOF with a half-written tail or a damaged
 * middle makes the node refuse to start with a report that says what to do, and the
 * files are left exactly as they were (no automatic repair, no rewrite, no truncation).
 */

jest.setTimeout(120_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; AOF files need a real redis-server]';
if (MOCK) console.info(`aof: ${SKIP_REASON}`);

const secret = randomBytes(32);
const VERSIONS = 40;

function openEmbedded(dataPath: string): Promise<NodePersistence> {
  return openPersistence({ type: 'redis', mode: 'embedded', dataPath }, { logger: silentLogger(), sealingSecret: secret });
}

/** A data path holding VERSIONS sealed key-share versions, server stopped. */
async function populatedDataPath(): Promise<{ dataPath: string; shares: Map<number, bigint> }> {
  const dataPath = join(makeTempDir('kms-aof-'), 'data');
  const persistence = await openEmbedded(dataPath);
  const shares = new Map<number, bigint>();
  for (let epoch = 1; epoch <= VERSIONS; epoch++) {
    const version = keyShareVersion(epoch);
    await persistence.saveKeyShareVersion(version, { activate: true });
    shares.set(epoch, version.privateShare);
  }
  await persistence.close();
  return { dataPath, shares };
}

const aofDir = (dataPath: string): string => join(dataPath, 'appendonlydir');
const incrFile = (dataPath: string): string => join(aofDir(dataPath), 'appendonly.aof.1.incr.aof');

/** sha256 of every file in the AOF directory, by name. */
function fingerprint(dataPath: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(aofDir(dataPath)).sort()) {
    out[name] = createHash('sha256').update(readFileSync(join(aofDir(dataPath), name))).digest('hex');
  }
  return out;
}

async function refusal(dataPath: string): Promise<RedisAofCorruptError> {
  const error = await openEmbedded(dataPath).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RedisAofCorruptError);
  return error as RedisAofCorruptError;
}

(MOCK ? describe.skip : describe)(`damaged AOF files on a real redis-server ${MOCK ? SKIP_REASON : ''}`, () => {
  it('refuses a truncated tail with a report and the fix, changes no byte, and the fix it names works', async () => {
    const { dataPath, shares } = await populatedDataPath();
    const size = readFileSync(incrFile(dataPath)).length;
    truncateSync(incrFile(dataPath), size - 9);
    const before = fingerprint(dataPath);

    const error = await refusal(dataPath);
    expect(error.code).toBe('REDIS_AOF_CORRUPT');
    expect(error.damage).toBe('truncated');
    expect(error.message).toContain(`the append-only file under ${dataPath}/appendonlydir ends in a truncated (partly written) command; redis-server refused to load it and nothing was changed`);
    expect(error.message).toContain('Unexpected end of file reading the append only file appendonly.aof.1.incr.aof');
    expect(error.message).toContain("Fix: stop the node, back up");
    expect(error.message).toContain("redis-check-aof --fix");
    expect(fingerprint(dataPath)).toEqual(before);
    // Nothing was left running or locked: a second attempt reports the same, not "in use".
    expect((await refusal(dataPath)).damage).toBe('truncated');
    expect(fingerprint(dataPath)).toEqual(before);

    // The operator's path from the message: back up, repair the copy, start on it.
    const copy = join(makeTempDir('kms-aof-fix-'), 'data');
    cpSync(dataPath, copy, { recursive: true, filter: (src) => !src.endsWith('redis.sock') });
    execFileSync('redis-check-aof', ['--fix', join(aofDir(copy), 'appendonly.aof.manifest')], { input: 'y\n', stdio: ['pipe', 'ignore', 'ignore'] });
    const repaired = await openEmbedded(copy);
    const epochs = await repaired.listKeyShareEpochs();
    // Only the half-written last transaction is dropped by the repair.
    expect(epochs).toEqual([...shares.keys()].slice(0, epochs.length));
    expect(epochs.length).toBe(VERSIONS - 1);
    for (const epoch of epochs) expect((await repaired.loadKeyShareVersion(epoch))?.privateShare).toBe(shares.get(epoch));
    await repaired.close();
  });

  it('refuses mid-file corruption of the incremental AOF and changes no byte', async () => {
    const { dataPath } = await populatedDataPath();
    const bytes = readFileSync(incrFile(dataPath));
    // Break the framing of a command in the middle: its "*<argc>" header becomes "#<argc>".
    const at = bytes.indexOf('\r\n*', Math.floor(bytes.length / 2)) + 2;
    expect(at).toBeGreaterThan(2);
    bytes[at] = '#'.charCodeAt(0);
    writeFileSync(incrFile(dataPath), bytes);
    const before = fingerprint(dataPath);

    const error = await refusal(dataPath);
    expect(error.damage).toBe('corrupt');
    expect(error.message).toContain('is corrupt in the middle');
    expect(error.message).toContain('Bad file format reading the append only file appendonly.aof.1.incr.aof');
    expect(fingerprint(dataPath)).toEqual(before);
  });

  it('refuses a damaged RDB base file (after a rewrite) and changes no byte', async () => {
    const dataPath = join(makeTempDir('kms-aof-'), 'data');
    const server = await EmbeddedRedisServer.start({ dataPath, logger: silentLogger() });
    const client = new Redis({ path: server.socketPath });
    const pipeline = client.pipeline();
    for (let i = 0; i < 2_000; i++) pipeline.set(`k:${i}`, randomBytes(24).toString('hex'));
    await pipeline.exec();
    await client.bgrewriteaof();
    while ((await client.info('persistence')).includes('aof_rewrite_in_progress:1')
      || !readdirSync(aofDir(dataPath)).some((f) => f.endsWith('.base.rdb') && !f.startsWith('appendonly.aof.1.'))) {
      await sleep(50);
    }
    await client.quit();
    await server.stop();
    const base = join(aofDir(dataPath), readdirSync(aofDir(dataPath)).find((f) => f.endsWith('.base.rdb'))!);
    const original = readFileSync(base);
    // Damage at several places (header, length fields, values, checksum): every one is refused.
    for (const fraction of [0.01, 0.25, 0.5, 0.75, 0.999]) {
      const bytes = Buffer.from(original);
      const at = Math.floor(bytes.length * fraction);
      bytes[at] = (bytes[at]! ^ 0xff) & 0xff;
      writeFileSync(base, bytes);
      const before = fingerprint(dataPath);
      const error = await EmbeddedRedisServer.start({ dataPath, logger: silentLogger() }).catch((e: unknown) => e);
      expect({ at, type: (error as Error).constructor.name, message: (error as Error).message })
        .toMatchObject({ at, type: 'RedisAofCorruptError', message: expect.stringContaining('is corrupt in the middle') as string });
      expect(fingerprint(dataPath)).toEqual(before);
    }
  });

  it('a damaged sealed value that Redis loads is refused on read, naming the key', async () => {
    const { dataPath } = await populatedDataPath();
    const text = readFileSync(incrFile(dataPath), 'latin1');
    // The SET of kms:keyshare:7 is "...$15\r\nkms:keyshare:7\r\n$<n>\r\n<sealed value>\r\n".
    const keyAt = text.indexOf('kms:keyshare:7\r\n');
    expect(keyAt).toBeGreaterThan(0);
    const valueAt = text.indexOf('\r\n', keyAt + 'kms:keyshare:7\r\n'.length) + 2;
    const target = valueAt + 40;
    const flipped = text[target] === 'A' ? 'B' : 'A';
    writeFileSync(incrFile(dataPath), Buffer.from(text.slice(0, target) + flipped + text.slice(target + 1), 'latin1'));

    const persistence = await openEmbedded(dataPath);
    try {
      const error = await persistence.loadKeyShareVersion(7).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptRecordError);
      expect((error as CorruptRecordError).key).toBe('kms:keyshare:7');
      expect((await persistence.loadKeyShareVersion(8))?.epoch).toBe(8);
    } finally {
      await persistence.close();
    }
  });
});
