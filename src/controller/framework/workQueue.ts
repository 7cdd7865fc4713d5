import { backoffDelay } from '../../backoff.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

/**
 * A per-key work queue in the client-go shape: a key is queued at most once (dedupe),
 * is handed to at most one worker at a time (a key added while in flight is queued
 * again when that worker calls done), and failed keys come back after an exponential
 * backoff that resets on forget.
 */
export interface WorkQueueOptions {
  /** First retry delay; doubles per consecutive failure. Default 1 s. */
  readonly baseDelayMs?: number;
  /** Cap on the retry delay. Default 5 min. */
  readonly maxDelayMs?: number;
  readonly timers?: Timers;
}

export const DEFAULT_BASE_DELAY_MS = 1_000;
export const DEFAULT_MAX_DELAY_MS = 5 * 60_000;


export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: TimerHandle }>();
  private readonly waiters: ((key: string | null) => void)[] = [];
  private readonly timers: Timers;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.timers = options.timers ?? systemTimers;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  }

  /** Queues `key` unless it is already waiting; a key in flight is re-queued on done(). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.timers.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.timers.clearTimeout(pending.handle);
    }
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, handle });
  }

  /** Counts one more failure for `key` and re-adds it after the backoff; returns the delay. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelay({ initialMs: this.baseDelayMs, maxMs: this.maxDelayMs }, failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of `key`: the next failure starts at the base delay again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key and marks it in flight; resolves null once shut down and drained. */
  get(): Promise<string | null> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.begin(key));
    if (this.shuttingDown) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends the in-flight work on `key`; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  /** Keys waiting (not in flight, not delayed). */
  len(): number {
    return this.queue.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  /** Stops accepting keys, cancels delayed adds and releases idle workers with null. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(null);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(this.begin(key));
    else this.queue.push(key);
  }

  private begin(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
