import fc from 'fast-check';
import { ByteBoundedLru, type EvictionReason } from './byteBoundedLru.js';

/** Values are their own size in bytes. */
function lru(maxBytes: number, evictions: [string, EvictionReason][] = []): ByteBoundedLru<string, number> {
  return new ByteBoundedLru<string, number>({ maxBytes, sizeOf: (_key, value) => value, onEvict: (key, reason) => { evictions.push([key, reason]); } });
}

describe('ByteBoundedLru', () => {
  it('evicts the least recently used entries until the new one fits; a get makes an entry the most recent', () => {
    const evictions: [string, EvictionReason][] = [];
    const cache = lru(100, evictions);
    cache.set('a', 40);
    cache.set('b', 30);
    cache.set('c', 20);
    expect(cache.get('a')).toBe(40); // order now b, c, a
    cache.set('d', 45); // needs 45 with 10 free: b goes (30), then c (20)
    expect(evictions).toEqual([['b', 'capacity'], ['c', 'capacity']]);
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.has('d')]).toEqual([true, false, false, true]);
    expect(cache.bytes).toBe(85);
    expect(cache.size).toBe(2);
  });

  it('does not store an entry larger than the whole budget, and drops the one it would have replaced', () => {
    const evictions: [string, EvictionReason][] = [];
    const cache = lru(100, evictions);
    cache.set('a', 10);
    cache.set('b', 60);
    expect(cache.set('a', 101)).toBe(false);
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBe(60);
    expect(cache.bytes).toBe(60);
    expect(evictions).toEqual([['a', 'capacity']]);
  });

  it('replacing an entry charges the new size only and is not an eviction', () => {
    const evictions: [string, EvictionReason][] = [];
    const cache = lru(100, evictions);
    cache.set('a', 50);
    cache.set('a', 70);
    expect(cache.bytes).toBe(70);
    expect(cache.size).toBe(1);
    expect(evictions).toEqual([]);
  });

  it('delete and deleteWhere remove entries as invalidated and give their bytes back', () => {
    const evictions: [string, EvictionReason][] = [];
    const cache = lru(1_000, evictions);
    for (const key of ['1:x', '1:y', '2:x', '3:z']) cache.set(key, 10);
    expect(cache.deleteWhere((key) => key.startsWith('1:'))).toBe(2);
    expect(cache.delete('3:z')).toBe(true);
    expect(cache.delete('3:z')).toBe(false);
    expect(cache.bytes).toBe(10);
    expect(cache.get('2:x')).toBe(10);
    expect(evictions).toEqual([['1:x', 'invalidated'], ['1:y', 'invalidated'], ['3:z', 'invalidated']]);
  });

  it('a budget of 0 stores nothing', () => {
    const cache = lru(0);
    expect(cache.set('a', 0 + 1)).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('refuses a budget or an entry size that is not a non-negative number', () => {
    expect(() => lru(-1)).toThrow(RangeError);
    expect(() => lru(1.5)).toThrow(RangeError);
    expect(() => lru(10).set('a', -3)).toThrow(RangeError);
    expect(() => lru(10).set('a', Number.NaN)).toThrow(RangeError);
  });

  type Op = { kind: 'set'; key: string; size: number } | { kind: 'get'; key: string } | { kind: 'delete'; key: string };
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key, size: fc.integer({ min: 0, max: 120 }) }),
    fc.record({ kind: fc.constant('get' as const), key }),
    fc.record({ kind: fc.constant('delete' as const), key }),
  );

  it('property: the bytes charged never exceed the budget and always equal the sum of the entries held, which are the most recently used ones that fit', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.array(op, { maxLength: 200 }), (maxBytes, ops) => {
      const cache = lru(maxBytes);
      // The model: keys from least to most recently used, with their sizes.
      let model: { key: string; size: number }[] = [];
      for (const o of ops) {
        if (o.kind === 'set') {
          model = model.filter((e) => e.key !== o.key);
          const stored = cache.set(o.key, o.size);
          expect(stored).toBe(o.size <= maxBytes);
          if (stored) {
            model.push({ key: o.key, size: o.size });
            while (model.reduce((sum, e) => sum + e.size, 0) > maxBytes) model.shift();
          }
        } else if (o.kind === 'get') {
          const at = model.findIndex((e) => e.key === o.key);
          const value = cache.get(o.key);
          if (at < 0) expect(value).toBeUndefined();
          else {
            const [entry] = model.splice(at, 1);
            if (entry === undefined) throw new Error('unreachable');
            model.push(entry);
            expect(value).toBe(entry.size);
          }
        } else {
          const had = model.some((e) => e.key === o.key);
          model = model.filter((e) => e.key !== o.key);
          expect(cache.delete(o.key)).toBe(had);
        }
        expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
        expect(cache.bytes).toBe(model.reduce((sum, e) => sum + e.size, 0));
        expect(cache.size).toBe(model.length);
      }
      for (const e of model) expect(cache.has(e.key)).toBe(true);
    }));
  });
});
