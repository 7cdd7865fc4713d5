/**
 * Partials from key versions other than the agreed (active) one: the client fetches
 * that version's public data with GET /pubkey?version=, agrees on it by the usual rule,
 * and verifies each partial against it. Real DKG + two real reshares (same master
 * secret, three share sets), one real node HTTP API per operator.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { g1ToHex, g2ToHex, hashToG1, interpolateAtZero, operatorId, partialSign } from '../crypto/index.js';
import { DKG_EPOCH, runDkg, runReshare, startNodes, startRawNode, wrongPartial, type DkgKeys, type FakeNodes, type NodeBehaviour } from '../../test/harness/dkgCluster.js';
import { rejectionOf } from '../../test/gen/rejection.js';
import { deriveAppKey } from './appKey.js';
import { ClientError } from './errors.js';
import { agreeOnMasterPublicKey } from './masterPublicKey.js';
import { fetchPubkey, nodeTarget, type NodeRequestOptions, type NodeTarget } from './nodeApi.js';

const request: NodeRequestOptions = { timeoutMs: 5_000, fetch: (input, init) => fetch(input, init) };
const APP = 'key-versions-app';
const V0 = DKG_EPOCH;
const V1 = DKG_EPOCH + 1_000;
const V2 = DKG_EPOCH + 2_000;

let v0: DkgKeys;
let v1: DkgKeys;
let v2: DkgKeys;
let expectedKeyHex: string;
const running: FakeNodes[] = [];

beforeAll(() => {
  v0 = runDkg(4, 'client-versions', V0);
  v1 = runReshare(v0, 'client-versions/r1', V1);
  v2 = runReshare(v1, 'client-versions/r2', V2);
  // The master secret from the first shares (never available to a client), for an independent expected value.
  const secret = interpolateAtZero(v0.versions.map((v, i) => ({ x: operatorId(v0.operators[i]!), y: v.privateShare })));
  expectedKeyHex = g1ToHex(hashToG1(APP).multiply(secret));
}, 180_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close()));
});

/** Four nodes whose active version is v2, holding v0 and v1 as history. */
async function cluster(behaviours: Record<number, NodeBehaviour> = {}): Promise<NodeTarget[]> {
  const started = await startNodes(v2, behaviours, [v0, v1]);
  running.push(started);
  return started.urls.map((u) => nodeTarget(u));
}

async function derive(targets: NodeTarget[], attestationTime?: number) {
  const agreed = await agreeOnMasterPublicKey(targets, request);
  expect(agreed.version).toBe(V2);
  return deriveAppKey(targets, agreed, APP, attestationTime === undefined ? request : { ...request, attestationTime });
}

/** Node `index` answers /app/sign with its honest partial of `keys`' version instead of the active one. */
function signsWith(keys: DkgKeys, index: number): NodeBehaviour {
  const version = keys.versions[index]!;
  return { sign: (honest, appId) => ({ ...honest, version: version.epoch, partialSignature: g1ToHex(partialSign(version.privateShare, appId)) }) };
}

const SLOW = 90_000;

describe('fixtures', () => {
  it('each reshare keeps the master key and changes every share and commitment', () => {
    expect(new Set([v0, v1, v2].map((k) => k.masterPublicKeyHex)).size).toBe(1);
    for (const i of [0, 1, 2, 3]) expect(new Set([v0, v1, v2].map((k) => k.versions[i]!.privateShare)).size).toBe(3);
    expect(new Set([v0, v1, v2].map((k) => k.versions[0]!.commitments.map((c) => Buffer.from(c).toString('hex')).join())).size).toBe(3);
  });
});

describe('agreeOnMasterPublicKey for a stored version', () => {
  it('agrees on /pubkey?version=<epoch>: that version’s commitments, not the active ones', async () => {
    const targets = await cluster();
    const old = await agreeOnMasterPublicKey(targets, request, V0);
    const active = await agreeOnMasterPublicKey(targets, request);
    expect(old.version).toBe(V0);
    expect(old.masterPublicKeyHex).toBe(active.masterPublicKeyHex);
    expect(old.commitments.map(g2ToHex)).toEqual(v0.versions[0]!.commitments.map((c) => `0x${Buffer.from(c).toString('hex')}`));
    expect(old.commitments.map(g2ToHex)).not.toEqual(active.commitments.map(g2ToHex));
    expect(old.supporters).toHaveLength(4);
  }, SLOW);

  it('counts a node answering another version than asked as a dissenter, and fails below the rule', async () => {
    const wrongVersion: NodeBehaviour = { pubkeyAt: (honest) => (honest === null ? null : { ...honest, version: V1 }) };
    const one = await cluster({ 3: wrongVersion });
    const agreed = await agreeOnMasterPublicKey(one, request, V0);
    expect(agreed.supporters).toHaveLength(3);
    expect(agreed.dissenters).toEqual([{ url: one[3]!.display, outcome: `answered key version ${V1} when asked for version ${V0}` }]);

    const two = await cluster({ 2: wrongVersion, 3: { pubkeyAt: () => null } });
    const err = await rejectionOf(agreeOnMasterPublicKey(two, request, V0), ClientError);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.details).toMatchObject({ version: V0, nodesAsked: 4 });
    expect(err.message).toMatch(new RegExp(`no view of key version ${V0} is reported by enough of the 4 nodes asked`));
    expect(err.nodes.find((n) => n.url === two[3]!.display)?.outcome).toMatch(/HTTP 404 \(KEY_VERSION_NOT_FOUND/);
  }, SLOW);
});

describe('deriveAppKey with partials of another version', () => {
  it('an attestation time in an older version: verifies its partials against that version and recovers the one app key', async () => {
    const targets = await cluster();
    for (const [time, version] of [[V0 + 10, V0], [V1, V1]] as const) {
      const derived = await derive(targets, time);
      expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
      expect(derived.version).toBe(version);
      expect(derived.threshold).toBe(3);
      expect(derived.masterPublicKeyHex).toBe(v0.masterPublicKeyHex);
      expect(derived.contributors).toHaveLength(3);
      expect(derived.spare).toHaveLength(1);
      expect(derived.rejected).toEqual([]);
    }
  }, SLOW);

  it('names a node whose partial does not verify under the version it claims, and still recovers the key', async () => {
    const targets = await cluster({
      // A wrong partial, honestly labelled v1.
      1: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(v1, appId, 1) }) },
      // A real partial, but of the active version while claiming v1: v1's commitments refuse it.
      2: { sign: (honest, appId) => ({ ...honest, partialSignature: g1ToHex(partialSign(v2.versions[2]!.privateShare, appId)) }) },
    });
    const err = await rejectionOf(derive(targets, V1 + 5), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.details).toMatchObject({ valid: 2, threshold: 3, version: V1 });
    const bad = err.nodes.filter((n) => /does not verify against its public share/.test(n.outcome)).map((n) => n.url);
    expect(bad.sort()).toEqual([targets[1]!.display, targets[2]!.display].sort());

    const oneLiar = await cluster({ 1: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(v1, appId, 1) }) } });
    const derived = await derive(oneLiar, V1 + 5);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.version).toBe(V1);
    expect(derived.rejected).toEqual([{ url: oneLiar[1]!.display, outcome: expect.stringMatching(/does not verify against its public share/) as unknown }]);
  }, SLOW);

  it('mid-rotation: the agreed version wins when it has t partials; a lagging node’s valid older partial is checked and reported unused', async () => {
    const targets = await cluster({ 3: signsWith(v1, 3) });
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.version).toBe(V2);
    expect(derived.rejected).toEqual([
      { url: targets[3]!.display, outcome: `valid partial of ${v0.operators[3]} under key version ${V1}, not used: key version ${V2} was` },
    ]);
  }, SLOW);

  it('mid-rotation: an older version with t valid partials is used when the agreed one has too few', async () => {
    const targets = await cluster({ 0: signsWith(v1, 0), 1: signsWith(v1, 1), 2: signsWith(v1, 2) });
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.version).toBe(V1);
    expect(derived.contributors.map((c) => c.operatorAddress)).toEqual([...v0.operators.slice(0, 3)].sort());
    expect(derived.rejected).toEqual([{ url: targets[3]!.display, outcome: expect.stringMatching(new RegExp(`under key version ${V2}, not used`)) as unknown }]);
  }, SLOW);

  it('a 2-2 split between versions is too few for either, listing every node and the version hint', async () => {
    const targets = await cluster({ 0: signsWith(v1, 0), 1: signsWith(v1, 1) });
    const err = await rejectionOf(derive(targets), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.details).toMatchObject({ valid: 2, threshold: 3, version: V2 });
    expect(err.nodes.map((n) => n.outcome).sort()).toEqual([
      `valid partial from ${v0.operators[0]} (key version ${V1})`,
      `valid partial from ${v0.operators[1]} (key version ${V1})`,
      `valid partial from ${v0.operators[2]} (key version ${V2})`,
      `valid partial from ${v0.operators[3]} (key version ${V2})`,
    ].sort());
    expect(err.message).toMatch(/nodes signed with 2 different key versions/);
  }, SLOW);

  it('a version the nodes do not agree on: its partials are refused per node with the reason', async () => {
    const targets = await cluster({ 3: { sign: (honest) => ({ ...honest, version: 123 }) } });
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.rejected).toEqual([
      { url: targets[3]!.display, outcome: 'signed with key version 123, whose public data the nodes do not agree on (no view of key version 123 is reported by enough of the 4 nodes asked)' },
    ]);
  }, SLOW);

  it('an older version’s public data misreported by one node still agrees (3 of 4); by two it does not, and its partials are refused', async () => {
    const lie: NodeBehaviour = { pubkeyAt: (honest) => (honest === null ? null : { ...honest, commitments: [honest.masterPublicKey, ...honest.commitments.slice(1).reverse()] }) };
    const one = await cluster({ 0: lie });
    expect(g1ToHex((await derive(one, V0)).appKey)).toBe(expectedKeyHex);

    const two = await cluster({ 0: lie, 1: lie });
    const err = await rejectionOf(derive(two, V0), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.nodes).toHaveLength(4);
    for (const n of err.nodes) expect(n.outcome).toMatch(new RegExp(`^signed with key version ${V0}, whose public data the nodes do not agree on`));
  }, SLOW);
});

describe('fetchPubkey with a version', () => {
  it('asks /pubkey?version=<epoch> and reports a node that does not hold it as version-not-held', async () => {
    const seen: string[] = [];
    const raw = await startRawNode((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"KEY_VERSION_NOT_FOUND","message":"this node holds no key version with epoch 7"}}');
    });
    try {
      const err = await rejectionOf(fetchPubkey(nodeTarget(raw.url), request, 7), ClientError);
      expect(seen).toEqual(['/pubkey?version=7']);
      expect(err.details).toMatchObject({ reason: 'version-not-held', status: 404, nodeCode: 'KEY_VERSION_NOT_FOUND' });
      expect(err.message).toContain('/pubkey?version=7 answered HTTP 404 (KEY_VERSION_NOT_FOUND: this node holds no key version with epoch 7)');
      await expect(fetchPubkey(nodeTarget(raw.url), request, -1)).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
      await expect(fetchPubkey(nodeTarget(raw.url), request, 1.5)).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
      expect(seen).toHaveLength(1);
    } finally {
      await raw.close();
    }
  });
});
