import { Worker } from 'node:worker_threads';
import {
  CryptoError,
  commitPolynomial,
  createDeterministicRng,
  encodeG1,
  evaluatePolynomial,
  findInvalidDeals,
  hashToG1,
  partialSign,
  randomPolynomial,
  randomScalar,
  type DealCheck,
} from '../../crypto/index.js';
import { silentLogger } from '../../logging/logger.js';
import { createNodeMetrics } from '../metrics.js';
import { CryptoPool } from './cryptoPool.js';
import { PooledCrypto } from './cryptoExecutor.js';
import { dealVerificationTask, fromAffineG1, partialSignTask } from './cryptoTasks.js';
import { spawnCryptoWorker } from './spawnWorker.js';

const pools: CryptoPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(size: number, queueLimit: number, spawn?: () => Worker): { pool: CryptoPool; metrics: ReturnType<typeof createNodeMetrics> } {
  const metrics = createNodeMetrics({ defaultMetrics: false });
  const p = new CryptoPool({ size, queueLimit, logger: silentLogger(), metrics: metrics.cryptoPool, ...(spawn === undefined ? {} : { spawn }) });
  pools.push(p);
  return { pool: p, metrics };
}

async function gauge(metrics: ReturnType<typeof createNodeMetrics>, name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values[0]?.value ?? 0;
}

/** t-of-n deals to player x; those at `bad` get a share off by one. */
function deals(rng: ReturnType<typeof createDeterministicRng>, count: number, t: number, x: bigint, bad: ReadonlySet<number>): DealCheck[] {
  return Array.from({ length: count }, (_, i) => {
    const poly = randomPolynomial(randomScalar(rng), t - 1, rng);
    const share = evaluatePolynomial(poly, x);
    return { share: bad.has(i) ? share + 1n : share, commitments: commitPolynomial(poly) };
  });
}

describe('CryptoPool', () => {
  test('partial signatures on random shares and app ids are byte-identical to in-process signing, with and without a known H1 point', async () => {
    const { pool: p } = pool(2, 64);
    const crypto = new PooledCrypto(p);
    const rng = createDeterministicRng('cryptoPool identical');
    const inputs = Array.from({ length: 24 }, (_, i) => ({ share: randomScalar(rng), appId: `app-${i}-${Buffer.from(rng(6)).toString('hex')}` }));
    const results = await Promise.all(inputs.map(({ share, appId }, i) => crypto.partialSign(share, appId, i % 2 === 0 ? undefined : hashToG1(appId))));
    results.forEach((r, i) => {
      const { share, appId } = inputs[i] ?? { share: 0n, appId: '' };
      expect(r.signature).toEqual(encodeG1(partialSign(share, appId)));
      expect(r.hashed.equals(hashToG1(appId))).toBe(true);
    });
  });

  test('share verification on a worker names the same invalid deals as in process, for a DKG and a reshare batch', async () => {
    const { pool: p } = pool(2, 0);
    const crypto = new PooledCrypto(p);
    const rng = createDeterministicRng('cryptoPool deals');
    const x = 5n;
    const batch = deals(rng, 6, 3, x, new Set([1, 4]));
    expect(await crypto.findInvalidDeals({ x, deals: batch, previousCommitments: null })).toEqual(findInvalidDeals(x, batch, null));
    expect(await crypto.findInvalidDeals({ x, deals: batch, previousCommitments: null })).toEqual([1, 4]);
    // Reshare: each dealer's constant must be its share of a previous version (ids 1..4).
    const previous = randomPolynomial(randomScalar(rng), 1, rng);
    const previousCommitments = commitPolynomial(previous);
    const reshare: DealCheck[] = [1n, 2n, 3n, 4n].map((id) => {
      const poly = randomPolynomial(evaluatePolynomial(previous, id), 2, rng);
      const constantOff = id === 3n;
      const used = constantOff ? randomPolynomial(randomScalar(rng), 2, rng) : poly;
      return { share: evaluatePolynomial(used, x), commitments: commitPolynomial(used), dealerId: id };
    });
    expect(await crypto.findInvalidDeals({ x, deals: reshare, previousCommitments })).toEqual([2]);
    expect(findInvalidDeals(x, reshare, previousCommitments)).toEqual([2]);
  });

  test('with one worker, tasks finish in the order they were queued, each with its own result', async () => {
    const { pool: p } = pool(1, 64);
    const rng = createDeterministicRng('cryptoPool order');
    const inputs = Array.from({ length: 12 }, (_, i) => ({ share: randomScalar(rng), appId: `ordered-app-${i}` }));
    const finished: number[] = [];
    const results = await Promise.all(inputs.map(({ share, appId }, i) => p.run(partialSignTask(share, appId, undefined), 'serving').then((r) => {
      finished.push(i);
      return r;
    })));
    expect(finished).toEqual(inputs.map((_, i) => i));
    results.forEach((r, i) => { expect(r.signature).toEqual(encodeG1(partialSign(inputs[i]?.share ?? 0n, inputs[i]?.appId ?? ''))); });
  });

  test('a full queue refuses a serving task at once with CRYPTO_POOL_BUSY and a Retry-After, counts it, and still takes protocol work', async () => {
    const { pool: p, metrics } = pool(1, 2);
    const share = randomScalar(createDeterministicRng('cryptoPool busy'));
    const sign = (i: number) => p.run(partialSignTask(share, `busy-app-${i}`, undefined), 'serving');
    // One runs, two wait: the queue is full.
    const accepted = [sign(0), sign(1), sign(2)];
    const refused = sign(3);
    await expect(refused).rejects.toMatchObject({ code: 'CRYPTO_POOL_BUSY', retryAfterSeconds: expect.any(Number) as number, details: { queued: 2, workers: 1 } });
    const retryAfter = await refused.catch((error: unknown) => (error as { retryAfterSeconds: number }).retryAfterSeconds);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await gauge(metrics, 'kms_crypto_pool_rejections_total')).toBe(1);
    expect(await gauge(metrics, 'kms_crypto_pool_queue_depth')).toBe(2);
    expect(await gauge(metrics, 'kms_crypto_pool_busy_workers')).toBe(1);
    // A round's verification is never refused for load, and runs before the queued serving tasks.
    const rng = createDeterministicRng('cryptoPool busy deals');
    const batch = deals(rng, 2, 2, 3n, new Set([0]));
    const order: string[] = [];
    const verification = p.run(dealVerificationTask({ x: 3n, deals: batch, previousCommitments: null }), 'protocol').then((r) => { order.push('protocol'); return r; });
    await Promise.all(accepted.map((s, i) => s.then(() => order.push(`serving ${i}`))));
    expect((await verification).invalid).toEqual([0]);
    expect(order).toEqual(['serving 0', 'protocol', 'serving 1', 'serving 2']);
    expect(await gauge(metrics, 'kms_crypto_pool_queue_depth')).toBe(0);
    expect(await gauge(metrics, 'kms_crypto_pool_busy_workers')).toBe(0);
  });

  test('a worker that dies mid-task fails that task with CRYPTO_WORKER_CRASHED, is counted and replaced, and the queue goes on', async () => {
    let spawned = 0;
    // The first thread exits (code 7) as soon as it is given a task; its replacements are real workers.
    const spawn = (): Worker => (spawned++ === 0
      ? new Worker("require('node:worker_threads').parentPort.once('message', () => process.exit(7))", { eval: true })
      : spawnCryptoWorker());
    const { pool: p2, metrics } = pool(1, 8, spawn);
    const share = randomScalar(createDeterministicRng('cryptoPool crash'));
    const lost = p2.run(partialSignTask(share, 'lost-app', undefined), 'serving');
    const next = p2.run(partialSignTask(share, 'next-app', undefined), 'serving');
    await expect(lost).rejects.toMatchObject({ code: 'CRYPTO_WORKER_CRASHED', details: { exitCode: 7 } });
    expect((await next).signature).toEqual(encodeG1(partialSign(share, 'next-app')));
    expect(spawned).toBe(2);
    expect(await gauge(metrics, 'kms_crypto_pool_worker_crashes_total')).toBe(1);
    expect(await gauge(metrics, 'kms_crypto_pool_workers')).toBe(1);
  });

  test('close() fails queued work with NODE_NOT_READY, ends every thread, and refuses new tasks', async () => {
    const { pool: p, metrics } = pool(2, 8);
    const share = randomScalar(createDeterministicRng('cryptoPool close'));
    const tasks = Array.from({ length: 6 }, (_, i) => p.run(partialSignTask(share, `closing-app-${i}`, undefined), 'serving'));
    const settled = Promise.allSettled(tasks);
    await p.close();
    for (const outcome of await settled) {
      expect(outcome.status).toBe('rejected');
      expect(outcome.status === 'rejected' ? (outcome.reason as { code: string }).code : '').toBe('NODE_NOT_READY');
    }
    await expect(p.run(partialSignTask(share, 'after-close', undefined), 'serving')).rejects.toMatchObject({ code: 'NODE_NOT_READY' });
    expect(await gauge(metrics, 'kms_crypto_pool_workers')).toBe(0);
  });

  test('an input a worker refuses comes back as the same typed CryptoError, without the secret value, and the worker goes on', async () => {
    const { pool: p, metrics } = pool(1, 8);
    const crypto = new PooledCrypto(p);
    const tooLarge = 2n ** 255n + 12345n;
    const refused = crypto.partialSign(tooLarge, 'valid-app', undefined);
    await expect(refused).rejects.toBeInstanceOf(CryptoError);
    await expect(refused).rejects.toMatchObject({ code: 'CRYPTO_INVALID_SCALAR' });
    const message = await refused.catch((error: unknown) => (error as Error).message);
    expect(message).not.toContain(tooLarge.toString());
    expect(message).not.toContain(tooLarge.toString(16));
    await expect(crypto.partialSign(1n, 'bad', undefined)).rejects.toMatchObject({ code: 'CRYPTO_INVALID_APP_ID' });
    expect((await crypto.partialSign(7n, 'valid-app', undefined)).signature).toEqual(encodeG1(partialSign(7n, 'valid-app')));
    expect(await gauge(metrics, 'kms_crypto_pool_worker_crashes_total')).toBe(0);
  });

  test('sizes and limits out of range are refused when the pool is built', () => {
    expect(() => new CryptoPool({ size: 0, queueLimit: 1, logger: silentLogger() })).toThrow(/size must be a whole number ≥ 1; got 0/);
    expect(() => new CryptoPool({ size: 1, queueLimit: -1, logger: silentLogger() })).toThrow(/queueLimit must be a whole number ≥ 0; got -1/);
  });

  test('a point crosses the thread boundary as coordinates and comes back equal', () => {
    const point = hashToG1('round-trip-app');
    expect(fromAffineG1(partialSignTask(1n, 'round-trip-app', point).hashed ?? { x: 0n, y: 0n }).equals(point)).toBe(true);
  });
});
