/**
 * Issue 11 items 1–3 with real processes: four kms-server processes (anvil, embedded
 * Redis-AOF each); members die mid-round and restart on an older version, and rotation
 * goes on.
 *  - A node SIGKILLed mid-DKG, after its deals went out: the three survivors finalize the
 *    DKG (it is offline for the round), and after a restart it receives its share at the
 *    next reshare.
 *  - A node frozen right after a reshare started, SIGKILLed once the others finalized,
 *    restarted on its pre-crash version: it learns the newer version from a peer's
 *    completion certificate, takes part as a receiver, and the next reshare finalizes on
 *    all four (before: it dealt from its old share and every node failed the round).
 */
import { jest } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Devnet, type DevnetOperator } from '../../../src/devnet/devnet.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { appKey, converged, health, logMark, messages, mineToNextBoundary, pubkey, settled, waitFor } from './cluster.js';

jest.setTimeout(900_000);

const INTERVAL = 20;
const APP = 'liveness-app';

let devnet: Devnet | undefined;
let baseDir = '';
let frozenPid: number | null = null;

const name = (o: DevnetOperator): string => o.process.options.name;

function net(): Devnet {
  if (devnet === undefined) throw new Error('the devnet did not start');
  return devnet;
}

function aofMentionsSession(operator: DevnetOperator, sessionTimestamp: number): boolean {
  const dir = join(operator.dataDir, 'appendonlydir');
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((f) => f.endsWith('.aof') && readFileSync(join(dir, f), 'latin1').includes(`session:${sessionTimestamp}`));
}

async function restartAndWait(operator: DevnetOperator): Promise<number> {
  const mark = logMark(operator);
  await operator.process.start();
  await waitFor(`${name(operator)} running after restart`, async () => ((await health(operator)).phase === 'running' ? true : undefined));
  return mark;
}

beforeAll(async () => {
  baseDir = makeTempDir('kms-liveness-it-');
  devnet = await Devnet.start({ baseDir, nodes: 4, blockTime: 'manual', boundaryInterval: INTERVAL, protocolTimeoutMs: 40_000 });
});

afterAll(async () => {
  if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
  await devnet?.stop();
  if (process.env.KMS_KEEP_TEST_DIRS === '1') process.stderr.write(`node logs kept in ${baseDir}\n`);
  else removeTempDir(baseDir);
});

let mpk = '';
let firstAppKey = '';
let current = 0;

it('a node SIGKILLed mid-DKG after its deals went out: the three survivors finalize the DKG; it rejoins as a receiver', async () => {
  const ops = net().operators;
  const victim = ops[3]!;
  const up = ops.slice(0, 3);
  const boundary = await mineToNextBoundary(net(), INTERVAL);
  const started = await waitFor(`${name(victim)} starts the DKG`, () => Promise.resolve(messages(victim, 'round started').at(-1)));
  const ts = Number(started.session);
  expect(started.type).toBe('dkg');
  // Its session snapshot is written after start() sent its deals.
  await waitFor(`${name(victim)} snapshot of session ${ts}`, () => Promise.resolve(aofMentionsSession(victim, ts) ? true : undefined), 120_000, 20);
  expect((await victim.process.kill()).signal).toBe('SIGKILL');
  expect(messages(victim, 'round completed').map((l) => Number(l.session))).not.toContain(ts);

  const v0 = await converged(up, null);
  expect(v0).toBe(ts);
  await settled(up, boundary);
  const keys = await Promise.all(up.map(pubkey));
  expect(new Set(keys.map((k) => k.masterPublicKey)).size).toBe(1);
  // The dead operator stays a participant: it is owed a share at the next reshare.
  for (const k of keys) expect(k.participants).toContain(victim.account.address);
  mpk = keys[0]!.masterPublicKey;
  firstAppKey = await appKey(up, APP, mpk, 3);

  const mark = await restartAndWait(victim);
  const reshare = await mineToNextBoundary(net(), INTERVAL);
  const v1 = await converged(ops, v0);
  await settled(ops, reshare);
  expect(messages(victim, 'round started', mark).find((l) => Number(l.session) === v1)).toMatchObject({ type: 'reshare', role: 'receiver' });
  const all = await Promise.all(ops.map(pubkey));
  expect(all.every((k) => k.version === v1 && k.masterPublicKey === mpk)).toBe(true);
  expect(await appKey([victim, ops[0]!, ops[1]!], APP, mpk, 3)).toBe(firstAppKey);
  current = v1;
});

it('a node killed right after the others finalized a reshare and restarted on its old version: the next reshare finalizes on all four', async () => {
  const ops = net().operators;
  const lagging = ops[1]!;
  const others = ops.filter((o) => o !== lagging);
  const before = current;
  const marks = others.map(logMark);

  // Frozen as soon as its reshare round started, so it cannot finalize; the other three do without it.
  const boundary = await mineToNextBoundary(net(), INTERVAL);
  const started = await waitFor(`${name(lagging)} starts the reshare`, () => Promise.resolve(messages(lagging, 'round started').filter((l) => Number(l.session) > before).at(-1)), 120_000, 20);
  const pid = lagging.process.pid;
  if (pid === null) throw new Error('not running');
  process.kill(pid, 'SIGSTOP');
  frozenPid = pid;
  const v1 = await converged(others, before);
  expect(v1).toBe(Number(started.session));
  await settled(others, boundary);
  // Then it crashes, and comes back holding its pre-crash version.
  expect((await lagging.process.kill()).signal).toBe('SIGKILL');
  frozenPid = null;
  const mark = await restartAndWait(lagging);
  expect(messages(lagging, 'state restored', mark)[0]).toMatchObject({ activeVersion: before });

  const next = await mineToNextBoundary(net(), INTERVAL);
  const v2 = await converged(ops, v1);
  await settled(ops, next);
  // It planned from the certified v1 and received; nobody dealt from a stale share, nobody failed.
  expect(messages(lagging, 'round started', mark).find((l) => Number(l.session) === v2)).toMatchObject({ type: 'reshare', role: 'receiver' });
  for (const [i, op] of others.entries()) {
    expect(messages(op, 'round completed', marks[i]).map((l) => Number(l.session))).toEqual([v1, v2]);
    expect(messages(op, 'round failed', marks[i])).toEqual([]);
  }
  const all = await Promise.all(ops.map(pubkey));
  expect(all.every((k) => k.version === v2 && k.masterPublicKey === mpk && k.threshold === 3)).toBe(true);
  expect(await appKey([lagging, ops[2]!, ops[3]!], APP, mpk, 3)).toBe(firstAppKey);
});
