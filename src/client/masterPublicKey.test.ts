import { g2ToHex } from '../crypto/index.js';
import { runDkg, startNodes, type DkgKeys, type FakeNodes, type NodeBehaviour } from '../../test/harness/dkgCluster.js';
import { ClientError } from './errors.js';
import { agreeOnMasterPublicKey } from './masterPublicKey.js';
import { nodeTarget, type NodeRequestOptions } from './nodeApi.js';

const request: NodeRequestOptions = { timeoutMs: 5_000, fetch: (input, init) => fetch(input, init) };

let keys: DkgKeys;
let other: DkgKeys;
const running: FakeNodes[] = [];

beforeAll(() => {
  keys = runDkg(4, 'client-mpk');
  other = runDkg(4, 'client-mpk-other');
}, 120_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close()));
});

async function nodes(k: DkgKeys, behaviours: Record<number, NodeBehaviour> = {}): Promise<string[]> {
  const started = await startNodes(k, behaviours);
  running.push(started);
  return started.urls;
}

async function agreementError(urls: string[]): Promise<ClientError> {
  const err = await agreeOnMasterPublicKey(urls.map((u) => nodeTarget(u)), request).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(err)}`);
  return err;
}

/** Real pairings on a shared 2-core machine: generous, never asserted on. */
const SLOW = 60_000;

describe('agreeOnMasterPublicKey', () => {
  it('accepts the view all four nodes of a real DKG report, with its decoded commitments', async () => {
    const urls = await nodes(keys);
    const agreed = await agreeOnMasterPublicKey(urls.map((u) => nodeTarget(u)), request);
    expect(agreed.masterPublicKeyHex).toBe(keys.masterPublicKeyHex);
    expect(g2ToHex(agreed.masterPublicKey)).toBe(keys.masterPublicKeyHex);
    expect(g2ToHex(agreed.commitments[0]!)).toBe(keys.masterPublicKeyHex);
    expect(agreed.commitments).toHaveLength(3);
    expect(agreed.threshold).toBe(3);
    expect(agreed.required).toBe(3);
    expect(agreed.version).toBe(keys.versions[0]!.epoch);
    expect(agreed.participants).toEqual([...keys.operators].sort());
    expect(agreed.supporters.map((s) => s.operatorAddress).sort()).toEqual([...keys.operators].sort());
    expect(agreed.dissenters).toEqual([]);
  }, SLOW);

  it('accepts with one node down (3 of 4 ≥ max(t=3, ⌈8/3⌉=3)) and lists the down node as a dissenter', async () => {
    const urls = await nodes(keys, { 2: { pubkey: () => null } });
    const agreed = await agreeOnMasterPublicKey(urls.map((u) => nodeTarget(u)), request);
    expect(agreed.masterPublicKeyHex).toBe(keys.masterPublicKeyHex);
    expect(agreed.supporters).toHaveLength(3);
    expect(agreed.dissenters).toHaveLength(1);
    expect(agreed.dissenters[0]!.url).toBe(urls[2]);
    expect(agreed.dissenters[0]!.outcome).toMatch(/HTTP 503 \(NO_ACTIVE_KEY/);
  }, SLOW);

  it('refuses with two of four nodes down and says which answered what', async () => {
    const urls = await nodes(keys, { 0: { pubkey: () => null }, 3: { pubkey: () => null } });
    const err = await agreementError(urls);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.nodes.map((n) => n.url)).toEqual(urls);
    expect(err.nodes[1]!.outcome).toMatch(/reported by 2 operator\(s\), 3 needed/);
    expect(err.nodes[0]!.outcome).toMatch(/NO_ACTIVE_KEY/);
    expect(err.message).toMatch(/Fix: /);
  }, SLOW);

  it('refuses when two clusters split the nodes 2/2 (disagreement on the MPK), naming both views', async () => {
    const a = await nodes(keys);
    const b = await nodes(other);
    const urls = [a[0]!, a[1]!, b[0]!, b[1]!];
    const err = await agreementError(urls);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.details.views).toBe(2);
    expect(err.nodes[0]!.outcome).toContain(keys.masterPublicKeyHex.slice(0, 18));
    expect(err.nodes[2]!.outcome).toContain(other.masterPublicKeyHex.slice(0, 18));
  }, SLOW);

  it('a single node cannot win with a self-consistent one-operator view (⌈2n/3⌉ floor)', async () => {
    // Node 0 claims to be the only participant with t = 1 and its own "MPK"; the other three are down.
    const fake = other.versions[0]!;
    const urls = await nodes(keys, {
      0: {
        pubkey: (honest) => ({
          ...honest,
          threshold: 1,
          masterPublicKey: `0x${Buffer.from(fake.masterPublicKey).toString('hex')}`,
          commitments: [`0x${Buffer.from(fake.masterPublicKey).toString('hex')}`],
          participants: [honest.operatorAddress],
        }),
      },
      1: { pubkey: () => null },
      2: { pubkey: () => null },
      3: { pubkey: () => null },
    });
    const err = await agreementError(urls);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.nodes[0]!.outcome).toMatch(/reported by 1 operator\(s\), 3 needed/);
  }, SLOW);

  it('a minority with a different view is outvoted and listed as dissenting', async () => {
    const a = await nodes(keys);
    const b = await nodes(other);
    const urls = [a[0]!, a[1]!, a[2]!, a[3]!, b[0]!];
    const agreed = await agreeOnMasterPublicKey(urls.map((u) => nodeTarget(u)), request);
    expect(agreed.masterPublicKeyHex).toBe(keys.masterPublicKeyHex);
    expect(agreed.required).toBe(4);
    expect(agreed.dissenters).toEqual([{ url: b[0], outcome: expect.stringMatching(/reported by 1 operator/) as unknown }]);
  }, SLOW);

  it.each([
    ['a weaker threshold than ⌈2m/3⌉', (v: { threshold: number; commitments: string[] }) => ({ ...v, threshold: 2, commitments: v.commitments.slice(0, 2) }), /threshold 2 for 4 participants/],
    ['commitments[0] that is not the MPK', (v: { commitments: string[] }) => ({ ...v, commitments: [v.commitments[1]!, v.commitments[0]!, v.commitments[2]!] }), /commitments\[0\] is not the master public key/],
    ['a commitment count that is not t', (v: { commitments: string[] }) => ({ ...v, commitments: v.commitments.slice(0, 2) }), /2 commitments for threshold 3/],
    ['a reporter outside the participants', (v: { participants: string[] }) => ({ ...v, participants: v.participants.slice(1) }), /is not a participant|threshold 3 for 3/],
  ])('does not count a view with %s', async (_name, mutate, reason) => {
    const urls = await nodes(keys, {
      0: { pubkey: (honest) => ({ ...honest, ...mutate({ ...honest, commitments: [...honest.commitments], participants: [...honest.participants] }) }) },
    });
    const agreed = await agreeOnMasterPublicKey(urls.map((u) => nodeTarget(u)), request);
    expect(agreed.supporters).toHaveLength(3);
    expect(agreed.dissenters[0]!.outcome).toMatch(reason);
  }, SLOW);

  it('counts an operator reachable under two URLs once', async () => {
    const urls = await nodes(keys, { 1: { pubkey: () => null }, 2: { pubkey: () => null } });
    // Node 3 pretends to be node 0: only two distinct operators support the view.
    const started = await startNodes(keys, { 3: { pubkey: (honest) => ({ ...honest, operatorAddress: keys.operators[0]! }) } });
    running.push(started);
    const err = await agreementError([urls[0]!, urls[1]!, urls[2]!, started.urls[3]!]);
    expect(err.code).toBe('CLIENT_NO_AGREEMENT');
    expect(err.nodes[3]!.outcome).toMatch(/already counted/);
  }, SLOW);

  it('with an operator set, refuses a node answering as another operator than listed for its URL', async () => {
    const urls = await nodes(keys);
    const targets = urls.map((u, i) => nodeTarget(u, keys.operators[i === 0 ? 1 : i]));
    const agreed = await agreeOnMasterPublicKey(targets, request);
    expect(agreed.supporters).toHaveLength(3);
    expect(agreed.dissenters[0]!.outcome).toMatch(/but the operator set lists/);
  }, SLOW);

  it('refuses an empty node list', async () => {
    await expect(agreeOnMasterPublicKey([], request)).rejects.toMatchObject({ code: 'CLIENT_NO_NODES' });
  }, SLOW);
});
