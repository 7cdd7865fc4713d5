import fc from 'fast-check';
import { kmsNode, redisHealth, runtimeStatus, withAof, withAppendFsync, withDataPath, withHealth, withKeys, withPersistence } from '../../../test/gen/kmsNode.js';
import type { KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import { decide, storeIdentityChanges } from './decide.js';
import { specToNodeConfig, type ControllerNodeConfig } from './specMapping.js';

const SECRETS = new Map([['operator-key/key', `0x${'ab'.repeat(32)}`], ['chain-rpc/url', 'http://127.0.0.1:8545'], ['redis/url', 'redis://u:p@127.0.0.1:6379/0']]);

function config(node: KmsNode): ControllerNodeConfig {
  const mapped = specToNodeConfig(node.spec, SECRETS);
  if (!mapped.ok) throw new Error(JSON.stringify(mapped.problems));
  return mapped.config;
}

const base = kmsNode('n');
const withData = runtimeStatus(withKeys({ activeVersion: 7, versionCount: 2, lastProcessedBoundary: 10 }));
const empty = runtimeStatus();

describe('decide', () => {
  test('not running → start on the desired config', () => {
    expect(decide({ desired: specToNodeConfig(base.spec, SECRETS), running: null, runtime: empty, lastStatus: undefined })).toEqual({ kind: 'start', config: config(base) });
  });

  test('invalid spec → no action', () => {
    expect(decide({ desired: { ok: false, problems: [] }, running: config(base), runtime: empty, lastStatus: undefined })).toEqual({ kind: 'invalid' });
  });

  test('same config, healthy Redis → none', () => {
    expect(decide({ desired: specToNodeConfig(base.spec, SECRETS), running: config(base), runtime: withData, lastStatus: undefined })).toEqual({ kind: 'none' });
  });

  test('appendfsync change → applied in place, not a restart', () => {
    const next = kmsNode('n', withAppendFsync('everysec'));
    expect(decide({ desired: specToNodeConfig(next.spec, SECRETS), running: config(base), runtime: withData, lastStatus: undefined }))
      .toMatchObject({ kind: 'applyFsync', policy: 'everysec', repair: false });
  });

  test('drift (appendonly no behind the node\'s back) → reported first, then repaired with the resource\'s policy', () => {
    const drifted = runtimeStatus(withHealth(redisHealth(withAof({ enabled: false }))));
    const desired = specToNodeConfig(base.spec, SECRETS);
    // Seen before any status says so (a readiness probe read it): this pass only reports.
    expect(decide({ desired, running: config(base), runtime: drifted, lastStatus: { persistence: { backend: 'redis', aofEnabled: true, fsync: 'always' } } })).toEqual({ kind: 'none' });
    expect(decide({ desired, running: config(base), runtime: drifted, lastStatus: undefined })).toEqual({ kind: 'none' });
    // Reported: the next pass repairs.
    expect(decide({ desired, running: config(base), runtime: drifted, lastStatus: { persistence: { backend: 'redis', aofEnabled: false, fsync: 'always' } } }))
      .toMatchObject({ kind: 'applyFsync', policy: 'always', repair: true });
    const wrongPolicy = runtimeStatus(withHealth(redisHealth(withAof({ fsync: 'everysec' }))));
    expect(decide({ desired, running: config(base), runtime: wrongPolicy, lastStatus: { persistence: { backend: 'redis', aofEnabled: true, fsync: 'everysec' } } }))
      .toMatchObject({ kind: 'applyFsync', policy: 'always', repair: true });
  });

  test('dataPath change on a node holding key data → refused, naming the field', () => {
    const next = kmsNode('n', withDataPath('/other'));
    const d = decide({ desired: specToNodeConfig(next.spec, SECRETS), running: config(base), runtime: withData, lastStatus: undefined });
    expect(d).toMatchObject({ kind: 'refuse', changed: ['persistence.dataPath'] });
    if (d.kind === 'refuse') expect(d.message).toContain('2 key share version(s)');
  });

  test('dataPath change on an empty node → drain and restart', () => {
    const next = kmsNode('n', withDataPath('/other'));
    expect(decide({ desired: specToNodeConfig(next.spec, SECRETS), running: config(base), runtime: empty, lastStatus: undefined }))
      .toMatchObject({ kind: 'restart', changed: ['persistence.dataPath'] });
  });

  test('redis → memory with data → refused', () => {
    const next = kmsNode('n', withPersistence({ type: 'memory' }));
    expect(decide({ desired: specToNodeConfig(next.spec, SECRETS), running: config(base), runtime: withData, lastStatus: undefined }))
      .toMatchObject({ kind: 'refuse', changed: expect.arrayContaining(['persistence.type', 'persistence.dataPath']) as unknown });
  });

  test('port change → restart (not a store move, so allowed with data)', () => {
    const next = kmsNode('n', (n) => { n.spec = { ...n.spec, server: { port: 9000 } }; });
    expect(decide({ desired: specToNodeConfig(next.spec, SECRETS), running: config(base), runtime: withData, lastStatus: undefined }))
      .toMatchObject({ kind: 'restart', changed: ['server.port'] });
  });

  test('after a controller restart, the last status remembers where the data was', () => {
    const next = kmsNode('n', withDataPath('/other'));
    const lastStatus = { dataPath: { path: '/var/lib/kms/data', exists: true, writable: true }, keys: { versionCount: 2, lastBoundary: 10, activeVersion: 7 } };
    expect(decide({ desired: specToNodeConfig(next.spec, SECRETS), running: null, runtime: empty, lastStatus })).toMatchObject({ kind: 'refuse' });
    expect(decide({ desired: specToNodeConfig(base.spec, SECRETS), running: null, runtime: empty, lastStatus })).toMatchObject({ kind: 'start' });
  });
});

describe('storeIdentityChanges', () => {
  const external = (url: string): ControllerNodeConfig['persistence'] => ({
    type: 'redis', dataPath: null, redis: { mode: 'external', url, appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null,
  });
  test('rotating the password of the same server is not a move; another host or db is', () => {
    expect(storeIdentityChanges(external('redis://u:a@h:6379/0'), external('redis://u:b@h:6379/0'))).toEqual([]);
    expect(storeIdentityChanges(external('redis://h:6379/0'), external('redis://h2:6379/0'))).toEqual(['persistence.redis.url (server or db)']);
    expect(storeIdentityChanges(external('redis://h:6379/0'), external('redis://h:6379/1'))).toEqual(['persistence.redis.url (server or db)']);
  });
  test('a new key prefix or sealing secret is a move', () => {
    const a = external('redis://h:6379/0');
    expect(storeIdentityChanges(a, { ...a, redis: { ...a.redis!, keyPrefix: 'other:' } })).toEqual(['persistence.redis.keyPrefix']);
    expect(storeIdentityChanges(a, { ...a, encryptionSecret: 'x' })).toEqual(['persistence.encryptionKeySecretRef (value)']);
  });
});

describe('decide (properties)', () => {
  const persistenceArb = fc.record({
    type: fc.constantFrom<'memory' | 'redis'>('memory', 'redis'),
    dataPath: fc.constantFrom('/a', '/b'),
    mode: fc.constantFrom<'embedded' | 'external'>('embedded', 'external'),
    host: fc.constantFrom('h1', 'h2'),
    password: fc.constantFrom('p1', 'p2'),
    appendfsync: fc.constantFrom<'always' | 'everysec'>('always', 'everysec'),
    keyPrefix: fc.constantFrom('kms:', 'other:'),
    encryptionSecret: fc.constantFrom<string | null>(null, 's1'),
    port: fc.constantFrom(8000, 9000),
  });
  type P = typeof persistenceArb extends fc.Arbitrary<infer T> ? T : never;
  const toConfig = (p: P): ControllerNodeConfig => {
    const c = config(base);
    const persistence: ControllerNodeConfig['persistence'] = p.type === 'memory'
      ? { type: 'memory', dataPath: null, redis: null, encryptionSecret: p.encryptionSecret }
      : p.mode === 'embedded'
        ? { type: 'redis', dataPath: p.dataPath, redis: { mode: 'embedded', appendfsync: p.appendfsync, keyPrefix: p.keyPrefix }, encryptionSecret: p.encryptionSecret }
        : { type: 'redis', dataPath: null, redis: { mode: 'external', url: `redis://u:${p.password}@${p.host}:6379/0`, appendfsync: p.appendfsync, keyPrefix: p.keyPrefix }, encryptionSecret: p.encryptionSecret };
    return { ...c, persistence, server: { port: p.port } };
  };
  const keysArb = fc.record({
    activeVersion: fc.option(fc.nat(), { nil: null }),
    versionCount: fc.nat({ max: 5 }),
    lastProcessedBoundary: fc.nat({ max: 5 }),
  });

  test('a running node holding key data is never moved to another store', () => {
    fc.assert(fc.property(persistenceArb, persistenceArb, keysArb, (from, to, keys) => {
      const running = toConfig(from);
      const desired = toConfig(to);
      const runtime = runtimeStatus(withKeys(keys));
      const d = decide({ desired: { ok: true, config: desired }, running, runtime, lastStatus: undefined });
      const moves = storeIdentityChanges(running.persistence, desired.persistence);
      const hasData = keys.versionCount > 0 || keys.activeVersion !== null || keys.lastProcessedBoundary > 0;
      if (hasData && moves.length > 0) expect(d.kind).toBe('refuse');
      if (d.kind === 'restart' || d.kind === 'start') expect(hasData && moves.length > 0).toBe(false);
      // Same config → nothing to do (healthy Redis in the default runtime status).
      if (JSON.stringify(running) === JSON.stringify(desired) && desired.persistence.redis?.appendfsync !== 'everysec') expect(d.kind).toBe('none');
    }));
  });
});
