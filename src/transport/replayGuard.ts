import { TransportError } from './errors.js';

/** Limits of a {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  /** Most (sender, nonce) pairs remembered at once, over all senders. */
  readonly maxEntries: number;
  /**
   * Most pairs remembered for one sender, so one noisy or hostile operator cannot
   * fill the memory and lock everyone else out. Defaults to `maxEntries`.
   */
  readonly maxEntriesPerSender?: number;
}

/**
 * Memory of the (sender, nonce) pairs already accepted. An entry only has to
 * outlive the window in which its message would still pass the freshness check
 * (`expiresAt = sentAt + maxSkew`): after that the message is rejected as stale
 * anyway, so the entry can go.
 *
 * When full it refuses new messages (REPLAY_GUARD_FULL) rather than forgetting
 * live entries, because forgetting one would re-open a replay. Pure: the caller
 * passes the time; nothing here reads a clock.
 */
export class ReplayGuard {
  readonly #maxEntries: number;
  readonly #maxPerSender: number;
  /** key → expiresAt. Map keeps insertion order, which is nearly expiry order. */
  readonly #entries = new Map<string, number>();
  readonly #perSender = new Map<string, number>();
  /** Latest time seen; entries expiring before it may already have been forgotten. */
  #horizon = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayGuardOptions) {
    const maxPerSender = options.maxEntriesPerSender ?? options.maxEntries;
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw configError('maxEntries', options.maxEntries);
    }
    if (!Number.isSafeInteger(maxPerSender) || maxPerSender < 1 || maxPerSender > options.maxEntries) {
      throw configError('maxEntriesPerSender', maxPerSender);
    }
    this.#maxEntries = options.maxEntries;
    this.#maxPerSender = maxPerSender;
  }

  /** Entries currently remembered (expired ones may linger until the next sweep). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Records `(sender, nonce)` or rejects it if already present and unexpired.
   * Check and record are one step, so two concurrent deliveries of the same
   * message cannot both pass.
   * @param expiresAt unix ms after which the message could no longer be accepted as fresh.
   * @param now unix ms.
   * @throws TransportError REPLAYED_MESSAGE | REPLAY_GUARD_FULL
   */
  observe(sender: string, nonce: string, expiresAt: number, now: number): void {
    // If the caller's clock stepped back, a message whose entry was already evicted
    // could look fresh again; refuse anything that expires before the latest time seen.
    this.#horizon = Math.max(this.#horizon, now);
    if (expiresAt < this.#horizon) {
      throw new TransportError('REPLAYED_MESSAGE', `message nonce ${nonce} from ${sender} is older than the replay memory`, {
        fix: 'the receiving clock moved backwards or the message is stale; check NTP on both nodes',
        details: { sender, nonce, expiresAt, horizon: this.#horizon },
      });
    }
    const key = `${sender}/${nonce}`;
    const seen = this.#entries.get(key);
    if (seen !== undefined && seen >= now) {
      throw new TransportError('REPLAYED_MESSAGE', `message nonce ${nonce} from ${sender} was already accepted`, {
        fix: 'a sender must seal each message with a fresh nonce; a retried delivery is reported as replayed',
        details: { sender, nonce },
      });
    }
    if (seen !== undefined) this.#delete(key, sender);
    this.#evictFront(now);
    if (this.#entries.size >= this.#maxEntries || (this.#perSender.get(sender) ?? 0) >= this.#maxPerSender) {
      this.sweep(now);
    }
    const senderCount = this.#perSender.get(sender) ?? 0;
    if (this.#entries.size >= this.#maxEntries || senderCount >= this.#maxPerSender) {
      const perSender = senderCount >= this.#maxPerSender;
      throw new TransportError(
        'REPLAY_GUARD_FULL',
        perSender
          ? `replay guard holds ${senderCount} unexpired messages from ${sender}, its limit`
          : `replay guard holds ${this.#entries.size} unexpired messages, its limit`,
        {
          fix: 'a peer is flooding this node or the limits are too low for the message rate; '
            + 'retry after the skew window passes, or raise maxEntries/maxEntriesPerSender',
          details: { sender, entries: this.#entries.size, senderEntries: senderCount },
        },
      );
    }
    this.#entries.set(key, expiresAt);
    this.#perSender.set(sender, senderCount + 1);
  }

  /** Drops every expired entry (a full scan). */
  sweep(now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt < now) this.#delete(key, senderOf(key));
    }
  }

  /** Cheap amortised eviction: drop expired entries at the front of insertion order. */
  #evictFront(now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt >= now) return;
      this.#delete(key, senderOf(key));
    }
  }

  #delete(key: string, sender: string): void {
    this.#entries.delete(key);
    const count = (this.#perSender.get(sender) ?? 1) - 1;
    if (count <= 0) this.#perSender.delete(sender);
    else this.#perSender.set(sender, count);
  }
}

function senderOf(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

function configError(field: string, value: number): TransportError {
  return new TransportError('INVALID_TRANSPORT_CONFIG', `replay guard ${field}=${value} is not a positive integer within limits`, {
    fix: 'set maxEntries ≥ 1 and 1 ≤ maxEntriesPerSender ≤ maxEntries',
    details: { field, value },
  });
}
