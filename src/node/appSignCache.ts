/**
 * The cache behind POST /app/sign: partial signatures by (key version, app id) and
 * hash-to-G1 points by app id, in byte-bounded LRU maps.
 *
 * Why it adds no secret to memory: a partial signature σ_i = x_i·H1(appId) is public the
 * moment it is served (any caller who may ask gets it, and the app key is assembled from t
 * of them in the open), and H1(appId) is a public function of a public string. Neither
 * reveals anything about x_i beyond what the share, already held in memory by the
 * KeyStore, implies; caching them only saves recomputing public values.
 *
 * Correctness rests on one rule: a partial depends only on (app id, the version's share),
 * so an entry is valid exactly as long as the share stored under that epoch is the same.
 * The KeyStore reports every commit and removal of an epoch (`forgetVersion`), and a
 * computation that raced such a change is returned but not stored.
 */
import type { Counter, Gauge } from 'prom-client';
import type { G1Point } from '../crypto/index.js';
import { ByteBoundedLru, type EvictionReason } from './byteBoundedLru.js';
import { InProcessCrypto, type CryptoExecutor } from './workers/cryptoExecutor.js';

/** Default budget for both maps together: about 60,000 partials and 20,000 points (bytes below). */
export const DEFAULT_APP_SIGN_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Bytes charged per entry, from heap measurements on Node 20 (`--expose-gc`, 20,000
 * entries): a partial entry with a 25-character key retains about 390 bytes (the Map
 * slot, the key, a 48-byte Uint8Array and its ArrayBuffer), a point entry about 420 (three
 * 381-bit BigInts). Keys are charged at two bytes per UTF-16 unit, the worst case.
 */
const PARTIAL_ENTRY_BYTES = 352;
const POINT_ENTRY_BYTES = 384;

/** Share of the budget the hash-to-G1 points may use; partials get the rest. */
const POINT_SHARE = 0.25;

export type AppSignCacheName = 'partial_signature' | 'hash_to_g1';

/** The cache's Prometheus instruments (defined in metrics.ts), labelled by cache name. */
export interface AppSignCacheMetrics {
  readonly hits: Counter<'cache'>;
  readonly misses: Counter<'cache'>;
  readonly evictions: Counter<'cache' | 'reason'>;
  readonly bytes: Gauge<'cache'>;
  readonly entries: Gauge<'cache'>;
}

export interface AppSignCacheOptions {
  /** Budget for both maps together; 0 turns caching off. */
  readonly maxBytes: number;
  readonly metrics?: AppSignCacheMetrics;
  /** Where a miss is signed (default: in process). A hit never reaches it. */
  readonly crypto?: Pick<CryptoExecutor, 'partialSign'>;
}

export class AppSignCache {
  private readonly partials: ByteBoundedLru<string, Uint8Array>;
  private readonly points: ByteBoundedLru<string, G1Point>;
  /** Entries held per epoch, so forgetting a version with none (every new one) costs nothing. */
  private readonly perEpoch = new Map<number, number>();
  /** Bumped by every forgetVersion: a computation that saw another value may not store. */
  private generation = 0;
  private readonly crypto: Pick<CryptoExecutor, 'partialSign'>;

  constructor(private readonly options: AppSignCacheOptions) {
    this.crypto = options.crypto ?? new InProcessCrypto();
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new RangeError(`AppSignCache: maxBytes must be a non-negative whole number; got ${options.maxBytes}`);
    }
    const pointBytes = Math.floor(options.maxBytes * POINT_SHARE);
    this.points = new ByteBoundedLru({
      maxBytes: pointBytes,
      sizeOf: (appId) => POINT_ENTRY_BYTES + 2 * appId.length,
      onEvict: (_key, reason) => { this.evicted('hash_to_g1', reason); },
    });
    this.partials = new ByteBoundedLru({
      maxBytes: options.maxBytes - pointBytes,
      sizeOf: (key) => PARTIAL_ENTRY_BYTES + 2 * key.length,
      onEvict: (key, reason) => {
        this.countEpoch(epochOfKey(key), -1);
        this.evicted('partial_signature', reason);
      },
    });
  }

  /** Bytes charged for both maps (≤ maxBytes). */
  get bytes(): number {
    return this.partials.bytes + this.points.bytes;
  }

  get entries(): { readonly partials: number; readonly points: number } {
    return { partials: this.partials.size, points: this.points.size };
  }

  /**
   * The compressed partial signature x·H1(appId) of the version `epoch`, from the cache or
   * computed with the share `loadShare` yields (called on a miss only, signed by the
   * crypto executor, e.g. on a worker). The app id must be valid (crypto/appId.ts); an
   * invalid one throws and is never stored. The bytes are a copy: callers may keep or
   * change them.
   */
  async partialSignature(appId: string, epoch: number, loadShare: () => Promise<bigint>): Promise<Uint8Array> {
    const key = partialKey(epoch, appId);
    const cached = this.partials.get(key);
    if (cached !== undefined) {
      this.options.metrics?.hits.inc({ cache: 'partial_signature' });
      return cached.slice();
    }
    this.options.metrics?.misses.inc({ cache: 'partial_signature' });
    const generation = this.generation;
    const share = await loadShare();
    const { signature, hashed } = await this.crypto.partialSign(share, appId, this.cachedPoint(appId));
    this.keepPoint(appId, hashed);
    if (generation === this.generation) {
      const replaced = this.partials.has(key);
      if (this.partials.set(key, signature) && !replaced) this.countEpoch(epoch, 1);
      this.report('partial_signature');
    }
    return signature.slice();
  }

  /** Drops every partial of this epoch: its share was replaced or deleted. */
  forgetVersion(epoch: number): void {
    this.generation++;
    if ((this.perEpoch.get(epoch) ?? 0) === 0) return;
    const prefix = partialKey(epoch, '');
    this.partials.deleteWhere((key) => key.startsWith(prefix));
    this.report('partial_signature');
  }

  private cachedPoint(appId: string): G1Point | undefined {
    const cached = this.points.get(appId);
    this.options.metrics?.[cached === undefined ? 'misses' : 'hits'].inc({ cache: 'hash_to_g1' });
    return cached;
  }

  private keepPoint(appId: string, point: G1Point): void {
    if (this.points.has(appId)) return;
    this.points.set(appId, point);
    this.report('hash_to_g1');
  }

  private countEpoch(epoch: number, delta: number): void {
    const count = (this.perEpoch.get(epoch) ?? 0) + delta;
    if (count <= 0) this.perEpoch.delete(epoch);
    else this.perEpoch.set(epoch, count);
  }

  private evicted(cache: AppSignCacheName, reason: EvictionReason): void {
    this.options.metrics?.evictions.inc({ cache, reason });
  }

  private report(cache: AppSignCacheName): void {
    const metrics = this.options.metrics;
    if (metrics === undefined) return;
    const map = cache === 'partial_signature' ? this.partials : this.points;
    metrics.bytes.set({ cache }, map.bytes);
    metrics.entries.set({ cache }, map.size);
  }
}

/** "<epoch>:<app id>": the epoch has no colon, so the first one ends it. */
function partialKey(epoch: number, appId: string): string {
  return `${epoch}:${appId}`;
}

function epochOfKey(key: string): number {
  return Number(key.slice(0, key.indexOf(':')));
}
