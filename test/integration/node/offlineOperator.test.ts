/**
 * Key rotation goes on while one operator is offline: four real kms-server processes
 * (anvil, embedded Redis-AOF each) finish a DKG; one is frozen with SIGSTOP for a whole
 * boundary, so it answers nothing (its sockets accept, its process never replies); the
 * other three reshare without it once their acknowledgement phase times out. After
 * SIGCONT the frozen node skips the round of the boundary it slept through (the others
 * are done with it); its active version is now older than the others', so at the next
 * boundary it takes part as a receiver and all four hold one version again, same MPK.
 */
import { jest } from '@jest/globals';
import { createKmsClient } from '../../../src/client/index.js';
import { g1ToHex } from '../../../src/crypto/index.js';
import { Devnet, type DevnetOperator } from '../../../src/devnet/devnet.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { appKey, convergeWithinBoundaries, converged, health, logMark, messages, mineToNextBoundary, pubkey, settled, waitFor } from './cluster.js';

jest.setTimeout(900_000);

const INTERVAL = 20;
const APP = 'offline-operator-app';

let devnet: Devnet | undefined;
let baseDir = '';
/** The pid currently frozen, so a failing test never leaves a stopped process behind. */
let frozenPid: number | null = null;

function net(): Devnet {
  if (devnet === undefined) throw new Error('the devnet did not start');
  return devnet;
}

function freeze(operator: DevnetOperator): void {
  const pid = operator.process.pid;
  if (pid === null) throw new Error(`${operator.process.options.name} is not running`);
  process.kill(pid, 'SIGSTOP');
  frozenPid = pid;
}

function thaw(): void {
  if (frozenPid === null) return;
  process.kill(frozenPid, 'SIGCONT');
  frozenPid = null;
}

beforeAll(async () => {
  baseDir = makeTempDir('kms-offline-it-');
  devnet = await Devnet.start({ baseDir, nodes: 4, blockTime: 'manual', boundaryInterval: INTERVAL, protocolTimeoutMs: 30_000 });
});

afterAll(async () => {
  thaw();
  await devnet?.stop();
  if (process.env.KMS_KEEP_TEST_DIRS === '1') process.stderr.write(`node logs kept in ${baseDir}\n`);
  else removeTempDir(baseDir);
});

it('a reshare finalizes while one operator is frozen for a boundary; after SIGCONT it rejoins as a receiver and all four agree again', async () => {
  const ops = net().operators;
  const [a, b, c, frozen] = ops as [DevnetOperator, DevnetOperator, DevnetOperator, DevnetOperator];
  const up = [a, b, c];

  // A DKG among all four.
  const dkgBoundary = await mineToNextBoundary(net(), INTERVAL);
  const v0 = await converged(ops, null);
  await settled(ops, dkgBoundary);
  const mpk = (await pubkey(a)).masterPublicKey;
  const firstAppKey = await appKey(ops, APP, mpk, 3);

  // One operator frozen for a whole boundary: the other three reshare without it.
  const marks = up.map(logMark);
  const frozenMark = logMark(frozen);
  freeze(frozen);
  let v1: number;
  let reshareBoundary: number;
  try {
    reshareBoundary = await mineToNextBoundary(net(), INTERVAL);
    v1 = await converged(up, v0);
    await settled(up, reshareBoundary);
    for (const [i, op] of up.entries()) {
      const key = await pubkey(op);
      expect(key).toMatchObject({ version: v1, masterPublicKey: mpk, threshold: 3 });
      // The frozen operator stays in the version: it is owed a share at the next reshare.
      expect(key.participants).toContain(frozen.account.address);
      expect(messages(op, 'round started', marks[i])).toEqual([expect.objectContaining({ type: 'reshare', role: 'dealer', session: v1 })]);
    }
    // Decided at an acknowledgement deadline, not by hearing from everyone: the first node
    // whose (staggered) deadline passed decided, the others followed its completion or
    // reached their own deadline first.
    const timedOut = up.map((op, i) => messages(op, 'acknowledgement phase timed out', marks[i]).map((l) => Number(l.session)));
    expect(timedOut.flat().length).toBeGreaterThanOrEqual(1);
    expect(new Set(timedOut.flat())).toEqual(new Set([v1]));
    const decided = up.map((op, i) => messages(op, 'round completed; new key version active', marks[i]).map((l) => [Number(l.session), l.dealerSet, l.dealers]));
    for (const lines of decided) expect(lines).toEqual([[v1, expect.stringMatching(/^(deadline|followed)$/), 3]]);
    expect(decided.flat().filter(([, how]) => how === 'deadline').length).toBeGreaterThanOrEqual(1);
    expect(await appKey(up, APP, mpk, 3)).toBe(firstAppKey);
  } finally {
    thaw();
  }

  // Back: it sees the boundary it slept through, whose round the others already finished, and runs no round of its own.
  const back = await waitFor(`${frozen.process.options.name} settled after SIGCONT`, async () => {
    const h = await health(frozen);
    return h.lastProcessedBoundary >= reshareBoundary && h.round === null ? h : undefined;
  }, 240_000);
  expect(back.activeVersion).toBe(v0);
  const skipped = await waitFor(`${frozen.process.options.name} skips the round of the boundary it slept through`, () => Promise.resolve(messages(frozen, 'no round at this boundary', frozenMark)[0]));
  expect(skipped).toMatchObject({ boundary: reshareBoundary });
  expect(String(skipped.reason)).toContain(`version ${v1} already came from the round of this boundary`);
  expect(messages(frozen, 'round started', frozenMark)).toEqual([]);
  const mark = logMark(frozen);

  // At a later boundary it takes part as a receiver of v1 and the four converge on one version.
  const v2 = await convergeWithinBoundaries(net(), ops, INTERVAL, v1, 3);
  const keys = await Promise.all(ops.map(pubkey));
  expect(keys.every((k) => k.version === v2 && k.masterPublicKey === mpk && k.threshold === 3 && k.participants.length === 4)).toBe(true);
  const joined = messages(frozen, 'round started', mark).find((l) => Number(l.session) === v2);
  expect(joined).toMatchObject({ type: 'reshare', role: 'receiver' });
  // Its new share works: with two others it recovers the same app key, and so does the client library.
  expect(await appKey([frozen, a, b], APP, mpk, 3)).toBe(firstAppKey);
  const derived = await createKmsClient({ nodes: ops.map((o) => o.process.url) }).deriveAppKey(APP);
  expect(derived.version).toBe(v2);
  expect(derived.rejected).toEqual([]);
  expect(g1ToHex(derived.appKey)).toBe(firstAppKey);
});
