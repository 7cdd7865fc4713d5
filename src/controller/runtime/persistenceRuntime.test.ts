import { silentLogger } from '../../logging/logger.js';
import type { NodeStatusChange } from '../../node/runtime.js';
import { SwitchableHealthPersistence } from '../../../test/gen/singleNode.js';
import type { ControllerNodeConfig } from '../kmsnode/specMapping.js';
import { PersistenceOnlyRuntime } from './persistenceRuntime.js';

const MEMORY: ControllerNodeConfig = {
  persistence: { type: 'memory', dataPath: null, redis: null, encryptionSecret: null },
  server: { port: 8000 },
  chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registryAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  operator: { address: '0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266', privateKey: `0x${'ab'.repeat(32)}` },
};

const describeChange = (c: NodeStatusChange): string => `${c.reason}:${c.status.phase}:${String(c.status.persistence?.healthy ?? null)}`;

describe('PersistenceOnlyRuntime.onStatusChange', () => {
  test('announces its phases and each flip of the health verdict it reads, nothing else', async () => {
    const persistence = new SwitchableHealthPersistence({ logger: silentLogger() });
    const runtime = new PersistenceOnlyRuntime({ logger: silentLogger(), open: () => Promise.resolve(persistence) });
    const changes: string[] = [];
    runtime.onStatusChange((c) => { changes.push(describeChange(c)); });

    await runtime.start(MEMORY);
    expect(changes).toEqual(['phase:starting:null', 'phase:restoring:null', 'phase:running:true']);
    changes.length = 0;

    await runtime.refreshStatus();
    expect(changes).toEqual([]);
    persistence.failing = 'AOF is off';
    await runtime.refreshStatus();
    await runtime.refreshStatus();
    expect(changes).toEqual(['persistenceHealth:running:false']);
    persistence.failing = null;
    await runtime.refreshStatus();
    expect(changes).toEqual(['persistenceHealth:running:false', 'persistenceHealth:running:true']);
    changes.length = 0;

    await runtime.stop();
    expect(changes).toEqual(['phase:stopping:true', 'phase:stopped:null']);
  });

  test('a failed start is announced as phase failed with its reason; an unsubscribed listener hears nothing', async () => {
    const runtime = new PersistenceOnlyRuntime({ logger: silentLogger(), open: () => Promise.reject(Object.assign(new Error('redis-server did not start'), { code: 'EMBEDDED_START_FAILED' })) });
    const changes: NodeStatusChange[] = [];
    const unsubscribe = runtime.onStatusChange((c) => { changes.push(c); });
    await expect(runtime.start(MEMORY)).rejects.toThrow('redis-server did not start');
    expect(changes.map((c) => c.status.phase)).toEqual(['starting', 'failed']);
    expect(changes[1]?.status.lastError).toEqual({ code: 'EMBEDDED_START_FAILED', message: 'redis-server did not start' });

    unsubscribe();
    await expect(runtime.start(MEMORY)).rejects.toThrow();
    expect(changes).toHaveLength(2);
  });
});
