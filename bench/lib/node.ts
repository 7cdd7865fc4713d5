/**
 * Helpers for benchmarks that drive real kms-server processes: waiting on /health,
 * closed-loop HTTP load, and key versions written into a node's data before it starts
 * (so a node serves without running a DKG first).
 */
import { performance } from 'node:perf_hooks';
import { G2, createDeterministicRng, encodeG2, randomScalar } from '../../src/crypto/index.js';
import type { DevnetOperator } from '../../src/devnet/devnet.js';
import type { NodePersistence } from '../../src/persistence/nodePersistence.js';
import type { KeyShareVersion, OperatorAddress } from '../../src/persistence/types.js';
import { summarize } from './measure.js';

export interface NodeHealth { phase: string; activeVersion: number | null; versionCount: number; round: unknown; lastProcessedBoundary: number }

export async function health(o: DevnetOperator): Promise<NodeHealth> {
  const response = await fetch(`${o.process.url}/health`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as NodeHealth;
}

/** Polls `probe` until it yields a value; a throw counts as "not yet". */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface Throughput { readonly rps: number; readonly requests: number; readonly p50Ms: number; readonly p99Ms: number }

/** `concurrency` clients each sending `request` back to back for `durationMs`; any answer but 200 fails the run. */
export async function throughput(request: () => Promise<Response>, concurrency: number, durationMs: number): Promise<Throughput> {
  const latencies: number[] = [];
  const ms = await drive(request, concurrency, durationMs, latencies);
  return summarizeThroughput(latencies, ms);
}

/**
 * Two request kinds measured in `blocks` alternating slices of durationMs / blocks each
 * (a, b, a, b, …), so both see the same changes in machine load: for a ratio between two
 * configurations on a machine others are also using.
 */
export async function alternatingThroughput(
  a: () => Promise<Response>,
  b: () => Promise<Response>,
  concurrency: number,
  durationMs: number,
  blocks = 6,
): Promise<[Throughput, Throughput]> {
  const sides = [{ request: a, latencies: [] as number[], ms: 0 }, { request: b, latencies: [] as number[], ms: 0 }];
  for (let i = 0; i < blocks; i++) {
    for (const side of sides) side.ms += await drive(side.request, concurrency, durationMs / blocks, side.latencies);
  }
  const [first, second] = sides.map((side) => summarizeThroughput(side.latencies, side.ms));
  return [first as Throughput, second as Throughput];
}

/** Runs the clients; appends each latency; returns the elapsed ms. */
async function drive(request: () => Promise<Response>, concurrency: number, durationMs: number, latencies: number[]): Promise<number> {
  const end = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const response = await request();
      const body = await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`bench: request answered ${response.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
      latencies.push(performance.now() - s);
    }
  }));
  return performance.now() - t0;
}

function summarizeThroughput(latencies: readonly number[], elapsedMs: number): Throughput {
  const m = summarize('x', [...latencies]);
  return { rps: (latencies.length / elapsedMs) * 1000, requests: latencies.length, p50Ms: m.p50Ms, p99Ms: m.p99Ms };
}

/** One version every 10 minutes from 2020-09-13 on (52,560 is a year): the shape a long-lived node reaches. */
export function fakeVersions(count: number, participants: readonly OperatorAddress[]): KeyShareVersion[] {
  const rng = createDeterministicRng('bench/versions');
  const secret = randomScalar(rng);
  const mpk = encodeG2(G2.BASE.multiply(secret));
  const c1 = encodeG2(G2.BASE.multiply(randomScalar(rng)));
  const start = 1_600_000_000;
  return Array.from({ length: count }, (_, k) => ({
    epoch: start + k * 600, privateShare: randomScalar(rng), commitments: [mpk, c1], masterPublicKey: mpk, threshold: 2, participants, createdAt: (start + k * 600) * 1000,
  }));
}

/** Writes the versions (the last one active) and the node state, 500 saves in flight. */
export async function fill(persistence: NodePersistence, versions: readonly KeyShareVersion[], self: OperatorAddress, boundary: number): Promise<void> {
  const batch = 500;
  for (let i = 0; i < versions.length; i += batch) {
    await Promise.all(versions.slice(i, i + batch).map((v) => persistence.saveKeyShareVersion(v, { activate: false })));
  }
  const last = versions[versions.length - 1];
  if (last !== undefined) await persistence.setActiveVersionEpoch(last.epoch);
  await persistence.saveNodeState({ lastProcessedBoundary: boundary, nodeStartTime: Date.now(), operatorAddress: self });
}
