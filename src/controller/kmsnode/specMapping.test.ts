import { defaultSpec } from '../../../test/gen/kmsNode.js';
import type { KmsNodeSpec } from '../../api/v1alpha1/kmsnode.types.js';
import { ConfigError } from '../../config/errors.js';
import { parseServerConfig } from '../../config/parseServerConfig.js';
import { secretRefsOf, specToNodeConfig, type ProcessSettings } from './specMapping.js';

const KEY = `0x${'ab'.repeat(32)}`;
const SECRETS = new Map([['operator-key/key', KEY], ['chain-rpc/url', 'http://127.0.0.1:8545']]);
/** The pod's env as the chart sets it: the data volume is mounted at /var/lib/kms. */
const POD: ProcessSettings = new Map([['volume-mount-path', '/var/lib/kms'], ['host', '0.0.0.0'], ['log-level', 'warn']]);

describe('specToNodeConfig', () => {
  test('the default spec maps to embedded Redis with its defaults', () => {
    const result = specToNodeConfig(defaultSpec(), SECRETS, new Set(), POD);
    expect(result).toMatchObject({
      ok: true,
      config: {
        persistence: { type: 'redis', dataPath: '/var/lib/kms/data', redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null },
        server: { port: 8000 },
        chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registryAddress: '0x2222222222222222222222222222222222222222', boundaryInterval: null, pollIntervalMs: null, protocolTimeoutMs: null },
        operator: { address: '0xe239cdc5fbe977a8a141b72194d3cf8c41bc5bc6', privateKey: KEY },
      },
    });
    // The node configuration itself: the spec's values, completed by the pod's process-level settings.
    expect(result.ok && result.config.node).toMatchObject({
      server: { host: '0.0.0.0', port: 8000 },
      logLevel: 'warn',
      persistence: { mode: 'embedded', dataPath: '/var/lib/kms/data', commandTimeoutMs: 5000, redisServerBinary: 'redis-server' },
      appSignCacheBytes: 32 * 1024 * 1024,
    });
    // The app-sign cache budget is the process's memory: the pod env sets it.
    const sized = specToNodeConfig(defaultSpec(), SECRETS, new Set(), new Map([...POD, ['app-sign-cache-bytes', '0']]));
    expect(sized.ok && sized.config.node.appSignCacheBytes).toBe(0);
  });

  test('chain timing and Redis timeouts come from the resource, not from code', () => {
    const base = defaultSpec();
    const spec: KmsNodeSpec = {
      ...base,
      chain: { ...base.chain, boundaryInterval: 7, pollIntervalMs: 300, protocolTimeoutMs: 45_000 },
      persistence: { type: 'redis', redis: { mode: 'external', urlSecretRef: { name: 'redis', key: 'url' }, connectTimeoutMs: 1500, commandTimeoutMs: 2500 } },
    };
    const result = specToNodeConfig(spec, new Map([...SECRETS, ['redis/url', 'rediss://kms:pw@db.internal:6380/4']]), new Set(), POD);
    expect(result.ok && result.config.node.chain).toMatchObject({ boundaryInterval: 7, pollIntervalMs: 300, protocolTimeoutMs: 45_000 });
    // Credentials leave the URL as values; no env map is involved.
    expect(result.ok && result.config.node.persistence).toEqual({
      type: 'redis', mode: 'external', url: 'rediss://db.internal:6380', db: 4, username: 'kms', password: 'pw',
      connectTimeoutMs: 1500, commandTimeoutMs: 2500, keyPrefix: 'kms:', appendfsync: 'always', allowWeakerFsync: false,
    });
  });

  test('the rules and messages are the CLI\'s: one validator, named by field instead of flag', () => {
    const other = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    const cases: { spec: KmsNodeSpec; secrets: Map<string, string>; flags: Record<string, string>; env: Record<string, string>; path: string; flag: string }[] = [
      { spec: defaultSpec(), secrets: new Map([...SECRETS, ['operator-key/key', other]]), flags: {}, env: { KMS_OPERATOR_KEY: other }, path: 'spec.operator.keySecretRef', flag: '--operator-key-file' },
      { spec: { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/var/lib/kms/data', redis: { keyPrefix: 'has space' } } }, secrets: SECRETS, flags: { 'redis-key-prefix': 'has space' }, env: { KMS_OPERATOR_KEY: KEY }, path: 'spec.persistence.redis.keyPrefix', flag: '--redis-key-prefix' },
      { spec: { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/var/lib/kms/data', encryptionKeySecretRef: { name: 'seal', key: 'k' } } }, secrets: new Map([...SECRETS, ['seal/k', 'short']]), flags: {}, env: { KMS_OPERATOR_KEY: KEY, KMS_ENCRYPTION_KEY: 'short' }, path: 'spec.persistence.encryptionKeySecretRef', flag: '--encryption-key-file' },
      { spec: { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/tmp' } }, secrets: SECRETS, flags: { 'persistence-data-path': '/tmp', 'volume-mount-path': '/var/lib/kms' }, env: { KMS_OPERATOR_KEY: KEY }, path: 'spec.persistence.dataPath', flag: '--persistence-data-path' },
    ];
    for (const c of cases) {
      const spec = specToNodeConfig(c.spec, c.secrets, new Set(), POD);
      if (spec.ok) throw new Error(`expected ${c.path} to be refused`);
      let cliMessage = '';
      try {
        parseServerConfig({
          flags: { 'operator-address': '0xe239cdc5fbe977a8a141b72194d3cf8c41bc5bc6', 'chain-id': '31337', 'registry-address': '0x2222222222222222222222222222222222222222', ...c.flags },
          env: c.env, readFile: () => '', fileMode: () => null,
        });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        expect(error.problems).toHaveLength(1);
        expect(error.problems[0]?.flag).toBe(c.flag);
        cliMessage = error.problems[0]?.message ?? '';
      }
      expect(spec.problems).toEqual([{ kind: 'invalid', path: c.path, message: cliMessage.replaceAll('--operator-address', 'spec.operator.address') }]);
    }
  });

  test('spec.appSign: the allowlist (trimmed, deduplicated) and limits map to the node; bad entries are named', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), appSign: { allowlist: ['my-app-id', ' my-app-id', '日本語', 'with,comma'], ratePerSecond: 5, maxConcurrent: 2 } };
    const result = specToNodeConfig(spec, SECRETS, new Set(), POD);
    // An array field stays a list: an app id with a comma is one app id.
    expect(result.ok && result.config.appSign).toEqual({ allowlist: ['my-app-id', '日本語', 'with,comma'], ratePerSecond: 5, burst: 100, maxConcurrent: 2, maxBodyBytes: 16384 });
    expect(result.ok && result.config.node.appSign).toEqual(result.ok && result.config.appSign);
    const bad = specToNodeConfig({ ...defaultSpec(), appSign: { allowlist: ['abc'], burst: 0 } }, SECRETS, new Set(), POD);
    expect(!bad.ok && bad.problems).toEqual([
      { kind: 'invalid', path: 'spec.appSign.allowlist', message: "entry 'abc' can never be signed for: app id must be at least 5 bytes in UTF-8, got 3" },
      { kind: 'invalid', path: 'spec.appSign.burst', message: 'must be a whole number from 1 to 1000000; got 0' },
    ]);
  });

  test('defaults apply when redis settings are omitted', () => {
    const spec: KmsNodeSpec = { ...defaultSpec(), persistence: { type: 'redis', dataPath: '/var/lib/kms/d' } };
    const result = specToNodeConfig(spec, SECRETS, new Set(), POD);
    expect(result.ok && result.config.persistence.redis).toEqual({ mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' });
  });

  test('every problem is reported at once, each with its field path', () => {
    const spec = {
      ...defaultSpec(),
      operator: { address: '0x123', keySecretRef: { name: 'operator-key', key: 'key' } },
      persistence: { type: 'redis', dataPath: 'relative/path', redis: { appendfsync: 'sometimes', keyPrefix: 'has space' } },
      server: { port: 70_000 },
    } as unknown as KmsNodeSpec;
    const result = specToNodeConfig(spec, SECRETS, new Set(), POD);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path).sort()).toEqual([
      'spec.operator.address',
      'spec.persistence.dataPath',
      'spec.persistence.redis.appendfsync',
      'spec.persistence.redis.keyPrefix',
      'spec.server.port',
    ]);
    expect(result.problems.every((p) => p.kind === 'invalid')).toBe(true);
  });

  test.each([['/var/lib/kms/../etc'], ['/'], ['data'], ['/var/lib/kms'], ['/tmp/kms'], ['/var/lib/kms-other/data']])('dataPath %s (not under the volume at /var/lib/kms) is refused', (dataPath) => {
    const result = specToNodeConfig({ ...defaultSpec(), persistence: { type: 'redis', dataPath } }, SECRETS, new Set(), POD);
    expect(result).toMatchObject({ ok: false, problems: [{ kind: 'invalid', path: 'spec.persistence.dataPath' }] });
  });

  test('a missing Secret key is a secret problem naming the Secret, not its value', () => {
    const result = specToNodeConfig(defaultSpec(), new Map([['chain-rpc/url', 'http://127.0.0.1:8545']]), new Set(), POD);
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
