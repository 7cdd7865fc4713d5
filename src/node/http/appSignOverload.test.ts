import { Worker } from 'node:worker_threads';
import type { Counter } from 'prom-client';
import { singleNode } from '../../../test/gen/singleNode.js';
import { until } from '../../../test/gen/until.js';
import { silentLogger } from '../../logging/logger.js';
import { createNodeMetrics } from '../metrics.js';
import { PooledCrypto } from '../workers/cryptoExecutor.js';
import { CryptoPool } from '../workers/cryptoPool.js';

/** A worker that takes tasks and never answers: the one thread stays busy for as long as the test needs. */
function stalledWorker(): Worker {
  return new Worker("require('node:worker_threads').parentPort.on('message', () => undefined)", { eval: true });
}

function sign(url: string, appId: string): Promise<Response> {
  return fetch(`${url}/app/sign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ AppID: appId, AttestationTime: 0 }) });
}

describe('POST /app/sign when the crypto pool is full', () => {
  test('answers 503 with Retry-After and a typed body, counts it, and the request already waiting ends with a 503 when the node stops', async () => {
    const metrics = createNodeMetrics({ defaultMetrics: false });
    const pool = new CryptoPool({ size: 1, queueLimit: 0, logger: silentLogger(), spawn: stalledWorker, metrics: metrics.cryptoPool });
    const { node, chain } = singleNode({ crypto: new PooledCrypto(pool), metrics });
    const { url } = await node.start();
    let stopped = false;
    try {
      chain.mineToNextBoundary();
      await until('the DKG version', () => node.status().keys.activeVersion !== null);

      // The only worker takes this one and never finishes it; with no queue, the next is refused.
      const holding = sign(url, 'holding-app');
      while ((await metrics.cryptoPool.busyWorkers.get()).values[0]?.value !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
      const refused = await sign(url, 'refused-app');
      expect(refused.status).toBe(503);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isSafeInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expect(await refused.json()).toEqual({
        error: {
          code: 'CRYPTO_POOL_BUSY',
          message: `this node's 1 crypto worker(s) are busy and 0 requests are already queued. Fix: retry after ${retryAfter} s (the Retry-After header), or ask another operator`,
          details: { retryAfterSeconds: retryAfter },
        },
      });
      const outcomes = node.metrics.getSingleMetric('kms_app_sign_requests_total') as Counter<'outcome'>;
      expect((await outcomes.get()).values.find((v) => v.labels.outcome === 'overloaded')?.value).toBe(1);
      expect((await metrics.cryptoPool.rejections.get()).values[0]?.value).toBe(1);

      await node.stop();
      stopped = true;
      const held = await holding;
      expect(held.status).toBe(503);
      expect(((await held.json()) as { error: { code: string } }).error.code).toBe('NODE_NOT_READY');
    } finally {
      if (!stopped) await node.stop();
    }
  }, 60_000);
});
