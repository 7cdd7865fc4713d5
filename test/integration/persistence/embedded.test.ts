import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { KmsError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { EmbeddedRedisServer } from '../../../src/persistence/redis/embedded/embeddedRedisServer.js';
import {
  DataPathLockedError, RedisAofCorruptError, RedisConfigRefusedError, RedisServerNotFoundError, RedisStartFailedError,
  RedisStartTimeoutError,
} from '../../../src/persistence/redis/embedded/errors.js';
import { identify } from '../../../src/persistence/redis/embedded/ownership.js';
import { startChildNode, waitForExit } from '../../harness/childNode.js';
import { capturingLogger } from '../../harness/logCapture.js';
import { processExists, tcpListenerCount } from '../../harness/procNet.js';
import { startRedisServer } from '../../harness/redisServer.js';
import { makeTempDir } from '../../harness/tempDir.js';

jest.setTimeout(120_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; the embedded supervisor runs a real redis-server]';
if (MOCK) console.info(`embedded: ${SKIP_REASON}`);

const servers: EmbeddedRedisServer[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(options: Partial<Parameters<typeof EmbeddedRedisServer.start>[0]> = {}): Promise<EmbeddedRedisServer> {
  const server = await EmbeddedRedisServer.start({ dataPath: join(makeTempDir('kms-emb-'), 'data'), logger: silentLogger(), ...options });
  servers.push(server);
  return server;
}

function client(server: EmbeddedRedisServer): Redis {
  const c = new Redis({ path: server.socketPath, maxRetriesPerRequest: 20, retryStrategy: () => 50 });
  clients.push(c);
  return c;
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

(MOCK ? describe.skip : describe)(`EmbeddedRedisServer ${MOCK ? SKIP_REASON : ''}`, () => {
  it('runs redis with its AOF in a 0700 data path, reachable only over a 0700 unix socket', async () => {
    const server = await start();
    const redis = client(server);
    expect(await redis.ping()).toBe('PONG');
    expect(server.socketPath).toBe(join(server.dataPath, 'redis.sock'));
    expect(statSync(server.dataPath).mode & 0o777).toBe(0o700);
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o700);
    expect(statSync(join(server.dataPath, 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(await redis.config('GET', 'port')).toEqual(['port', '0']);
    expect(tcpListenerCount(server.pid!)).toBe(0);
    expect(Object.fromEntries(chunk(await redis.config('GET', 'append*') as string[]))).toMatchObject({
      appendonly: 'yes', appendfsync: 'always', appenddirname: 'appendonlydir',
    });
    expect(await redis.config('GET', 'aof-load-truncated')).toEqual(['aof-load-truncated', 'no']);
    expect(await redis.config('GET', 'save')).toEqual(['save', '']);
    await redis.set('written', 'now');
    const aofFiles = readdirSync(join(server.dataPath, 'appendonlydir'));
    expect(aofFiles).toEqual(expect.arrayContaining(['appendonly.aof.manifest', 'appendonly.aof.1.incr.aof']));
    expect(readFileSync(join(server.dataPath, 'appendonlydir', 'appendonly.aof.1.incr.aof'), 'utf8')).toContain('written');
  });

  it('the TCP-listener check does find a TCP redis (so the zero above means something)', async () => {
    const tcp = await startRedisServer();
    expect(tcpListenerCount(tcp.pid)).toBeGreaterThan(0);
    await tcp.stop();
  });

  it('restarts a SIGKILLed redis-server and keeps what was written before', async () => {
    const server = await start();
    const restarted = jest.fn<() => void>();
    server.onRestart(restarted);
    const redis = client(server);
    await redis.set('before-kill', 'kept');
    const firstPid = server.pid!;
    process.kill(firstPid, 'SIGKILL');
    await until(() => restarted.mock.calls.length === 1, 'the supervisor restart');
    expect(server.pid).not.toBe(firstPid);
    expect(processExists(server.pid!)).toBe(true);
    expect(server.status()).toEqual({ state: 'running', pid: server.pid, restarts: 1, lastError: null });
    expect(await redis.get('before-kill')).toBe('kept');
  });

  it('stops gracefully (SHUTDOWN, AOF fsynced), removes its owner record, and stop is idempotent', async () => {
    const { logger, lines } = capturingLogger();
    const server = await start({ logger });
    await client(server).set('k', 'v');
    const pid = server.pid!;
    expect(existsSync(join(server.dataPath, 'owner.json'))).toBe(true);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(processExists(pid)).toBe(false);
    expect(server.state).toBe('stopped');
    expect(existsSync(join(server.dataPath, 'owner.json'))).toBe(false);
    const redisLines = lines().join('\n');
    expect(redisLines).toContain('User requested shutdown');
    expect(redisLines).toContain('Redis is now ready to exit');
  });

  it('names the fix when redis-server is missing', async () => {
    const dataPath = join(makeTempDir('kms-emb-'), 'data');
    const absent = EmbeddedRedisServer.start({ dataPath, logger: silentLogger(), redisServerBinary: '/nonexistent/redis-server' });
    await expect(absent).rejects.toThrow(RedisServerNotFoundError);
    await expect(absent).rejects.toThrow(
      "redis-server not found: '/nonexistent/redis-server' is not an executable file on this machine. Fix: install it with 'apt-get install redis-server' or set --redis-server-binary to its path",
    );
    await expect(EmbeddedRedisServer.start({ dataPath, logger: silentLogger(), redisServerBinary: 'redis-server-not-on-path' }))
      .rejects.toThrow(RedisServerNotFoundError);
  });

  it('gives up with a timeout when the server never answers, and leaves no process behind', async () => {
    const bin = join(makeTempDir('kms-fake-'), 'redis-server');
    writeFileSync(bin, '#!/bin/sh\necho "$$" > "$(dirname "$0")/pid"\nexec sleep 600\n', { mode: 0o755 });
    const error = await start({ redisServerBinary: bin, startTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStartTimeoutError);
    expect((error as Error).message).toContain('made no start-up progress for 500 ms (last state: not listening)');
    const pid = Number(readFileSync(join(dirname(bin), 'pid'), 'utf8'));
    await until(() => !processExists(pid), 'the hung server to be killed');
  });

  it('reports a server that exits at start with its own last words', async () => {
    const bin = join(makeTempDir('kms-fake-'), 'redis-server');
    writeFileSync(bin, '#!/bin/sh\necho "1:M 26 Nov 2026 12:00:00.000 # Fatal: cannot do the thing"\nexit 3\n', { mode: 0o755 });
    const error = await start({ redisServerBinary: bin }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStartFailedError);
    expect((error as Error).message).toContain('failed to start: redis-server exited (exit code 3): Fatal: cannot do the thing');
  });

  it('refuses to override durability settings through extraConfig', async () => {
    await expect(start({ extraConfig: { appendfsync: 'no' } })).rejects.toThrow(RedisConfigRefusedError);
    await expect(start({ extraConfig: { 'aof-load-truncated': 'yes' } })).rejects.toThrow(RedisConfigRefusedError);
  });

  it('waits through a long AOF load (200,000 keys) because LOADING progress resets the start timeout', async () => {
    const dataPath = join(makeTempDir('kms-emb-'), 'data');
    const first = await EmbeddedRedisServer.start({ dataPath, logger: silentLogger() });
    const writer = new Redis({ path: first.socketPath });
    for (let batch = 0; batch < 200; batch++) {
      const pipeline = writer.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.set(`key:${batch * 1000 + i}`, 'v'.repeat(32));
      await pipeline.exec();
    }
    await writer.quit();
    await first.stop();
    const { logger, lines } = capturingLogger();
    // key-load-delay slows loading so it spans many readiness probes and far exceeds the 1 s timeout.
    const second = await start({ dataPath, logger, startTimeoutMs: 1_000, extraConfig: { 'key-load-delay': '-10' } });
    const loading = lines().filter((l) => l.includes('redis-server loading the AOF')).map((l) => (JSON.parse(l) as { loaded: number }).loaded);
    expect(loading.length).toBeGreaterThan(1);
    expect(new Set(loading).size).toBeGreaterThan(1);
    expect(await client(second).dbsize()).toBe(200_000);
  });

  it('gives up quick restarts after its budget, reports why, and keeps retrying until it is back', async () => {
    const server = await start({ maxRestarts: 2, restartWindowMs: 60_000 });
    const failed = jest.fn<(error: KmsError) => void>();
    server.onFailure(failed);
    for (let kill = 1; kill <= 3; kill++) {
      const pid = server.pid!;
      process.kill(pid, 'SIGKILL');
      await until(() => server.state === 'running' && server.pid !== pid, `kill ${kill} handled`);
    }
    expect(failed).toHaveBeenCalledTimes(1);
    const reported = failed.mock.calls[0]?.[0];
    expect(reported?.code).toBe('REDIS_SUPERVISOR_GAVE_UP');
    expect(reported?.message).toMatch(/failed 3 times in a row; quick restarts stopped, and it is retried at least every 30 s until it starts/);
    expect(server.status()).toEqual({ state: 'running', pid: server.pid, restarts: 3, lastError: null });
    expect(await client(server).ping()).toBe('PONG');
  });

  it('surfaces a damaged AOF on restart as the typed error, retries only slowly, and is back once the AOF is repaired', async () => {
    const { logger, lines } = capturingLogger();
    const server = await start({ logger, retryMaxDelayMs: 1_000 });
    await client(server).set('k', 'v');
    const incr = join(server.dataPath, 'appendonlydir', 'appendonly.aof.1.incr.aof');
    const intact = statSync(incr).size;
    writeFileSync(incr, '*3\r\n$3\r\nSET\r\n$1\r\nx', { flag: 'a' });
    const failed = jest.fn<(error: KmsError) => void>();
    server.onFailure(failed);
    process.kill(server.pid!, 'SIGKILL');
    await until(() => server.state === 'failed', 'the supervisor to give up quick restarts');
    expect(failed).toHaveBeenCalledTimes(1);
    expect(failed.mock.calls[0]?.[0]).toBeInstanceOf(RedisAofCorruptError);
    expect(server.status()).toMatchObject({ state: 'failed', restarts: 0, lastError: { code: 'REDIS_AOF_CORRUPT' } });
    const attempts = (): number => lines().filter((l) => l.includes('restarting redis-server failed; retrying')).length;
    await until(() => attempts() >= 3, 'further (slow) attempts while the AOF is still damaged');
    expect(server.state).toBe('failed');
    expect(failed).toHaveBeenCalledTimes(1);

    truncateSync(incr, intact);
    await until(() => server.state === 'running', 'the supervisor to start the repaired AOF by itself');
    expect(server.status()).toMatchObject({ state: 'running', restarts: 1, lastError: null });
    expect(await client(server).get('k')).toBe('v');
  });

  it('refuses a second server on the same data path, in this process and from another node process', async () => {
    const server = await start();
    await expect(EmbeddedRedisServer.start({ dataPath: server.dataPath, logger: silentLogger() })).rejects.toThrow(DataPathLockedError);
    await server.stop();

    const other = await startChildNode('embeddedNodeProcess.ts', [server.dataPath]);
    const otherRedis = other.hello.redisPid as number;
    try {
      const error = await EmbeddedRedisServer.start({ dataPath: server.dataPath, logger: silentLogger() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataPathLockedError);
      expect((error as Error).message).toContain(`in use by another kms-node process (pid ${other.process.pid}, redis-server pid ${otherRedis})`);
      expect(processExists(otherRedis)).toBe(true);
    } finally {
      other.process.kill('SIGKILL');
      await waitForExit(other.process);
    }
    // The killed node's redis-server dies with it (parent-death signal), so the path is free again.
    await until(() => !processExists(otherRedis), 'the dead node\'s redis-server to exit');
    servers.push(await EmbeddedRedisServer.start({ dataPath: server.dataPath, logger: silentLogger() }));
  });

  it('shuts down an orphaned redis-server of a dead node and takes over its data', async () => {
    const server = await start();
    await client(server).set('from-the-dead-node', 'still here');
    const { dataPath } = server;
    await server.stop();
    // An orphan as a node without parent-death signals would leave it: redis under the data
    // path's lock, and an owner record naming a node process that no longer exists.
    const orphan = spawn('flock', ['-n', '-F', join(dataPath, 'redis.lock'), 'redis-server', join(dataPath, 'redis.conf')], { stdio: 'ignore', detached: true });
    const deadNode = spawn('true');
    const deadIdentity = await identify(deadNode.pid!);
    await waitForExit(deadNode);
    await until(() => existsSync(join(dataPath, 'redis.sock')), 'the orphan to listen');
    await sleep(200);
    writeFileSync(join(dataPath, 'owner.json'), JSON.stringify({ node: deadIdentity, redis: await identify(orphan.pid!), startedAt: Date.now() }));

    const successor = await start({ dataPath });
    await waitForExit(orphan);
    expect(orphan.exitCode).toBe(0);
    expect(successor.pid).not.toBe(orphan.pid);
    expect(await client(successor).get('from-the-dead-node')).toBe('still here');
  });
});

function chunk(flat: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}
