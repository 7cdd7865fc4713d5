import { g1ToHex, hashToG1, interpolateAtZero, operatorId } from '../crypto/index.js';
import { DKG_EPOCH, runDkg, startNodes, startRawNode, wrongPartial, type DkgKeys, type FakeNodes, type NodeBehaviour } from '../../test/harness/dkgCluster.js';
import { rejectionOf } from '../../test/gen/rejection.js';
import { deriveAppKey } from './appKey.js';
import { ClientError } from './errors.js';
import { agreeOnMasterPublicKey } from './masterPublicKey.js';
import { nodeTarget, type NodeRequestOptions, type NodeTarget } from './nodeApi.js';

const request: NodeRequestOptions = { timeoutMs: 5_000, fetch: (input, init) => fetch(input, init) };
const APP = 'app-key-test-app';

let keys: DkgKeys;
let expectedKeyHex: string;
const running: FakeNodes[] = [];

beforeAll(() => {
  keys = runDkg(4, 'client-appkey');
  // The master secret from the shares (never available to a client), for an independent expected value.
  const secret = interpolateAtZero(keys.versions.map((v, i) => ({ x: operatorId(keys.operators[i]!), y: v.privateShare })));
  expectedKeyHex = g1ToHex(hashToG1(APP).multiply(secret));
}, 120_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close()));
});

async function cluster(behaviours: Record<number, NodeBehaviour> = {}): Promise<{ targets: NodeTarget[]; started: FakeNodes }> {
  const started = await startNodes(keys, behaviours);
  running.push(started);
  return { targets: started.urls.map((u) => nodeTarget(u)), started };
}

async function derive(targets: NodeTarget[], options: { attestationTime?: number; appId?: string } = {}) {
  const agreed = await agreeOnMasterPublicKey(targets, request);
  return deriveAppKey(targets, agreed, options.appId ?? APP, { ...request, ...options });
}

/** Real pairings on a shared 2-core machine: generous, never asserted on. */
const SLOW = 60_000;

describe('deriveAppKey', () => {
  it('recovers s·H1(appId) from the first t valid partials and reports the rest as spare', async () => {
    const { targets } = await cluster();
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.threshold).toBe(3);
    expect(derived.contributors).toHaveLength(3);
    expect(derived.spare).toHaveLength(1);
    expect(derived.rejected).toEqual([]);
    expect([...derived.contributors, ...derived.spare].map((c) => c.operatorAddress)).toEqual([...keys.operators].sort());
    expect(derived.masterPublicKeyHex).toBe(keys.masterPublicKeyHex);
  }, SLOW);

  it('identifies a node sending a wrong (well-formed) partial, drops it, and still recovers the key', async () => {
    const { targets } = await cluster({ 1: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(keys, appId, 1) }) } });
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.contributors.map((c) => c.operatorAddress)).not.toContain(keys.operators[1]);
    expect(derived.rejected).toEqual([{ url: targets[1]!.display, outcome: expect.stringMatching(/does not verify against its public share/) as unknown }]);
  }, SLOW);

  it('with two liars among four, fails with CLIENT_TOO_FEW_PARTIALS naming both', async () => {
    const liar: NodeBehaviour = { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(keys, appId, 0) }) };
    const { targets } = await cluster({ 0: liar, 3: liar });
    const err = await rejectionOf(derive(targets), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.details).toMatchObject({ valid: 2, threshold: 3 });
    const rejectedUrls = err.nodes.filter((n) => /does not verify/.test(n.outcome)).map((n) => n.url);
    expect(rejectedUrls.sort()).toEqual([targets[0]!.display, targets[3]!.display].sort());
  }, SLOW);

  it('fails with too few nodes answering /app/sign (two of four down)', async () => {
    const { targets } = await cluster();
    const raw = await startRawNode((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"NODE_NOT_READY","message":"starting"}}');
    });
    try {
      const agreed = await agreeOnMasterPublicKey(targets, request);
      const mixed = [targets[0]!, targets[1]!, nodeTarget(raw.url), nodeTarget('http://127.0.0.1:9')];
      const err = await rejectionOf(deriveAppKey(mixed, agreed, APP, request), ClientError);
      expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
      expect(err.nodes.find((n) => n.url === raw.url)?.outcome).toMatch(/HTTP 503 \(NODE_NOT_READY: starting\)/);
      expect(err.nodes.find((n) => n.url === 'http://127.0.0.1:9')?.outcome).toMatch(/cannot reach/);
    } finally {
      await raw.close();
    }
  }, SLOW);

  it('refuses a partial signed as another operator than the URL reported on /pubkey', async () => {
    const { targets } = await cluster({ 2: { sign: (honest) => ({ ...honest, operatorAddress: keys.operators[3]! }) } });
    const derived = await derive(targets);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.rejected[0]!.outcome).toMatch(/signed as operator .* but this URL is operator/);
  }, SLOW);

  it('keeps one partial per operator when a URL replays another operator’s partial', async () => {
    const { targets, started } = await cluster();
    // The same node listed twice under different URLs (trailing path) yields the same operator twice.
    const twice = nodeTarget(`${started.urls[0]!}/`);
    expect(twice.display).toBe(targets[0]!.display);
    const alias = nodeTarget(`${started.urls[0]!}/?alias=1`);
    const agreed = await agreeOnMasterPublicKey(targets, request);
    const derived = await deriveAppKey([...targets, alias], agreed, APP, request);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.rejected).toEqual([{ url: alias.display, outcome: expect.stringMatching(/duplicate partial of operator/) as unknown }]);
  }, SLOW);

  it('a node posing as an honest operator cannot shadow that operator with a bad partial', async () => {
    const { targets } = await cluster({
      3: {
        pubkey: (honest) => ({ ...honest, operatorAddress: keys.operators[0]! }),
        sign: (honest, appId) => ({ ...honest, operatorAddress: keys.operators[0]!, partialSignature: wrongPartial(keys, appId, 0) }),
      },
    });
    // The impostor is asked first, so a dedupe-before-verify client would keep its partial and drop the honest one.
    const ordered = [targets[3]!, targets[0]!, targets[1]!, targets[2]!];
    const derived = await derive(ordered);
    expect(g1ToHex(derived.appKey)).toBe(expectedKeyHex);
    expect(derived.contributors).toEqual([0, 1, 2].map((i) => ({ url: targets[i]!.display, operatorAddress: keys.operators[i] })));
    expect(derived.rejected).toEqual([{ url: targets[3]!.display, outcome: expect.stringMatching(/does not verify/) as unknown }]);
  }, SLOW);

  it('refuses partials of a key version the nodes do not hold (no agreement on its /pubkey?version=) and says why', async () => {
    const { targets } = await cluster({
      0: { sign: (honest) => ({ ...honest, version: honest.version - 1 }) },
      1: { sign: (honest) => ({ ...honest, version: honest.version - 1 }) },
    });
    const err = await rejectionOf(derive(targets), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.nodes.filter((n) => n.outcome.startsWith(`signed with key version ${DKG_EPOCH - 1}, whose public data the nodes do not agree on`)).map((n) => n.url))
      .toEqual([targets[0]!.display, targets[1]!.display]);
    expect(err.message).toMatch(/nodes signed with 2 different key versions: retry once the current round has finished, or pick an attestation time within one version/);
  }, SLOW);

  it('a node asked for a time before every version answers 404 NODE_NO_KEY_VERSION, named per node', async () => {
    const { targets } = await cluster();
    const err = await rejectionOf(derive(targets, { attestationTime: 1 }), ClientError);
    expect(err.code).toBe('CLIENT_TOO_FEW_PARTIALS');
    expect(err.nodes).toHaveLength(4);
    for (const n of err.nodes) expect(n.outcome).toMatch(/\/app\/sign answered HTTP 404 \(NODE_NO_KEY_VERSION/);
  }, SLOW);

  it('passes the attestation time to the nodes', async () => {
    const seen: (number | null)[] = [];
    const record: NodeBehaviour = {
      sign: (honest, _appId, t) => {
        seen.push(t);
        return honest;
      },
    };
    const { targets } = await cluster({ 0: record, 1: record });
    await derive(targets, { attestationTime: 1_800_000_000 });
    await derive(targets);
    expect(seen).toEqual([1_800_000_000, 1_800_000_000, null, null]);
  }, SLOW);

  it('rejects a bad app id or attestation time before asking any node', async () => {
    const { targets, started } = await cluster();
    const agreed = await agreeOnMasterPublicKey(targets, request);
    await expect(deriveAppKey(targets, agreed, 'abc', request)).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    await expect(deriveAppKey(targets, agreed, 'x'.repeat(1025), request)).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    await expect(deriveAppKey(targets, agreed, '\ud800abcd', request)).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    await expect(deriveAppKey(targets, agreed, APP, { ...request, attestationTime: -1 })).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    expect(started.signCalls).toEqual([0, 0, 0, 0]);
  }, SLOW);
});
