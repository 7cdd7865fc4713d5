import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../logging/logger.js';
import type { KmsError } from '../../../errors.js';
import { ensureDataPath } from '../../dataPath.js';
import { findExecutable, resolveExecutable } from './binary.js';
import {
  DataPathLockedError,
  RedisAofCorruptError,
  RedisAofWriteFailedError,
  RedisServerNotFoundError,
  RedisStartFailedError,
  RedisSupervisorGaveUpError,
} from './errors.js';
import {
  identify, isRedisServerProcess, isSameProcessAlive, LOCK_FILE, readOwner, removeOwner, writeOwner,
} from './ownership.js';
import { waitUntilReady } from './readiness.js';
import { MAX_SOCKET_PATH_BYTES, REDIS_CONF_FILE, renderRedisConfig, socketPathFor } from './redisConfig.js';
import { sendCommand } from './respProbe.js';
import { classifyDeath, classifyStartFailure } from './startFailure.js';

export interface EmbeddedRedisOptions {
  readonly dataPath: string;
  /** A name looked up on PATH or a path; default 'redis-server'. */
  readonly redisServerBinary?: string;
  readonly logger: Logger;
  readonly appendfsync?: 'always' | 'everysec';
  /** How long start-up may show no progress (AOF loading counts as progress). Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Supervisor budget: at most this many restarts within restartWindowMs. Default 5 in 60 s. */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  /** Extra redis.conf settings (tuning, test hooks); durability settings are refused. */
  readonly extraConfig?: Readonly<Record<string, string>>;
}

/**
 * 'degraded': running again, but it died of an AOF write failure within the restart
 * window (the disk may still be full); health must not read this as fine.
 */
export type EmbeddedRedisState = 'running' | 'degraded' | 'restarting' | 'failed' | 'stopped';

export interface EmbeddedRedisStatus {
  readonly state: EmbeddedRedisState;
  readonly pid: number | null;
  readonly restarts: number;
  /** Why the supervisor gave up ('failed'), or the last death ('restarting', 'degraded'). */
  readonly lastError: { readonly code: string; readonly message: string } | null;
}

/** Exit code flock(1) uses when the data path's lock is held (see ownership.ts). */
const LOCK_CONFLICT_EXIT = 75;
const OUTPUT_KEEP_BYTES = 64 * 1024;
const STOP_TIMEOUT_MS = 15_000;

/** Data paths with a live EmbeddedRedisServer in this process. */
const heldInProcess = new Set<string>();

interface Launch { readonly child: ChildProcess; output: string; readonly closed: Promise<void> }

/**
 * Runs and supervises the node's own redis-server, with its AOF in the data path (see
 * redisConfig.ts for the configuration and why). Start-up waits through AOF loading;
 * a damaged AOF becomes RedisAofCorruptError, never a silent repair. If the server dies,
 * it is restarted with backoff, within a bounded budget; after that, or when the AOF
 * turned out damaged on restart, the state is 'failed' and stays so (status() reports it).
 *
 * Process hygiene: redis-server runs in its own process group (terminal signals meant for
 * the node do not shut it down under the node's feet), under `setpriv --pdeathsig SIGTERM`
 * (it shuts down cleanly when the node dies, even by SIGKILL) and `flock -F` on
 * <dataPath>/redis.lock (the kernel lock lives exactly as long as that redis-server).
 * If a previous node died and its redis-server still holds the lock (an orphan, possible
 * only where setpriv is missing), start() sends it SHUTDOWN and takes over; if the owner
 * node is alive, start() refuses with DataPathLockedError.
 */
export class EmbeddedRedisServer {
  readonly socketPath: string;
  readonly dataPath: string;
  private readonly logger: Logger;
  private readonly options: EmbeddedRedisOptions;
  private current: Launch | null = null;
  private stateValue: EmbeddedRedisState = 'running';
  private failure: KmsError | null = null;
  private restarts = 0;
  private deaths: number[] = [];
  private lastDeath: { readonly error: KmsError; readonly at: number } | null = null;
  private stopping: Promise<void> | null = null;
  private restartTask: Promise<void> | null = null;
  private readonly restartListeners: (() => void)[] = [];
  private readonly failureListeners: ((error: KmsError) => void)[] = [];
  private readonly exitHook = (): void => {
    const pid = this.current?.child.pid;
    if (pid !== undefined && this.current?.child.exitCode === null) process.kill(pid, 'SIGTERM');
  };

  private constructor(
    options: EmbeddedRedisOptions,
    private readonly binary: string,
    private readonly wrappers: { readonly setpriv: string | null; readonly flock: string | null },
  ) {
    this.options = options;
    this.dataPath = options.dataPath;
    this.socketPath = socketPathFor(options.dataPath);
    this.logger = options.logger.child({ module: 'embedded-redis', dataPath: options.dataPath });
  }

  /**
   * Prepares the data path (0700), writes redis.conf, starts redis-server and resolves
   * once it answers PING on its socket.
   * @throws RedisServerNotFoundError, DataPath*Error, DataPathLockedError,
   *   RedisAofCorruptError, RedisStartFailedError, RedisStartTimeoutError
   */
  static async start(options: EmbeddedRedisOptions): Promise<EmbeddedRedisServer> {
    const binary = await resolveExecutable(options.redisServerBinary ?? 'redis-server');
    await ensureDataPath(options.dataPath);
    const socketPath = socketPathFor(options.dataPath);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new RedisStartFailedError(options.dataPath, `the socket path ${socketPath} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket allows`, '', {
        fix: 'use a shorter data path',
      });
    }
    if (heldInProcess.has(options.dataPath)) {
      throw new DataPathLockedError(options.dataPath, process.pid, 'another embedded redis-server of this same process');
    }
    const confPath = join(options.dataPath, REDIS_CONF_FILE);
    await writeFile(confPath, renderRedisConfig({ dataPath: options.dataPath, appendfsync: options.appendfsync ?? 'always', extra: options.extraConfig ?? {} }), { mode: 0o600 });
    await chmod(confPath, 0o600);
    const server = new EmbeddedRedisServer(options, binary, {
      setpriv: await findExecutable('setpriv'),
      flock: await findExecutable('flock'),
    });
    heldInProcess.add(options.dataPath);
    try {
      await server.launch();
    } catch (error) {
      heldInProcess.delete(options.dataPath);
      throw error;
    }
    process.on('exit', server.exitHook);
    return server;
  }

  get state(): EmbeddedRedisState { return this.stateValue; }
  get pid(): number | null { return this.current?.child.pid ?? null; }

  status(): EmbeddedRedisStatus {
    const windowMs = this.options.restartWindowMs ?? 60_000;
    const death = this.lastDeath;
    const degraded = this.stateValue === 'running' && death !== null
      && death.error instanceof RedisAofWriteFailedError && Date.now() - death.at < windowMs;
    const state = degraded ? 'degraded' : this.stateValue;
    const shown = this.failure ?? (state === 'degraded' || state === 'restarting' ? death?.error ?? null : null);
    return {
      state,
      pid: this.stateValue === 'running' ? this.pid : null,
      restarts: this.restarts,
      lastError: shown === null ? null : { code: shown.code, message: shown.message },
    };
  }

  /** Called after the supervisor restarted a server that died. */
  onRestart(listener: () => void): void { this.restartListeners.push(listener); }

  /** Called once when the supervisor gives up (state becomes 'failed'). */
  onFailure(listener: (error: KmsError) => void): void { this.failureListeners.push(listener); }

  /** Graceful stop: SHUTDOWN (AOF fsynced), SIGTERM as fallback, SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private isStopping(): boolean { return this.stopping !== null; }

  private async shutdown(): Promise<void> {
    this.stateValue = 'stopped';
    process.removeListener('exit', this.exitHook);
    // A restart in flight sees isStopping() and returns; its server is then `current`.
    await this.restartTask;
    const launch = this.current;
    if (launch !== null && launch.child.exitCode === null && launch.child.signalCode === null) {
      const pid = launch.child.pid ?? -1;
      const reply = await sendCommand({ path: this.socketPath }, ['SHUTDOWN'], { expectClose: true, timeoutMs: STOP_TIMEOUT_MS }).catch(() => undefined);
      if (reply !== null) {
        this.logger.warn({ reply }, 'SHUTDOWN did not close the connection; sending SIGTERM');
        launch.child.kill('SIGTERM');
      }
      const timer = setTimeout(() => launch.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await launch.closed;
      clearTimeout(timer);
      await removeOwner(this.dataPath, pid);
    }
    heldInProcess.delete(this.dataPath);
    this.logger.info('embedded redis-server stopped');
  }

  private spawnChild(): Launch {
    const confPath = join(this.dataPath, REDIS_CONF_FILE);
    const argv: string[] = [];
    if (this.wrappers.setpriv !== null) argv.push(this.wrappers.setpriv, '--pdeathsig', 'SIGTERM');
    if (this.wrappers.flock !== null) argv.push(this.wrappers.flock, '-n', '-F', '-E', String(LOCK_CONFLICT_EXIT), join(this.dataPath, LOCK_FILE));
    argv.push(this.binary, confPath);
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const launch: Launch = {
      child,
      output: '',
      closed: new Promise((resolve) => child.once('close', () => { resolve(); })),
    };
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      launch.output = (launch.output + text).slice(-OUTPUT_KEEP_BYTES);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes(' # ')) this.logger.warn({ redis: line }, 'redis-server');
        else if (line !== '') this.logger.debug({ redis: line }, 'redis-server');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) => { this.logger.error({ err: error }, 'redis-server spawn failed'); });
    return launch;
  }

  /** Starts one redis-server and waits until it is ready, resolving a lock conflict once. */
  private async launch(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Without flock(1) there is no kernel lock: a live server on our socket is the conflict.
      if (this.wrappers.flock === null && (await this.socketAnswers())) {
        if (attempt > 1) throw new DataPathLockedError(this.dataPath, -1, 'a redis-server that would not shut down');
        await this.resolveLockConflict();
        continue;
      }
      const launch = this.spawnChild();
      const { child } = launch;
      const result = await waitUntilReady({ path: this.socketPath }, {
        startTimeoutMs: this.options.startTimeoutMs ?? 30_000,
        hasExited: () => child.exitCode !== null || child.signalCode !== null,
        ...(child.pid === undefined ? {} : { expectedPid: child.pid }),
        onLoading: (loaded, total) => { this.logger.info({ loaded, total }, 'redis-server loading the AOF'); },
      }).catch(async (error: unknown) => {
        child.kill('SIGKILL');
        await launch.closed;
        throw error;
      });
      if (result === 'ready') {
        this.current = launch;
        // Its last words (e.g. an AOF write error) may still be in the pipe at 'exit':
        // wait for 'close', but not forever (a forked rewrite child can hold the pipe).
        const onExit = (): void => {
          void Promise.race([launch.closed, sleep(500)]).then(() => { this.onUnexpectedExit(launch, child.exitCode, child.signalCode); });
        };
        if (child.exitCode !== null || child.signalCode !== null) onExit();
        else child.once('exit', onExit);
        await writeOwner(this.dataPath, { node: await identify(process.pid), redis: await identify(child.pid ?? -1), startedAt: Date.now() });
        this.logger.info({ pid: child.pid }, 'embedded redis-server ready');
        return;
      }
      await launch.closed;
      if (this.wrappers.flock !== null && child.exitCode === LOCK_CONFLICT_EXIT && attempt === 1) {
        await this.resolveLockConflict();
        continue;
      }
      if (child.exitCode === LOCK_CONFLICT_EXIT && this.wrappers.flock !== null) {
        throw new DataPathLockedError(this.dataPath, -1, 'a redis-server that would not shut down');
      }
      throw classifyStartFailure(this.dataPath, launch.output, { code: child.exitCode, signal: child.signalCode });
    }
  }

  private async socketAnswers(): Promise<boolean> {
    const reply = await sendCommand({ path: this.socketPath }, ['PING'], { timeoutMs: 1_000 }).catch(() => null);
    return reply !== null;
  }

  /** The lock is held: refuse if its owner node lives, shut the server down if orphaned. */
  private async resolveLockConflict(): Promise<void> {
    const owner = await readOwner(this.dataPath);
    if (owner === null || !(await isSameProcessAlive(owner.redis)) || !(await isRedisServerProcess(owner.redis.pid))) {
      throw new DataPathLockedError(this.dataPath, owner?.node.pid ?? -1, 'a redis-server this node cannot attribute (no matching owner.json)');
    }
    if (await isSameProcessAlive(owner.node)) {
      const what = owner.node.pid === process.pid ? 'an earlier embedded redis-server of this process that was never stopped' : 'another kms-node process';
      if (owner.node.pid !== process.pid) throw new DataPathLockedError(this.dataPath, owner.node.pid, what);
      this.logger.warn({ pid: owner.redis.pid }, `taking over ${what}`);
    }
    this.logger.warn({ orphanPid: owner.redis.pid, deadNodePid: owner.node.pid }, 'orphaned redis-server holds the data path; shutting it down');
    await sendCommand({ path: this.socketPath }, ['SHUTDOWN'], { expectClose: true, timeoutMs: STOP_TIMEOUT_MS }).catch(() => null);
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (await isSameProcessAlive(owner.redis)) {
      if (Date.now() > deadline) {
        throw new DataPathLockedError(this.dataPath, owner.redis.pid, 'an orphaned redis-server that did not shut down');
      }
      await sleep(50);
    }
  }

  private onUnexpectedExit(launch: Launch, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.isStopping() || this.current !== launch) return;
    const death = classifyDeath(this.dataPath, launch.output, { code, signal });
    this.lastDeath = { error: death, at: Date.now() };
    this.logger.error({ err: death.toJSON(), pid: launch.child.pid }, 'embedded redis-server died unexpectedly; restarting');
    this.restartTask = this.superviseRestart().finally(() => { this.restartTask = null; });
  }

  private async superviseRestart(): Promise<void> {
    this.stateValue = 'restarting';
    const maxRestarts = this.options.maxRestarts ?? 5;
    const windowMs = this.options.restartWindowMs ?? 60_000;
    for (;;) {
      const now = Date.now();
      this.deaths = [...this.deaths.filter((t) => now - t < windowMs), now];
      if (this.deaths.length > maxRestarts) {
        this.fail(new RedisSupervisorGaveUpError(this.dataPath, this.deaths.length - 1, windowMs, this.lastDeath?.error.message ?? 'unknown'));
        return;
      }
      await sleep(Math.min(100 * 2 ** (this.deaths.length - 1), 5_000));
      if (this.isStopping()) return;
      try {
        await this.launch();
      } catch (error) {
        if (error instanceof RedisAofCorruptError || error instanceof DataPathLockedError || error instanceof RedisServerNotFoundError) {
          this.fail(error);
          return;
        }
        this.logger.error({ err: error }, 'restarting redis-server failed; retrying');
        continue;
      }
      if (this.isStopping()) return;
      this.stateValue = 'running';
      this.restarts += 1;
      for (const listener of this.restartListeners) listener();
      return;
    }
  }

  private fail(error: KmsError): void {
    this.stateValue = 'failed';
    this.failure = error;
    this.logger.error({ err: error.toJSON() }, 'embedded redis-server supervisor gave up');
    for (const listener of this.failureListeners) listener(error);
  }
}
