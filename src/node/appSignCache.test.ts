import fc from 'fast-check';
import type { Counter, Gauge } from 'prom-client';
import { G2, createDeterministicRng, encodeG1, encodeG2, partialSign, randomScalar } from '../crypto/index.js';
import { silentLogger } from '../logging/logger.js';
import { MemoryPersistence } from '../persistence/memory/memoryPersistence.js';
import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import { AppSignCache, DEFAULT_APP_SIGN_CACHE_BYTES } from './appSignCache.js';
import { KeyStore } from './keyStore.js';
import { InProcessCrypto } from './workers/cryptoExecutor.js';
import { createNodeMetrics } from './metrics.js';

const rng = createDeterministicRng('appSignCache.test');
const SHARE_A = randomScalar(rng);
const SHARE_B = randomScalar(rng);

async function value(metric: Counter | Gauge, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** A share loader that counts its calls. */
function loader(share: bigint): { load: () => Promise<bigint>; calls: () => number } {
  let calls = 0;
  return { load: () => { calls++; return Promise.resolve(share); }, calls: () => calls };
}

describe('AppSignCache', () => {
  it('signs a miss with the crypto executor it is given (the worker pool) and serves a hit without it', async () => {
    const inProcess = new InProcessCrypto();
    const given: (string | undefined)[] = [];
    const crypto = {
      partialSign: (share: bigint, appId: string, hashed: Parameters<InProcessCrypto['partialSign']>[2]) => {
        given.push(hashed === undefined ? `${appId} unhashed` : `${appId} hashed`);
        return inProcess.partialSign(share, appId, hashed);
      },
    };
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES, crypto });
    expect(await cache.partialSignature('pooled-app', 100, loader(SHARE_A).load)).toEqual(encodeG1(partialSign(SHARE_A, 'pooled-app')));
    expect(await cache.partialSignature('pooled-app', 100, loader(SHARE_A).load)).toEqual(encodeG1(partialSign(SHARE_A, 'pooled-app')));
    // Another version of the same app: signed again, with the H1 point the first one brought back.
    expect(await cache.partialSignature('pooled-app', 200, loader(SHARE_B).load)).toEqual(encodeG1(partialSign(SHARE_B, 'pooled-app')));
    expect(given).toEqual(['pooled-app unhashed', 'pooled-app hashed']);
  });

  it('serves x·H1(appId) compressed, computing it once per (version, app id); counts hits and misses', async () => {
    const metrics = createNodeMetrics({ defaultMetrics: false }).appSignCache;
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES, metrics });
    const a = loader(SHARE_A);
    const first = await cache.partialSignature('my-app', 100, a.load);
    const second = await cache.partialSignature('my-app', 100, a.load);
    expect(first).toEqual(encodeG1(partialSign(SHARE_A, 'my-app')));
    expect(second).toEqual(first);
    expect(a.calls()).toBe(1);
    expect(await value(metrics.hits, { cache: 'partial_signature' })).toBe(1);
    expect(await value(metrics.misses, { cache: 'partial_signature' })).toBe(1);
    expect(await value(metrics.misses, { cache: 'hash_to_g1' })).toBe(1);
    expect(await value(metrics.entries, { cache: 'partial_signature' })).toBe(1);
    expect(await value(metrics.bytes, { cache: 'partial_signature' })).toBeGreaterThan(0);
  });

  it('another version of the same app id is its own entry and reuses the app id\'s hash-to-G1 point', async () => {
    const metrics = createNodeMetrics({ defaultMetrics: false }).appSignCache;
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES, metrics });
    const a = await cache.partialSignature('my-app', 100, loader(SHARE_A).load);
    const b = await cache.partialSignature('my-app', 200, loader(SHARE_B).load);
    expect(b).toEqual(encodeG1(partialSign(SHARE_B, 'my-app')));
    expect(b).not.toEqual(a);
    expect(await value(metrics.hits, { cache: 'hash_to_g1' })).toBe(1);
    expect(cache.entries).toEqual({ partials: 2, points: 1 });
  });

  it('hands out copies: changing returned bytes does not change what the cache serves', async () => {
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES });
    const first = await cache.partialSignature('my-app', 100, loader(SHARE_A).load);
    first.fill(0);
    expect(await cache.partialSignature('my-app', 100, loader(SHARE_A).load)).toEqual(encodeG1(partialSign(SHARE_A, 'my-app')));
  });

  it('forgetVersion drops that version\'s partials only (counted as invalidated); the next request recomputes', async () => {
    const metrics = createNodeMetrics({ defaultMetrics: false }).appSignCache;
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES, metrics });
    const a = loader(SHARE_A);
    const b = loader(SHARE_B);
    await cache.partialSignature('app-x', 100, a.load);
    await cache.partialSignature('app-y', 100, a.load);
    await cache.partialSignature('app-x', 1000, b.load);
    cache.forgetVersion(100);
    expect(await value(metrics.evictions, { cache: 'partial_signature', reason: 'invalidated' })).toBe(2);
    await cache.partialSignature('app-x', 1000, b.load);
    expect(b.calls()).toBe(1);
    // Version 100's share was replaced: the new share signs.
    const replaced = loader(SHARE_B);
    expect(await cache.partialSignature('app-x', 100, replaced.load)).toEqual(encodeG1(partialSign(SHARE_B, 'app-x')));
    expect(replaced.calls()).toBe(1);
  });

  it('a partial computed while its version changed is returned but not stored', async () => {
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES });
    let release: (share: bigint) => void = () => undefined;
    const pending = cache.partialSignature('app-x', 100, () => new Promise<bigint>((resolve) => { release = resolve; }));
    cache.forgetVersion(100);
    release(SHARE_A);
    expect(await pending).toEqual(encodeG1(partialSign(SHARE_A, 'app-x')));
    const after = loader(SHARE_B);
    expect(await cache.partialSignature('app-x', 100, after.load)).toEqual(encodeG1(partialSign(SHARE_B, 'app-x')));
    expect(after.calls()).toBe(1);
  });

  it('an invalid app id throws and leaves nothing behind', async () => {
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES });
    await expect(cache.partialSignature('', 100, loader(SHARE_A).load)).rejects.toThrow();
    await expect(cache.partialSignature('bad\uD800', 100, loader(SHARE_A).load)).rejects.toThrow();
    expect(cache.entries).toEqual({ partials: 0, points: 0 });
    expect(cache.bytes).toBe(0);
  });

  it('a budget of 0 caches nothing and still signs', async () => {
    const cache = new AppSignCache({ maxBytes: 0 });
    const a = loader(SHARE_A);
    await cache.partialSignature('app-x', 100, a.load);
    expect(await cache.partialSignature('app-x', 100, a.load)).toEqual(encodeG1(partialSign(SHARE_A, 'app-x')));
    expect(a.calls()).toBe(2);
    expect(cache.bytes).toBe(0);
  });

  it('property: whatever the requests and invalidations, the bytes held stay within the budget and every answer is x·H1(appId) of the current share', async () => {
    const shares = [SHARE_A, SHARE_B, randomScalar(rng)];
    const request = fc.record({ app: fc.integer({ min: 0, max: 15 }), epoch: fc.integer({ min: 0, max: 2 }) });
    const step = fc.oneof(
      { weight: 8, arbitrary: request.map((r) => ({ kind: 'sign' as const, ...r })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((epoch) => ({ kind: 'rotate' as const, epoch })) },
    );
    const expected = new Map<string, Uint8Array>();
    const expectedPartial = (share: bigint, app: string): Uint8Array => {
      const key = `${share}:${app}`;
      const known = expected.get(key) ?? encodeG1(partialSign(share, app));
      expected.set(key, known);
      return known;
    };
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 12_000 }), fc.array(step, { maxLength: 30 }), async (maxBytes, steps) => {
      const metrics = createNodeMetrics({ defaultMetrics: false }).appSignCache;
      const cache = new AppSignCache({ maxBytes, metrics });
      const current = [0, 1, 2];
      for (const s of steps) {
        if (s.kind === 'rotate') {
          current[s.epoch] = ((current[s.epoch] ?? 0) + 1) % shares.length;
          cache.forgetVersion(s.epoch);
        } else {
          const share = shares[current[s.epoch] ?? 0] ?? SHARE_A;
          const app = `app-${s.app}`;
          expect(await cache.partialSignature(app, s.epoch, () => Promise.resolve(share))).toEqual(expectedPartial(share, app));
        }
        expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
        const reported = await value(metrics.bytes, { cache: 'partial_signature' }) + await value(metrics.bytes, { cache: 'hash_to_g1' });
        expect(reported).toBe(cache.bytes);
      }
    }), { numRuns: 20 });
  });

  it('wired to a KeyStore: a commit that replaces an epoch\'s share and a removal both invalidate that epoch', async () => {
    const self: OperatorAddress = '0x00000000000000000000000000000000000000a1';
    const mpk = encodeG2(G2.BASE.multiply(7n));
    const version = (epoch: number, share: bigint): KeyShareVersion => ({
      epoch, privateShare: share, commitments: [mpk], masterPublicKey: mpk, threshold: 1, participants: [self], createdAt: epoch * 1000,
    });
    const persistence = new MemoryPersistence({ logger: silentLogger() });
    await persistence.saveKeyShareVersion(version(100, SHARE_A), { activate: false });
    await persistence.saveKeyShareVersion(version(200, SHARE_A), { activate: true });
    const cache = new AppSignCache({ maxBytes: DEFAULT_APP_SIGN_CACHE_BYTES });
    const store = await KeyStore.restore(persistence, { onVersionChange: (epoch) => { cache.forgetVersion(epoch); } });
    const sign = async (epoch: number): Promise<Uint8Array> => cache.partialSignature('app-0', epoch, async () => {
      const v = await store.version(epoch);
      if (v === null) throw new Error(`no version ${epoch}`);
      return v.privateShare;
    });
    expect(await sign(200)).toEqual(encodeG1(partialSign(SHARE_A, 'app-0')));
    await store.commit(version(200, SHARE_B));
    expect(await sign(200)).toEqual(encodeG1(partialSign(SHARE_B, 'app-0')));

    expect(await sign(100)).toEqual(encodeG1(partialSign(SHARE_A, 'app-0')));
    await store.remove(100);
    await expect(sign(100)).rejects.toThrow('no version 100');
  });
});
