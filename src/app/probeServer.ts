import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NodeRuntimeStatus } from '../node/runtime.js';

/**
 * The process's own probe endpoints under `--controller`, on a port of their own, so they
 * answer whether or not the node is running (a node that cannot open its persistence is
 * not started, yet the process is alive and its controller is reporting and repairing)
 * and never follow spec.server.port. The kubelet's three questions, three answers:
 *   /livez    — the process is alive and its event loop turns (the answer itself is the
 *               proof; the probe's timeout bounds the stall). Nothing about persistence:
 *               restarting the pod cannot fix a disk, and it would undo the controller.
 *   /health   — readiness: the node runs and its persistence is healthy.
 *   /startupz — the controller has finished its first pass, which includes starting the
 *               node and restoring its key shares, whatever the outcome.
 */
export interface ProbeTarget {
  /** Fresh status when the node runs (reads persistence health), else the last known. */
  refreshStatus(): Promise<NodeRuntimeStatus>;
  status(): NodeRuntimeStatus;
  /** Whether the controller has completed at least one pass over its resource. */
  hasReconciled(): boolean;
}

export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

type Reply = { readonly status: number; readonly body: Record<string, unknown> };

async function readiness(target: ProbeTarget): Promise<Reply> {
  const runtime = target.status().phase === 'running' ? await target.refreshStatus() : target.status();
  const healthy = runtime.persistence?.healthy === true;
  const ready = runtime.phase === 'running' && healthy;
  return {
    status: ready ? 200 : 503,
    body: {
      status: ready ? 'ok' : 'unhealthy',
      phase: runtime.phase,
      persistenceHealthy: runtime.persistence === null ? null : healthy,
      ...(runtime.lastError === null ? {} : { lastError: runtime.lastError }),
    },
  };
}

export async function startProbeServer(target: ProbeTarget, host: string, port: number): Promise<ProbeServer> {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const answer = async (request: IncomingMessage): Promise<Reply> => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return { status: 405, body: { error: 'GET only' } };
    switch (path) {
      case '/livez': {
        const reply = { status: 200, body: { status: 'alive', eventLoopDelayP99Ms: Math.round(delay.percentile(99) / 1e6) } };
        delay.reset();
        return reply;
      }
      case '/health':
        return readiness(target);
      case '/startupz': {
        const phase = target.status().phase;
        const started = target.hasReconciled() && phase !== 'starting' && phase !== 'restoring';
        return { status: started ? 200 : 503, body: { status: started ? 'started' : 'starting', phase } };
      }
      default:
        return { status: 404, body: { error: `no probe at ${path ?? '/'}; use /livez, /health or /startupz` } };
    }
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request).then(
      (reply) => { response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body)); },
      (error: unknown) => {
        response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unhealthy', error: error instanceof Error ? error.message : String(error) }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      delay.disable();
      server.closeAllConnections();
      await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
    },
  };
}
