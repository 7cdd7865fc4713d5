import { silentLogger } from '../logging/logger.js';
import { ActiveVersionMissingError } from './errors.js';
import { instrumentPersistence, type PersistenceObservation } from './instrument.js';
import { MemoryPersistence } from './memory/memoryPersistence.js';
import { nodeState } from '../../test/integration/persistence/fixtures.js';

describe('instrumentPersistence', () => {
  it('reports latency and outcome per operation, with the error code on failure', async () => {
    const seen: PersistenceObservation[] = [];
    let now = 100;
    const clock = () => { now += 0.25; return now; };
    const p = instrumentPersistence(new MemoryPersistence({ logger: silentLogger() }), { observe: (o) => { seen.push(o); } }, clock);
    await p.saveNodeState(nodeState());
    await expect(p.setActiveVersionEpoch(5)).rejects.toBeInstanceOf(ActiveVersionMissingError);
    expect(seen).toEqual([
      { backend: 'memory', operation: 'saveNodeState', durationSeconds: 0.25, outcome: 'ok' },
      { backend: 'memory', operation: 'setActiveVersionEpoch', durationSeconds: 0.25, outcome: 'error', errorCode: 'PERSISTENCE_ACTIVE_VERSION_MISSING' },
    ]);
    expect(p.backend).toBe('memory');
    await p.close();
  });

  it('never lets a failing observer fail the call', async () => {
    const p = instrumentPersistence(new MemoryPersistence({ logger: silentLogger() }), { observe: () => { throw new Error('sink down'); } });
    const s = nodeState();
    await p.saveNodeState(s);
    expect(await p.loadNodeState()).toEqual(s);
  });
});
