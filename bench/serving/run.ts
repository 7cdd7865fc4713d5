/**
 * Serving benchmarks on one real kms-server process (loopback, embedded Redis-AOF, one
 * active key version written into its data before it starts):
 *  - POST /app/sign for distinct app ids (every request a new one: hash-to-G1 and a scalar
 *    multiplication each) and for repeat app ids (a working set of REPEAT_APPS ids, served
 *    from the app-sign cache), at concurrency 1, 8 and 32;
 *  - each next to its same-run floor: GET /pubkey at the same concurrency, measured just
 *    before it against the same process (what the HTTP path alone costs), and repeat app
 *    ids also on a second node with the cache off (KMS_APP_SIGN_CACHE_BYTES=0), and distinct
 *    app ids also on a third node with one crypto worker (KMS_CRYPTO_WORKERS=1), the same-run
 *    baseline of the worker pool on every core (the first node: KMS_CRYPTO_WORKERS=auto);
 *  - partialSign in this process (the crypto floor of a distinct request), and on the crypto
 *    pool in this process with one worker and with one per core (the pool's own scaling).
 *
 * The node's app-sign limits are raised for the run (rate, burst, concurrency) so the
 * figures are the node's, not its rate limiter's.
 *
 *   tsx bench/serving/run.ts   (or: make bench, tsx bench/run.ts serving)
 *   KMS_BENCH_SERVING_MS=3000  time per measurement.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { hexToBytes } from '@noble/hashes/utils.js';
import { createDeterministicRng, partialSign, randomScalar } from '../../src/crypto/index.js';
import { devAccount } from '../../src/devnet/devAccounts.js';
import { Devnet, type DevnetOperator } from '../../src/devnet/devnet.js';
import { silentLogger } from '../../src/logging/logger.js';
import { PooledCrypto } from '../../src/node/workers/cryptoExecutor.js';
import { CryptoPool } from '../../src/node/workers/cryptoPool.js';
import { openPersistence } from '../../src/persistence/open.js';
import { makeTempDir, removeTempDir } from '../../test/harness/tempDir.js';
import { isMain, measure, printTable, writeResults, type Row } from '../lib/index.js';
import { alternatingThroughput, fakeVersions, fill, health, throughput, until, type Throughput } from '../lib/node.js';

const DURATION_MS = Number(process.env.KMS_BENCH_SERVING_MS ?? 3_000);
const CONCURRENCY = [1, 8, 32] as const;
const REPEAT_APPS = 64;
/** What KMS_CRYPTO_WORKERS=auto gives the first node on this machine. */
const WORKERS = availableParallelism();
/** POST /app/sign at concurrency 1 and 8 before this work, in the issue (bench/results/protocol.json of 2026-11-26). */
const BEFORE_RPS = 69;

async function startNode(baseDir: string, env: Readonly<Record<string, string>> = {}): Promise<{ devnet: Devnet; node: DevnetOperator }> {
  const devnet = await Devnet.start({
    baseDir, nodes: 0, blockTime: 'manual', boundaryInterval: 1_000_000, logLevel: 'warn',
    env: { KMS_APP_SIGN_RATE: '1000000', KMS_APP_SIGN_BURST: '1000000', KMS_APP_SIGN_MAX_CONCURRENT: '256', ...env },
  });
  try {
    const node = await devnet.addOperator();
    const persistence = await openPersistence(
      { type: 'redis', mode: 'embedded', dataPath: node.dataDir, appendfsync: 'always' },
      { logger: silentLogger(), sealingSecret: hexToBytes(node.account.privateKey.slice(2)) },
    );
    // A version of a two-operator network (threshold 2): this node and one that never runs.
    const participants = [node.account.address, devAccount(9).address].sort();
    await fill(persistence, fakeVersions(1, participants), node.account.address, 0);
    await persistence.close();
    await node.process.start(120_000);
    await until('the node serving', async () => ((await health(node)).activeVersion !== null ? true : undefined), 60_000);
    return { devnet, node };
  } catch (error) {
    await devnet.stop();
    throw error;
  }
}

function appSign(url: string, appId: string): Promise<Response> {
  return fetch(`${url}/app/sign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ AppID: appId, AttestationTime: 0 }) });
}

function row(name: string, concurrency: number, t: Throughput, floor: Throughput | null): Row {
  return {
    name, concurrency, requests: t.requests, 'req/s': t.rps, 'p50 ms': t.p50Ms, 'p99 ms': t.p99Ms,
    'ratio vs /pubkey floor': floor === null ? 1 : t.rps / floor.rps,
  };
}

/**
 * Partial signatures on the crypto pool in this process, without HTTP: one worker against
 * one per core, in alternating slices with 32 tasks in flight. What the pool itself scales
 * to, next to the HTTP rows (where the driver and the node's event loop share the cores).
 */
async function poolScaling(share: bigint): Promise<Row[]> {
  const pools = [new PooledCrypto(new CryptoPool({ size: 1, queueLimit: 64, logger: silentLogger() })), new PooledCrypto(new CryptoPool({ size: WORKERS, queueLimit: 64, logger: silentLogger() }))];
  try {
    let n = 0;
    for (const pool of pools) for (let k = 0; k < 64; k++) await pool.partialSign(share, `bench-pool-warm-${k}`, undefined);
    const totals = pools.map(() => ({ tasks: 0, ms: 0 }));
    for (let slice = 0; slice < 6; slice++) {
      for (const [p, pool] of pools.entries()) {
        const t0 = performance.now();
        const end = t0 + DURATION_MS / 3;
        let tasks = 0;
        await Promise.all(Array.from({ length: 32 }, async () => {
          while (performance.now() < end) {
            await pool.partialSign(share, `bench-pool-${n++}`, undefined);
            tasks++;
          }
        }));
        const total = totals[p];
        if (total !== undefined) {
          total.tasks += tasks;
          total.ms += performance.now() - t0;
        }
      }
    }
    const [one, all] = totals.map((t) => (t.tasks / t.ms) * 1000);
    return [
      { name: 'partialSign on the crypto pool, 1 worker (distinct app ids, no HTTP)', 'ops/s': one ?? 0 },
      { name: `partialSign on the crypto pool, ${WORKERS} workers (distinct app ids, no HTTP)`, 'ops/s': all ?? 0, 'ratio vs 1 worker': (all ?? 0) / (one ?? 1) },
    ];
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

export async function run(): Promise<void> {
  const loadBefore = loadavg();
  const share = randomScalar(createDeterministicRng('bench/serving'));
  let i = 0;
  const local = await measure('partialSign in process', () => partialSign(share, `bench-local-${i++}`), { minTimeMs: 2_000 });
  const pooled = await poolScaling(share);
  const baseDir = makeTempDir('kms-bench-serving-');
  const rows: Row[] = [];
  const { devnet, node } = await startNode(baseDir, { KMS_CRYPTO_WORKERS: 'auto' });
  // The same node with the cache turned off: what a repeat request costs without it, in this run.
  const uncachedDir = makeTempDir('kms-bench-serving-uncached-');
  const uncached = await startNode(uncachedDir, { KMS_APP_SIGN_CACHE_BYTES: '0' }).catch(async (error: unknown) => {
    await devnet.stop();
    removeTempDir(baseDir);
    removeTempDir(uncachedDir);
    throw error;
  });
  // The same node with one crypto worker: what distinct app ids get from one core, in this run.
  const oneWorkerDir = makeTempDir('kms-bench-serving-one-worker-');
  const oneWorker = await startNode(oneWorkerDir, { KMS_CRYPTO_WORKERS: '1' }).catch(async (error: unknown) => {
    await Promise.all([devnet.stop(), uncached.devnet.stop()]);
    removeTempDir(baseDir);
    removeTempDir(uncachedDir);
    removeTempDir(oneWorkerDir);
    throw error;
  });
  try {
    const url = node.process.url;
    // Warm both paths (JIT, connections) and put the repeat working set in the cache.
    for (let k = 0; k < REPEAT_APPS; k++) await (await appSign(url, `bench-repeat-${k}`)).arrayBuffer();
    for (let k = 0; k < REPEAT_APPS; k++) await (await appSign(uncached.node.process.url, `bench-repeat-${k}`)).arrayBuffer();
    for (let k = 0; k < REPEAT_APPS; k++) await (await appSign(oneWorker.node.process.url, `bench-warm-${k}`)).arrayBuffer();
    await throughput(() => fetch(`${url}/pubkey`), 8, 500);
    let distinct = 0;
    let repeat = 0;
    for (const concurrency of CONCURRENCY) {
      const floor = await throughput(() => fetch(`${url}/pubkey`), concurrency, DURATION_MS);
      rows.push(row('GET /pubkey (floor)', concurrency, floor, null));
      const repeated = await throughput(() => appSign(url, `bench-repeat-${repeat++ % REPEAT_APPS}`), concurrency, DURATION_MS);
      rows.push({ ...row('POST /app/sign repeat app ids', concurrency, repeated, floor), 'ratio vs 69 req/s before': repeated.rps / BEFORE_RPS });
      const off = await throughput(() => appSign(uncached.node.process.url, `bench-repeat-${repeat++ % REPEAT_APPS}`), concurrency, DURATION_MS);
      rows.push({ ...row('POST /app/sign repeat app ids, cache off (baseline)', concurrency, off, floor), 'ratio vs 69 req/s before': off.rps / BEFORE_RPS });
      // Alternating slices: the two nodes see the same machine load, so their ratio holds on a busy machine.
      const [single, fresh] = await alternatingThroughput(
        () => appSign(oneWorker.node.process.url, `bench-distinct-${distinct++}`),
        () => appSign(url, `bench-distinct-${distinct++}`),
        concurrency,
        2 * DURATION_MS,
      );
      rows.push({ ...row('POST /app/sign distinct app ids, 1 crypto worker (baseline)', concurrency, single, floor), 'ratio vs 69 req/s before': single.rps / BEFORE_RPS });
      rows.push({
        ...row(`POST /app/sign distinct app ids, ${WORKERS} crypto workers (all cores)`, concurrency, fresh, floor),
        'ratio vs 69 req/s before': fresh.rps / BEFORE_RPS,
        'ratio vs 1 worker': fresh.rps / single.rps,
      });
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const cacheLines = metrics.split('\n').filter((l) => l.startsWith('kms_app_sign_cache_'));
    const poolLines = metrics.split('\n').filter((l) => l.startsWith('kms_crypto_pool_'));
    const loadAfter = loadavg();
    printTable(`/app/sign on one node (floor: GET /pubkey at the same concurrency, measured just before; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`, rows);
    const crypto: Row = { name: 'partialSign in process (crypto floor of a distinct request)', iterations: local.iterations, 'ops/s': local.opsPerSec, 'p50 ms': local.p50Ms };
    printTable('Crypto floor', [crypto]);
    printTable(`The crypto pool alone, in this process (load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before the run)`, pooled);
    const path = writeResults('serving', {
      notes: [
        'One kms-server process (from dist/ when fresh, else tsx) and this driver (fetch, keep-alive) share the machine; its cores are not all the node\'s.',
        `Repeat: a working set of ${REPEAT_APPS} app ids, put in the node's app-sign cache before measuring; distinct: a new app id per request.`,
        `Each /app/sign row's floor is the GET /pubkey row of the same concurrency, measured just before it (${DURATION_MS} ms each).`,
        `The node runs with KMS_APP_SIGN_RATE=1000000, KMS_APP_SIGN_BURST=1000000 and KMS_APP_SIGN_MAX_CONCURRENT=256, so no request is refused.`,
        `'ratio vs 69 req/s before' compares with the issue's figure from an earlier run (not this one): distinct app ids at concurrency 1.`,
        `Distinct app ids run on the first node with KMS_CRYPTO_WORKERS=auto (${WORKERS} worker threads on this ${WORKERS}-core machine) and, as its same-run baseline, on a third node of the same build with KMS_CRYPTO_WORKERS=1, at the same concurrency, in six alternating slices of ${(2 * DURATION_MS) / 6} ms each so both see the same machine load; 'ratio vs 1 worker' divides the two. The driver (this process) and the node's event loop share the same cores, so the ceiling is below ${WORKERS}x.`,
        'The cache-off rows come from a second node process of the same build with KMS_APP_SIGN_CACHE_BYTES=0, idle while the other is measured: the same-run baseline of the cache; their floor column is the first node\'s /pubkey.',
      ],
      loadAverage: { before: loadBefore, after: loadAfter },
      cores: WORKERS,
      appSign: rows,
      cryptoFloor: crypto,
      cryptoPool: pooled,
      cacheMetricsAfter: cacheLines,
      cryptoPoolMetricsAfter: poolLines,
    });
    console.log(`\nwrote ${path}`);
  } finally {
    await Promise.all([devnet.stop(), uncached.devnet.stop(), oneWorker.devnet.stop()]);
    removeTempDir(baseDir);
    removeTempDir(uncachedDir);
    removeTempDir(oneWorkerDir);
  }
}

if (isMain(import.meta.url)) {
  const t0 = performance.now();
  await run();
  console.log(`serving bench: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
