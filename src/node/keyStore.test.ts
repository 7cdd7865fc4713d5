import { G2, encodeG2 } from '../crypto/index.js';
import { silentLogger } from '../logging/logger.js';
import { MemoryPersistence } from '../persistence/memory/memoryPersistence.js';
import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import { counting } from '../../test/gen/countingPersistence.js';
import { InconsistentStateError } from './errors.js';
import { KeyStore } from './keyStore.js';

const SELF: OperatorAddress = '0x00000000000000000000000000000000000000a1';

function version(epoch: number): KeyShareVersion {
  const point = encodeG2(G2.BASE.multiply(BigInt(epoch)));
  return { epoch, privateShare: BigInt(epoch) * 7n, commitments: [point], masterPublicKey: point, threshold: 1, participants: [SELF], createdAt: epoch * 1000 };
}

async function stored(epochs: readonly number[], active: number | null): Promise<MemoryPersistence> {
  const p = new MemoryPersistence({ logger: silentLogger() });
  for (const e of epochs) await p.saveKeyShareVersion(version(e), { activate: e === active });
  return p;
}

describe('KeyStore', () => {
  it('restores an empty store: no active version, no epochs', async () => {
    const store = await KeyStore.restore(new MemoryPersistence({ logger: silentLogger() }));
    expect(store.activeVersion).toBeNull();
    expect(store.versionCount).toBe(0);
    expect(await store.versionAt(2_000_000_000)).toBeNull();
  });

  it('restores by reading the epoch index and only the active record', async () => {
    const epochs = Array.from({ length: 200 }, (_, i) => 1_000 + i * 10);
    const { persistence, loads, lists } = counting(await stored(epochs, 1_500));
    const store = await KeyStore.restore(persistence);
    expect(store.activeVersion?.epoch).toBe(1_500);
    expect(store.versionCount).toBe(200);
    expect(store.epochs()).toEqual(epochs);
    expect(loads).toEqual([1_500]);
    expect(lists()).toBe(0);
  });

  it('versionAt picks the highest epoch at or below the time, loads it lazily and caches it', async () => {
    const { persistence, loads } = counting(await stored([100, 200, 300], 300));
    const store = await KeyStore.restore(persistence);
    loads.length = 0;
    expect(await store.versionAt(99)).toBeNull();
    expect((await store.versionAt(100))?.epoch).toBe(100);
    expect((await store.versionAt(250))?.privateShare).toBe(1_400n);
    expect((await store.versionAt(299))?.epoch).toBe(200);
    expect((await store.versionAt(10_000))?.epoch).toBe(300);
    // 100 and 200 read once each; 300 is the active version already in memory.
    expect(loads).toEqual([100, 200]);
  });

  it('version(epoch) answers only an exact stored epoch, reading one record lazily and never listing', async () => {
    const { persistence, loads, lists } = counting(await stored([100, 200, 300], 300));
    const store = await KeyStore.restore(persistence);
    loads.length = 0;
    expect(await store.version(150)).toBeNull();
    expect(await store.version(99)).toBeNull();
    expect(await store.version(301)).toBeNull();
    expect(loads).toEqual([]);
    expect((await store.version(200))?.privateShare).toBe(1_400n);
    expect((await store.version(200))?.epoch).toBe(200);
    expect((await store.version(300))?.epoch).toBe(300);
    // 200 read once (then cached); 300 is the active version already in memory.
    expect(loads).toEqual([200]);
    expect(lists()).toBe(0);
  });

  it('evicts the oldest cached version beyond the cache limit', async () => {
    const { persistence, loads } = counting(await stored([1, 2, 3, 4], 4));
    const store = await KeyStore.restore(persistence, { cacheLimit: 2 });
    loads.length = 0;
    await store.versionAt(1);
    await store.versionAt(2);
    await store.versionAt(3); // evicts 1
    await store.versionAt(2);
    await store.versionAt(1);
    expect(loads).toEqual([1, 2, 3, 1]);
  });

  it('commit stores, activates and adopts a version; a restore sees the same', async () => {
    const p = await stored([100], 100);
    const store = await KeyStore.restore(p);
    await store.commit(version(50));
    await store.commit(version(300));
    expect(store.activeVersion?.epoch).toBe(300);
    expect(store.epochs()).toEqual([50, 100, 300]);
    expect((await store.versionAt(99))?.epoch).toBe(50);
    const again = await KeyStore.restore(p);
    expect(again.activeVersion?.epoch).toBe(300);
    expect(again.epochs()).toEqual([50, 100, 300]);
  });

  it('commit of an epoch already cached replaces the cached copy', async () => {
    const p = await stored([100, 200], 200);
    const store = await KeyStore.restore(p);
    expect((await store.versionAt(150))?.privateShare).toBe(700n);
    await store.commit({ ...version(100), privateShare: 5n });
    expect(store.versionCount).toBe(2);
    expect((await store.versionAt(150))?.privateShare).toBe(5n);
  });

  it('epochAt answers from memory alone which epoch was valid at a time', async () => {
    const { persistence, loads } = counting(await stored([100, 200, 300], 300));
    const store = await KeyStore.restore(persistence);
    loads.length = 0;
    expect([store.epochAt(99), store.epochAt(100), store.epochAt(299), store.epochAt(5_000)]).toEqual([null, 100, 200, 300]);
    expect(loads).toEqual([]);
  });

  it('remove deletes a stored version and forgets it; the active one is refused and kept', async () => {
    const p = await stored([100, 200, 300], 300);
    const changed: number[] = [];
    const store = await KeyStore.restore(p, { onVersionChange: (epoch) => { changed.push(epoch); } });
    expect((await store.versionAt(250))?.epoch).toBe(200);
    await store.remove(200);
    expect(store.epochs()).toEqual([100, 300]);
    expect((await store.versionAt(250))?.epoch).toBe(100);
    expect(await store.version(200)).toBeNull();
    expect(await p.loadKeyShareVersion(200)).toBeNull();
    await expect(store.remove(300)).rejects.toMatchObject({ code: 'PERSISTENCE_ACTIVE_VERSION_DELETE' });
    expect(store.epochs()).toEqual([100, 300]);
    expect(changed).toEqual([200]);
  });

  it('tells onVersionChange of every commit, after the write', async () => {
    const p = await stored([100], 100);
    const seen: [number, number | null][] = [];
    const store = await KeyStore.restore(p, { onVersionChange: (epoch) => { seen.push([epoch, store.activeVersion?.epoch ?? null]); } });
    await store.commit(version(200));
    await store.commit({ ...version(200), privateShare: 9n });
    expect(seen).toEqual([[200, 200], [200, 200]]);
    expect((await p.loadKeyShareVersion(200))?.privateShare).toBe(9n);
  });

  it('refuses versions without an active pointer instead of guessing the highest', async () => {
    const p = await stored([100, 200], null);
    await expect(KeyStore.restore(p)).rejects.toThrow(InconsistentStateError);
    await expect(KeyStore.restore(p)).rejects.toMatchObject({ code: 'NODE_INCONSISTENT_STATE', details: { versions: 2 } });
  });

  it('refuses an active pointer that names no stored version', async () => {
    const inner = await stored([100], 100);
    const lying = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'getActiveVersionEpoch') return () => Promise.resolve(999);
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(KeyStore.restore(lying)).rejects.toMatchObject({ code: 'NODE_INCONSISTENT_STATE', details: { activeEpoch: 999 } });
  });

  it('names an indexed version whose record is missing', async () => {
    const inner = await stored([100, 200], 200);
    const holey = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'loadKeyShareVersion') return (epoch: number) => (epoch === 100 ? Promise.resolve(null) : target.loadKeyShareVersion(epoch));
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const store = await KeyStore.restore(holey);
    await expect(store.versionAt(150)).rejects.toMatchObject({ code: 'NODE_INCONSISTENT_STATE', details: { epoch: 100 } });
  });
});
