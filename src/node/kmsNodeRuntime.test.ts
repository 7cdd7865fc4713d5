import type { ControllerNodeConfig } from '../controller/kmsnode/specMapping.js';
import { sealingSecretOf as controllerSealingSecret } from '../controller/runtime/persistenceRuntime.js';
import { silentLogger } from '../logging/logger.js';
import { singleNode, type SingleNode } from '../../test/gen/singleNode.js';
import { persistenceConfigOf, sealingSecretOf } from './createNode.js';
import { KmsNodeRuntime, toServerConfig, type RuntimeBaseSettings } from './kmsNodeRuntime.js';
import type { NodeStatusChange } from './runtime.js';
import { until } from '../../test/gen/until.js';

const base: RuntimeBaseSettings = { host: '0.0.0.0', logLevel: 'info', redisServerBinary: '/usr/bin/redis-server', boundaryInterval: 5, pollIntervalMs: null, protocolTimeoutMs: null };
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

function config(persistence: ControllerNodeConfig['persistence']): ControllerNodeConfig {
  return {
    persistence,
    server: { port: 8000 },
    chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registryAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
    operator: { address: '0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266', privateKey: KEY },
  };
}

describe('toServerConfig (KmsNode resource → node configuration)', () => {
  it('embedded redis: data path, policy and the binary from kms-server settings', () => {
    const server = toServerConfig(config({ type: 'redis', dataPath: '/var/lib/kms', redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret: null }), base);
    expect(server.persistence).toEqual({
      type: 'redis', mode: 'embedded', dataPath: '/var/lib/kms', redisServerBinary: '/usr/bin/redis-server',
      keyPrefix: 'kms:', appendfsync: 'always', allowWeakerFsync: false, commandTimeoutMs: 5000,
    });
    expect(server.operator.address).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266');
    expect(server.chain.operatorSet).toEqual({ kind: 'registry', address: '0x5fbdb2315678afecb367f032d93f642f64180aa3' });
    expect(server.chain.boundaryInterval).toBe(5);
    expect(server.server).toEqual({ host: '0.0.0.0', port: 8000 });
  });

  it('everysec chosen in the resource counts as the explicit opt-in', () => {
    const server = toServerConfig(config({ type: 'redis', dataPath: '/d', redis: { mode: 'embedded', appendfsync: 'everysec', keyPrefix: 'kms:' }, encryptionSecret: null }), base);
    expect(server.persistence).toMatchObject({ appendfsync: 'everysec', allowWeakerFsync: true });
  });

  it('external redis: credentials and db leave the URL', () => {
    const server = toServerConfig(config({ type: 'redis', dataPath: null, redis: { mode: 'external', url: 'rediss://user:pw@db.internal:6380/3', appendfsync: 'always', keyPrefix: 'a:' }, encryptionSecret: null }), base);
    expect(server.persistence).toMatchObject({ mode: 'external', url: 'rediss://db.internal:6380', db: 3, username: 'user', password: 'pw' });
    expect(persistenceConfigOf(server)).toMatchObject({ url: 'rediss://db.internal:6380', db: 3 });
  });

  it('derives the same sealing secret as the persistence-only runtime, so both read the same data', () => {
    for (const encryptionSecret of [null, 'a-dedicated-secret-of-at-least-32-characters']) {
      const c = config({ type: 'redis', dataPath: '/d', redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' }, encryptionSecret });
      expect(Buffer.from(sealingSecretOf(toServerConfig(c, base))).toString('hex')).toBe(Buffer.from(controllerSealingSecret(c)).toString('hex'));
    }
  });

  it('memory stays memory', () => {
    expect(toServerConfig(config({ type: 'memory', dataPath: null, redis: null, encryptionSecret: null }), base).persistence).toEqual({ type: 'memory' });
  });
});

describe('KmsNodeRuntime.onStatusChange: the subscribers hear every node the runtime runs', () => {
  const memory = (): ControllerNodeConfig => config({ type: 'memory', dataPath: null, redis: null, encryptionSecret: null });

  test('start, a DKG, stop, a second start on a new node: all forwarded; the stopped node is detached', async () => {
    const built: SingleNode[] = [];
    const runtime = new KmsNodeRuntime(base, silentLogger(), () => {
      const fixture = singleNode();
      built.push(fixture);
      return Promise.resolve(fixture.node);
    });
    const changes: NodeStatusChange[] = [];
    runtime.onStatusChange((change) => { changes.push(change); });

    await runtime.start(memory());
    expect(changes.map((c) => c.status.phase)).toEqual(['starting', 'restoring', 'running']);
    changes.length = 0;
    const first = built[0]!;
    first.chain.mineToNextBoundary();
    await until('the DKG', () => changes.some((c) => c.reason === 'keyVersionActivated'));
    expect(changes.at(-1)?.status.keys.versionCount).toBe(1);
    expect(runtime.status().keys.activeVersion).toBe(changes.at(-1)?.status.keys.activeVersion);

    changes.length = 0;
    await runtime.stop();
    expect(changes.map((c) => `${c.reason}:${c.status.phase}`)).toEqual(['phase:stopping', 'phase:stopped']);
    // The stopped node's persistence is closed: its health verdict flips, and nobody hears it.
    changes.length = 0;
    await first.node.health();
    expect(first.node.status().lastError?.code).toBe('PERSISTENCE_CLOSED');
    expect(changes).toEqual([]);

    await runtime.start(memory());
    try {
      expect(built).toHaveLength(2);
      expect(changes.map((c) => c.status.phase)).toEqual(['starting', 'restoring', 'running']);
      changes.length = 0;
      built[1]!.persistence.failing = 'AOF is off';
      await runtime.refreshStatus();
      expect(changes.map((c) => `${c.reason}:${String(c.status.persistence?.healthy)}`)).toEqual(['persistenceHealth:false']);
    } finally {
      await runtime.stop();
    }
  }, 60_000);

  test('a node that fails to start is announced as failed, then detached', async () => {
    let fixture: SingleNode | null = null;
    const runtime = new KmsNodeRuntime(base, silentLogger(), () => {
      fixture = singleNode();
      fixture.persistence.failing = 'AOF is off';
      return Promise.resolve(fixture.node);
    });
    const phases: string[] = [];
    runtime.onStatusChange((change) => { phases.push(change.status.phase); });
    await expect(runtime.start(memory())).rejects.toThrow(/AOF is off/);
    expect(phases).toEqual(['starting', 'failed']);
    expect(runtime.status().phase).toBe('failed');
    // The failed node still moves (a stop runs its phases); the runtime no longer listens.
    await fixture!.node.stop();
    expect(fixture!.node.status().phase).toBe('stopped');
    expect(phases).toEqual(['starting', 'failed']);
  });
});
