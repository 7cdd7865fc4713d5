/**
 * `make chaos` (also part of `make bench`): the seeded chaos soak on real processes for
 * n = 4 and n = 7, each next to the same run without faults (the baseline), written to
 * bench/results/chaos.json. Exits 1 (after writing) if an invariant broke or
 * liveness_ratio is under the goal.
 *
 *   tsx bench/chaos/run.ts   (or: make chaos, tsx bench/run.ts chaos)
 *   KMS_CHAOS_NODES=4,7  KMS_CHAOS_BOUNDARIES=60 (or one per n: 60,60)  KMS_CHAOS_SEED=<n> (replays a run)
 *   KMS_CHAOS_BASELINE=parallel|sequential   the baseline beside the chaos run (same load) or after it
 *   KMS_CHAOS_PROTOCOL_TIMEOUT_MS, KMS_CHAOS_BOUNDARY_PERIOD_MS   pacing (see test/chaos/soak.ts)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshSeed, parseSeed } from '../../src/devnet/chaos/random.js';
import { runSoak, type SoakReport } from '../../test/chaos/soak.js';
import { isMain, printTable, RESULTS_DIR, writeResults, type Row } from '../lib/index.js';

const LIVENESS_GOAL = 0.95;

function settings(): { sizes: number[]; boundaries: number[]; seed: number | null; parallel: boolean } {
  const sizes = (process.env.KMS_CHAOS_NODES ?? '4,7').split(',').map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 4)) throw new RangeError(`KMS_CHAOS_NODES must list node counts ≥ 4, got "${process.env.KMS_CHAOS_NODES ?? ''}"`);
  const listed = (process.env.KMS_CHAOS_BOUNDARIES ?? '60').split(',').map(Number);
  const boundaries = sizes.map((_, i) => listed[Math.min(i, listed.length - 1)] ?? 60);
  if (boundaries.some((b) => !Number.isSafeInteger(b) || b < 4)) throw new RangeError(`KMS_CHAOS_BOUNDARIES must be an integer ≥ 4 (or one per KMS_CHAOS_NODES entry), got "${process.env.KMS_CHAOS_BOUNDARIES ?? ''}"`);
  const mode = process.env.KMS_CHAOS_BASELINE ?? 'parallel';
  if (mode !== 'parallel' && mode !== 'sequential') throw new RangeError(`KMS_CHAOS_BASELINE is parallel or sequential, got "${mode}"`);
  const seed = process.env.KMS_CHAOS_SEED === undefined ? null : parseSeed(process.env.KMS_CHAOS_SEED);
  return { sizes, boundaries, seed, parallel: mode === 'parallel' };
}

async function soakPair(nodes: number, boundaries: number, seed: number, parallel: boolean): Promise<{ chaos: SoakReport; baseline: SoakReport; dirs: string[] }> {
  const dirs = [mkdtempSync(join(tmpdir(), `kms-chaos-${nodes}-`)), mkdtempSync(join(tmpdir(), `kms-chaos-${nodes}-baseline-`))];
  const chaos = (): Promise<SoakReport> => runSoak({ nodes, boundaries, seed, faults: true, baseDir: dirs[0] ?? '' });
  const baseline = (): Promise<SoakReport> => runSoak({ nodes, boundaries, seed, faults: false, baseDir: dirs[1] ?? '' });
  if (parallel) {
    const [c, b] = await Promise.all([chaos(), baseline()]);
    return { chaos: c, baseline: b, dirs };
  }
  const c = await chaos();
  return { chaos: c, baseline: await baseline(), dirs };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

function summary(r: SoakReport): Record<string, unknown> {
  const f = r.figures;
  const struck = r.faultRuns.filter((x) => x.skipped === null);
  return {
    liveness_ratio: f.livenessRatio,
    live_boundaries: f.liveBoundaries,
    eligible_boundaries: f.eligibleBoundaries,
    over_budget_boundaries: f.overBudgetBoundaries,
    reconverge_boundaries_p50: f.reconvergence.p50,
    reconverge_boundaries_max: f.reconvergence.max,
    not_reconverged: f.reconvergence.notReconverged,
    converged_after_last_fault_boundaries: f.convergedAfterLastFault,
    mpk_changes: f.mpkChanges,
    lost_versions: f.lostVersions,
    app_key_unchanged: r.appKeyUnchanged,
    old_ciphertext_decrypts: r.oldCiphertextDecrypts,
    broken_invariants: r.broken,
    round_outcomes_logged: countBy(r.roundOutcomes.flat().filter((o): o is string => o !== null), (o) => o),
    faults_struck: struck.length,
    faults_skipped: r.faultRuns.length - struck.length,
    faults_by_kind: countBy(struck, (x) => x.fault.kind),
    faults_by_phase: countBy(struck, (x) => `${x.fault.phase}${x.phaseReached ? '' : ' (phase not seen)'}`),
    duration_s: Math.round(r.durationMs / 1000),
    load_average: r.loadAverage,
  };
}

function faultDetail(r: SoakReport): Record<string, unknown>[] {
  const per = new Map(r.figures.reconvergence.perFault.map((p) => [p.id, p.boundaries]));
  return r.faultRuns.map((x) => ({
    id: x.fault.id, boundary: x.fault.boundary + 1, node: x.fault.node + 1, kind: x.fault.kind, phase: x.fault.phase,
    phase_seen: x.phaseSeen, phase_reached: x.phaseReached, struck_during_startup: x.struckDuringStartup,
    struck_ms_after_boundary: x.struckAtMs, faulty_ms: x.faultyMs,
    skipped: x.skipped, recovered_before_boundary: x.recoveredBeforeBoundary === null ? null : x.recoveredBeforeBoundary + 1,
    reconverge_boundaries: per.get(x.fault.id) ?? null, error: x.error, notes: x.notes,
  }));
}

function headCommit(): string {
  return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

/**
 * Writes bench/results/chaos.json after each n (a stopped run keeps what it measured).
 * Runs of other node counts already in the file are kept, so `KMS_CHAOS_NODES=7` alone
 * updates only the n = 7 entry; each entry names its commit and date.
 */
function save(results: readonly Record<string, unknown>[]): string {
  const path = join(RESULTS_DIR, 'chaos.json');
  const measured = new Set(results.map((r) => r.nodes));
  const earlier = existsSync(path) ? ((JSON.parse(readFileSync(path, 'utf8')) as { runs?: Record<string, unknown>[] }).runs ?? []) : [];
  const runs = [...earlier.filter((r) => !measured.has(r.nodes)), ...results].sort((a, b) => Number(a.nodes) - Number(b.nodes));
  return writeResults('chaos', {
    notes: [
      'Each run: anvil (blocks mined by the soak), the registry, n kms-server processes with their own embedded redis-server (AOF, appendfsync always).',
      'After a DKG and a first reshare the soak derives an app key and encrypts to it, then mines a boundary every boundaryPeriodMs while faults strike; the baseline is the same run (same seed and pacing) without faults, at the same time as the chaos run (baseline_mode parallel: both see the same machine load) or after it.',
      'liveness_ratio: boundaries with at most n − t faulty nodes whose round produced the new version (epoch = boundary timestamp) on every node not faulty in that slot, over all such boundaries.',
      'reconverge: boundaries from the first boundary after a fault\'s node serves again to the first round that produced its version on every live node including that one.',
      'Phases are read from the nodes: deals = a node saved its first session snapshot of the round (kms_persistence_operation_duration_seconds_count{operation="saveProtocolSession"}), acks = a node saved its second (completions out).',
      'node_logs per boundary: what each node logged about that round (completed, failed:<code>; null = no round logged). The machine (2 cores) is shared with other work; see load_average.',
    ],
    goal: { liveness_ratio: LIVENESS_GOAL, mpk_changes: 0, lost_versions: 0 },
    runs,
  });
}

export async function run(): Promise<void> {
  const s = settings();
  const results: Record<string, unknown>[] = [];
  const rows: Row[] = [];
  let failed = false;
  for (const [i, nodes] of s.sizes.entries()) {
    const seed = s.seed ?? freshSeed();
    const boundaries = s.boundaries[i] ?? 60;
    console.log(`chaos soak n=${nodes}: seed ${seed} (replay with KMS_CHAOS_SEED=${seed} KMS_CHAOS_NODES=${nodes} KMS_CHAOS_BOUNDARIES=${boundaries})`);
    const { chaos, baseline, dirs } = await soakPair(nodes, boundaries, seed, s.parallel);
    const ok = chaos.broken.length === 0 && baseline.broken.length === 0 && chaos.figures.livenessRatio >= LIVENESS_GOAL;
    failed ||= !ok;
    if (ok) for (const d of dirs) rmSync(d, { recursive: true, force: true });
    else console.log(`n=${nodes}: node logs kept in ${dirs.join(' and ')}`);
    results.push({
      nodes, commit: headCommit(), baseline_mode: s.parallel ? 'parallel' : 'sequential', threshold: chaos.schedule.threshold, max_faulty: chaos.schedule.maxFaulty, seed, boundaries,
      pacing: chaos.pacing, fault_rate: chaos.schedule.faultRate, quiet_tail: chaos.schedule.quietTail,
      chaos: summary(chaos), baseline: summary(baseline), faults: faultDetail(chaos),
      boundaries_detail: chaos.observations.boundaries.map((b) => ({
        boundary: b.index + 1, faulty: b.faulty.map((n) => n + 1), produced_on: b.producedOn.map((n) => n + 1), node_logs: chaos.roundOutcomes[b.index] ?? [],
      })),
    });
    for (const [what, r] of [['chaos', chaos], ['baseline (no faults)', baseline]] as const) {
      rows.push({
        n: nodes, run: what, seed, faults: r.faultRuns.filter((x) => x.skipped === null).length,
        liveness_ratio: r.figures.livenessRatio, 'reconverge p50': r.figures.reconvergence.p50, 'reconverge max': r.figures.reconvergence.max,
        mpk_changes: r.figures.mpkChanges, lost_versions: r.figures.lostVersions, broken: r.broken.length,
      });
    }
    save(results);
  }
  printTable('chaos soak (liveness_ratio goal ≥ 0.95; mpk_changes and lost_versions must be 0)', rows);
  console.log(`\nwrote ${save(results)}`);
  if (failed) {
    console.error('chaos: an invariant broke or liveness_ratio is under the goal (see above)');
    process.exitCode = 1;
  }
}

if (isMain(import.meta.url)) await run();
