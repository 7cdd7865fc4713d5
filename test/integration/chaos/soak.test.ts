/**
 * The chaos soak, short: 4 real kms-server processes (each with its own embedded
 * redis-server) on anvil, 14 boundaries with seeded faults (SIGKILL and restart, also
 * during start-up; SIGSTOP across a boundary; SIGKILL of the node's redis-server) at
 * the phases they were planned for, never more than n − t at once. Asserts the soak's
 * invariants: the MPK never changes, no node loses a version it activated, every node
 * converges on one active version within 2 boundaries after the last fault, and
 * kms-client derives the same app key and decrypts a ciphertext from before the faults.
 * KMS_CHAOS_SEED=<n> replays another schedule; the 60-boundary n = 4 and n = 7 runs
 * with their figures are `make chaos`.
 */
import { jest } from '@jest/globals';
import { parseSeed } from '../../../src/devnet/chaos/random.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { runSoak, type SoakReport } from '../../chaos/soak.js';

jest.setTimeout(1_800_000);

/** A schedule with a fault of every kind, one of them during start-up. */
const DEFAULT_SEED = 3;
const seed = process.env.KMS_CHAOS_SEED === undefined ? DEFAULT_SEED : parseSeed(process.env.KMS_CHAOS_SEED);

let dir: string;
let finished: SoakReport | undefined;

function soak(): SoakReport {
  if (finished === undefined) throw new Error('the soak did not finish (see beforeAll)');
  return finished;
}

beforeAll(async () => {
  dir = makeTempDir('kms-chaos-test-');
  finished = await runSoak({ nodes: 4, boundaries: 14, seed, faults: true, baseDir: dir, log: (line) => { process.stderr.write(`${line}\n`); } });
});

afterAll(() => {
  if (finished !== undefined && finished.broken.length === 0) removeTempDir(dir);
  else process.stderr.write(`chaos soak (seed ${seed}): node logs kept in ${dir}\n`);
});

test(`the soak struck real faults of every kind (seed ${seed})`, () => {
  const report = soak();
  const struck = report.faultRuns.filter((r) => r.skipped === null);
  expect(struck.length).toBeGreaterThanOrEqual(3);
  if (seed === DEFAULT_SEED) {
    expect(new Set(struck.map((r) => r.fault.kind))).toEqual(new Set(['sigkill-restart', 'sigstop-across-boundary', 'redis-sigkill']));
    expect(struck.some((r) => r.fault.phase === 'startup' && r.struckDuringStartup === true)).toBe(true);
  }
  expect(report.faultRuns.map((r) => r.error)).toEqual(report.faultRuns.map(() => null));
});

test('the MPK never changed and no node lost a version it had activated', () => {
  const report = soak();
  expect(report.observations.masterPublicKeysSeen.filter((m) => m.masterPublicKey !== report.observations.initialMasterPublicKey)).toEqual([]);
  expect(report.figures.mpkChanges).toBe(0);
  expect(report.observations.activated.filter((a) => !a.heldAtEnd)).toEqual([]);
  expect(report.figures.lostVersions).toBe(0);
});

test('every node converged on one active version within 2 boundaries after the last fault', () => {
  const report = soak();
  expect(report.figures.convergedAfterLastFault).not.toBeNull();
  expect(report.figures.convergedAfterLastFault).toBeLessThanOrEqual(2);
});

test('kms-client derives the same app key as before the faults, and the old ciphertext decrypts', () => {
  const report = soak();
  expect(report.appKeyUnchanged).toBe(true);
  expect(report.oldCiphertextDecrypts).toBe(true);
});

test('no invariant broke', () => {
  const report = soak();
  expect(report.broken).toEqual([]);
});
