/**
 * Where the node's heavy crypto runs: on the worker pool, or in process (`--crypto-workers
 * 0`, and the default of nodes built without one, e.g. in unit tests). Both give the same
 * bytes; only the thread differs.
 */
import { assertAppId, encodeG1, findInvalidDeals, hashToG1, partialSignHashed, type G1Point } from '../../crypto/index.js';
import type { Logger } from '../../logging/logger.js';
import { CryptoPool, type CryptoPoolMetrics } from './cryptoPool.js';
import type { DealChecks } from '../../protocol/index.js';
import { dealVerificationTask, fromAffineG1, partialSignTask, type PartialSignResult } from './cryptoTasks.js';

export interface SignedPartial {
  /** The compressed partial signature, 48 bytes. */
  readonly signature: Uint8Array;
  /** H1(appId), for the caller's cache. */
  readonly hashed: G1Point;
}

export interface CryptoExecutor {
  /** Worker threads doing the work; 0: the calling thread. */
  readonly threads: number;
  /** σ = share·H1(appId), with H1(appId) given when known; a serving task (may be refused when busy). */
  partialSign(share: bigint, appId: string, hashed: G1Point | undefined): Promise<SignedPartial>;
  /** Indices of the invalid deals (crypto findInvalidDeals); a protocol task (never refused for load). */
  findInvalidDeals(checks: DealChecks): Promise<readonly number[]>;
  /** Gets ready now rather than at the first task (worker threads take a moment to load). */
  warmUp(): void;
  close(): Promise<void>;
}

function signed(result: PartialSignResult): SignedPartial {
  return { signature: result.signature, hashed: fromAffineG1(result.hashed) };
}

/** The crypto on the calling thread (the event loop). */
export class InProcessCrypto implements CryptoExecutor {
  readonly threads = 0;

  partialSign(share: bigint, appId: string, hashed: G1Point | undefined): Promise<SignedPartial> {
    // In process the point needs no round trip through coordinates.
    const hashedHere = hashed ?? hashToG1(assertAppId(appId));
    return Promise.resolve({ signature: encodeG1(partialSignHashed(share, hashedHere)), hashed: hashedHere });
  }

  findInvalidDeals(checks: DealChecks): Promise<readonly number[]> {
    return Promise.resolve(findInvalidDeals(checks.x, checks.deals, checks.previousCommitments));
  }

  warmUp(): void {
    // Nothing to start.
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The crypto on a CryptoPool's worker threads. */
export class PooledCrypto implements CryptoExecutor {
  constructor(readonly pool: CryptoPool) {}

  get threads(): number {
    return this.pool.size;
  }

  async partialSign(share: bigint, appId: string, hashed: G1Point | undefined): Promise<SignedPartial> {
    return signed(await this.pool.run(partialSignTask(share, appId, hashed), 'serving'));
  }

  async findInvalidDeals(checks: DealChecks): Promise<readonly number[]> {
    return (await this.pool.run(dealVerificationTask(checks), 'protocol')).invalid;
  }

  warmUp(): void {
    this.pool.start();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface CryptoExecutorSettings {
  /** 0: in process; n ≥ 1: n worker threads. */
  readonly workers: number;
  readonly queueLimit: number;
  readonly logger: Logger;
  readonly metrics?: CryptoPoolMetrics;
}

export function createCryptoExecutor(settings: CryptoExecutorSettings): CryptoExecutor {
  if (settings.workers === 0) return new InProcessCrypto();
  return new PooledCrypto(new CryptoPool({
    size: settings.workers,
    queueLimit: settings.queueLimit,
    logger: settings.logger,
    ...(settings.metrics === undefined ? {} : { metrics: settings.metrics }),
  }));
}
