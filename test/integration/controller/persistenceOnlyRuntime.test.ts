import { silentLogger } from '../../../src/logging/logger.js';
import type { NodeStatusChange } from '../../../src/node/runtime.js';
import { nodeConfig } from '../../gen/kmsNode.js';
import { PersistenceOnlyRuntime } from '../../gen/persistenceOnlyRuntime.js';
import { SwitchableHealthPersistence } from '../../gen/singleNode.js';

const MEMORY = nodeConfig();

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
