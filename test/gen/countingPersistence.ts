import type { NodePersistence } from '../../src/persistence/nodePersistence.js';

/** A persistence that records which key versions were read in full and how often all were listed. */
export interface CountingPersistence {
  readonly persistence: NodePersistence;
  /** Epochs passed to loadKeyShareVersion, in call order (clear it with `loads.length = 0`). */
  readonly loads: number[];
  /** listKeyShareVersions calls so far. */
  readonly lists: () => number;
}

/** Wraps `inner` so a test can tell what a key store read: every call passes through unchanged. */
export function counting(inner: NodePersistence): CountingPersistence {
  const loads: number[] = [];
  let listVersions = 0;
  const persistence = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'loadKeyShareVersion') return (epoch: number) => { loads.push(epoch); return target.loadKeyShareVersion(epoch); };
      if (prop === 'listKeyShareVersions') return () => { listVersions += 1; return target.listKeyShareVersions(); };
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { persistence, loads, lists: () => listVersions };
}
