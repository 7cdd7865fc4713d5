/**
 * Timing helper for benchmarks: warm-up runs, then timed iterations until both a
 * minimum count and a minimum total time are reached. Reports p50/p99/mean and ops/s.
 */
import { performance } from 'node:perf_hooks';
import { percentile } from '../../src/devnet/chaos/percentile.js';

export interface MeasureOptions {
  /** Untimed runs first (JIT warm-up, caches). Default 2. */
  readonly warmup?: number;
  /** At least this many timed runs. Default 5. */
  readonly minIterations?: number;
  /** Keep iterating until this much time is spent (ms). Default 500. */
  readonly minTimeMs?: number;
  /** Never more than this many timed runs. Default 10_000. */
  readonly maxIterations?: number;
}

export interface Measurement {
  readonly name: string;
  readonly iterations: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly opsPerSec: number;
}

export { percentile };

export function summarize(name: string, samplesMs: readonly number[]): Measurement {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  const mean = total / Math.max(1, sorted.length);
  return {
    name,
    iterations: sorted.length,
    meanMs: mean,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    minMs: sorted[0] ?? Number.NaN,
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    opsPerSec: mean > 0 ? 1000 / mean : Number.POSITIVE_INFINITY,
  };
}

/** Times a synchronous or async function. */
export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const warmup = options.warmup ?? 2;
  const minIterations = options.minIterations ?? 5;
  const minTimeMs = options.minTimeMs ?? 500;
  const maxIterations = options.maxIterations ?? 10_000;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < maxIterations && (samples.length < minIterations || spent < minTimeMs)) {
    const start = performance.now();
    await fn();
    const ms = performance.now() - start;
    samples.push(ms);
    spent += ms;
  }
  return summarize(name, samples);
}
