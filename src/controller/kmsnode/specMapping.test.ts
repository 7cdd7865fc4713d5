import { defaultSpec } from '../../../test/gen/kmsNode.js';
import type { KmsNodeSpec } from '../../api/v1alpha1/kmsnode.types.js';
import { secretRefsOf, specToNodeConfig } from './specMapping.js';

const SECRETS = new Map([['operator-key/key', `0x${'ab'.repeat(32)}`], ['chain-rpc/url', 'http://127.0.0.1:8545']]);

describe('specToNodeConfig', () => {
  test('the default spec maps to embedded Redis with its defaults', () => {
    const result = specToNodeConfig(defaultSpec(), SECRETS);
    expect(result).toEqual({
      ok: true,
      config: {
        persistence: { type: 'redis', dataPath: '/var/lib/kms/data', redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null },
        server: { port: 8000 },
        appSign: { allowlist: null, ratePerSecond: 50, burst: 100, maxConcurrent: 20, maxBodyBytes: 16384 },
        chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registryAddress: '0x2222222222222222222222222222222222222222' },
        operator: { address: '0x1111111111111111111111111111111111111111', privateKey: `0x${'ab'.repeat(32)}` },
      },
    });
  });

  test('spec.appSign: the allowlist (trimmed, deduplicated) and limits map to the node; bad entries are named', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), appSign: { allowlist: ['my-app-id', ' my-app-id', '日本語'], ratePerSecond: 5, maxConcurrent: 2 } };
    const result = specToNodeConfig(spec, SECRETS);
    expect(result.ok && result.config.appSign).toEqual({ allowlist: ['my-app-id', '日本語'], ratePerSecond: 5, burst: 100, maxConcurrent: 2, maxBodyBytes: 16384 });
    const bad = specToNodeConfig({ ...defaultSpec(), appSign: { allowlist: ['abc'], burst: 0 } }, SECRETS);
    expect(!bad.ok && bad.problems).toEqual([
      { kind: 'invalid', path: 'spec.appSign.allowlist', message: "entry 'abc' can never be signed for: app id must be at least 5 bytes in UTF-8, got 3" },
      { kind: 'invalid', path: 'spec.appSign.burst', message: 'must be a whole number from 1 to 1000000; got 0' },
    ]);
  });

  test('defaults apply when redis settings are omitted', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/data' } };
    const result = specToNodeConfig(spec, SECRETS);
    expect(result.ok && result.config.persistence.redis).toEqual({ mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' });
  });

  test('every problem is reported at once, each with its field path', () => {
    const spec = {
      ...defaultSpec(),
      operator: { address: '0x123', keySecretRef: { name: 'operator-key', key: 'key' } },
      persistence: { type: 'redis', dataPath: 'relative/path', redis: { appendfsync: 'sometimes', keyPrefix: 'has space' } },
      server: { port: 70_000 },
    } as unknown as KmsNodeSpec;
    const result = specToNodeConfig(spec, SECRETS);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toEqual([
      'spec.operator.address',
      'spec.persistence.redis.appendfsync',
      'spec.persistence.redis.keyPrefix',
      'spec.persistence.dataPath',
      'spec.server.port',
    ]);
    expect(result.problems.every((p) => p.kind === 'invalid')).toBe(true);
  });

  test.each([['/data/../etc'], ['/'], ['data']])('dataPath %s is refused', (dataPath) => {
    const result = specToNodeConfig({ ...defaultSpec(), persistence: { type: 'redis', dataPath } }, SECRETS);
    expect(result.ok).toBe(false);
  });

  test('a missing Secret key is a secret problem naming the Secret, not its value', () => {
    const result = specToNodeConfig(defaultSpec(), new Map([['chain-rpc/url', 'http://127.0.0.1:8545']]));
    expect(result).toEqual({ ok: false, problems: [{ kind: 'secret', path: 'spec.operator.keySecretRef', message: "Secret 'operator-key' has no non-empty key 'key'" }] });
  });

  test('external mode needs a redis:// URL and never echoes it in a problem', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), persistence: { type: 'redis', redis: { mode: 'external', urlSecretRef: { name: 'redis', key: 'url' } } } };
    const bad = specToNodeConfig(spec, new Map([...SECRETS, ['redis/url', 'http://user:hunter2@host']]));
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
    const good = specToNodeConfig(spec, new Map([...SECRETS, ['redis/url', 'rediss://user:hunter2@host:6380/2']]));
    expect(good.ok && good.config.persistence).toEqual({
      type: 'redis', dataPath: null, redis: { mode: 'external', url: 'rediss://user:hunter2@host:6380/2', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null,
    });
  });

  test('memory needs no data path', () => {
    const result = specToNodeConfig({ ...defaultSpec(), persistence: { type: 'memory' } }, SECRETS);
    expect(result.ok && result.config.persistence).toEqual({ type: 'memory', dataPath: null, redis: null, encryptionSecret: null });
  });

  test('secretRefsOf lists what the gatherer must read', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/d', encryptionKeySecretRef: { name: 'seal', key: 'k' } } };
    expect(secretRefsOf(spec).map((r) => r.path)).toEqual(['spec.operator.keySecretRef', 'spec.chain.rpcUrlSecretRef', 'spec.persistence.encryptionKeySecretRef']);
  });
});
