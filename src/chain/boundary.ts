/**
 * Which boundary block, if any, a node should act on when it sees a new head. Pure.
 *
 * A boundary is a block whose number is a positive multiple of the interval. After
 * downtime only the latest boundary counts: replaying stale ones would start sessions
 * whose timestamps every live peer has already moved past (a weak point of the Go
 * original, which replays every missed block).
 */
import { ChainConfigError } from './errors.js';

export interface BoundaryInput {
  /** The last boundary acted on (0n = none yet). */
  readonly lastProcessedBoundary: bigint;
  /** The newest head block number just observed. */
  readonly head: bigint;
  /** The highest head observed before this one, if any; a lower `head` is a reorg or a lagging RPC node. */
  readonly previousHead?: bigint;
  /** Blocks between boundaries (positive integer). */
  readonly interval: number;
  /** Blocks a boundary must be buried under before it counts (default 0). */
  readonly confirmations?: number;
  /**
   * If set, a boundary more than this many blocks below the head is not acted on (the
   * node waits for the next one): a session that old has likely ended on every peer.
   * Unset = act on the latest boundary however old.
   */
  readonly maxLagBlocks?: number;
}

export type BoundaryDecision =
  | {
      readonly act: true;
      readonly boundary: bigint;
      /** Boundaries newer than lastProcessedBoundary passed over in favour of this one (downtime). */
      readonly skipped: bigint;
    }
  | { readonly act: false; readonly reason: 'no-new-boundary' | 'head-went-backwards' | 'boundary-too-old' };

/** The latest boundary at or below `blockNumber` (0n when below the first one). */
export function latestBoundaryAtOrBelow(blockNumber: bigint, interval: number): bigint {
  const step = checkedInterval(interval);
  if (blockNumber <= 0n) return 0n;
  return blockNumber - (blockNumber % step);
}

/** Decide whether `head` brings a new boundary to act on; see the module comment. */
export function decideBoundary(input: BoundaryInput): BoundaryDecision {
  const step = checkedInterval(input.interval);
  const confirmations = input.confirmations ?? 0;
  if (!Number.isSafeInteger(confirmations) || confirmations < 0) {
    throw new ChainConfigError('confirmations', confirmations, 'non-negative integer');
  }
  const maxLag = input.maxLagBlocks;
  if (maxLag !== undefined && (!Number.isSafeInteger(maxLag) || maxLag < 0)) {
    throw new ChainConfigError('maxLagBlocks', maxLag, 'non-negative integer');
  }
  if (input.previousHead !== undefined && input.head < input.previousHead) {
    return { act: false, reason: 'head-went-backwards' };
  }
  const boundary = latestBoundaryAtOrBelow(input.head - BigInt(confirmations), input.interval);
  if (boundary === 0n || boundary <= input.lastProcessedBoundary) {
    return { act: false, reason: 'no-new-boundary' };
  }
  if (maxLag !== undefined && input.head - boundary > BigInt(maxLag)) {
    return { act: false, reason: 'boundary-too-old' };
  }
  const last = input.lastProcessedBoundary > 0n ? input.lastProcessedBoundary : 0n;
  const firstAfterLast = last - (last % step) + step;
  return { act: true, boundary, skipped: (boundary - firstAfterLast) / step };
}

function checkedInterval(interval: number): bigint {
  if (!Number.isSafeInteger(interval) || interval <= 0) {
    throw new ChainConfigError('boundaryInterval', interval, 'positive integer');
  }
  return BigInt(interval);
}
