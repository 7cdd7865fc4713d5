import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { silentLogger } from '../../../src/logging/logger.js';
import { DurabilityError, PersistenceConfigError, PersistenceUnavailableError } from '../../../src/persistence/errors.js';
import type { NodePersistence } from '../../../src/persistence/nodePersistence.js';
import { openPersistence } from '../../../src/persistence/open.js';
import { RedisPersistence } from '../../../src/persistence/redis/redisPersistence.js';
import { createRecordSealer } from '../../../src/persistence/sealing.js';
import { capturingLogger } from '../../harness/logCapture.js';
import { redisCommand, startRedisServer, type RedisServerHandle } from '../../harness/redisServer.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { keyShareVersion } from './fixtures.js';

/**
 * The Redis backend against real redis-servers configured the ways an operator might:
 * durability refusals and opt-ins, CONFIG renamed, a policy weakened at runtime,
 * authentication from a file, and the Go-layout migration purging plaintext from the AOF.
 */

jest.setTimeout(120_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; this suite needs a real redis-server]';
if (MOCK) console.info(`redis.durability: ${SKIP_REASON}`);

const secret = randomBytes(32);
const servers: RedisServerHandle[] = [];
async function server(options: Parameters<typeof startRedisServer>[0] = {}): Promise<RedisServerHandle> {
  const s = await startRedisServer(options);
  servers.push(s);
  return s;
}
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.stop())); });

const external = (url: string, extra: Record<string, unknown> = {}) =>
  openPersistence({ type: 'redis', mode: 'external', url, ...extra }, { logger: silentLogger(), sealingSecret: secret });

/**
 * Saves a version and the node state, switches the AOF off with `configCommand`, and
 * expects a key version, the active pointer and the node state to be refused with the
 * finding, leaving what was saved before untouched.
 */
async function expectGatedWritesRefusedOnceAofIsOff(s: RedisServerHandle, p: NodePersistence, configCommand: string): Promise<void> {
  await p.saveKeyShareVersion(keyShareVersion(1_764_000_000), { activate: true });
  await p.saveNodeState({ lastProcessedBoundary: 20, nodeStartTime: 1, operatorAddress: `0x${'11'.repeat(20)}` });
  await redisCommand(s, [configCommand, 'SET', 'appendonly', 'no']);
  const refusals = await Promise.all([
    p.saveKeyShareVersion(keyShareVersion(1_764_000_600), { activate: true }).catch((e: unknown) => e),
    p.setActiveVersionEpoch(1_764_000_000).catch((e: unknown) => e),
    p.saveNodeState({ lastProcessedBoundary: 40, nodeStartTime: 1, operatorAddress: `0x${'11'.repeat(20)}` }).catch((e: unknown) => e),
  ]);
  for (const refusal of refusals) {
    expect(refusal).toBeInstanceOf(DurabilityError);
    expect((refusal as Error).message).toContain('aof-enabled: appendonly is no');
  }
  expect(await p.listKeyShareEpochs()).toEqual([1_764_000_000]);
  expect(await p.getActiveVersionEpoch()).toBe(1_764_000_000);
  expect((await p.loadNodeState())?.lastProcessedBoundary).toBe(20);
}

(MOCK ? describe.skip : describe)(`Redis durability and connection on real servers ${MOCK ? SKIP_REASON : ''}`, () => {
  it('refuses appendfsync everysec, saying what to change, and accepts it only when opted into, with a warning', async () => {
    const s = await server({ appendfsync: 'everysec' });
    const refused = await external(s.url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DurabilityError);
    expect((refused as Error).message).toMatch(/set "appendfsync always", or accept .* allowEverysec: true/);

    const { logger, lines } = capturingLogger();
    const p = await openPersistence({ type: 'redis', mode: 'external', url: s.url, durability: { allowEverysec: true } }, { logger, sealingSecret: secret });
    expect(lines().some((l) => l.includes('"level":40') && l.includes('everysec accepted'))).toBe(true);
    const health = await p.healthCheck();
    expect(health.healthy).toBe(true);
    expect(health.aof).toMatchObject({ enabled: true, fsync: 'everysec', lastWriteStatus: 'ok' });
    await p.close();
  });

  it('refuses a server without AOF', async () => {
    const s = await server({ appendonly: false });
    await expect(external(s.url)).rejects.toThrow(/set "appendonly yes"/);
  });

  it('falls back to INFO persistence when CONFIG is renamed, and needs an explicit trust to open', async () => {
    const s = await server({ extraArgs: ['--rename-command', 'CONFIG', ''] });
    await expect(external(s.url)).rejects.toThrow(/CONFIG GET .* trustUnverifiedFsync/);
    const p = await external(s.url, { durability: { trustUnverifiedFsync: true } });
    const health = await p.healthCheck();
    expect(health.aof).toMatchObject({ enabled: true, fsync: 'unknown', lastWriteStatus: 'ok' });
    expect(health.healthy).toBe(true);
    await p.close();
  });

  it('reports a policy weakened at runtime as unhealthy', async () => {
    const s = await server();
    const p = await external(s.url);
    expect((await p.healthCheck()).healthy).toBe(true);
    await redisCommand(s, ['CONFIG', 'SET', 'appendfsync', 'no']);
    const health = await p.healthCheck();
    expect(health.healthy).toBe(false);
    expect(health.findings).toContainEqual(expect.objectContaining({ check: 'aof-fsync', ok: false }));
    await p.close();
  });

  it('refuses key-version, active-pointer and node-state writes while appendonly is off at runtime, and writes nothing', async () => {
    const s = await server();
    const p = await external(s.url);
    await expectGatedWritesRefusedOnceAofIsOff(s, p, 'CONFIG');

    await redisCommand(s, ['CONFIG', 'SET', 'appendonly', 'yes']);
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_600), { activate: true });
    expect(await p.getActiveVersionEpoch()).toBe(1_764_000_600);
    await p.close();
  });

  it('refuses in the write script itself when only INFO can see the AOF is off, and writes nothing', async () => {
    // CONFIG is hidden from the node (renamed), so the policy half of the gate cannot see
    // appendonly; only the INFO check inside each write script can.
    const s = await server({ extraArgs: ['--rename-command', 'CONFIG', 'CONFIG-ADMIN-ONLY'] });
    const p = await external(s.url, { durability: { trustUnverifiedFsync: true } });
    await expectGatedWritesRefusedOnceAofIsOff(s, p, 'CONFIG-ADMIN-ONLY');
    await p.close();
  });

  // A write reads no CONFIG of its own: these show the configuration generation its script
  // checks catching a weakened fsync policy, also behind CONFIG RESETSTAT and a restart.
  it.each([
    ['CONFIG SET', [['CONFIG', 'SET', 'appendfsync', 'everysec']]],
    ['CONFIG SET then CONFIG RESETSTAT', [['CONFIG', 'SET', 'appendfsync', 'everysec'], ['CONFIG', 'RESETSTAT']]],
  ])('refuses writes once appendfsync is weakened at runtime by %s, and writes nothing', async (_how, commands) => {
    const s = await server();
    const p = await external(s.url);
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_000), { activate: true });
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_300));
    for (const command of commands) await redisCommand(s, command);
    const refusals = await Promise.all([
      p.saveKeyShareVersion(keyShareVersion(1_764_000_600), { activate: true }).catch((e: unknown) => e),
      p.setActiveVersionEpoch(1_764_000_300).catch((e: unknown) => e),
    ]);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(DurabilityError);
      expect((refusal as Error).message).toContain('aof-fsync: appendfsync everysec');
    }
    expect(await p.listKeyShareEpochs()).toEqual([1_764_000_000, 1_764_000_300]);
    expect(await p.getActiveVersionEpoch()).toBe(1_764_000_000);

    await redisCommand(s, ['CONFIG', 'SET', 'appendfsync', 'always']);
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_600), { activate: true });
    expect(await p.getActiveVersionEpoch()).toBe(1_764_000_600);

    // Judged again after CONFIG SETs ran: the next one is caught just the same.
    await redisCommand(s, ['CONFIG', 'SET', 'appendfsync', 'no']);
    await expect(p.saveKeyShareVersion(keyShareVersion(1_764_000_900))).rejects.toThrow('aof-fsync: appendfsync no');
    expect(await p.listKeyShareEpochs()).toEqual([1_764_000_000, 1_764_000_300, 1_764_000_600]);
    await p.close();
  });

  it('never accepts the mock-only durability mode on a real server', async () => {
    const s = await server();
    const open = RedisPersistence.open(new Redis(s.url), { logger: silentLogger(), sealer: createRecordSealer(secret), durability: 'none-mock' });
    await expect(open).rejects.toBeInstanceOf(PersistenceConfigError);
  });

  it('authenticates with a password file; a missing password fails without echoing secrets', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const s = await server();
    // Set after start: the harness's readiness probe does not authenticate.
    await redisCommand(s, ['CONFIG', 'SET', 'requirepass', password]);
    const dir = makeTempDir('kms-pw-');
    try {
      writeFileSync(join(dir, 'password'), `${password}\n`, { mode: 0o600 });
      const p = await external(s.url, { passwordFile: join(dir, 'password') });
      await p.saveKeyShareVersion(keyShareVersion(1_764_000_000), { activate: true });
      expect(await p.getActiveVersionEpoch()).toBe(1_764_000_000);
      await p.close();
      const error = await external(s.url, { commandTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PersistenceUnavailableError);
      expect((error as Error).message).toMatch(/NOAUTH|Authentication/i);
      expect(JSON.stringify(error) + String(error)).not.toContain(password);
    } finally {
      removeTempDir(dir);
    }
  });

  it('with the server gone, calls reject with a typed error, health says unreachable, and close still completes', async () => {
    const s = await server();
    const p = await external(s.url, { commandTimeoutMs: 1000, connectTimeoutMs: 500 });
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_000));
    await s.kill('SIGKILL');
    await expect(p.loadKeyShareVersion(1_764_000_000)).rejects.toBeInstanceOf(PersistenceUnavailableError);
    const health = await p.healthCheck();
    expect(health.healthy).toBe(false);
    expect(health.findings).toContainEqual(expect.objectContaining({ check: 'reachable', ok: false }));
    await p.close();
  });

  it('migrates a Go-layout keyspace and its plaintext shares leave the AOF', async () => {
    interface FixtureKey { type: string; value?: string; members?: string[]; hex?: string }
    const fixture = JSON.parse(readFileSync(new URL('../../../src/persistence/redis/__fixtures__/go-v0-keyspace.json', import.meta.url), 'utf8')) as {
      keys: Record<string, FixtureKey>; expected: { shares: Record<string, string>; sessionShare: string };
    };
    const s = await server();
    const raw = new Redis(s.url);
    for (const [key, entry] of Object.entries(fixture.keys)) {
      if (entry.type === 'string') await raw.set(key, entry.value!);
      else if (entry.type === 'set') await raw.sadd(key, ...entry.members!);
      else await raw.set(key, Buffer.from(entry.hex!, 'hex'));
    }
    const decimals = [...Object.values(fixture.expected.shares), fixture.expected.sessionShare].map((h) => BigInt(h).toString(10));
    const aof = (): string => {
      const dir = join(s.dir, 'appendonlydir');
      return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1')).join('\n');
    };
    expect(decimals.some((d) => aof().includes(d))).toBe(true);

    const p = await external(s.url);
    expect(await p.listKeyShareEpochs()).toEqual([1764000000, 1764000600]);
    for (let i = 0; i < 200 && (await raw.info('persistence')).includes('aof_rewrite_in_progress:1'); i++) await sleep(50);
    await sleep(100);
    const after = aof();
    for (const d of decimals) expect(after).not.toContain(d);
    await p.close();
    await raw.quit();
  });
});
