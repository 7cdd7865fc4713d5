/**
 * The test-only PersistenceOnlyRuntime (test/gen) on a real embedded redis-server: start,
 * health and keys, the AOF policy applied and verified, drift seen, and stop leaving the
 * data where it was. (The file name avoids "persistence": the `mock` test group selects
 * such paths and runs them without a real server.)
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ControllerNodeConfig } from '../../../src/controller/kmsnode/specMapping.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { socketPathFor } from '../../../src/persistence/redis/embedded/redisConfig.js';
import { parseInfo, sendCommand } from '../../../src/persistence/redis/embedded/respProbe.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { defaultSpec, nodeConfig } from '../../gen/kmsNode.js';
import { PersistenceOnlyRuntime } from '../../gen/persistenceOnlyRuntime.js';

const TIMEOUT_MS = 60_000;

function config(dataPath: string): ControllerNodeConfig {
  return nodeConfig(defaultSpec(dataPath));
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

  test('stop leaves the data path and its AOF in place', async () => {
    const dataPath = path.join(dir, 'data');
    await runtime.start(config(dataPath));
    await runtime.stop();
    expect(runtime.status().phase).toBe('stopped');
    expect((await stat(dataPath)).mode & 0o777).toBe(0o700);
    expect((await readdir(path.join(dataPath, 'appendonlydir'))).some((f) => f.endsWith('.aof'))).toBe(true);
  }, TIMEOUT_MS);

  test('a start that fails is reported as phase failed with the error', async () => {
    // The data path's parent is a file: no directory can be made there.
    const blocker = path.join(dir, 'not-a-directory');
    await writeFile(blocker, 'x');
    await expect(runtime.start(config(path.join(blocker, 'data')))).rejects.toThrow();
    expect(runtime.status().phase).toBe('failed');
    expect(runtime.status().lastError?.message).not.toBe('');
  }, TIMEOUT_MS);
});
