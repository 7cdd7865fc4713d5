/**
 * Restart to serving: a kms-server process holding 52,560 stored versions against the
 * same node holding one, started alternately so both see the same machine load; the
 * spawn-to-/health-running time, and where it goes, read off the node's own log lines
 * (pino timestamps, ms) and redis-server's (relayed at debug level). Floors in the same
 * run, spawn to exit: `node -e 0` (a bare Node.js start) and a process that only loads
 * the node mode's modules (src/app/nodeMode, from dist/ or through tsx like the node).
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';
import { Devnet, type DevnetOperator } from '../../src/devnet/devnet.js';
import { serverEntry } from '../../src/devnet/nodeProcess.js';
import { silentLogger } from '../../src/logging/logger.js';
import { KeyStore } from '../../src/node/keyStore.js';
import { openPersistence } from '../../src/persistence/open.js';
import { makeTempDir, removeTempDir } from '../../test/harness/tempDir.js';
import { measure, summarize, type Row } from '../lib/index.js';
import { fakeVersions, fill, health, until } from '../lib/node.js';

const RUNS = Number(process.env.KMS_BENCH_RESTART_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node.js arguments that load the node mode's modules and exit, the way the node itself runs (dist or tsx). */
function loadOnlyArgs(from: 'dist' | 'tsx'): string[] {
  const module = from === 'dist' ? join(ROOT, 'dist', 'cli', 'nodeMode.js') : join(ROOT, 'src', 'app', 'nodeMode.ts');
  const load = `await import(${JSON.stringify(pathToFileURL(module).href)})`;
  return from === 'dist' ? ['--input-type=module', '-e', load] : ['--import', 'tsx', '--input-type=module', '-e', load];
}

/** Log milestones of a start, each timed from the spawn (they need not come in this order). */
const MILESTONES = [
  ['config parsed, modules loaded ("configuration")', (l: LogLine) => l.msg === 'configuration'],
  ['redis-server started (its first line)', (l: LogLine) => typeof l.redis === 'string'],
  ['redis-server ready to accept connections', (l: LogLine) => typeof l.redis === 'string' && /ready to accept connections/i.test(l.redis)],
  ['readiness probe answered ("embedded redis-server ready")', (l: LogLine) => l.msg === 'embedded redis-server ready'],
  ['persistence open (durability, schema checked)', (l: LogLine) => l.msg === 'redis persistence open'],
  ['health checked, state restored', (l: LogLine) => l.msg === 'state restored'],
  ['operator set read, HTTP listening ("node running")', (l: LogLine) => l.msg === 'node running'],
] as const;

interface LogLine { readonly msg: string; readonly time: number; readonly redis?: string }

function linesSince(file: string, offset: number): LogLine[] {
  return readFileSync(file).subarray(offset).toString('utf8').split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Ms from spawn to each milestone (NaN when missing), then redis-server's own AOF load figure in ms (NaN without one). */
function milestonesOf(lines: readonly LogLine[], spawnedAt: number): number[] {
  const at = MILESTONES.map(([, matches]) => {
    const line = lines.find((l) => matches(l));
    return line === undefined ? Number.NaN : line.time - spawnedAt;
  });
  let loadedMs = Number.NaN;
  for (const l of lines) {
    const match = /DB loaded from append only file: ([\d.]+) seconds/.exec(l.redis ?? '');
    if (match !== null) loadedMs = Number(match[1]) * 1000;
  }
  return [...at, loadedMs];
}

const column = (versions: number): string => `${versions} version${versions === 1 ? '' : 's'}: ms from spawn, p50`;

function p50(values: readonly number[]): number | null {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? null : summarize('p50', finite).p50Ms;
}

/** Spawn to exit of a short command, ms. */
async function spawnToExit(command: string, args: readonly string[]): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => { if (code === 0) resolve(); else reject(new Error(`${command} ${args.join(' ')} exited ${String(code)}`)); });
  });
  return performance.now() - t0;
}

export interface RestartResults {
  readonly rows: Row[];
  readonly breakdown: Row[];
  readonly floors: Row[];
  readonly inProcess: Row[];
  readonly entry: string;
}

export async function restartBench(versions: number): Promise<RestartResults> {
  const entry = serverEntry();
  const from = entry.args.some((a) => a.endsWith('.js')) ? 'dist' : 'tsx';
  const baseDir = makeTempDir('kms-bench-restore-');
  // Debug level: the node relays redis-server's own lines (its start and AOF load) with timestamps.
  const devnet = await Devnet.start({ baseDir, nodes: 0, blockTime: 'manual', boundaryInterval: 1_000_000, logLevel: 'debug' });
  try {
    const small = await devnet.addOperator();
    const large = await devnet.addOperator();
    const participants = [small.account.address, large.account.address].sort();
    const inProcess: Row[] = [];
    const sizes = new Map<DevnetOperator, number>([[small, 1], [large, versions]]);
    for (const [op, count] of sizes) {
      const config = { type: 'redis' as const, mode: 'embedded' as const, dataPath: op.dataDir, appendfsync: 'everysec' as const };
      const secret = hexToBytes(op.account.privateKey.slice(2));
      const p = await openPersistence(config, { logger: silentLogger(), sealingSecret: secret });
      const t0 = performance.now();
      await fill(p, fakeVersions(count, participants), op.account.address, 0);
      const fillMs = performance.now() - t0;
      const restore = await measure(`KeyStore.restore, ${count} versions`, () => KeyStore.restore(p), { minIterations: 3, minTimeMs: 0, warmup: 1 });
      const eager = await measure(`decode every version (listKeyShareVersions), ${count} versions`, () => p.listKeyShareVersions(), { minIterations: 1, minTimeMs: 0, warmup: 0 });
      inProcess.push({ versions: count, 'fill ms (everysec, batched)': fillMs, 'KeyStore.restore p50 ms': restore.p50Ms, 'eager decode of all ms': eager.p50Ms });
      await p.close();
    }
    const totals = new Map<DevnetOperator, number[]>([[small, []], [large, []]]);
    const milestones = new Map<DevnetOperator, number[][]>([[small, []], [large, []]]);
    const bare: number[] = [];
    const loadOnly: number[] = [];
    // Alternate the two nodes and the floors so all see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      bare.push(await spawnToExit(process.execPath, ['-e', '0']));
      loadOnly.push(await spawnToExit(process.execPath, loadOnlyArgs(from)));
      for (const op of [small, large]) {
        const offset = statSync(op.process.options.logFile, { throwIfNoEntry: false })?.size ?? 0;
        await op.process.start(120_000, 5);
        await until(`${op.process.options.name} serving`, async () => ((await health(op)).phase === 'running' ? true : undefined), 120_000, 5);
        const seenAt = Date.now();
        const spawnedAt = op.process.spawnedAt ?? seenAt;
        totals.get(op)?.push(seenAt - spawnedAt);
        await op.process.stop();
        milestones.get(op)?.push(milestonesOf(linesSince(op.process.options.logFile, offset), spawnedAt));
      }
    }
    const s = summarize('1 version', totals.get(small) ?? []);
    const l = summarize(`${versions} versions`, totals.get(large) ?? []);
    const rows: Row[] = [
      { 'stored versions': 1, 'start→/health running p50 ms': s.p50Ms, runs: s.iterations, 'min ms': s.minMs, 'max ms': s.maxMs, 'ratio vs 1 version': 1, from },
      { 'stored versions': versions, 'start→/health running p50 ms': l.p50Ms, runs: l.iterations, 'min ms': l.minMs, 'max ms': l.maxMs, 'ratio vs 1 version': l.p50Ms / s.p50Ms, from },
    ];
    const names = [...MILESTONES.map(([name]) => name), 'AOF load (redis-server\'s own figure, not from spawn)'];
    const breakdown: Row[] = names.map((milestone, k) => {
      const row: Record<string, string | number | null> = { milestone };
      for (const [op, count] of sizes) row[column(count)] = p50((milestones.get(op) ?? []).map((m) => m[k] ?? Number.NaN));
      return row;
    });
    breakdown.push({ milestone: 'driver saw /health running (the restart figure)', [column(1)]: s.p50Ms, [column(versions)]: l.p50Ms });
    const floors: Row[] = [
      { process: 'node -e 0 (bare Node.js start)', 'spawn→exit p50 ms': summarize('bare', bare).p50Ms, runs: bare.length },
      { process: `load the node mode's modules and exit (${from})`, 'spawn→exit p50 ms': summarize('load', loadOnly).p50Ms, runs: loadOnly.length },
    ];
    const base = inProcess[0]?.['KeyStore.restore p50 ms'];
    for (const r of inProcess) Object.assign(r, { 'restore ratio vs 1 version': typeof base === 'number' ? Number(r['KeyStore.restore p50 ms']) / base : null });
    return { rows, breakdown, floors, inProcess, entry: from };
  } finally {
    await devnet.stop();
    removeTempDir(baseDir);
  }
}
