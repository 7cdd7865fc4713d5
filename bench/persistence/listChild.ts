/**
 * Lists every key-share version once, in a process of its own so that the peak RSS
 * reported is the listing's (plus this small process's baseline, reported separately).
 * argv: <socketPath> <sealing secret hex>. Prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisPersistence } from '../../src/persistence/redis/redisPersistence.js';
import { createRecordSealer } from '../../src/persistence/sealing.js';

/** The chunk size RedisPersistence uses for listing. */
const LIST_CHUNK = 512;

const [socketPath, secretHex] = process.argv.slice(2);
if (socketPath === undefined || secretHex === undefined) throw new Error('usage: listChild <socketPath> <secretHex>');

const client = new Redis({ path: socketPath, lazyConnect: true });
await client.connect();
const persistence = await RedisPersistence.open(client, { logger: silentLogger(), sealer: createRecordSealer(Buffer.from(secretHex, 'hex')) });
global.gc?.();
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const start = performance.now();
const versions = await persistence.listKeyShareVersions();
const ms = performance.now() - start;
const peakRssKiB = process.resourceUsage().maxRSS;
const epochs = versions.map((v) => v.epoch);
await persistence.close();

// Baseline in the same process and run: the same chunked MGETs with no decoding, i.e.
// what moving the bytes out of Redis costs; the listing's excess over it is decoding.
const raw = new Redis({ path: socketPath });
const rawStart = performance.now();
let rawBytes = 0;
for (let at = 0; at < epochs.length; at += LIST_CHUNK) {
  const values = await raw.mgetBuffer(...epochs.slice(at, at + LIST_CHUNK).map((e) => `kms:keyshare:${e}`));
  for (const value of values) rawBytes += value?.length ?? 0;
}
const rawMgetMs = performance.now() - rawStart;
await raw.quit();
process.stdout.write(`${JSON.stringify({ count: versions.length, ms, rssBeforeKiB, peakRssKiB, rawMgetMs, rawBytes })}\n`);
