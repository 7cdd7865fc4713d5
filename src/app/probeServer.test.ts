import { runtimeStatus, redisHealth, withAof, withHealth, withPhase } from '../../test/gen/kmsNode.js';
import type { NodeRuntimeStatus } from '../node/runtime.js';
import { startProbeServer, type ProbeServer, type ProbeTarget } from './probeServer.js';

describe('the controller-mode probe endpoints', () => {
  let server: ProbeServer | undefined;
  afterEach(async () => { await server?.close(); });

  function target(status: NodeRuntimeStatus, reconciled: boolean, fresh: NodeRuntimeStatus = status): ProbeTarget & { refreshed: number } {
    const t = {
      refreshed: 0,
      refreshStatus: () => { t.refreshed += 1; return Promise.resolve(fresh); },
      status: () => status,
      hasReconciled: () => reconciled,
    };
    return t;
  }

  async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${server!.port}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  test('before the first pass: alive, not started, not ready (no node to ask)', async () => {
    const t = target(runtimeStatus(withPhase('stopped'), withHealth(null)), false);
    server = await startProbeServer(t, '127.0.0.1', 0);
    expect(await get('/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await get('/startupz')).toEqual({ status: 503, body: { status: 'starting', phase: 'stopped' } });
    expect(await get('/health')).toMatchObject({ status: 503, body: { status: 'unhealthy', phase: 'stopped', persistenceHealthy: null } });
    expect(t.refreshed).toBe(0);
  });

  test('restoring is not started yet; a failed start is started (reported), alive, and unready', async () => {
    server = await startProbeServer(target(runtimeStatus(withPhase('restoring')), true), '127.0.0.1', 0);
    expect((await get('/startupz')).status).toBe(503);
    await server.close();
    const failed = runtimeStatus(withPhase('failed'), withHealth(null));
    server = await startProbeServer(target({ ...failed, lastError: { code: 'PERSISTENCE_NOT_DURABLE', message: 'appendonly no' } }, true), '127.0.0.1', 0);
    expect(await get('/startupz')).toEqual({ status: 200, body: { status: 'started', phase: 'failed' } });
    expect(await get('/livez')).toMatchObject({ status: 200 });
    expect(await get('/health')).toMatchObject({ status: 503, body: { phase: 'failed', lastError: { code: 'PERSISTENCE_NOT_DURABLE' } } });
  });

  test('readiness reads fresh persistence health while the node runs: healthy 200, AOF off 503', async () => {
    const running = runtimeStatus(withPhase('running'));
    const healthy = target(running, true);
    server = await startProbeServer(healthy, '127.0.0.1', 0);
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok', phase: 'running', persistenceHealthy: true } });
    expect(healthy.refreshed).toBe(1);
    await server.close();
    const aofOff = runtimeStatus(withPhase('running'), withHealth(redisHealth(withAof({ enabled: false }), (h) => { h.healthy = false; })));
    server = await startProbeServer(target(running, true, aofOff), '127.0.0.1', 0);
    expect(await get('/health')).toMatchObject({ status: 503, body: { status: 'unhealthy', persistenceHealthy: false } });
    expect(await get('/livez')).toMatchObject({ status: 200 });
    expect((await get('/nope')).status).toBe(404);
  });
});
