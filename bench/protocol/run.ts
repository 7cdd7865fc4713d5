/**
 * Protocol benchmarks on real node processes (loopback, embedded Redis-AOF per node):
 *  - DKG and reshare wall time for n kms-server processes, next to the same DKG run
 *    in memory in this one process (the protocol's CPU cost without I/O) and to n = 4;
 *  - restart-to-serving time of a node holding 52,560 stored versions, next to the same
 *    node holding one version; and in process KeyStore.restore against an eager decode
 *    of every version (what RestoreState must not do).
 *
 *   tsx bench/protocol/run.ts   (or: make bench, tsx bench/run.ts protocol)
 *   KMS_BENCH_NODES=4,7,10  KMS_BENCH_VERSIONS=52560  choose the sizes; KMS_BENCH_NODES=none
 *   measures the restart only and carries the previous file's rounds over, with their date;
 *   KMS_BENCH_RESTART_NODE=<node binary> times the restart with a second Node.js as well.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Devnet, type DevnetOperator } from '../../src/devnet/devnet.js';
import { createSimulatedDkg, createSimulatedOperators, finalizedVersions, runSessions, seededRandomSources } from '../../src/protocol/index.js';
import { makeTempDir, removeTempDir } from '../../test/harness/tempDir.js';
import { RESULTS_DIR, isMain, printTable, writeResults, type Row } from '../lib/index.js';
import { health, until } from '../lib/node.js';
import { restartBench } from './restart.js';

const INTERVAL = 50;
const sizes = (process.env.KMS_BENCH_NODES ?? '4,7,10').replace('none', '').split(',').map(Number).filter((n) => Number.isSafeInteger(n) && n >= 2);
const VERSIONS = Number(process.env.KMS_BENCH_VERSIONS ?? 52_560);

/** Round wall time from the nodes' own log lines: first 'round started' to last 'round completed' of a session. */
function roundWallMs(ops: readonly DevnetOperator[], session: number): number {
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const o of ops) {
    for (const line of readFileSync(o.process.options.logFile, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line) as { msg: string; time: number; session?: number };
      if (l.session !== session) continue;
      if (l.msg === 'round started') first = Math.min(first, l.time);
      if (l.msg.startsWith('round completed')) last = Math.max(last, l.time);
    }
  }
  return last - first;
}

/** Mines a boundary and waits until all nodes agree on a version newer than `after`. */
async function round(devnet: Devnet, after: number | null, n: number): Promise<{ version: number; boundaryToAllMs: number; logWallMs: number }> {
  const head = await devnet.blockNumber();
  const boundary = (Math.floor(head / INTERVAL) + 1) * INTERVAL;
  const t0 = performance.now();
  await devnet.mine(boundary - head);
  const version = await until(`n=${n} round after ${after ?? 'none'}`, async () => {
    const all = await Promise.all(devnet.operators.map(health));
    const v = all[0]?.activeVersion ?? null;
    return v !== null && (after === null || v > after) && all.every((h) => h.activeVersion === v) ? v : undefined;
  }, 30_000 + n * 60_000);
  const boundaryToAllMs = performance.now() - t0;
  return { version, boundaryToAllMs, logWallMs: roundWallMs(devnet.operators, version) };
}

function inMemoryDkgMs(n: number): number {
  const { sessions } = createSimulatedDkg({
    signers: createSimulatedOperators(n, `bench-protocol-${n}`), sessionTimestamp: 1_700_000_000, rng: seededRandomSources('bench'),
  });
  const t0 = performance.now();
  runSessions(sessions, { batch: true });
  const ms = performance.now() - t0;
  finalizedVersions(sessions); // throws if any operator did not finalize
  return ms;
}

async function processRounds(): Promise<{ rounds: Row[]; failures: string[] }> {
  const rounds: Row[] = [];
  const failures: string[] = [];
  let dkg4: number | null = null;
  for (const n of sizes) {
    const baseDir = makeTempDir(`kms-bench-n${n}-`);
    let devnet: Devnet | null = null;
    try {
      const started = performance.now();
      devnet = await Devnet.start({ baseDir, nodes: n, blockTime: 'manual', boundaryInterval: INTERVAL, protocolTimeoutMs: 60_000 + n * 20_000, logLevel: 'info' });
      const startMs = performance.now() - started;
      const memory = inMemoryDkgMs(n);
      const dkg = await round(devnet, null, n);
      const reshare = await round(devnet, dkg.version, n);
      dkg4 ??= dkg.logWallMs;
      const base = { n, 'devnet start ms': startMs, 'in-memory DKG ms (baseline)': memory };
      rounds.push({ round: 'DKG', ...base, 'wall ms (logs)': dkg.logWallMs, 'boundary→all active ms': dkg.boundaryToAllMs, 'ratio vs in-memory': dkg.logWallMs / memory, 'ratio vs DKG n=4': dkg.logWallMs / dkg4 });
      rounds.push({ round: 'reshare', ...base, 'wall ms (logs)': reshare.logWallMs, 'boundary→all active ms': reshare.boundaryToAllMs, 'ratio vs in-memory': reshare.logWallMs / memory, 'ratio vs DKG n=4': reshare.logWallMs / dkg4 });
    } catch (error) {
      // Reported, not hidden: a size this machine could not run is a result too.
      const reason = `n=${n}: ${error instanceof Error ? error.message : String(error)}`;
      failures.push(reason);
      console.error(`bench protocol: ${reason}`);
    } finally {
      await devnet?.stop();
      removeTempDir(baseDir);
    }
  }
  return { rounds, failures };
}

/** The rounds of the previous protocol.json and when they were measured (a restart-only run keeps them). */
function carriedRounds(): { rounds: unknown; measuredAt: string } | null {
  const path = join(RESULTS_DIR, 'protocol.json');
  if (!existsSync(path)) return null;
  const previous = JSON.parse(readFileSync(path, 'utf8')) as { rounds?: unknown; roundsMeasuredAt?: string; machine?: { date?: string } };
  return previous.rounds === undefined ? null : { rounds: previous.rounds, measuredAt: previous.roundsMeasuredAt ?? previous.machine?.date ?? 'unknown' };
}

export async function run(): Promise<void> {
  const restart = await restartBench(VERSIONS);
  printTable(`Restart to serving (kms-server from ${restart.entry}, embedded Redis-AOF; baseline: the same node with 1 version)`, restart.rows);
  printTable('Where a restart goes (p50 of each stage, from the node\'s log timestamps)', restart.breakdown);
  printTable('Process floors in the same run (spawn to exit)', restart.floors);
  printTable('RestoreState in process (baseline: 1 version); the eager column is what a restore must not do', restart.inProcess);
  const { rounds, failures } = await processRounds();
  const carried = sizes.length === 0 ? carriedRounds() : null;
  if (rounds.length > 0) printTable('DKG / reshare on n kms-server processes, loopback (baselines: the same DKG in memory in one process; DKG n=4)', rounds);
  const path = writeResults('protocol', {
    notes: [
      'All node processes, their redis-servers, anvil and this driver share the machine; with 2 cores, n = 7 and 10 measure contention as much as the protocol.',
      'Round wall time is from the first node logging "round started" to the last logging "round completed" for that session (log timestamps, ms).',
      'boundary→all active includes the nodes\' 500 ms block polling and the /health polling of this driver (100 ms).',
      'Node processes run from dist/ when it is fresh, else through tsx (the restart rows say which); the restart figures include that process start.',
      'The restart figure counts from spawn to this driver seeing /health phase running (polled every 5 ms); restartBreakdown times the node\'s own log milestones from the spawn; the in-process table isolates RestoreState.',
      'The first two restart rows are this driver\'s Node.js; rows with another `node` ran the same dist/ with KMS_BENCH_RESTART_NODE. Both load the node mode as one script, dist/cli/nodeStart.cjs, with a V8 code cache per Node.js version kept in the data path (src/app/codeCache.ts); the first start of each runtime writes it.',
      '/app/sign throughput moved to bench/results/serving.json.',
    ],
    restart: restart.rows,
    restartBreakdown: restart.breakdown,
    processFloors: restart.floors,
    restoreInProcess: restart.inProcess,
    rounds: carried?.rounds ?? rounds,
    ...(carried === null ? {} : { roundsMeasuredAt: carried.measuredAt, roundsNote: 'rounds were not re-run (KMS_BENCH_NODES=none): carried over from the run of roundsMeasuredAt, on that run\'s machine load' }),
    roundFailures: failures,
  });
  console.log(`\nwrote ${path}`);
}

if (isMain(import.meta.url)) await run();
