import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../logging/logger.js';
import { backoffDelay } from '../../../backoff.js';
import { isKmsError, type KmsError } from '../../../errors.js';
import { ensureDataPath } from '../../dataPath.js';
import { PersistenceUnavailableError } from '../../errors.js';
import { findExecutable, resolveExecutable } from './binary.js';
import {
  DataPathLockedError,
  RedisAofCorruptError,
  RedisAofWriteFailedError,
  RedisServerNotFoundError,
  RedisStartFailedError,
  RedisSupervisorGaveUpError,
} from './errors.js';
import { resolveLockConflict } from './lockConflict.js';
import { identify, LOCK_FILE, removeOwner, writeOwner } from './ownership.js';
import { waitUntilReady } from './readiness.js';
import { MAX_SOCKET_PATH_BYTES, REDIS_CONF_FILE, renderRedisConfig, socketPathFor } from './redisConfig.js';
import { sendCommand } from './respProbe.js';
import {
  DEFAULT_MAX_RESTARTS, DEFAULT_RESTART_WINDOW_MS, DEFAULT_RETRY_MAX_DELAY_MS, RestartPolicy,
} from './restartPolicy.js';
import { classifyDeath, classifyStartFailure } from './startFailure.js';

export interface EmbeddedRedisOptions {
  readonly dataPath: string;
  /** A name looked up on PATH or a path; default 'redis-server'. */
  readonly redisServerBinary?: string;
  readonly logger: Logger;
  readonly appendfsync?: 'always' | 'everysec';
  /** How long start-up may show no progress (AOF loading counts as progress). Default 30 s. */
  readonly startTimeoutMs?: number;
  /**
   * Quick restarts before status() reports 'failed' (default 5); a server that stays up
   * restartWindowMs (default 60 s) resets the count. See restartPolicy.ts.
   */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  /** The longest wait between restart attempts, also after giving up (default 30 s). */
  readonly retryMaxDelayMs?: number;
  /** Extra redis.conf settings (tuning, test hooks); durability settings are refused. */
  readonly extraConfig?: Readonly<Record<string, string>>;
  /** Called each time a redis-server process has been spawned (before it is ready). */
  readonly onSpawned?: () => void;
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
  /** Why it is 'failed' (still retrying), or the last death ('restarting', 'degraded'). */
  readonly lastError: { readonly code: string; readonly message: string } | null;
}

/** Exit code flock(1) uses when the data path's lock is held (see ownership.ts). */
const LOCK_CONFLICT_EXIT = 75;
const OUTPUT_KEEP_BYTES = 64 * 1024;
const STOP_TIMEOUT_MS = 15_000;

/** Data paths with a live EmbeddedRedisServer in this process. */
const heldInProcess = new Set<string>();

interface Launch {
  readonly child: ChildProcess;
  output: string;
  readonly closed: Promise<void>;
  /** Resolves at redis-server's "ready to accept connections" line (readiness is still probed). */
  readonly saysReady: Promise<void>;
}

/**
 * Runs and supervises the node's own redis-server, with its AOF in the data path (see
 * redisConfig.ts for the configuration and why). Start-up waits through AOF loading;
 * a damaged AOF becomes RedisAofCorruptError, never a silent repair. If the server dies,
 * it is restarted on the backoff of restartPolicy.ts; after maxRestarts failures in a
 * row, or when the AOF turned out damaged on restart, the state is 'failed', but the
 * supervisor keeps retrying (at least every retryMaxDelayMs) and is 'running' again by
 * itself once the cause (a full disk, an immutable AOF, a damaged AOF) is gone.
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
  private readonly policy: RestartPolicy;
  private readonly stopSignal = new AbortController();
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
    this.policy = new RestartPolicy({
      maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
      windowMs: options.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS,
      maxDelayMs: this.retryMaxDelayMs,
    });
  }

  private get retryMaxDelayMs(): number { return this.options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS; }

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
      throw new DataPathLockedError(options.dataPath, 'another embedded redis-server of this same process', { nodePid: null, redisPid: null });
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
    const windowMs = this.options.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS;
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

  /** Called each time the state becomes 'failed' (the supervisor keeps retrying). */
  onFailure(listener: (error: KmsError) => void): void { this.failureListeners.push(listener); }

  /** Graceful stop: SHUTDOWN (AOF fsynced), SIGTERM as fallback, SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private isStopping(): boolean { return this.stopping !== null; }

  private async shutdown(): Promise<void> {
    this.stateValue = 'stopped';
    this.stopSignal.abort();
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
    // Two redis-servers on one AOF corrupt it: never start one while ours still runs.
    const running = this.current?.child;
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      throw new DataPathLockedError(this.dataPath, 'this node\'s own redis-server, which is still running', { nodePid: null, redisPid: running.pid ?? null });
    }
    const confPath = join(this.dataPath, REDIS_CONF_FILE);
    const argv: string[] = [];
    if (this.wrappers.setpriv !== null) argv.push(this.wrappers.setpriv, '--pdeathsig', 'SIGTERM');
    if (this.wrappers.flock !== null) argv.push(this.wrappers.flock, '-n', '-F', '-E', String(LOCK_CONFLICT_EXIT), join(this.dataPath, LOCK_FILE));
    argv.push(this.binary, confPath);
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.options.onSpawned?.();
    let saidReady: () => void = () => undefined;
    const launch: Launch = {
      child,
      output: '',
      closed: new Promise((resolve) => child.once('close', () => { resolve(); })),
      saysReady: new Promise((resolve) => { saidReady = resolve; }),
    };
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      launch.output = (launch.output + text).slice(-OUTPUT_KEEP_BYTES);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        // "Ready to accept connections" (TCP), "…is now ready to accept connections at <socket>" (unix socket).
        if (/ready to accept connections/i.test(line)) saidReady();
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
        if (attempt > 1) throw new DataPathLockedError(this.dataPath, 'a redis-server that would not shut down', { nodePid: null, redisPid: null });
        await resolveLockConflict(this.dataPath, this.socketPath, this.logger);
        continue;
      }
      const launch = this.spawnChild();
      const { child } = launch;
      const result = await waitUntilReady({ path: this.socketPath }, {
        startTimeoutMs: this.options.startTimeoutMs ?? 30_000,
        hasExited: () => child.exitCode !== null || child.signalCode !== null,
        ...(child.pid === undefined ? {} : { expectedPid: child.pid }),
        readySignal: launch.saysReady,
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
        this.policy.started();
        this.logger.info({ pid: child.pid }, 'embedded redis-server ready');
        // The server is up and serving: a failure to write owner.json from here on must
        // not fail the launch (a retry would start a second server on the same AOF).
        if (!(await this.recordOwner(launch, 1))) void this.retryOwnerRecord(launch);
        return;
      }
      await launch.closed;
      if (this.wrappers.flock !== null && child.exitCode === LOCK_CONFLICT_EXIT && attempt === 1) {
        await resolveLockConflict(this.dataPath, this.socketPath, this.logger);
        continue;
      }
      if (child.exitCode === LOCK_CONFLICT_EXIT && this.wrappers.flock !== null) {
        throw new DataPathLockedError(this.dataPath, 'a redis-server that would not shut down', { nodePid: null, redisPid: null });
      }
      throw classifyStartFailure(this.dataPath, launch.output, { code: child.exitCode, signal: child.signalCode });
    }
  }

  private async socketAnswers(): Promise<boolean> {
    const reply = await sendCommand({ path: this.socketPath }, ['PING'], { timeoutMs: 1_000 }).catch(() => null);
    return reply !== null;
  }

  /** Writes owner.json for a ready server; false (logged) when it could not. */
  private async recordOwner(launch: Launch, attempt: number): Promise<boolean> {
    try {
      await writeOwner(this.dataPath, { node: await identify(process.pid), redis: await identify(launch.child.pid ?? -1), startedAt: Date.now() });
      if (attempt > 1) this.logger.info({ attempt }, 'owner record written');
      return true;
    } catch (error) {
      if (attempt === 1) {
        this.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'could not write owner.json (it only explains a lock conflict to a later start); the server keeps running and the record is retried',
        );
      }
      return false;
    }
  }

  private async retryOwnerRecord(launch: Launch): Promise<void> {
    for (let attempt = 2; ; attempt++) {
      const waited = await sleep(backoffDelay({ initialMs: 1_000, maxMs: this.retryMaxDelayMs }, attempt - 1), true, { signal: this.stopSignal.signal }).catch(() => false);
      if (!waited || this.current !== launch || launch.child.exitCode !== null || launch.child.signalCode !== null) return;
      if (await this.recordOwner(launch, attempt)) return;
    }
  }

  private onUnexpectedExit(launch: Launch, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.isStopping() || this.current !== launch) return;
    const death = classifyDeath(this.dataPath, launch.output, { code, signal });
    this.lastDeath = { error: death, at: Date.now() };
    this.logger.error({ err: death.toJSON(), pid: launch.child.pid }, 'embedded redis-server died unexpectedly; restarting');
    this.restartTask = this.superviseRestart(death).finally(() => { this.restartTask = null; });
  }

  /** Retries until a server is ready or the node stops; never gives up for good. */
  private async superviseRestart(death: KmsError): Promise<void> {
    let failure = death;
    let hopeless = false;
    for (;;) {
      const next = this.policy.failed({ hopeless });
      if (next.gaveUp) this.markFailed(hopeless ? failure : new RedisSupervisorGaveUpError(this.dataPath, next.failures, this.retryMaxDelayMs, failure.message));
      else if (this.stateValue !== 'failed') this.stateValue = 'restarting';
      if (this.stateValue === 'failed') this.logger.warn({ inMs: next.delayMs, failures: next.failures }, 'redis-server restart attempt scheduled');
      const waited = await sleep(next.delayMs, true, { signal: this.stopSignal.signal }).catch(() => false);
      if (!waited || this.isStopping()) return;
      try {
        await this.launch();
      } catch (error) {
        failure = isKmsError(error) ? error : new PersistenceUnavailableError('restart redis-server', error);
        // These will not cure themselves within quick restarts; the slow retries still catch the fix.
        hopeless = error instanceof RedisAofCorruptError || error instanceof DataPathLockedError || error instanceof RedisServerNotFoundError;
        this.logger.error({ err: failure.toJSON() }, 'restarting redis-server failed; retrying');
        continue;
      }
      if (this.isStopping()) return;
      const recovered = this.stateValue === 'failed';
      this.stateValue = 'running';
      this.failure = null;
      this.restarts += 1;
      if (recovered) this.logger.warn({ pid: this.pid, restarts: this.restarts }, 'embedded redis-server recovered: running again after quick restarts had been given up');
      for (const listener of this.restartListeners) listener();
      return;
    }
  }

  /** Reports 'failed' with why; listeners hear the transition, not every retry. */
  private markFailed(error: KmsError): void {
    const entering = this.stateValue !== 'failed';
    this.stateValue = 'failed';
    this.failure = error;
    if (!entering) return;
    this.logger.error({ err: error.toJSON() }, `embedded redis-server supervisor gave up quick restarts; retrying at least every ${this.retryMaxDelayMs / 1000} s`);
    for (const listener of this.failureListeners) listener(error);
  }
}
