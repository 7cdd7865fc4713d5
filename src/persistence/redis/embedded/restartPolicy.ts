import { backoffDelay, type BackoffPolicy } from '../../../backoff.js';

export interface RestartPolicyOptions {
  /** Quick restarts allowed before the supervisor reports it gave up (it keeps retrying). */
  readonly maxRestarts: number;
  /** A server that stayed up this long wipes the failure count. */
  readonly windowMs: number;
  /** The longest wait between two attempts. */
  readonly maxDelayMs: number;
  /** Unix ms; injectable for tests. */
  readonly now?: () => number;
}

export const DEFAULT_MAX_RESTARTS = 5;
export const DEFAULT_RESTART_WINDOW_MS = 60_000;
/** Issue 11: once the quick restarts are spent, retry at least every 30 s, for as long as it takes. */
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
const FIRST_DELAY_MS = 100;

export interface NextAttempt {
  /** 1-based count of consecutive failures, this one included. */
  readonly failures: number;
  readonly delayMs: number;
  /** More failures in a row than maxRestarts: the supervisor reports 'failed' while it retries. */
  readonly gaveUp: boolean;
}

/**
 * When the supervisor tries again after redis-server died or failed to start. Failures
 * count up until a server has stayed up for a whole window, and the wait before the next
 * attempt is the project's backoff rule (src/backoff.ts) on that count: 100 ms, 200 ms, …
 * capped at maxDelayMs. A server that flaps (starts, then dies on its first write to a
 * full disk) therefore slows down to one attempt per maxDelayMs instead of spinning, and
 * one that is fixed is back within maxDelayMs. There is no final "give up".
 */
export class RestartPolicy {
  private failures = 0;
  private upSince: number | null = null;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;

  constructor(private readonly options: RestartPolicyOptions) {
    this.backoff = { initialMs: Math.min(FIRST_DELAY_MS, options.maxDelayMs), maxMs: options.maxDelayMs };
    this.now = options.now ?? Date.now;
  }

  /** A server became ready. */
  started(): void {
    this.upSince = this.now();
  }

  /**
   * A server died or an attempt failed. `hopeless` failures (a damaged AOF, a missing
   * binary) will not cure themselves within quick restarts: they count as the budget spent.
   */
  failed(options: { readonly hopeless?: boolean } = {}): NextAttempt {
    if (this.upSince !== null && this.now() - this.upSince >= this.options.windowMs) this.failures = 0;
    this.upSince = null;
    this.failures = options.hopeless === true ? Math.max(this.failures, this.options.maxRestarts) + 1 : this.failures + 1;
    return { failures: this.failures, delayMs: backoffDelay(this.backoff, this.failures), gaveUp: this.failures > this.options.maxRestarts };
  }
}
