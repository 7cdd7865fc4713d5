import type { Operator } from '../chain/operatorSet.js';
import { describeError } from '../logging/describeError.js';
import type { Logger } from '../logging/logger.js';

export interface NewcomerLookupOptions {
  /** The operator set as the chain lists it now. */
  readonly read: () => Promise<readonly Operator[]>;
  /** The set the node authenticates peers against. */
  readonly known: () => readonly Operator[];
  /** Takes the known set plus the newcomers found. */
  readonly adopt: (operators: Operator[]) => void;
  readonly clock: () => number;
  /** Least time between two reads. */
  readonly minIntervalMs: number;
  readonly logger: Logger;
}

/** One read per second at most: an unknown sender may be an impostor, and each read is a chain call. */
export const NEWCOMER_LOOKUP_MIN_INTERVAL_MS = 1_000;

/**
 * Reads the operator set again when a message comes from an operator this node does not
 * know. An operator may have joined since the node last read the set (at start, or at its
 * last boundary), and peers that see a boundary a poll interval earlier post their first
 * deals before this node reads the set for it: refusing them (403) loses the deals for
 * good. One read at a time, at most one per `minIntervalMs`. Only adds operators: the ones
 * already known keep their identities until the next boundary reads the set.
 */
export class NewcomerLookup {
  #inFlight: Promise<boolean> | null = null;
  #lastReadAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: NewcomerLookupOptions) {}

  /** Resolves true when the set was read and the node now knows an operator it did not before. */
  lookup(): Promise<boolean> {
    if (this.#inFlight !== null) return this.#inFlight;
    const now = this.o.clock();
    if (now - this.#lastReadAt < this.o.minIntervalMs) return Promise.resolve(false);
    this.#lastReadAt = now;
    this.#inFlight = this.readNewcomers().finally(() => { this.#inFlight = null; });
    return this.#inFlight;
  }

  private async readNewcomers(): Promise<boolean> {
    let listed: readonly Operator[];
    try {
      listed = await this.o.read();
    } catch (error) {
      this.o.logger.warn({ err: describeError(error) }, 'could not read the operator set for a sender this node does not know; its message is refused');
      return false;
    }
    const known = this.o.known();
    const addresses = new Set(known.map((o) => o.address));
    const newcomers = listed.filter((o) => !addresses.has(o.address));
    if (newcomers.length === 0) return false;
    this.o.adopt([...known, ...newcomers].sort((a, b) => (a.address < b.address ? -1 : 1)));
    this.o.logger.info({ newcomers: newcomers.map((o) => o.address) }, 'operators that joined since the last boundary are accepted as senders');
    return true;
  }
}
