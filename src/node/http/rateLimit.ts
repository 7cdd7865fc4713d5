/**
 * Per-client token buckets and a concurrency gate, the two limits the Go original puts in
 * front of /app/sign (golang.org/x/time/rate with 50/s, burst 100; 20 at once). Upstream's
 * bucket is one for all callers, so one busy client starves the rest; ours is one per
 * client address, with the concurrency gate as the shared ceiling.
 *
 * Hand-written rather than @fastify/rate-limit: that plugin counts fixed windows (no burst
 * on top of a steady rate, so it cannot express upstream's numbers), keys IPv6 clients by
 * full address (one /64 holds 2^64 of them), and has no concurrency gate. The bucket
 * arithmetic is a dozen lines; the clock is injected so tests need no waiting.
 */

export interface TokenBucketOptions {
  /** Tokens added per second (the steady request rate). */
  readonly ratePerSecond: number;
  /** Bucket size: requests a client may make at once after being idle. */
  readonly burst: number;
  /** Clients remembered at most; the least recently seen is forgotten first (it starts over full). */
  readonly maxClients?: number;
  readonly clock?: () => number;
}

export type TakeResult = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: () => number;
  private readonly maxClients: number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isInteger(options.burst) || options.burst < 1) {
      throw new RangeError('ClientRateLimiter: ratePerSecond must be > 0 and burst a positive integer');
    }
    this.clock = options.clock ?? (() => Date.now());
    this.maxClients = options.maxClients ?? 100_000;
  }

  /** Takes one token from `client`'s bucket, or says how many whole seconds until one is there. */
  take(client: string): TakeResult {
    const now = this.clock();
    const bucket = this.buckets.get(client) ?? { tokens: this.options.burst, updatedAt: now };
    const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + elapsed * this.options.ratePerSecond);
    bucket.updatedAt = now;
    // Re-inserted so the map's order is least recently seen first.
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.ratePerSecond)) };
  }

  get trackedClients(): number {
    return this.buckets.size;
  }
}

/** At most `limit` holders at once; a caller that finds it full is refused, never queued. */
export class ConcurrencyGate {
  private held = 0;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('ConcurrencyGate: limit must be a positive integer');
  }

  /** A release function when a slot was free (call it exactly once), else null. */
  tryEnter(): (() => void) | null {
    if (this.held >= this.limit) return null;
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
    };
  }

  get inUse(): number {
    return this.held;
  }
}

/**
 * The rate-limit key of a client address: IPv4 as is (also when IPv4-mapped in IPv6),
 * IPv6 by its /64 prefix, the smallest block a single host is usually given.
 */
export function clientKey(address: string): string {
  const ip = address.split('%', 1)[0] ?? address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::', 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
