import type { NodePersistence } from '../persistence/nodePersistence.js';
import type { KeyShareVersion } from '../persistence/types.js';
import { InconsistentStateError } from './errors.js';

/**
 * The node's view of its key versions. It keeps only the sorted epoch list and the
 * active version in memory and loads any other version on demand (with a small cache):
 * a node with a year of versions restarts by reading one index and one record, not
 * 52,560 records.
 */
export interface KeyStoreOptions {
  /** Versions other than the active one kept decoded in memory (default 64). */
  readonly cacheLimit?: number;
  /**
   * Told the epoch whose stored share was written (a commit, new or replacing) or deleted,
   * after the write: whatever was derived from that epoch's share is stale from then on.
   */
  readonly onVersionChange?: (epoch: number) => void;
}

export class KeyStore {
  private readonly cache = new Map<number, KeyShareVersion>();

  private constructor(
    private readonly persistence: NodePersistence,
    private epochList: number[],
    private active: KeyShareVersion | null,
    private readonly options: KeyStoreOptions,
  ) {}

  /** Reads the epoch index and the active version; refuses an active pointer to nothing. */
  static async restore(persistence: NodePersistence, options: KeyStoreOptions = {}): Promise<KeyStore> {
    const [epochs, activeEpoch] = await Promise.all([persistence.listKeyShareEpochs(), persistence.getActiveVersionEpoch()]);
    let active: KeyShareVersion | null = null;
    if (activeEpoch !== null) {
      active = await persistence.loadKeyShareVersion(activeEpoch);
      if (active === null || !epochs.includes(activeEpoch)) {
        throw new InconsistentStateError(`the active version pointer names epoch ${activeEpoch}, which is not stored`, {
          fix: 'restore the data directory from a backup, or wipe it and let the node rejoin by reshare',
          details: { activeEpoch },
        });
      }
    } else if (epochs.length > 0) {
      // Versions without a pointer: never guess "the highest" (the Go original did); say so.
      throw new InconsistentStateError(`${epochs.length} key versions are stored but no active version is set`, {
        fix: 'restore the data directory from a backup, or wipe it and let the node rejoin by reshare',
        details: { versions: epochs.length },
      });
    }
    return new KeyStore(persistence, [...epochs].sort((a, b) => a - b), active, options);
  }

  get activeVersion(): KeyShareVersion | null {
    return this.active;
  }

  get versionCount(): number {
    return this.epochList.length;
  }

  epochs(): readonly number[] {
    return this.epochList;
  }

  /**
   * The version that was valid at `unixSeconds`: the highest epoch ≤ it. A time before
   * the first version has none.
   */
  async versionAt(unixSeconds: number): Promise<KeyShareVersion | null> {
    const epoch = this.epochAt(unixSeconds);
    return epoch === null ? null : this.load(epoch);
  }

  /** The epoch of the version valid at `unixSeconds` (see versionAt), from memory alone. */
  epochAt(unixSeconds: number): number | null {
    return highestAtOrBelow(this.epochList, unixSeconds);
  }

  /**
   * The version with exactly this epoch, or null when this node holds none. Answered
   * from the in-memory index and one record read (cached), never by listing versions.
   */
  async version(epoch: number): Promise<KeyShareVersion | null> {
    return highestAtOrBelow(this.epochList, epoch) === epoch ? this.load(epoch) : null;
  }

  private async load(epoch: number): Promise<KeyShareVersion> {
    if (this.active?.epoch === epoch) return this.active;
    const cached = this.cache.get(epoch);
    if (cached !== undefined) return cached;
    const version = await this.persistence.loadKeyShareVersion(epoch);
    if (version === null) {
      throw new InconsistentStateError(`key version ${epoch} is in the index but its record is missing`, {
        fix: 'restore the data directory from a backup',
        details: { epoch },
      });
    }
    if (this.cache.size >= (this.options.cacheLimit ?? 64)) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(epoch, version);
    return version;
  }

  /** Stores a finished version and makes it active in one atomic write, then adopts it. */
  async commit(version: KeyShareVersion): Promise<void> {
    await this.persistence.saveKeyShareVersion(version, { activate: true });
    if (!this.epochList.includes(version.epoch)) {
      this.epochList = [...this.epochList, version.epoch].sort((a, b) => a - b);
    }
    this.cache.delete(version.epoch);
    this.active = version;
    this.options.onVersionChange?.(version.epoch);
  }

  /**
   * Deletes a stored version other than the active one (persistence refuses to delete the
   * active one: PERSISTENCE_ACTIVE_VERSION_DELETE) and forgets it.
   */
  async remove(epoch: number): Promise<void> {
    await this.persistence.deleteKeyShareVersion(epoch);
    this.epochList = this.epochList.filter((e) => e !== epoch);
    this.cache.delete(epoch);
    this.options.onVersionChange?.(epoch);
  }
}

function highestAtOrBelow(sorted: readonly number[], value: number): number | null {
  let lo = 0;
  let hi = sorted.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = sorted[mid] as number;
    if (candidate <= value) {
      found = candidate;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
