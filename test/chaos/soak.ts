/**
 * The seeded chaos soak on real processes: anvil, the registry, n kms-server processes
 * each with its own embedded redis-server. After a DKG and a first reshare it derives an
 * app key and encrypts to it, then mines a boundary every `boundaryPeriodMs` while the
 * schedule's faults strike at their phases. It records what every node reports and
 * returns the observations, the figures (src/devnet/chaos/soakMetrics.ts) and the
 * invariants that broke. The seed is logged first: rerunning with it replays the schedule.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { roundLogEvents } from '../../src/devnet/chaos/roundLog.js';
import { chaosSchedule, type ChaosSchedule } from '../../src/devnet/chaos/schedule.js';
import { brokenInvariants, soakFigures, type BoundaryObservation, type SoakFigures, type SoakObservations } from '../../src/devnet/chaos/soakMetrics.js';
import { appKeySchema, kmsClient, waitForAgreement } from '../../src/devnet/demo.js';
import { Devnet } from '../../src/devnet/devnet.js';
import { runFault, sleep, SoakClock, type FaultRun } from './faultInjector.js';
import { activeKey, heldVersion, snapshotCount } from './nodeProbe.js';

export interface Pacing {
  /** Blocks per boundary; the soak mines them at once at each boundary time. */
  readonly blocksPerBoundary: number;
  /** Wall time between two boundaries. */
  readonly boundaryPeriodMs: number;
  /** The nodes' --protocol-timeout-ms (their ack deadline is half of it). */
  readonly protocolTimeoutMs: number;
}

/**
 * Reshare n = 7 took ~7 s on an idle 2-core machine (bench/results/protocol.json) and a
 * round of n = 4 took 6–8 s with the machine 10× oversubscribed; a round may use the
 * whole protocol timeout (ack deadline at half of it) and a restart or SIGCONT needs a
 * few seconds more before the next boundary. KMS_CHAOS_PROTOCOL_TIMEOUT_MS and
 * KMS_CHAOS_BOUNDARY_PERIOD_MS override the defaults.
 */
export function defaultPacing(nodes: number, env: NodeJS.ProcessEnv = process.env): Pacing {
  const protocolTimeoutMs = envMs(env, 'KMS_CHAOS_PROTOCOL_TIMEOUT_MS') ?? (nodes <= 4 ? 16_000 : 24_000 + (nodes - 7) * 4_000);
  const boundaryPeriodMs = envMs(env, 'KMS_CHAOS_BOUNDARY_PERIOD_MS') ?? protocolTimeoutMs + (nodes <= 4 ? 4_000 : 6_000);
  if (boundaryPeriodMs <= protocolTimeoutMs) throw new RangeError(`the boundary period (${boundaryPeriodMs} ms) must exceed the protocol timeout (${protocolTimeoutMs} ms), or every round overlaps the next boundary`);
  return { blocksPerBoundary: 10, boundaryPeriodMs, protocolTimeoutMs };
}

function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1_000) throw new RangeError(`${name} must be a whole number of milliseconds ≥ 1000, got "${raw}"`);
  return value;
}

export interface SoakOptions {
  readonly nodes: number;
  readonly boundaries: number;
  readonly seed: number;
  /** false: the same run without faults (the baseline). */
  readonly faults: boolean;
  readonly baseDir: string;
  readonly pacing?: Pacing;
  readonly faultRate?: number;
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  readonly label: string;
  readonly schedule: ChaosSchedule;
  readonly pacing: Pacing;
  readonly observations: SoakObservations;
  readonly figures: SoakFigures;
  readonly broken: readonly string[];
  readonly faultRuns: readonly FaultRun[];
  readonly appKeyUnchanged: boolean;
  readonly oldCiphertextDecrypts: boolean;
  readonly durationMs: number;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly logFiles: readonly string[];
  /** Per boundary, what each node logged about that round ('completed', 'failed:<CODE>', or null: no round). */
  readonly roundOutcomes: readonly (readonly (string | null)[])[];
}

const APP_ID = 'chaos-soak';
const SETUP_TIMEOUT_MS = 300_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const loadStart = loadavg();
  const pacing = options.pacing ?? defaultPacing(options.nodes);
  const label = `n=${options.nodes} ${options.faults ? 'chaos' : 'baseline'}`;
  const log = (line: string): void => { (options.log ?? console.log)(`[${label}] ${line}`); };
  const schedule = chaosSchedule({ seed: options.seed, nodes: options.nodes, boundaries: options.boundaries, noFaults: !options.faults, ...(options.faultRate === undefined ? {} : { faultRate: options.faultRate }) });
  log(`seed ${options.seed} (replay: KMS_CHAOS_SEED=${options.seed}); ${schedule.faults.length} faults over ${options.boundaries} boundaries, at most ${schedule.maxFaulty} faulty at once; a boundary every ${pacing.boundaryPeriodMs} ms`);
  const devnet = await Devnet.start({
    baseDir: options.baseDir, nodes: options.nodes, blockTime: 'manual', boundaryInterval: pacing.blocksPerBoundary, protocolTimeoutMs: pacing.protocolTimeoutMs,
  });
  const ops = devnet.operators;
  const urls = devnet.nodeUrls();
  const clock = new SoakClock();
  const activated = ops.map(() => new Set<number>());
  const mpkSeen = new Map<string, { node: number; masterPublicKey: string }>();
  const stopObserving = new AbortController();
  try {
    // ---- a key, an app key and a ciphertext before any fault
    const first = await agreeAfterBoundaries(devnet, pacing, null, log);
    const reshared = await agreeAfterBoundaries(devnet, pacing, first.version, log);
    if (reshared.masterPublicKey !== first.masterPublicKey) throw new Error('the first reshare changed the MPK');
    const mpk = first.masterPublicKey;
    const appKeyBefore = appKeySchema.parse(JSON.parse((await kmsClient(urls, ['app-key', APP_ID, '--json'])).toString('utf8')));
    const plaintext = new Uint8Array(randomBytes(256));
    const ciphertext = await kmsClient(urls, ['encrypt', APP_ID], plaintext);
    log(`DKG ${first.version}, reshare ${reshared.version}, app key derived, ciphertext made; soak starts`);

    // ---- observer: every active version and MPK each serving node reports
    const observer = (async () => {
      while (!stopObserving.signal.aborted) {
        await Promise.all(ops.map(async (o, node) => {
          if (!o.process.isRunning() || clock.isFaulty(node)) return;
          const key = await activeKey(o.process.url);
          if (key === null) return;
          activated[node]?.add(key.version);
          mpkSeen.set(`${node}:${key.masterPublicKey}`, { node, masterPublicKey: key.masterPublicKey });
        }));
        await sleep(500);
      }
    })();

    // ---- the soak: a boundary per period, faults at their phases
    const timestamps: number[] = [];
    const activeAfter: (number | null)[][] = [];
    const faultTasks: Promise<FaultRun>[] = [];
    const t0 = Date.now();
    for (let i = 0; i < options.boundaries; i++) {
      await sleep(t0 + i * pacing.boundaryPeriodMs - Date.now());
      if (i > 0) activeAfter[i - 1] = await activeVersions(ops, clock);
      const due = schedule.faults.filter((f) => f.boundary === i);
      const snapshotsBefore = due.length === 0 ? [] : await Promise.all(ops.map((o, node) => (o.process.isRunning() && !clock.isFaulty(node) ? snapshotCount(o.process.url) : Promise.resolve(null))));
      const mined = await devnet.mineToNextBoundary(pacing.blocksPerBoundary);
      timestamps[i] = mined.timestamp;
      clock.boundaryMined(i);
      log(`boundary ${i + 1}/${options.boundaries}: block ${mined.blockNumber}, session ${mined.timestamp}, faulty now: ${[...clock.faultyInSlot[i] ?? []].map((n) => n + 1).join(',') || 'none'}`);
      for (const fault of due) {
        faultTasks.push(runFault(fault, {
          clock, operators: ops, maxFaulty: schedule.maxFaulty, phaseWaitMs: pacing.protocolTimeoutMs,
          recoveryTimeoutMs: 240_000, snapshotsBefore, log,
        }));
      }
    }
    await sleep(t0 + options.boundaries * pacing.boundaryPeriodMs - Date.now());
    activeAfter[options.boundaries - 1] = await activeVersions(ops, clock);
    clock.boundaryMined(options.boundaries); // wakes any fault still waiting for "the next boundary"
    const faultRuns = await Promise.all(faultTasks);
    stopObserving.abort();
    await observer;

    // ---- what every node holds at the end
    const boundaries: BoundaryObservation[] = [];
    for (let i = 0; i < options.boundaries; i++) {
      const ts = timestamps[i] ?? 0;
      const held = await Promise.all(ops.map((o) => heldVersion(o.process.url, ts)));
      held.forEach((h, node) => { if (h !== null && h !== 'not-held') mpkSeen.set(`${node}:${h.masterPublicKey}`, { node, masterPublicKey: h.masterPublicKey }); });
      boundaries.push({
        index: i,
        sessionTimestamp: ts,
        faulty: [...(clock.faultyInSlot[i] ?? [])].sort((a, b) => a - b),
        producedOn: held.flatMap((h, node) => (h !== null && h !== 'not-held' ? [node] : [])),
        activeAfter: activeAfter[i] ?? ops.map(() => null),
      });
    }
    const activatedAtEnd = await Promise.all(activated.flatMap((versions, node) => [...versions].sort((a, b) => a - b).map(async (version) => {
      const held = await heldVersion(urls[node] ?? '', version);
      return { node, version, heldAtEnd: held !== null && held !== 'not-held' && held.masterPublicKey === mpk };
    })));
    const observations: SoakObservations = {
      nodes: options.nodes,
      threshold: schedule.threshold,
      boundaries,
      faults: faultRuns.filter((r) => r.skipped === null).map((r) => ({ id: r.fault.id, node: r.fault.node, boundary: r.fault.boundary, recoveredBeforeBoundary: r.recoveredBeforeBoundary })),
      initialMasterPublicKey: mpk,
      masterPublicKeysSeen: [...mpkSeen.values()],
      activated: activatedAtEnd,
    };

    // ---- the app key and the old ciphertext, from every node
    const appKeyAfter = appKeySchema.parse(JSON.parse((await kmsClient(urls, ['app-key', APP_ID, '--json'])).toString('utf8')));
    const appKeyUnchanged = appKeyAfter.appKey === appKeyBefore.appKey;
    const opened = await kmsClient(urls, ['decrypt', APP_ID], ciphertext).catch(() => null);
    const oldCiphertextDecrypts = opened !== null && Buffer.from(plaintext).equals(opened);
    const figures = soakFigures(observations);
    const broken = brokenInvariants(observations, figures);
    if (!appKeyUnchanged) broken.push(`kms-client derived app key ${appKeyAfter.appKey.slice(0, 18)}… at the end, not the ${appKeyBefore.appKey.slice(0, 18)}… of before the faults`);
    if (!oldCiphertextDecrypts) broken.push('the ciphertext made before the faults no longer decrypts');
    log(`liveness ${figures.liveBoundaries}/${figures.eligibleBoundaries} = ${figures.livenessRatio.toFixed(3)}; mpk_changes ${figures.mpkChanges}; lost_versions ${figures.lostVersions}; ${broken.length === 0 ? 'every invariant held' : `BROKEN: ${broken.join('; ')}`}`);
    const logEvents = ops.map((o) => roundLogEvents(readFileSync(o.process.options.logFile, 'utf8')));
    const roundOutcomes = boundaries.map((b) => logEvents.map((events) => events.filter((e) => e.session === b.sessionTimestamp).at(-1)?.outcome ?? null));
    return {
      roundOutcomes, label, schedule, pacing, observations, figures, broken, faultRuns, appKeyUnchanged, oldCiphertextDecrypts,
      durationMs: Date.now() - started, loadAverage: { start: loadStart, end: loadavg() },
      logFiles: ops.map((o) => o.process.options.logFile),
    };
  } finally {
    stopObserving.abort();
    for (const o of ops) if (o.process.isRunning()) o.process.resume();
    await devnet.stop();
  }
}

/** Each node's active version right now (null: faulty, down or no answer). */
async function activeVersions(ops: Devnet['operators'], clock: SoakClock): Promise<(number | null)[]> {
  return Promise.all(ops.map(async (o, node) => (o.process.isRunning() && !clock.isFaulty(node) ? (await activeKey(o.process.url))?.version ?? null : null)));
}

/** Mines boundaries (one per period) until every node agrees on a version newer than `after`. */
async function agreeAfterBoundaries(devnet: Devnet, pacing: Pacing, after: number | null, log: (line: string) => void): Promise<{ version: number; masterPublicKey: string }> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    const mined = await devnet.mineToNextBoundary(pacing.blocksPerBoundary);
    try {
      const agreed = await waitForAgreement(devnet.operators, (v) => after === null || v > after, { timeoutMs: Math.max(pacing.boundaryPeriodMs, pacing.protocolTimeoutMs * 2) });
      return { version: agreed.version, masterPublicKey: agreed.masterPublicKey };
    } catch (error) {
      log(`set-up boundary ${mined.blockNumber} (attempt ${attempt}) brought no agreement: ${error instanceof Error ? error.message : String(error)}`);
      if (Date.now() > deadline) throw new Error(`no ${after === null ? 'DKG' : 'reshare'} agreed within ${SETUP_TIMEOUT_MS / 1000} s of set-up boundaries`);
    }
  }
}
