/**
 * Polls the chain head and turns it into boundary events. One event is handled at a
 * time; while the handler runs, newer boundaries replace the waiting one (latest wins),
 * so nothing queues without bound and the newest boundary is never dropped. After
 * downtime only the latest boundary is emitted (see boundary.ts).
 *
 * The session id is the boundary block's own timestamp, read from that block, so every
 * node derives the same id whatever head it happened to see.
 */
import { backoffDelay } from '../backoff.js';
import type { Hash, PublicClient } from 'viem';
import { silentLogger, type Logger } from '../logging/logger.js';
import { decideBoundary } from './boundary.js';
import { ChainConfigError, ChainRpcError } from './errors.js';

/** A boundary to act on. */
export interface BoundaryEvent {
  readonly blockNumber: bigint;
  /** The boundary block's timestamp (Unix seconds): the session id. */
  readonly blockTimestamp: number;
  readonly blockHash: Hash;
  /** Newer-than-last boundaries passed over in favour of this one (downtime). */
  readonly skippedBoundaries: bigint;
}

/** What the source needs from a viem public client. */
export type BlockReader = Pick<PublicClient, 'getBlockNumber' | 'getBlock'>;

/** Receives boundaries one at a time; `signal` aborts when the source stops. */
export type BoundaryHandler = (event: BoundaryEvent, signal: AbortSignal) => Promise<void> | void;

export interface BlockSourceOptions {
  readonly client: BlockReader;
  readonly boundaryInterval: number;
  readonly pollIntervalMs: number;
  readonly onBoundary: BoundaryHandler;
  /** Blocks a boundary must be buried under (default 0). */
  readonly confirmations?: number;
  /**
   * Skip a boundary first seen more than this many blocks below the head, e.g. on a
   * fresh start mid-interval (see boundary.ts). Default: none, act on the latest.
   */
  readonly maxLagBlocks?: number;
  /** The last boundary already acted on, e.g. from NodeState (default 0n = none). */
  readonly lastProcessedBoundary?: bigint;
  /** Backoff after RPC failures: initialMs doubled per consecutive failure, capped at maxMs. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly logger?: Logger;
  /** Unix milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Waits `ms` or until `signal` aborts (never rejects); injectable for tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Health facts for /health and the controller. */
export interface BlockSourceHealth {
  readonly running: boolean;
  readonly lastHead: bigint | null;
  /** Unix ms of the last successful head read. */
  readonly lastHeadAt: number | null;
  readonly lastBoundary: bigint;
  readonly handlerBusy: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: { readonly code: string; readonly reason: string; readonly at: number } | null;
}

export type PollResult =
  | { readonly ok: true; readonly event: BoundaryEvent | null }
  | { readonly ok: false; readonly error: ChainRpcError };

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };

/** See the module comment. `start()` begins polling; `stop()` ends it and waits. */
export class BlockSource {
  private readonly options: BlockSourceOptions;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  private lastBoundary: bigint;
  private highestHead: bigint | null = null;
  private lastHeadAt: number | null = null;
  private consecutiveFailures = 0;
  private lastError: BlockSourceHealth['lastError'] = null;
  private headBehind = false;

  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private pending: BoundaryEvent | null = null;
  private draining: Promise<void> | null = null;

  constructor(options: BlockSourceOptions) {
    positive('pollIntervalMs', options.pollIntervalMs);
    positive('boundaryInterval', options.boundaryInterval);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    positive('backoff.initialMs', this.backoff.initialMs);
    positive('backoff.maxMs', this.backoff.maxMs);
    if (this.backoff.maxMs < this.backoff.initialMs) throw new ChainConfigError('backoff.maxMs', this.backoff.maxMs, `integer ≥ backoff.initialMs (${this.backoff.initialMs})`);
    // Checked here so pollOnce() (and the loop) can never throw on configuration.
    nonNegative('confirmations', options.confirmations ?? 0);
    if (options.maxLagBlocks !== undefined) nonNegative('maxLagBlocks', options.maxLagBlocks);
    if ((options.lastProcessedBoundary ?? 0n) < 0n) {
      throw new ChainConfigError('lastProcessedBoundary', options.lastProcessedBoundary ?? 0n, 'non-negative block number');
    }
    this.options = options;
    this.lastBoundary = options.lastProcessedBoundary ?? 0n;
    this.logger = (options.logger ?? silentLogger()).child({ module: 'chain.blockSource' });
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** Starts polling (idempotent). A boundary left waiting by stop() is delivered first. */
  start(): void {
    if (this.loop !== null) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
    this.kick();
  }

  /** Stops polling, aborts the running handler's signal and waits for both to finish. */
  async stop(): Promise<void> {
    if (this.controller === null) return;
    this.controller.abort();
    await this.loop;
    await this.draining;
    this.controller = null;
    this.loop = null;
  }

  health(): BlockSourceHealth {
    return {
      running: this.loop !== null,
      lastHead: this.highestHead,
      lastHeadAt: this.lastHeadAt,
      lastBoundary: this.lastBoundary,
      handlerBusy: this.draining !== null,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
    };
  }

  /**
   * One poll: read the head, decide, read the boundary block, hand the event on.
   * Never throws; failures are recorded in health() and returned.
   */
  async pollOnce(): Promise<PollResult> {
    let head: bigint;
    try {
      head = await this.options.client.getBlockNumber({ cacheTime: 0 });
    } catch (error: unknown) {
      return this.failed('eth_blockNumber', error);
    }
    const decision = decideBoundary({
      lastProcessedBoundary: this.lastBoundary,
      head,
      ...(this.highestHead === null ? {} : { previousHead: this.highestHead }),
      interval: this.options.boundaryInterval,
      ...(this.options.confirmations === undefined ? {} : { confirmations: this.options.confirmations }),
      ...(this.options.maxLagBlocks === undefined ? {} : { maxLagBlocks: this.options.maxLagBlocks }),
    });
    this.lastHeadAt = this.now();
    if (!decision.act && decision.reason === 'head-went-backwards') {
      // A reorg or a lagging load-balanced RPC node; the higher head stays authoritative.
      // Warn once per episode: a reset devnet would otherwise warn on every poll.
      if (!this.headBehind) this.logger.warn({ head, highestHead: this.highestHead }, 'chain head went backwards; ignored');
      this.headBehind = true;
      return this.succeeded(null);
    }
    this.headBehind = false;
    this.highestHead = head;
    if (!decision.act) return this.succeeded(null);

    let event: BoundaryEvent;
    try {
      const block = await this.options.client.getBlock({ blockNumber: decision.boundary });
      event = {
        blockNumber: decision.boundary,
        blockTimestamp: Number(block.timestamp),
        blockHash: block.hash,
        skippedBoundaries: decision.skipped,
      };
    } catch (error: unknown) {
      return this.failed('eth_getBlockByNumber', error);
    }
    // Re-check: a concurrent poll may have emitted this or a newer boundary meanwhile.
    if (event.blockNumber <= this.lastBoundary) return this.succeeded(null);
    this.lastBoundary = event.blockNumber;
    if (event.skippedBoundaries > 0n) {
      this.logger.warn(
        { boundary: event.blockNumber, skipped: event.skippedBoundaries },
        'acting on the latest boundary only; older missed boundaries are skipped',
      );
    }
    this.logger.info({ boundary: event.blockNumber, sessionTimestamp: event.blockTimestamp }, 'boundary');
    this.pending = event;
    this.kick();
    return this.succeeded(event);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const result = await this.pollOnce();
      // Resolves at once when stop() aborted during the poll.
      await this.sleep(result.ok ? this.options.pollIntervalMs : this.backoffDelay(), signal);
    }
  }

  private backoffDelay(): number {
    return backoffDelay({ initialMs: this.backoff.initialMs, maxMs: this.backoff.maxMs }, this.consecutiveFailures);
  }

  /** Starts delivering the waiting event unless a delivery is under way or we are stopped. */
  private kick(): void {
    const signal = this.controller?.signal;
    if (this.draining !== null || this.pending === null || signal === undefined || signal.aborted) return;
    // The re-kick picks up an event that arrived after drain()'s last check but before
    // this callback cleared the busy marker.
    this.draining = this.drain(signal).finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  private async drain(signal: AbortSignal): Promise<void> {
    for (let event = this.takePending(); event !== null; event = this.takePending()) {
      if (signal.aborted) {
        this.pending = event; // delivered after the next start()
        return;
      }
      try {
        await this.options.onBoundary(event, signal);
      } catch (error: unknown) {
        // The handler owns its retries; one failed boundary must not stop the source.
        this.logger.error({ err: error, boundary: event.blockNumber }, 'boundary handler failed');
      }
    }
  }

  private takePending(): BoundaryEvent | null {
    const event = this.pending;
    this.pending = null;
    return event;
  }

  private succeeded(event: BoundaryEvent | null): PollResult {
    if (this.consecutiveFailures > 0) {
      this.logger.info({ failures: this.consecutiveFailures }, 'chain RPC recovered');
    }
    this.consecutiveFailures = 0;
    return { ok: true, event };
  }

  private failed(operation: string, cause: unknown): PollResult {
    this.consecutiveFailures += 1;
    const reason = describeRpcError(cause);
    const error = new ChainRpcError(operation, { cause, details: { reason } });
    this.lastError = { code: error.code, reason: `${operation}: ${reason}`, at: this.now() };
    this.logger.warn(
      { code: error.code, operation, reason, failures: this.consecutiveFailures, retryInMs: this.backoffDelay() },
      'chain RPC failed; retrying with backoff',
    );
    return { ok: false, error };
  }
}

/**
 * A one-line reason without the RPC URL: viem's shortMessage leaves out the URL
 * (which often embeds an API key) that its full message includes.
 */
export function describeRpcError(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const short = (error as { shortMessage?: unknown }).shortMessage;
    if (typeof short === 'string' && short !== '') return short;
    if (error instanceof Error) return error.name;
  }
  return 'unknown error';
}

function positive(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ChainConfigError(field, value, 'positive integer');
}

function nonNegative(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new ChainConfigError(field, value, 'non-negative integer');
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
