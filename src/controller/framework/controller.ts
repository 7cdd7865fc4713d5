import { describeError } from '../../logging/describeError.js';
import type { Logger } from '../../logging/logger.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';
import { backoffDelay } from '../../backoff.js';
import { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_DELAY_MS, WorkQueue } from './workQueue.js';

/**
 * The controller loop, cert-manager style: a source (an informer) turns watch events
 * into keys, a per-key queue hands each key to one worker at a time, and the only
 * thing a concrete controller writes is processItem(key). Failures come back with
 * backoff; a source that dies is restarted with the same backoff; every key the source
 * knows is re-queued each resync period so drift outside the API server is seen.
 */

/** What one pass over a key asks for besides success: an explicit, earlier revisit. */
export interface ProcessResult {
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  /** One reconcile pass. Throwing re-queues the key with backoff. */
  processItem(key: string): Promise<ProcessResult | undefined>;
}

export interface SourceHandlers {
  enqueue(key: string): void;
  /** The source connected (listed) successfully: restart backoff resets. */
  onConnect(): void;
  /** The source stopped on an error and will not continue on its own. */
  onError(error: unknown): void;
}

/** An informer: delivers keys for changed objects and lists the keys it holds. */
export interface KeySource {
  start(handlers: SourceHandlers): Promise<void>;
  stop(): Promise<void>;
  keys(): readonly string[];
}

export interface ControllerOptions {
  readonly name: string;
  readonly source: KeySource;
  readonly reconciler: Reconciler;
  readonly logger: Logger;
  readonly timers?: Timers;
  /** Default 30 s. */
  readonly resyncPeriodMs?: number;
  /** Default 1 s, doubling to maxDelayMs. Applies to item retries and source restarts. */
  readonly baseDelayMs?: number;
  /** Default 5 min. */
  readonly maxDelayMs?: number;
  /** Default 1. */
  readonly workers?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly resyncPeriodMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private sourceFailures = 0;
  private sourceRestart: TimerHandle | null = null;
  private resyncTimer: TimerHandle | null = null;
  private workers: Promise<void>[] = [];
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger.child({ controller: options.name });
    this.resyncPeriodMs = options.resyncPeriodMs ?? 30_000;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.queue = new WorkQueue({ timers: this.timers, baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs });
  }

  /** Starts the source, the resync timer and the workers; returns at once. */
  run(): void {
    this.startSource();
    this.scheduleResync();
    const count = this.options.workers ?? 1;
    for (let i = 0; i < count; i++) this.workers.push(this.work());
  }

  /** Stops the source and the timers, lets in-flight items finish, then resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sourceRestart !== null) this.timers.clearTimeout(this.sourceRestart);
    if (this.resyncTimer !== null) this.timers.clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    await this.options.source.stop();
    await Promise.all(this.workers);
  }

  /**
   * Queues `key` on a trigger from outside the source (controller-runtime's channel
   * source), e.g. the node's own status changing. Only a key the source holds is queued:
   * an object the informer does not have (not listed yet, or deleted) is never
   * reconciled on such a trigger, where a pass would read its absence as a deletion.
   * The queue's dedupe is the debounce: a burst while the key waits or is in flight
   * makes one more pass, not one per trigger. Returns whether the key was queued.
   */
  enqueueKnown(key: string): boolean {
    if (this.stopped || !this.options.source.keys().includes(key)) return false;
    this.queue.add(key);
    return true;
  }

  private startSource(): void {
    const handlers: SourceHandlers = {
      enqueue: (key) => { this.queue.add(key); },
      onConnect: () => { this.sourceFailures = 0; },
      onError: (error) => { this.restartSource(error); },
    };
    this.options.source.start(handlers).catch((error: unknown) => { this.restartSource(error); });
  }

  private restartSource(error: unknown): void {
    if (this.stopped || this.sourceRestart !== null) return;
    this.sourceFailures += 1;
    const delay = backoffDelay({ initialMs: this.baseDelayMs, maxMs: this.maxDelayMs }, this.sourceFailures);
    this.logger.warn({ err: describeError(error), retryInMs: delay }, 'informer stopped on an error; restarting');
    this.sourceRestart = this.timers.setTimeout(() => {
      this.sourceRestart = null;
      if (this.stopped) return;
      void this.options.source.stop().then(() => { if (!this.stopped) this.startSource(); });
    }, delay);
  }

  private scheduleResync(): void {
    this.resyncTimer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      for (const key of this.options.source.keys()) this.queue.add(key);
      this.scheduleResync();
    }, this.resyncPeriodMs);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === null) return;
      await this.processOne(key);
    }
  }

  private async processOne(key: string): Promise<void> {
    try {
      const result = await this.options.reconciler.processItem(key);
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const delay = this.queue.addRateLimited(key);
      this.logger.warn({ key, err: describeError(error), retryInMs: delay }, 'reconcile failed; retrying with backoff');
    } finally {
      this.queue.done(key);
    }
  }
}
