/**
 * A seeded, reproducible RandomSource (SHA-256 in counter mode) for tests,
 * benchmarks and simulations. Not for production keys: anyone with the seed can
 * reproduce every byte.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { RandomSource } from './scalar.js';

export function createDeterministicRng(seed: string): RandomSource {
  const seedBytes = utf8ToBytes(seed);
  let counter = 0;
  let pool = new Uint8Array(0);
  return (length: number): Uint8Array => {
    while (pool.length < length) {
      const block = new Uint8Array(8);
      new DataView(block.buffer).setBigUint64(0, BigInt(counter++));
      pool = concatBytes(pool, sha256(concatBytes(seedBytes, block)));
    }
    const out = pool.slice(0, length);
    pool = pool.slice(length);
    return out;
  };
}
