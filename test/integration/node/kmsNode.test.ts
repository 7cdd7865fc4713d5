/**
 * The KMS node end to end: real anvil with the OperatorRegistry, kms-server OS
 * processes each with its own embedded redis-server (AOF, appendfsync always), so
 * SIGTERM and SIGKILL are real. Blocks are mined only when a test asks, so each
 * boundary (and so each DKG or reshare) happens exactly when the scenario needs it.
 * One devnet runs the scenarios in order; each test states what it starts from.
 */
import { jest } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createKmsClient } from '../../../src/client/index.js';
import { g1FromHex, g1ToHex, g2FromHex, operatorId, publicShare, verifyPartial } from '../../../src/crypto/index.js';
import { Devnet, type DevnetOperator } from '../../../src/devnet/devnet.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import {
  appKey, convergeWithinBoundaries, converged, getJson, health, logMark, messages, mineToNextBoundary, pubkey, pubkeyAt, settled, sign, waitFor, type NodeHealth,
} from './cluster.js';

jest.setTimeout(600_000);

const INTERVAL = 20;
const APP = 'integration-app-1';

let devnet: Devnet | undefined;
let baseDir = '';
let ops: DevnetOperator[];
/** The master public key and app key of the first DKG: every later version must keep both. */
let masterPublicKey = '';
let firstAppKey = '';
/** Every version epoch the cluster agreed on, in order. */
const agreed: number[] = [];

const name = (o: DevnetOperator): string => o.process.options.name;

function net(): Devnet {
  if (devnet === undefined) throw new Error('the devnet did not start');
  return devnet;
}

/** The AOF of an operator's embedded redis-server mentions a session snapshot key. */
function aofMentionsSession(operator: DevnetOperator, sessionTimestamp: number): boolean {
  const dir = join(operator.dataDir, 'appendonlydir');
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((f) => f.endsWith('.aof') && readFileSync(join(dir, f), 'latin1').includes(`session:${sessionTimestamp}`));
}

/** Session timestamps a node started rounds for, across all its runs. */
function startedSessions(operator: DevnetOperator): number[] {
  return messages(operator, 'round started').map((l) => Number(l.session));
}

async function restart(operator: DevnetOperator): Promise<{ exit: { code: number | null; signal: string | null }; mark: number; after: NodeHealth }> {
  const exit = await operator.process.stop();
  const mark = logMark(operator);
  await operator.process.start();
  const after = await waitFor(`${name(operator)} running after restart`, async () => {
    const h = await health(operator);
    return h.phase === 'running' ? h : undefined;
  });
  return { exit, mark, after };
}

beforeAll(async () => {
  baseDir = makeTempDir('kms-node-it-');
  devnet = await Devnet.start({
    baseDir,
    nodes: 4,
    blockTime: 'manual',
    boundaryInterval: INTERVAL,
    protocolTimeoutMs: 60_000,
  });
  ops = net().operators;
});

afterAll(async () => {
  await devnet?.stop();
  // KMS_KEEP_TEST_DIRS=1 keeps the node logs and data of a run for a post-mortem.
  if (process.env.KMS_KEEP_TEST_DIRS === '1') process.stderr.write(`node logs kept in ${baseDir}\n`);
  else removeTempDir(baseDir);
});

it('EmptyState: a first run restores nothing, serves no key and runs no round before a boundary', async () => {
  for (const op of ops) {
    const restored = await waitFor(`${name(op)} 'state restored'`, () => Promise.resolve(messages(op, 'state restored')[0]));
    expect(restored).toMatchObject({ lastProcessedBoundary: 0, versions: 0, activeVersion: null });
    const h = await health(op);
    expect(h).toMatchObject({ phase: 'running', status: 'degraded', activeVersion: null, versionCount: 0, lastProcessedBoundary: 0, round: null });
    expect(h.operatorAddress).toBe(op.account.address);
    expect(h.persistence?.healthy).toBe(true);
    const noKey = await fetch(`${op.process.url}/pubkey`);
    expect(noKey.status).toBe(503);
    const noSign = await sign(op, APP);
    expect(noSign.status).toBe(503);
    expect(messages(op, 'deleting a protocol session')).toEqual([]);
    expect(startedSessions(op)).toEqual([]);
  }
  // The setup transactions mined fewer blocks than one interval: no boundary yet.
  expect(await net().blockNumber()).toBeLessThan(INTERVAL);
});

it('CrashDuringDKG: a node SIGKILLed mid-DKG cleans its session up on restart and the cluster converges at a later boundary', async () => {
  const [, , held, victim] = ops as [DevnetOperator, DevnetOperator, DevnetOperator, DevnetOperator];
  // With one operator down nobody completes before the acknowledgement deadline (half
  // the 60 s protocol timeout: until then every operator's acks are awaited), so the
  // victim is reliably mid-round, its phase snapshot on disk, when it is killed. Then
  // only two operators are left to sign completions, fewer than t = 3: the round fails.
  await held.process.stop();
  const boundary = await mineToNextBoundary(net(), INTERVAL);
  const started = await waitFor(`${name(victim)} starts the DKG`, () => Promise.resolve(messages(victim, 'round started').at(-1)));
  const ts = Number(started.session);
  expect(started.type).toBe('dkg');
  await waitFor(`${name(victim)} snapshot of session ${ts} in its AOF`, () => Promise.resolve(aofMentionsSession(victim, ts) ? true : undefined));
  const killed = await victim.process.kill();
  expect(killed.signal).toBe('SIGKILL');

  const up = ops.filter((o) => o !== held && o !== victim);
  // settled() alone can pass while a survivor is still asking its peers for certificates
  // before its round (no round running yet): wait for each survivor's own verdict.
  for (const op of up) await waitFor(`${name(op)} gives up session ${ts}`, () => Promise.resolve(messages(op, 'round failed').some((l) => Number(l.session) === ts) ? true : undefined));
  await settled(up, boundary);
  for (const op of up) {
    expect(messages(op, 'round failed').map((l) => Number(l.session))).toContain(ts);
    expect((await health(op)).activeVersion).toBeNull();
  }

  const mark = logMark(victim);
  await Promise.all([held.process.start(), victim.process.start()]);
  const cleaned = await waitFor(`${name(victim)} deletes the stale session`, () => Promise.resolve(messages(victim, 'deleting a protocol session', mark)[0]));
  expect(cleaned).toMatchObject({ session: ts, type: 'dkg' });
  expect(messages(victim, 'state restored', mark)[0]).toMatchObject({ lastProcessedBoundary: boundary, versions: 0, activeVersion: null });
  // The victim recorded the boundary before its round, so it does not run it again. The
  // held node never saw it and may try it alone; let that end before the next boundary.
  await settled(ops, boundary);
  expect(messages(victim, 'round started', mark)).toEqual([]);

  const version = await convergeWithinBoundaries(net(), ops, INTERVAL, null);
  expect(version).toBeGreaterThan(ts);
  const keys = await Promise.all(ops.map(pubkey));
  expect(new Set(keys.map((k) => k.masterPublicKey)).size).toBe(1);
  expect(keys.every((k) => k.threshold === 3 && k.participants.length === 4)).toBe(true);
  masterPublicKey = keys[0]!.masterPublicKey;
  agreed.push(version);
  firstAppKey = await appKey(ops, APP, masterPublicKey, 3);
  // Any threshold subset recovers the same key.
  expect(await appKey([...ops].reverse(), APP, masterPublicKey, 3)).toBe(firstAppKey);
});

it('MultipleKeyVersions: DKG → reshare → reshare leaves three versions, restored with the right active one, the same app key from each', async () => {
  const dkgVersion = (await health(ops[0]!)).activeVersion!;
  // Convergence after the crash may have taken more than one round (a round some nodes
  // finalized and others did not), so count from what each node holds now.
  const held = await Promise.all(ops.map(async (o) => (await health(o)).versionCount));
  const epochs = [dkgVersion];
  for (let i = 0; i < 2; i++) {
    const boundary = await mineToNextBoundary(net(), INTERVAL);
    epochs.push(await converged(ops, epochs.at(-1)!));
    agreed.push(epochs.at(-1)!);
    await settled(ops, boundary);
  }
  for (const [i, op] of ops.entries()) {
    expect(await health(op)).toMatchObject({ activeVersion: epochs[2], versionCount: held[i]! + 2 });
    expect(messages(op, 'round started').filter((l) => l.type === 'reshare').length).toBeGreaterThanOrEqual(2);
  }
  const keys = await Promise.all(ops.map(pubkey));
  expect(keys.every((k) => k.masterPublicKey === masterPublicKey && k.version === epochs[2])).toBe(true);

  const [first] = ops;
  const { exit, mark, after } = await restart(first!);
  expect(exit.code).toBe(0);
  expect(messages(first!, 'state restored', mark)[0]).toMatchObject({ versions: held[0]! + 2, activeVersion: epochs[2] });
  expect(after).toMatchObject({ activeVersion: epochs[2], versionCount: held[0]! + 2 });

  for (const epoch of epochs) {
    // Each version's partials come from that version's shares; they recover the one app key.
    const answers = await Promise.all(ops.map((o) => sign(o, APP, epoch)));
    expect(answers.map((a) => a.body.version)).toEqual([epoch, epoch, epoch, epoch]);
    expect(await appKey(ops, APP, masterPublicKey, 3, epoch)).toBe(firstAppKey);
    expect(await appKey(ops.slice(1), APP, masterPublicKey, 3, epoch + 1)).toBe(firstAppKey);
  }
  // The shares themselves changed with every reshare.
  const partials = await Promise.all(epochs.map(async (e) => (await sign(first!, APP, e)).body.partialSignature));
  expect(new Set(partials).size).toBe(3);
  // Before a node's first version there is none. A node that also finalized a round the
  // others did not (see `held`) holds a version older than the agreed DKG one, so the
  // boundary is checked on nodes whose oldest version is the DKG one, and time 1 on all.
  for (const [i, op] of ops.entries()) {
    const probes = held[i] === 1 ? [1, epochs[0]! - 1] : [1];
    for (const time of probes) {
      const before = await sign(op, APP, time);
      expect({ time, status: before.status, code: before.body.error?.code }).toEqual({ time, status: 404, code: 'NODE_NO_KEY_VERSION' });
    }
  }

  // GET /pubkey?version= of the versions the reshares replaced (first served from disk after the restart).
  const active = await pubkey(first!);
  expect(active.isActive).toBe(true);
  for (const epoch of epochs.slice(0, 2)) {
    const views = await Promise.all(ops.map((o) => pubkeyAt(o, epoch)));
    for (const [i, view] of views.entries()) {
      expect(view).toMatchObject({ operatorAddress: ops[i]!.account.address, version: epoch, isActive: false, masterPublicKey, threshold: 3 });
      expect(view.commitments[0]).toBe(masterPublicKey);
      expect(view.commitments).toEqual(views[0]!.commitments);
      // Each node's partial under that version verifies against that version's commitments, not the active ones.
      const partial = g1FromHex((await sign(ops[i]!, APP, epoch)).body.partialSignature);
      const id = operatorId(ops[i]!.account.address);
      expect(verifyPartial(partial, APP, publicShare(view.commitments.map((c) => g2FromHex(c)), id))).toBe(true);
      expect(verifyPartial(partial, APP, publicShare(active.commitments.map((c) => g2FromHex(c)), id))).toBe(false);
    }
  }
  // Not on a node that holds an older version than the DKG one (see `held`): that one may be exactly epochs[0] − 1.
  const onlyAgreed = ops.find((_, i) => held[i] === 1);
  const missing = await getJson(onlyAgreed === undefined ? `${first!.process.url}/pubkey?version=1` : `${onlyAgreed.process.url}/pubkey?version=${epochs[0]! - 1}`);
  expect(missing.status).toBe(404);
  expect((missing.body as { error: { code: string } }).error.code).toBe('KEY_VERSION_NOT_FOUND');
  const bad = await getJson(`${first!.process.url}/pubkey?version=-1`);
  expect(bad.status).toBe(400);
  expect((bad.body as { error: { code: string } }).error.code).toBe('INVALID_VERSION_PARAMETER');
  // The client library does the same on its own: the DKG version's partials, verified against that version, give the first app key.
  const derived = await createKmsClient({ nodes: ops.map((o) => o.process.url) }).deriveAppKey(APP, { attestationTime: epochs[0]! });
  expect(derived.version).toBe(epochs[0]);
  expect(derived.rejected).toEqual([]);
  expect(g1ToHex(derived.appKey)).toBe(firstAppKey);
});

it('CleanShutdown: after SIGTERM and a restart the node holds exactly the state it had', async () => {
  const op = ops[1]!;
  const before = await health(op);
  const partialBefore = (await sign(op, APP)).body;
  const { exit, mark, after } = await restart(op);
  expect(exit).toEqual({ code: 0, signal: null });
  const stopLines = messages(op, 'node stopped');
  expect(stopLines.length).toBeGreaterThanOrEqual(1);
  expect(messages(op, 'state restored', mark)[0]).toMatchObject({
    lastProcessedBoundary: before.lastProcessedBoundary, versions: before.versionCount, activeVersion: before.activeVersion,
  });
  expect(after).toMatchObject({ activeVersion: before.activeVersion, versionCount: before.versionCount, lastProcessedBoundary: before.lastProcessedBoundary, round: null });
  expect((await sign(op, APP)).body).toEqual(partialBefore);
  expect(messages(op, 'deleting a protocol session', mark)).toEqual([]);
  expect((await pubkey(op)).masterPublicKey).toBe(masterPublicKey);
});

it('BlockBoundaryTracking: the restored boundary is not processed again, the next one is processed once', async () => {
  const op = ops[2]!;
  const head = await net().blockNumber();
  const before = await health(op);
  // The chain has not moved past the last boundary: the restart sees that boundary again.
  expect(before.lastProcessedBoundary).toBe(Math.floor(head / INTERVAL) * INTERVAL);
  const { mark } = await restart(op);
  expect(messages(op, 'state restored', mark)[0]).toMatchObject({ lastProcessedBoundary: before.lastProcessedBoundary });
  // The node has read the unchanged head, and decided on it, in several polls since.
  const firstPoll = await waitFor(`${name(op)} polls the head`, async () => {
    const chain = (await health(op)).chain;
    return chain?.lastHead === String(head) && chain.lastHeadAt !== null ? chain.lastHeadAt : undefined;
  });
  await waitFor(`${name(op)} polls twice more`, async () => ((await health(op)).chain?.lastHeadAt ?? 0) > firstPoll + 1_000 ? true : undefined);
  expect(messages(op, 'boundary', mark).filter((l) => l.msg === 'boundary')).toEqual([]);
  expect(messages(op, 'round started', mark)).toEqual([]);
  expect(await health(op)).toMatchObject({ lastProcessedBoundary: before.lastProcessedBoundary, round: null, activeVersion: before.activeVersion });

  const next = await mineToNextBoundary(net(), INTERVAL);
  const version = await converged(ops, before.activeVersion);
  agreed.push(version);
  await settled(ops, next);
  expect(messages(op, 'round started', mark).map((l) => Number(l.session))).toEqual([version]);
  for (const o of ops) {
    const sessions = startedSessions(o);
    expect(new Set(sessions).size).toBe(sessions.length);
  }
});

it('an operator joins by reshare, then another leaves; the master key and app keys stay the same', async () => {
  const joiner = await net().addOperator();
  await joiner.process.start();
  const start = await health(ops[0]!);
  const joinBoundary = await mineToNextBoundary(net(), INTERVAL);
  const withJoiner = [...ops, joiner];
  const joined = await converged(withJoiner, start.activeVersion);
  agreed.push(joined);
  await settled(withJoiner, joinBoundary);
  const joinedRound = messages(joiner, 'round started').at(-1);
  expect(joinedRound).toMatchObject({ type: 'reshare', role: 'receiver', operators: 5, session: joined });
  const five = await Promise.all(withJoiner.map(pubkey));
  expect(five.every((k) => k.masterPublicKey === masterPublicKey && k.threshold === 4 && k.participants.length === 5)).toBe(true);
  expect(five[0]!.participants).toContain(joiner.account.address);
  expect(await appKey([joiner, ...ops], APP, masterPublicKey, 4)).toBe(firstAppKey);

  const leaver = ops[0]!;
  await net().deregister(leaver);
  const mark = logMark(leaver);
  const leaveBoundary = await mineToNextBoundary(net(), INTERVAL);
  const remaining = [...ops.slice(1), joiner];
  const left = await converged(remaining, joined);
  agreed.push(left);
  await settled(remaining, leaveBoundary);
  await waitFor(`${name(leaver)} sees it left the set`, () => Promise.resolve(messages(leaver, 'this operator is not in the operator set', mark)[0]));
  const four = await Promise.all(remaining.map(pubkey));
  expect(four.every((k) => k.version === left && k.masterPublicKey === masterPublicKey && k.threshold === 3 && !k.participants.includes(leaver.account.address))).toBe(true);
  expect(await appKey(remaining, APP, masterPublicKey, 3)).toBe(firstAppKey);
  expect(await appKey([joiner, ...ops.slice(2)], APP, masterPublicKey, 3)).toBe(firstAppKey);
  // The leaver keeps its old versions (history), but took no part in the new one.
  expect((await health(leaver)).activeVersion).toBe(joined);
  await leaver.process.stop();
  ops = remaining;
});

it('a node whose redis-server is SIGKILLed mid-reshare recovers without losing acknowledged state', async () => {
  const op = ops[0]!;
  const before = await health(op);
  // This node holds every version the cluster agreed on since the DKG (and possibly one
  // from a round only some nodes finalized); remember what each agreed one signs.
  const partials = new Map<number, string>();
  for (const epoch of agreed) partials.set(epoch, (await sign(op, APP, epoch)).body.partialSignature);
  expect(partials.size).toBe(agreed.length);
  expect(before.versionCount).toBeGreaterThanOrEqual(agreed.length);
  const owner = JSON.parse(readFileSync(join(op.dataDir, 'owner.json'), 'utf8')) as { redis: { pid: number } };
  const mark = logMark(op);

  const boundary = await mineToNextBoundary(net(), INTERVAL);
  const started = await waitFor(`${name(op)} starts the reshare`, () => Promise.resolve(messages(op, 'round started', mark)[0]));
  expect(started.type).toBe('reshare');
  process.kill(owner.redis.pid, 'SIGKILL');
  await settled(ops, boundary);
  // The supervisor brings a new redis-server up on the same AOF.
  const healed = await waitFor(`${name(op)} persistence healthy again`, async () => {
    const h = await health(op);
    return h.persistence?.healthy === true ? h : undefined;
  });
  expect(healed.persistence?.findings.find((f) => f.check === 'embedded-server')?.message).toMatch(/restarts: [1-9]/);
  const newOwner = JSON.parse(readFileSync(join(op.dataDir, 'owner.json'), 'utf8')) as { redis: { pid: number } };
  expect(newOwner.redis.pid).not.toBe(owner.redis.pid);

  // Whether the interrupted round finished or not, the cluster agrees again at a boundary.
  const now = await Promise.all(ops.map(health));
  const together = new Set(now.map((h) => h.activeVersion)).size === 1 && now[0]!.activeVersion !== before.activeVersion;
  if (!together) await convergeWithinBoundaries(net(), ops, INTERVAL, before.activeVersion);
  const current = await health(op);
  expect(current.activeVersion).toBeGreaterThan(before.activeVersion!);
  // Every version acknowledged before the kill still signs, with the same share.
  for (const [epoch, partial] of partials) expect((await sign(op, APP, epoch)).body.partialSignature).toBe(partial);
  expect(current.versionCount).toBeGreaterThan(before.versionCount);

  // And all of it is on disk: a restart restores exactly what /health reported.
  const { mark: restartMark, after } = await restart(op);
  expect(messages(op, 'state restored', restartMark)[0]).toMatchObject({ versions: current.versionCount, activeVersion: current.activeVersion });
  expect(after.activeVersion).toBe(current.activeVersion);
  for (const [epoch, partial] of partials) expect((await sign(op, APP, epoch)).body.partialSignature).toBe(partial);
  expect(await appKey(ops, APP, masterPublicKey, 3)).toBe(firstAppKey);
});
