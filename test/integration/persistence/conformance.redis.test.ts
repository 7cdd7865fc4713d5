import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { silentLogger } from '../../../src/logging/logger.js';
import { openPersistence } from '../../../src/persistence/open.js';
import { socketPathFor } from '../../../src/persistence/redis/embedded/redisConfig.js';
import { RedisPersistence } from '../../../src/persistence/redis/redisPersistence.js';
import { createRecordSealer } from '../../../src/persistence/sealing.js';
import { startRedisServer, type RedisServerHandle } from '../../harness/redisServer.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { describePersistenceConformance } from './conformance.js';

/**
 * The conformance suite on real redis-servers: one external server (AOF always) reached
 * by URL, and the node's embedded server in a data path. With KMS_TEST_REDIS=mock (users'
 * CI without redis-server) it runs on ioredis-mock instead and the real-server suites are
 * reported as skipped, with the reason in their names.
 */

jest.setTimeout(120_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; this suite needs a real redis-server]';
if (MOCK) console.info(`conformance.redis: ${SKIP_REASON}`);

let prefixes = 0;
const uniquePrefix = (): string => `t${process.pid}n${++prefixes}:kms:`;

if (MOCK) {
  let hosts = 0;
  describePersistenceConformance('redis on ioredis-mock (KMS_TEST_REDIS=mock)', () => {
    const host = `conformance-${process.pid}-${++hosts}`;
    const sealingSecret = randomBytes(32);
    const sealer = createRecordSealer(sealingSecret);
    const raw = new RedisMock({ host, port: 6379 });
    return Promise.resolve({
      durable: true,
      open: () => RedisPersistence.open(new RedisMock({ host, port: 6379 }), { logger: silentLogger(), sealer, durability: 'none-mock', keyPrefix: 'kms:' }),
      raw: { client: raw, prefix: 'kms:', sealingSecret },
      dispose: async () => { await raw.quit(); },
    });
  }, { records: true });
}

(MOCK ? describe.skip : describe)(`external redis-server by URL ${MOCK ? SKIP_REASON : ''}`, () => {
  let server: RedisServerHandle;
  beforeAll(async () => { server = await startRedisServer(); });
  afterAll(async () => { await server.stop(); });

  describePersistenceConformance('external redis-server', () => {
    const prefix = uniquePrefix();
    const sealingSecret = randomBytes(32);
    const raw = new Redis(server.url);
    return Promise.resolve({
      durable: true,
      open: () => openPersistence({ type: 'redis', mode: 'external', url: server.url, keyPrefix: prefix }, { logger: silentLogger(), sealingSecret }),
      raw: { client: raw, prefix, sealingSecret },
      dispose: async () => { await raw.quit(); },
    });
  }, { records: true });

  it('health reports the AOF facts read from the server', async () => {
    const p = await openPersistence({ type: 'redis', mode: 'external', url: server.url, keyPrefix: uniquePrefix() }, { logger: silentLogger(), sealingSecret: randomBytes(32) });
    const health = await p.healthCheck();
    expect(health).toMatchObject({ healthy: true, backend: 'redis', mode: 'external', aof: { enabled: true, fsync: 'always', lastWriteStatus: 'ok', rewriteInProgress: false } });
    expect(health.dataPath).toBeUndefined();
    await p.close();
  });
});

(MOCK ? describe.skip : describe)(`embedded redis-server in a data path ${MOCK ? SKIP_REASON : ''}`, () => {
  describePersistenceConformance('embedded redis-server', () => {
    const dir = makeTempDir('kms-pc-');
    const dataPath = join(dir, 'data');
    const sealingSecret = randomBytes(32);
    // Reconnects on its own across the close/open restarts of the embedded server.
    const raw = new Redis({ path: socketPathFor(dataPath), lazyConnect: true, retryStrategy: () => 50 });
    return Promise.resolve({
      durable: true,
      open: () => openPersistence({ type: 'redis', mode: 'embedded', dataPath }, { logger: silentLogger(), sealingSecret }),
      raw: { client: raw, prefix: 'kms:', sealingSecret },
      dispose: () => { raw.disconnect(); removeTempDir(dir); return Promise.resolve(); },
    });
  }, { records: true });

  it('health reports the AOF, the supervised server and the data path', async () => {
    const dir = makeTempDir('kms-ph-');
    const dataPath = join(dir, 'data');
    try {
      const p = await openPersistence({ type: 'redis', mode: 'embedded', dataPath }, { logger: silentLogger(), sealingSecret: randomBytes(32) });
      const health = await p.healthCheck();
      expect(health).toMatchObject({ healthy: true, backend: 'redis', mode: 'embedded', aof: { enabled: true, fsync: 'always', lastWriteStatus: 'ok' } });
      expect(health.dataPath).toMatchObject({ path: dataPath, exists: true, writable: true, ownerUid: process.getuid?.() ?? -1 });
      expect(health.findings.map((f) => f.check)).toEqual(expect.arrayContaining(['embedded-server', 'data-path', 'aof-enabled', 'aof-fsync']));
      await p.close();
      await expect(p.healthCheck()).rejects.toThrow(/closed/);
    } finally {
      removeTempDir(dir);
    }
  });
});
