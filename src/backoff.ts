/**
 * The one retry-delay rule of kms-node: a capped exponential, optionally with equal jitter.
 * Every retry loop (controller queue, chain polling, peer requests, the embedded
 * redis-server supervisor) takes its delays from here so the rule lives in one place.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, ms; doubled per further attempt. */
  readonly initialMs: number;
  /** Upper bound on any delay, ms. */
  readonly maxMs: number;
  /**
   * Equal jitter: the delay is drawn uniformly from [ceiling/2, ceiling], so peers that
   * failed together do not retry in lock step. Off by default (deterministic delays).
   */
  readonly jitter?: boolean;
}

/**
 * Delay before retry number `attempt` (1-based): initialMs·2^(attempt−1), capped at maxMs.
 * `attempt` ≤ 0 means no failure yet, so no delay. `random` (default Math.random) is only
 * read with jitter on; tests inject their own.
 * @throws RangeError on a non-positive or non-finite policy, so a bad policy fails loudly.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  if (!(Number.isFinite(policy.initialMs) && policy.initialMs > 0)) {
    throw new RangeError(`backoff initialMs must be a positive finite number, got ${String(policy.initialMs)}`);
  }
  if (!(Number.isFinite(policy.maxMs) && policy.maxMs >= policy.initialMs)) {
    throw new RangeError(`backoff maxMs must be finite and ≥ initialMs (${String(policy.initialMs)}), got ${String(policy.maxMs)}`);
  }
  if (attempt <= 0) return 0;
  // Past 2^30 the product exceeds any sane cap; clamping the exponent avoids Infinity.
  const exponent = Math.min(attempt - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  if (policy.jitter !== true) return ceiling;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
