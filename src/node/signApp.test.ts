import type { Counter } from 'prom-client';
import { encodeG1, partialSign } from '../crypto/index.js';
import { singleNode } from '../../test/gen/singleNode.js';
import { until } from '../../test/gen/until.js';

async function counted(node: ReturnType<typeof singleNode>['node'], name: string, cache: string): Promise<number> {
  const metric = node.metrics.getSingleMetric(name) as Counter<'cache'> | undefined;
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.find((v) => v.labels.cache === cache)?.value ?? 0;
}

describe('KmsNode.signApp through the app-sign cache', () => {
  test('repeat requests are served from the cache with the active share; a reshare signs with the new version\'s share, and an attestation time still gets the old version\'s partial', async () => {
    const { node, chain, persistence } = singleNode();
    await node.start();
    try {
      chain.mineToNextBoundary();
      await until('the DKG version', () => node.status().keys.activeVersion !== null);
      const first = node.status().keys.activeVersion ?? 0;
      const share1 = (await persistence.loadKeyShareVersion(first))?.privateShare ?? 0n;

      const a = await node.signApp('cached-app', null);
      const b = await node.signApp('cached-app', null);
      expect(a.version).toBe(first);
      expect(a.partialSignature).toEqual(encodeG1(partialSign(share1, 'cached-app')));
      expect(b).toEqual(a);
      expect(await counted(node, 'kms_app_sign_cache_misses_total', 'partial_signature')).toBe(1);
      expect(await counted(node, 'kms_app_sign_cache_hits_total', 'partial_signature')).toBe(1);

      chain.mineToNextBoundary();
      await until('the reshare version', () => (node.status().keys.activeVersion ?? 0) > first);
      const second = node.status().keys.activeVersion ?? 0;
      const share2 = (await persistence.loadKeyShareVersion(second))?.privateShare ?? 0n;

      const c = await node.signApp('cached-app', null);
      expect(c.version).toBe(second);
      expect(c.partialSignature).toEqual(encodeG1(partialSign(share2, 'cached-app')));
      // The new version missed the partial cache but found the app id's hash-to-G1 point.
      expect(await counted(node, 'kms_app_sign_cache_misses_total', 'partial_signature')).toBe(2);
      expect(await counted(node, 'kms_app_sign_cache_hits_total', 'hash_to_g1')).toBe(1);

      const old = await node.signApp('cached-app', first);
      expect(old).toEqual(a);
      expect(await counted(node, 'kms_app_sign_cache_hits_total', 'partial_signature')).toBe(2);

      await expect(node.signApp('cached-app', first - 1)).rejects.toMatchObject({ code: 'NODE_NO_KEY_VERSION' });
    } finally {
      await node.stop();
    }
  }, 60_000);

  test('before the first key version: NODE_NOT_READY, nothing cached', async () => {
    const { node } = singleNode();
    await node.start();
    try {
      await expect(node.signApp('cached-app', null)).rejects.toMatchObject({ code: 'NODE_NOT_READY' });
      expect(await counted(node, 'kms_app_sign_cache_misses_total', 'partial_signature')).toBe(0);
    } finally {
      await node.stop();
    }
  });
});
