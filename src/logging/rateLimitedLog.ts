import type { Logger } from './logger.js';

export interface RateLimitedLogOptions {
  /** Lines written per key (e.g. code + sender) per window. Default 5. */
  readonly perKey?: number;
  /** Lines written in all per window. Default 50. */
  readonly total?: number;
  /** Default 60 s. */
  readonly windowMs?: number;
  /**
   * Distinct keys counted per window; later ones are counted under "other". Keys can be
   * chosen by whoever sends the traffic being logged, so this map must be bounded too.
   */
  readonly maxKeys?: number;
  /** Unix ms; injectable for tests. */
  readonly now?: () => number;
}

const OTHER_KEY = 'other';
const SUMMARY_TOP_KEYS = 10;

/**
 * Warn lines about events an outsider can trigger at will (rejected requests), bounded
 * so a flood cannot fill the disk: per fixed window at most `perKey` lines per key and
 * `total` lines in all, plus one "suppressed N" summary line for what was dropped
 * (written when the next window begins, or by a timer at its end, so the count of a
 * flood's last window is reported even if nothing follows it). At most total + 1 lines
 * per window, whatever arrives.
 */
export class RateLimitedLog {
  private readonly perKey: number;
  private readonly total: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private written = 0;
  private readonly writtenByKey = new Map<string, number>();
  private readonly suppressedByKey = new Map<string, number>();
  private suppressed = 0;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly logger: Logger, private readonly message: string, options: RateLimitedLogOptions = {}) {
    this.perKey = options.perKey ?? 5;
    this.total = options.total ?? 50;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Writes `fields` as a warn line under this log's message, unless `key` is over its budget. */
  warn(key: string, fields: Readonly<Record<string, unknown>>): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
    }
    const counted = this.writtenByKey.has(key) || this.writtenByKey.size < this.maxKeys ? key : OTHER_KEY;
    const byKey = this.writtenByKey.get(counted) ?? 0;
    if (byKey < this.perKey && this.written < this.total) {
      this.writtenByKey.set(counted, byKey + 1);
      this.written += 1;
      this.logger.warn(fields, this.message);
      return;
    }
    const suppressedKey = this.suppressedByKey.has(counted) || this.suppressedByKey.size < this.maxKeys ? counted : OTHER_KEY;
    this.suppressedByKey.set(suppressedKey, (this.suppressedByKey.get(suppressedKey) ?? 0) + 1);
    this.suppressed += 1;
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => { this.flush(); }, Math.max(1, this.windowStart + this.windowMs - now));
      this.flushTimer.unref();
    }
  }

  /** Writes the summary of what this window suppressed (if anything) and starts counting afresh. */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.suppressed > 0) {
      const top = [...this.suppressedByKey].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_TOP_KEYS);
      this.logger.warn(
        { suppressed: this.suppressed, windowMs: this.windowMs, topKeys: Object.fromEntries(top) },
        `${this.message}: suppressed ${this.suppressed} similar lines`,
      );
    }
    this.suppressed = 0;
    this.suppressedByKey.clear();
    this.writtenByKey.clear();
    this.written = 0;
    this.windowStart = Number.NEGATIVE_INFINITY;
  }
}
