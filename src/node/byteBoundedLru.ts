/**
 * A least-recently-used map bounded by an estimate of the bytes it holds, not by its
 * entry count: entries of different sizes (a 48-byte signature, a curve point) share one
 * memory budget the operator can reason about.
 *
 * Each entry is charged `sizeOf(key, value)` bytes when it is stored; the sum of the
 * charges never exceeds `maxBytes`. A value larger than the whole budget is not stored.
 * `Map` keeps insertion order, so re-inserting on every hit makes its first key the
 * least recently used one.
 */

export type EvictionReason = 'capacity' | 'invalidated';

export interface ByteBoundedLruOptions<K, V> {
  /** Budget in bytes (≥ 0; 0 stores nothing). */
  readonly maxBytes: number;
  /** What one entry costs; must be the same every time for the same entry. */
  readonly sizeOf: (key: K, value: V) => number;
  /** Told of every entry that leaves without being replaced by `set`. */
  readonly onEvict?: (key: K, reason: EvictionReason) => void;
}

interface Slot<V> {
  readonly value: V;
  readonly bytes: number;
}

export class ByteBoundedLru<K, V> {
  private readonly slots = new Map<K, Slot<V>>();
  private used = 0;

  constructor(private readonly options: ByteBoundedLruOptions<K, V>) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new RangeError(`ByteBoundedLru: maxBytes must be a non-negative whole number; got ${options.maxBytes}`);
    }
  }

  /** Bytes charged for the entries held now (≤ maxBytes). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.slots.size;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.value;
  }

  has(key: K): boolean {
    return this.slots.has(key);
  }

  /**
   * Stores the value as the most recently used, evicting the least recently used entries
   * until the budget holds. Returns false (and stores nothing) when the entry alone is
   * larger than the budget.
   */
  set(key: K, value: V): boolean {
    const bytes = this.options.sizeOf(key, value);
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`ByteBoundedLru: sizeOf returned ${bytes}`);
    const previous = this.slots.get(key);
    if (previous !== undefined) {
      this.slots.delete(key);
      this.used -= previous.bytes;
    }
    if (bytes > this.options.maxBytes) {
      if (previous !== undefined) this.options.onEvict?.(key, 'capacity');
      return false;
    }
    while (this.used + bytes > this.options.maxBytes) {
      const oldest = this.slots.keys().next();
      if (oldest.done === true) break;
      this.remove(oldest.value, 'capacity');
    }
    this.slots.set(key, { value, bytes });
    this.used += bytes;
    return true;
  }

  /** Removes the entry; true when there was one. */
  delete(key: K): boolean {
    return this.remove(key, 'invalidated');
  }

  /** Removes every entry whose key matches; returns how many. */
  deleteWhere(matches: (key: K) => boolean): number {
    let removed = 0;
    for (const key of [...this.slots.keys()]) {
      if (matches(key) && this.remove(key, 'invalidated')) removed++;
    }
    return removed;
  }

  private remove(key: K, reason: EvictionReason): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.used -= slot.bytes;
    this.options.onEvict?.(key, reason);
    return true;
  }
}
