import { jest } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { silentLogger } from '../../../src/logging/logger.js';
import { EmbeddedRedisServer } from '../../../src/persistence/redis/embedded/embeddedRedisServer.js';
import { DataPathLockedError } from '../../../src/persistence/redis/embedded/errors.js';
import { identify } from '../../../src/persistence/redis/embedded/ownership.js';
import { until } from '../../gen/until.js';
import { waitForExit } from '../../harness/childNode.js';
import { capturingLogger } from '../../harness/logCapture.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';

/**
 * Issue 11, item 6: the embedded supervisor heals. After it has given up quick restarts
 * it keeps retrying (test-sized cap here; 30 s by default, see restartPolicy.test.ts)
 * and is back by itself once the cause is gone: a full volume (a real ENOSPC on a
 * 4 MiB tmpfs; mount(2) needs root) and an immutable AOF (chattr +i, which also
 * refuses writes through the fd redis-server already holds). A failed owner.json write
 * after the server is ready never starts a second server, and lock errors never name
 * this process as "the other node".
 */

jest.setTimeout(180_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; the supervisor runs a real redis-server]';
if (MOCK) console.info(`supervisorHealing: ${SKIP_REASON}`);

const RETRY_CAP_MS = 1_000;
const servers: EmbeddedRedisServer[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(dataPath: string, logger = silentLogger()): Promise<EmbeddedRedisServer> {
  const server = await EmbeddedRedisServer.start({ dataPath, logger, maxRestarts: 2, retryMaxDelayMs: RETRY_CAP_MS });
  servers.push(server);
  return server;
}

/** A connected client that fails fast while the server is down instead of queueing. */
async function client(server: EmbeddedRedisServer): Promise<Redis> {
  const c = new Redis({ path: server.socketPath, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 2_000, disconnectTimeout: 100, retryStrategy: () => 50 });
  c.on('error', () => undefined);
  clients.push(c);
  await new Promise((resolve) => c.once('ready', resolve));
  return c;
}

/** redis-server processes serving this data path (by their command line or process title). */
function redisServersOn(dataPath: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { continue; }
    if (cmdline.includes('redis-server') && (cmdline.includes(join(dataPath, 'redis.conf')) || cmdline.includes(join(dataPath, 'redis.sock')))) pids.push(Number(entry));
  }
  return pids;
}

interface WriteTally { readonly acknowledged: string[]; failed: number; maxServers: number }

/**
 * Writes until `done()` holds, keeping the keys Redis acknowledged and the most
 * redis-servers seen on the data path at once (the invariant: never more than one).
 */
async function writeUntil(redis: Redis, dataPath: string, done: () => boolean, what: string): Promise<WriteTally> {
  const tally: WriteTally = { acknowledged: [], failed: 0, maxServers: 0 };
  const deadline = Date.now() + 120_000;
  for (let i = 0; !done(); i++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${tally.acknowledged.length} acknowledged, ${tally.failed} failed)`);
    tally.maxServers = Math.max(tally.maxServers, redisServersOn(dataPath).length);
    const key = `${what}:${i}`;
    try {
      await redis.set(key, 'x'.repeat(1024));
      tally.acknowledged.push(key);
    } catch {
      tally.failed += 1;
    }
    await sleep(20);
  }
  return tally;
}

async function reconnected(redis: Redis): Promise<void> {
  await until('the client to reconnect', () => redis.status === 'ready', 30_000);
}

/** Fills the volume of `dir` with one file until ENOSPC. */
function fillVolume(file: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (;;) {
    try {
      writeFileSync(file, chunk, { flag: 'a' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw error;
    }
  }
}

const countLines = (lines: () => string[], msg: string): number => lines().filter((l) => l.includes(msg)).length;

(MOCK ? describe.skip : describe)(`the embedded supervisor heals ${MOCK ? SKIP_REASON : ''}`, () => {
  it('full volume: gives up quick restarts, keeps retrying with one server at a time, and is back once there is room', async () => {
    const root = makeTempDir('kms-heal-full-');
    const volume = join(root, 'vol');
    mkdirSync(volume, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', volume]);
    try {
      const { logger, lines } = capturingLogger();
      const dataPath = join(volume, 'data');
      const server = await start(dataPath, logger);
      const redis = await client(server);
      await redis.set('before', 'kept');
      const filler = join(volume, 'filler');
      fillVolume(filler);

      const whileFull = await writeUntil(redis, dataPath,
        () => server.state === 'failed' && countLines(lines, 'redis-server restart attempt scheduled') >= 3, 'the supervisor to give up and go on retrying');
      // A few writes may still fit the AOF's last allocated page; what is acknowledged must survive.
      expect(whileFull.failed).toBeGreaterThan(0);
      expect(server.status().lastError).toMatchObject({ code: 'REDIS_SUPERVISOR_GAVE_UP' });
      expect(server.status().lastError?.message).toMatch(/could not write the append-only file|AOF/);
      // Each restart on the full volume came up and then could not write owner.json.
      expect(countLines(lines, 'could not write owner.json')).toBeGreaterThan(0);

      const freedAt = lines().length;
      rmSync(filler);
      const afterFreed = await writeUntil(redis, dataPath,
        () => lines().slice(freedAt).some((l) => l.includes('embedded redis-server recovered')) && server.state !== 'failed' && server.state !== 'restarting', 'recovery');
      // Up for good this time: a run of writes, every one acknowledged.
      await reconnected(redis);
      for (let i = 0; i < 20; i++) expect(await redis.set(`after:${i}`, 'y'.repeat(1024))).toBe('OK');
      expect(await redis.get('before')).toBe('kept');
      const acknowledged = [...whileFull.acknowledged, ...afterFreed.acknowledged];
      expect(acknowledged.length === 0 ? 0 : await redis.exists(...acknowledged)).toBe(acknowledged.length);
      expect(['running', 'degraded']).toContain(server.status().state);
      expect(Math.max(whileFull.maxServers, afterFreed.maxServers)).toBe(1);
      expect(redisServersOn(dataPath)).toEqual([server.pid]);
      expect(lines().join('\n')).not.toContain('DATA_PATH_LOCKED');
      console.log(`full volume: ${whileFull.failed} writes refused while full, `
        + `(${whileFull.acknowledged.length} acknowledged before the first failure, all present after recovery), `
      + `${countLines(lines, 'redis-server restart attempt scheduled')} slow retries, ${afterFreed.failed} more refusals until recovered`);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      execFileSync('umount', ['-l', volume]);
      removeTempDir(root);
    }
  });

  it('immutable AOF (chattr +i): gives up quick restarts, keeps retrying, and is back once the flag is cleared', async () => {
    const root = makeTempDir('kms-heal-immutable-');
    const dataPath = join(root, 'data');
    const { logger, lines } = capturingLogger();
    const server = await start(dataPath, logger);
    const redis = await client(server);
    await redis.set('before', 'kept');
    const incr = join(dataPath, 'appendonlydir', 'appendonly.aof.1.incr.aof');
    execFileSync('chattr', ['+i', incr]);
    try {
      const whileImmutable = await writeUntil(redis, dataPath,
        () => server.state === 'failed' && countLines(lines, 'restarting redis-server failed; retrying') >= 3, 'the supervisor to give up and go on retrying');
      expect(whileImmutable.acknowledged).toEqual([]);
      expect(server.status().lastError?.message).toMatch(/Operation not permitted/);
    } finally {
      execFileSync('chattr', ['-i', incr]);
    }
    await until('the supervisor to start redis-server again by itself', () => server.state === 'running', 30_000);
    await reconnected(redis);
    expect(await redis.get('before')).toBe('kept');
    expect(await redis.set('after', 'written')).toBe('OK');
    expect(redisServersOn(dataPath)).toEqual([server.pid]);
    expect(countLines(lines, 'embedded redis-server recovered')).toBe(1);
    await server.stop();
    removeTempDir(root);
  });

  it('an owner.json that cannot be written after the server is ready starts no second server and is retried', async () => {
    const dataPath = join(makeTempDir('kms-heal-owner-'), 'data');
    mkdirSync(dataPath, { mode: 0o700 });
    // writeOwner writes owner.json.<pid>.tmp and renames it: a directory there makes the write fail.
    const blocker = join(dataPath, `owner.json.${process.pid}.tmp`);
    mkdirSync(blocker);
    const { logger, lines } = capturingLogger();
    const server = await start(dataPath, logger);
    expect(countLines(lines, 'could not write owner.json')).toBe(1);
    expect(redisServersOn(dataPath)).toEqual([server.pid]);
    expect(await (await client(server)).ping()).toBe('PONG');
    expect(existsSync(join(dataPath, 'owner.json'))).toBe(false);

    rmSync(blocker, { recursive: true });
    await until('owner.json to be written by the retry', () => existsSync(join(dataPath, 'owner.json')), 30_000);
    expect((JSON.parse(readFileSync(join(dataPath, 'owner.json'), 'utf8')) as { redis: { pid: number } }).redis.pid).toBe(server.pid);

    const first = server.pid!;
    process.kill(first, 'SIGKILL');
    await until('the restart', () => server.state === 'running' && server.pid !== first);
    expect(redisServersOn(dataPath)).toEqual([server.pid]);
    expect(lines().join('\n')).not.toContain('DATA_PATH_LOCKED');
  });

  it('a lock held by a redis-server that owner.json cannot explain names that server, never this process', async () => {
    const server = await start(join(makeTempDir('kms-heal-lock-'), 'data'));
    const { dataPath } = server;
    await server.stop();
    const orphan = spawn('flock', ['-n', '-F', join(dataPath, 'redis.lock'), 'redis-server', join(dataPath, 'redis.conf')], { stdio: 'ignore', detached: true });
    try {
      const deadRedis = spawn('true');
      const deadIdentity = await identify(deadRedis.pid!);
      await waitForExit(deadRedis);
      await until('the orphan to listen', () => existsSync(join(dataPath, 'redis.sock')));
      // A stale record naming this very process as the node: the case that used to print our own pid.
      writeFileSync(join(dataPath, 'owner.json'), JSON.stringify({ node: await identify(process.pid), redis: deadIdentity, startedAt: Date.now() }));
      const error = await EmbeddedRedisServer.start({ dataPath, logger: silentLogger() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataPathLockedError);
      const message = (error as Error).message;
      expect(message).not.toContain(`pid ${process.pid}`);
      expect(message).toContain(`(redis-server pid ${orphan.pid})`);
      expect(message).toContain(`Fix: stop redis-server pid ${orphan.pid}`);
    } finally {
      orphan.kill('SIGKILL');
      await waitForExit(orphan);
    }
  });
});
