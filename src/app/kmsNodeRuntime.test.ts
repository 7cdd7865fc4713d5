import { nodeConfig } from '../../test/gen/kmsNode.js';
import { silentLogger } from '../logging/logger.js';
import { singleNode, type SingleNode } from '../../test/gen/singleNode.js';
import { KmsNodeRuntime } from './kmsNodeRuntime.js';
import type { NodeStatusChange } from '../node/runtime.js';
import { until } from '../../test/gen/until.js';

describe('KmsNodeRuntime.start: the node is built from the validated configuration itself', () => {
  test('the factory receives the ServerConfig the spec mapped to, unchanged', async () => {
    const config = nodeConfig();
    const seen: unknown[] = [];
    const runtime = new KmsNodeRuntime(silentLogger(), (server) => {
      seen.push(server);
      return Promise.resolve(singleNode().node);
    });
    await runtime.start(config);
    try {
      expect(seen).toEqual([config.node]);
      expect(runtime.currentConfig()).toBe(config);
    } finally {
      await runtime.stop();
    }
  });
});

describe('KmsNodeRuntime.onStatusChange: the subscribers hear every node the runtime runs', () => {
  const memory = () => nodeConfig();

  test('start, a DKG, stop, a second start on a new node: all forwarded; the stopped node is detached', async () => {
    const built: SingleNode[] = [];
    const runtime = new KmsNodeRuntime(silentLogger(), () => {
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
    const runtime = new KmsNodeRuntime(silentLogger(), () => {
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
