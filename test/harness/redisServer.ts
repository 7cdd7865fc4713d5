import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { waitUntilReady } from '../../src/persistence/redis/embedded/readiness.js';
import { sendCommand } from '../../src/persistence/redis/embedded/respProbe.js';
import { freePort } from './ports.js';
import { makeTempDir, removeTempDir } from './tempDir.js';

/**
 * A real redis-server for integration tests: loopback TCP on a free port, AOF on with
 * appendfsync always, no RDB snapshots, in its own temp dir. Every server started here is
 * stopped after the test file (afterAll) and killed at process exit, so none outlives
 * the run. On Linux it is started under `setpriv --pdeathsig SIGKILL`, so even a killed
 * jest worker leaves no redis-server behind.
 */
export interface StartRedisOptions {
  readonly appendfsync?: 'always' | 'everysec';
  readonly appendonly?: boolean;
  /** Also listen on <dir>/redis.sock (mode 700). */
  readonly unixSocket?: boolean;
  /** Use this directory (kept on stop) instead of a fresh temp dir (removed on stop). */
  readonly dir?: string;
  readonly extraArgs?: readonly string[];
  /** Run redis-server as this uid/gid (needs root): lets tests make files unwritable to it. */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  readonly startTimeoutMs?: number;
}

export interface RedisServerHandle {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly socketPath: string | undefined;
  readonly dir: string;
  /** The current process's pid (changes on restart). */
  readonly pid: number;
  readonly process: ChildProcess;
  /** Everything redis-server wrote to stdout/stderr since its last (re)start. */
  log(): string;
  /** Sends the signal and waits until the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new redis-server on the same dir and port (stopping the old one if alive). */
  restart(): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 10 s); removes the dir if the harness made it. */
  stop(): Promise<void>;
}

const REDIS_SERVER = 'redis-server';
const live = new Set<RedisServerHandle>();

// Installed when a test file imports this module (hooks may not be added inside a test).
process.on('exit', () => {
  for (const handle of live) {
    try { process.kill(handle.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});
if (typeof afterAll === 'function') {
  afterAll(async () => { await stopAllRedisServers(); });
}

/** Stops every server this module started and has not stopped yet. */
export async function stopAllRedisServers(): Promise<void> {
  await Promise.all([...live].map((h) => h.stop()));
}

function assertRedisInstalled(): void {
  const found = spawnSync('sh', ['-c', `command -v ${REDIS_SERVER}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error("redis-server is not installed: install with 'apt-get install redis-server'");
  }
}

function hasSetpriv(): boolean {
  try {
    accessSync('/usr/bin/setpriv', constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  assertRedisInstalled();
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? makeTempDir('kms-redis-');
  const port = await freePort();
  const socketPath = options.unixSocket === true ? join(dir, 'redis.sock') : undefined;
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', options.appendonly === false ? 'no' : 'yes',
    '--appendfsync', options.appendfsync ?? 'always',
    '--save', '', '--daemonize', 'no', '--protected-mode', 'yes', '--logfile', '',
    ...(socketPath === undefined ? [] : ['--unixsocket', socketPath, '--unixsocketperm', '700']),
    ...(options.extraArgs ?? []),
  ];
  const setpriv = hasSetpriv();
  let child!: ChildProcess;
  let output = '';

  const spawnServer = async (): Promise<void> => {
    const privArgs = options.runAs === undefined ? [] : ['--reuid', String(options.runAs.uid), '--regid', String(options.runAs.gid), '--clear-groups'];
    child = setpriv
      ? spawn('setpriv', ['--pdeathsig', 'SIGKILL', ...privArgs, REDIS_SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    output = '';
    const append = (chunk: Buffer): void => { output += chunk.toString('utf8'); };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const spawned = child;
    const result = await waitUntilReady({ host: '127.0.0.1', port }, {
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      hasExited: () => spawned.exitCode !== null || spawned.signalCode !== null,
      ...(spawned.pid === undefined ? {} : { expectedPid: spawned.pid }),
    }).catch(async (error: unknown) => {
      spawned.kill('SIGKILL');
      await exited(spawned);
      throw error;
    });
    if (result === 'exited') {
      throw new Error(`redis-server exited during start-up (code ${spawned.exitCode ?? 'null'}, signal ${spawned.signalCode ?? 'null'}):\n${output}`);
    }
  };

  const handle: RedisServerHandle = {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    socketPath,
    dir,
    get pid(): number { return child.pid ?? -1; },
    get process(): ChildProcess { return child; },
    log: () => output,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      const current = child;
      if (current.exitCode === null && current.signalCode === null) current.kill(signal);
      await exited(current);
    },
    restart: async () => {
      const current = child;
      if (current.exitCode === null && current.signalCode === null) {
        current.kill('SIGTERM');
        await exited(current);
      }
      await spawnServer();
      live.add(handle);
    },
    stop: async () => {
      live.delete(handle);
      const current = child;
      if (current.exitCode === null && current.signalCode === null) {
        current.kill('SIGTERM');
        const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
        await exited(current);
        clearTimeout(timer);
      }
      if (ownsDir) removeTempDir(dir);
    },
  };
  try {
    await spawnServer();
  } catch (error) {
    if (ownsDir) removeTempDir(dir);
    throw error;
  }
  live.add(handle);
  return handle;
}

/** Sends one command over TCP or the socket without a client library (e.g. DEBUG, CONFIG). */
export async function redisCommand(handle: RedisServerHandle, args: readonly string[]): Promise<string> {
  const reply = await sendCommand(handle.socketPath === undefined ? { host: handle.host, port: handle.port } : { path: handle.socketPath }, args);
  if (reply === null) return '';
  if (reply.kind === 'error') throw new Error(`redis ${args[0] ?? ''}: ${reply.value}`);
  if (reply.kind === 'simple' || reply.kind === 'bulk') return reply.value;
  if (reply.kind === 'integer') return String(reply.value);
  if (reply.kind === 'null') return '';
  return reply.items.map((i) => ('value' in i ? String(i.value) : '')).join('\n');
}
