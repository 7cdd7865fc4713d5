/**
 * PersistenceOnlyRuntime on a real embedded redis-server: start, health and keys, the AOF
 * policy applied and verified, drift seen, a SIGKILLed server reported once as a
 * restart, and stop leaving the data where it was. (The file name avoids "persistence":
 * the `mock` test group selects such paths and runs them without a real server.)
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { PersistenceOnlyRuntime, persistenceConfigOf, splitRedisUrl } from '../../../src/controller/runtime/persistenceRuntime.js';
import { BACKEND_RESTARTED_CODE } from '../../../src/controller/kmsnode/checks.js';
import type { ControllerNodeConfig } from '../../../src/controller/kmsnode/specMapping.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { socketPathFor } from '../../../src/persistence/redis/embedded/redisConfig.js';
import { parseInfo, sendCommand } from '../../../src/persistence/redis/embedded/respProbe.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';

const TIMEOUT_MS = 60_000;

function config(dataPath: string): ControllerNodeConfig {
  return {
    persistence: { type: 'redis', dataPath, redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null },
    server: { port: 8000 },
    chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registryAddress: '0x2222222222222222222222222222222222222222' },
    operator: { address: '0x1111111111111111111111111111111111111111', privateKey: `0x${'4f'.repeat(32)}` },
  };
}

async function redis(dataPath: string, args: readonly string[]): Promise<string> {
  const reply = await sendCommand({ path: socketPathFor(dataPath) }, args);
  if (reply?.kind === 'array') return reply.items.map((i) => ('value' in i ? String(i.value) : '')).join(' ');
  return reply !== null && 'value' in reply ? String(reply.value) : '';
}

describe('PersistenceOnlyRuntime (embedded redis-server)', () => {
  let dir: string;
  let runtime: PersistenceOnlyRuntime;

  beforeEach(() => {
    dir = makeTempDir('kms-rt-');
    runtime = new PersistenceOnlyRuntime({ logger: silentLogger() });
  });

  afterEach(async () => {
    await runtime.stop();
    removeTempDir(dir);
  }, TIMEOUT_MS);

  test('runs on real persistence and reports AOF, data path and keys', async () => {
    const dataPath = path.join(dir, 'data');
    await runtime.start(config(dataPath));
    expect(runtime.currentConfig()?.persistence.dataPath).toBe(dataPath);
    const s = await runtime.refreshStatus();
    expect(s.phase).toBe('running');
    expect(s.lastError).toBeNull();
    expect(s.persistence).toMatchObject({ backend: 'redis', mode: 'embedded', aof: { enabled: true, fsync: 'always', lastWriteStatus: 'ok' } });
    expect(s.persistence?.dataPath).toMatchObject({ path: dataPath, exists: true, mode: '0700', writable: true });
    expect(s.keys).toEqual({ activeVersion: null, versionCount: 0, lastProcessedBoundary: 0 });
  }, TIMEOUT_MS);

  test('applyAppendFsync sets and verifies the policy, and repairs appendonly no', async () => {
    const dataPath = path.join(dir, 'data');
    await runtime.start(config(dataPath));
    await runtime.applyAppendFsync('everysec');
    expect(await redis(dataPath, ['CONFIG', 'GET', 'appendfsync'])).toBe('appendfsync everysec');
    expect(runtime.currentConfig()?.persistence.redis?.appendfsync).toBe('everysec');
    expect(await redis(dataPath, ['CONFIG', 'SET', 'appendonly', 'no'])).toBe('OK');
    expect((await runtime.refreshStatus()).persistence?.aof?.enabled).toBe(false);
    await runtime.applyAppendFsync('always');
    expect(await redis(dataPath, ['CONFIG', 'GET', 'appendonly'])).toBe('appendonly yes');
    // Verified includes the rewrite that switching the AOF on starts.
    const info = parseInfo(await redis(dataPath, ['INFO', 'persistence']));
    expect([info.get('aof_rewrite_in_progress'), info.get('aof_rewrite_scheduled'), info.get('aof_last_bgrewrite_status')]).toEqual(['0', '0', 'ok']);
    const s = await runtime.refreshStatus();
    expect(s.persistence?.aof).toMatchObject({ enabled: true, fsync: 'always' });
  }, TIMEOUT_MS);

  test('a SIGKILLed redis-server is reported once as a restart, then the status is clean', async () => {
    const dataPath = path.join(dir, 'data');
    await runtime.start(config(dataPath));
    const pid = Number(parseInfo(await redis(dataPath, ['INFO', 'server'])).get('process_id'));
    process.kill(pid, 'SIGKILL');
    let first = await runtime.refreshStatus();
    const deadline = Date.now() + 30_000;
    while (first.lastError?.code !== BACKEND_RESTARTED_CODE && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      first = await runtime.refreshStatus();
    }
    expect(first.lastError?.code).toBe(BACKEND_RESTARTED_CODE);
    const second = await runtime.refreshStatus();
    expect(second.lastError).toBeNull();
    expect(second.persistence?.healthy).toBe(true);
  }, TIMEOUT_MS);

  test('stop leaves the data path and its AOF in place', async () => {
    const dataPath = path.join(dir, 'data');
    await runtime.start(config(dataPath));
    await runtime.stop();
    expect(runtime.status().phase).toBe('stopped');
    expect((await stat(dataPath)).mode & 0o777).toBe(0o700);
    expect((await readdir(path.join(dataPath, 'appendonlydir'))).some((f) => f.endsWith('.aof'))).toBe(true);
  }, TIMEOUT_MS);

  test('a start that fails is reported as phase failed with the error', async () => {
    await expect(runtime.start(config('relative/path'))).rejects.toThrow();
    expect(runtime.status().phase).toBe('failed');
    expect(runtime.status().lastError?.message).not.toBe('');
  }, TIMEOUT_MS);
});

describe('config mapping', () => {
  test('external URL credentials move out of the URL (the persistence layer refuses them inline)', () => {
    expect(splitRedisUrl('rediss://alice:s%40cret@redis.internal:6380/2')).toEqual({
      url: 'rediss://redis.internal:6380/2', env: { KMS_REDIS_USERNAME: 'alice', KMS_REDIS_PASSWORD: 's@cret' },
    });
    const base = config('/d');
    const external: ControllerNodeConfig = { ...base, persistence: { type: 'redis', dataPath: null, redis: { mode: 'external', url: 'redis://u:p@h:6379/3', appendfsync: 'everysec', keyPrefix: 'x:' }, encryptionSecret: null } };
    expect(persistenceConfigOf(external, undefined)).toEqual({
      config: { type: 'redis', mode: 'external', url: 'redis://h:6379', keyPrefix: 'x:', durability: { allowEverysec: true }, db: 3 },
      env: { KMS_REDIS_USERNAME: 'u', KMS_REDIS_PASSWORD: 'p' },
    });
  });
});
