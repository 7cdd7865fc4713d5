/**
 * A fixed set of worker threads that run the node's heavy crypto (cryptoTasks.ts): the
 * partial signatures of POST /app/sign and the share verifications of a round, so they
 * use every core instead of blocking the one event loop that serves HTTP.
 *
 * Back-pressure: serving tasks wait in a queue of at most `queueLimit`; one more is
 * refused at once with CryptoPoolBusyError (503 + Retry-After), so a flood costs a
 * bounded amount of memory. Protocol tasks (a round's verifications) bypass that bound
 * and run before any queued serving task: a busy API must not make a round time out,
 * and their number is bounded by the protocol's own inbox limits.
 *
 * Why a share may be posted to a worker: postMessage structured-clones the bigint into
 * another heap of this same process. It never leaves process memory (no socket, file or
 * pipe), and it is no more exposed there than in the KeyStore that already holds it. The
 * worker keeps nothing between tasks, and neither side logs a task (only its kind,
 * thread and exit code).
 *
 * A worker that dies (out of memory, a crash in native code) fails the task it held with
 * CryptoWorkerCrashedError, never silently; it is counted, logged and replaced (after a
 * backoff when replacements keep dying), and the queue moves on.
 */
import type { Worker } from 'node:worker_threads';
import type { Counter, Gauge } from 'prom-client';
import { backoffDelay } from '../../backoff.js';
import type { Logger } from '../../logging/logger.js';
import { NodeNotReadyError } from '../errors.js';
import type { CryptoTask, ResultOf } from './cryptoTasks.js';
import { CryptoPoolBusyError, CryptoWorkerCrashedError, errorFromWorker } from './errors.js';
import { spawnCryptoWorker } from './spawnWorker.js';
import type { WorkerReply, WorkerRequest } from './workerMessages.js';

export type CryptoLane = 'serving' | 'protocol';

/** The pool's Prometheus instruments (defined in metrics.ts). */
export interface CryptoPoolMetrics {
  readonly queueDepth: Gauge;
  readonly busyWorkers: Gauge;
  readonly workers: Gauge;
  readonly rejections: Counter;
  readonly crashes: Counter;
}

export interface CryptoPoolOptions {
  /** Worker threads, ≥ 1. */
  readonly size: number;
  /** Serving tasks that may wait for a worker; more are refused (CryptoPoolBusyError). */
  readonly queueLimit: number;
  readonly logger: Logger;
  readonly metrics?: CryptoPoolMetrics;
  /** Starts one worker thread (default: the crypto worker; tests wrap it to reach the threads). */
  readonly spawn?: () => Worker;
}

interface Job {
  readonly task: CryptoTask;
  readonly resolve: (result: never) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | null;
  job: Job | null;
  jobId: number;
  startedAt: number;
  /** Deaths since this slot last finished a task: sets the replacement's delay. */
  crashes: number;
  respawn: NodeJS.Timeout | null;
}

const RESPAWN_BACKOFF = { initialMs: 100, maxMs: 10_000 } as const;

export class CryptoPool {
  private readonly slots: Slot[] = [];
  private readonly protocolQueue: Job[] = [];
  private readonly servingQueue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private started = false;
  /** Moving average of a task's run time, ms: sets Retry-After. */
  private averageTaskMs = 10;
  private readonly log: Logger;
  private readonly spawn: () => Worker;

  constructor(private readonly options: CryptoPoolOptions) {
    if (!Number.isSafeInteger(options.size) || options.size < 1) throw new RangeError(`CryptoPool: size must be a whole number ≥ 1; got ${options.size}`);
    if (!Number.isSafeInteger(options.queueLimit) || options.queueLimit < 0) throw new RangeError(`CryptoPool: queueLimit must be a whole number ≥ 0; got ${options.queueLimit}`);
    this.log = options.logger.child({ module: 'crypto-pool' });
    this.spawn = options.spawn ?? spawnCryptoWorker;
  }

  get size(): number {
    return this.options.size;
  }

  /** Starts the worker threads now rather than at the first task (they take a moment to load). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.options.size; i++) {
      const slot: Slot = { worker: null, job: null, jobId: 0, startedAt: 0, crashes: 0, respawn: null };
      this.slots.push(slot);
      this.startWorker(slot);
    }
    this.options.metrics?.workers.set(this.options.size);
  }

  /** Runs `task` on a worker; rejects with CryptoPoolBusyError when a serving task finds the queue full. */
  run<T extends CryptoTask>(task: T, lane: CryptoLane): Promise<ResultOf<T>> {
    if (this.closed) return Promise.reject(new NodeNotReadyError('the crypto worker pool is closed: the node is stopping'));
    this.start();
    if (lane === 'serving' && this.idleSlot() === undefined && this.servingQueue.length >= this.options.queueLimit) {
      this.options.metrics?.rejections.inc();
      return Promise.reject(new CryptoPoolBusyError(this.servingQueue.length, this.options.size, this.retryAfterSeconds()));
    }
    return new Promise<ResultOf<T>>((resolve, reject) => {
      (lane === 'protocol' ? this.protocolQueue : this.servingQueue).push({ task, resolve: resolve, reject });
      this.dispatch();
    });
  }

  /** Refuses new tasks, fails the queued and running ones, and ends every thread. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopping = new NodeNotReadyError('the crypto worker pool is closed: the node is stopping');
    for (const job of [...this.protocolQueue.splice(0), ...this.servingQueue.splice(0)]) job.reject(stopping);
    const exits: Promise<number>[] = [];
    for (const slot of this.slots) {
      if (slot.respawn !== null) clearTimeout(slot.respawn);
      slot.job?.reject(stopping);
      slot.job = null;
      if (slot.worker !== null) exits.push(slot.worker.terminate());
      slot.worker = null;
    }
    await Promise.allSettled(exits);
    this.report();
  }

  private startWorker(slot: Slot): void {
    slot.respawn = null;
    if (this.closed) return;
    const worker = this.spawn();
    slot.worker = worker;
    worker.on('message', (reply: WorkerReply) => { this.onReply(slot, worker, reply); });
    // 'error' is followed by 'exit'; the task is failed there, once.
    worker.on('error', (error) => { this.log.error({ threadId: worker.threadId, err: { name: error.name, message: error.message } }, 'crypto worker failed'); });
    worker.on('exit', (exitCode) => { this.onExit(slot, worker, exitCode); });
    this.dispatch();
  }

  private onReply(slot: Slot, worker: Worker, reply: WorkerReply): void {
    const job = slot.job;
    if (slot.worker !== worker || job === null || reply.id !== slot.jobId) return;
    slot.job = null;
    slot.crashes = 0;
    this.averageTaskMs = 0.9 * this.averageTaskMs + 0.1 * (performance.now() - slot.startedAt);
    if (reply.ok) job.resolve(reply.result as never);
    else job.reject(errorFromWorker(reply.code, reply.message));
    this.dispatch();
  }

  private onExit(slot: Slot, worker: Worker, exitCode: number): void {
    if (slot.worker !== worker || this.closed) return;
    slot.worker = null;
    slot.crashes++;
    const job = slot.job;
    slot.job = null;
    this.options.metrics?.crashes.inc();
    const delayMs = backoffDelay(RESPAWN_BACKOFF, slot.crashes - 1);
    this.log.error({ threadId: worker.threadId, exitCode, lostTask: job?.task.kind ?? null, respawnInMs: delayMs }, 'crypto worker exited; replacing it');
    job?.reject(new CryptoWorkerCrashedError(1, exitCode));
    if (delayMs === 0) this.startWorker(slot);
    else slot.respawn = setTimeout(() => { this.startWorker(slot); }, delayMs);
    this.report();
  }

  private dispatch(): void {
    for (let slot = this.idleSlot(); slot !== undefined; slot = this.idleSlot()) {
      const job = this.protocolQueue.shift() ?? this.servingQueue.shift();
      if (job === undefined) break;
      const worker = slot.worker;
      if (worker === null) break;
      slot.job = job;
      slot.jobId = this.nextId++;
      slot.startedAt = performance.now();
      const request: WorkerRequest = { id: slot.jobId, task: job.task };
      worker.postMessage(request);
    }
    this.report();
  }

  private idleSlot(): Slot | undefined {
    return this.slots.find((s) => s.worker !== null && s.job === null);
  }

  /** Time for the work ahead of a new request to drain, at least 1 s. */
  private retryAfterSeconds(): number {
    const ahead = this.servingQueue.length + this.protocolQueue.length + this.options.size;
    return Math.max(1, Math.ceil((ahead * this.averageTaskMs) / this.options.size / 1000));
  }

  private report(): void {
    const metrics = this.options.metrics;
    if (metrics === undefined) return;
    metrics.queueDepth.set(this.protocolQueue.length + this.servingQueue.length);
    metrics.busyWorkers.set(this.slots.filter((s) => s.job !== null).length);
    metrics.workers.set(this.closed ? 0 : this.slots.filter((s) => s.worker !== null).length);
  }
}
