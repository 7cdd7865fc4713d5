import { createDeterministicRng } from '../crypto/deterministicRng.js';
import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2, g2ToHex } from '../crypto/points.js';
import { commitPolynomial, evaluatePolynomial, randomPolynomial } from '../crypto/polynomial.js';
import { encodeScalar, randomScalar } from '../crypto/scalar.js';
import { partialSign, publicShare, recoverAppKey, verifyAppKey } from '../crypto/signatures.js';
import { toHex } from './digests.js';
import type { ProtocolMessage } from './messages.js';
import { createReshareSession } from './reshare.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedOperators, finalizedVersions, recoverSimulatedSigner, runSessions, runSimulatedDkg, seededRandomSources, type DeliveryOptions, type SimulatedSigner } from './simulation.js';
import { thresholdFor } from './threshold.js';
import type { FinalizedVersion, PreviousVersion } from './types.js';
import { codeOf } from '../../test/gen/errorCode.js';

const pool = createSimulatedOperators(8, 'reshare-pool');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
type Versions = Map<string, FinalizedVersion>;

function runDkg(signers: readonly SimulatedSigner[], session: number): Versions {
  const { sessions, report } = runSimulatedDkg({ signers, sessionTimestamp: session, rng: seededRandomSources('dkg') });
  expect(report.rejected).toEqual([]);
  return finalizedVersions(sessions);
}

function publicOf(v: FinalizedVersion): PreviousVersion {
  return { epoch: v.epoch, commitments: v.commitments, masterPublicKey: v.masterPublicKey, threshold: v.threshold, participants: v.participants };
}

function reshareSessions(previous: Versions, signers: readonly SimulatedSigner[], session: number, overrides: Partial<Record<string, PreviousVersion>> = {}) {
  const any = [...previous.values()][0]!;
  const operators = signers.map((s) => s.address);
  const sessions = new Map<string, ProtocolSession>();
  for (const signer of signers) {
    const mine = previous.get(signer.address);
    sessions.set(
      signer.address,
      createReshareSession({
        sessionTimestamp: session,
        operators,
        signer,
        recoverSigner: recoverSimulatedSigner,
        rng: createDeterministicRng(`re${session}${signer.address}`),
        previous: overrides[signer.address] ?? publicOf(any),
        ...(mine === undefined ? {} : { previousShare: mine.privateShare }),
      }),
    );
  }
  return sessions;
}

function runReshare(previous: Versions, signers: readonly SimulatedSigner[], session: number, options: DeliveryOptions = {}): Versions {
  const sessions = reshareSessions(previous, signers, session);
  expect(runSessions(sessions, options).rejected).toEqual([]);
  return finalizedVersions(sessions);
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head as T, ...s]), ...subsets(rest, k)];
}

/** Checks a version set and returns its secret (every t-subset agrees, no (t−1)-subset does). */
function secretOf(versions: Versions): bigint {
  const vs = [...versions.entries()];
  const t = vs[0]![1].threshold;
  expect(t).toBe(thresholdFor(vs.length));
  for (const [, v] of vs) {
    expect(hex(v.masterPublicKey)).toBe(hex(vs[0]![1].masterPublicKey));
    expect(v.commitments.map(hex)).toEqual(vs[0]![1].commitments.map(hex));
    expect(v.participants).toEqual(vs.map(([a]) => a).sort());
  }
  const points = vs.map(([a, v]) => ({ x: operatorId(a), y: v.privateShare }));
  const secrets = new Set(subsets(points, t).map((s) => interpolateAtZero(s)));
  expect(secrets.size).toBe(1);
  const secret = [...secrets][0]!;
  if (t > 1) for (const s of subsets(points, t - 1)) expect(interpolateAtZero(s)).not.toBe(secret);
  return secret;
}

function appKeyOf(versions: Versions, appId: string): string {
  const vs = [...versions.entries()];
  const t = vs[0]![1].threshold;
  const partials = vs.map(([a, v]) => ({ id: operatorId(a), signature: partialSign(v.privateShare, appId) }));
  const key = recoverAppKey(partials.slice(0, t), t);
  expect(recoverAppKey(partials.slice(vs.length - t), t).equals(key)).toBe(true);
  expect(verifyAppKey(key, appId, decodeG2(vs[0]![1].masterPublicKey))).toBe(true);
  return hex(key.toBytes(true));
}


describe('reshare', () => {
  it('DKG then three reshares (join, leave, threshold changes) keep the MPK, the secret and every app key', () => {
    const [a, b, c, d, e, f, g] = pool as [SimulatedSigner, SimulatedSigner, SimulatedSigner, SimulatedSigner, SimulatedSigner, SimulatedSigner, SimulatedSigner];
    const apps = ['app-alpha', 'app-beta'];
    const v0 = runDkg([a, b, c, d], 1000);
    const secret = secretOf(v0);
    const mpk = hex([...v0.values()][0]!.masterPublicKey);
    const keys = apps.map((id) => appKeyOf(v0, id));
    expect(mpk).toBe(g2ToHex(G2.BASE.multiply(secret)).slice(2));

    const v1 = runReshare(v0, [a, b, c, d, e], 2000); // e joins: n 4→5, t 3→4
    const v2 = runReshare(v1, [a, c, d, e], 3000, { batch: true }); // b leaves: n 5→4, t 4→3
    const v3 = runReshare(v2, [a, c, d, e, f, g], 4000); // f, g join: n 4→6, t 3→4
    const expectedThresholds = [4, 3, 4];
    [v1, v2, v3].forEach((v, i) => {
      const first = [...v.values()][0]!;
      expect(first.threshold).toBe(expectedThresholds[i]);
      expect(first.epoch).toBe((i + 2) * 1000);
      expect(hex(first.masterPublicKey)).toBe(mpk);
      expect(secretOf(v)).toBe(secret);
      expect(apps.map((id) => appKeyOf(v, id))).toEqual(keys);
    });
    // D = the first t_old fully acknowledged previous holders, ascending.
    expect([...v1.values()][0]!.dealers).toEqual([a, b, c].map((s) => s.address));
    expect([...v2.values()][0]!.dealers).toEqual([a, c, d, e].map((s) => s.address));
    // Old shares are useless against the new commitments: a leaver's old share is not a share of v2.
    const bOld = v1.get(b.address)!.privateShare;
    const v2Commitments = [...v2.values()][0]!.commitments.map((x) => decodeG2(x));
    expect(publicShare(v2Commitments, operatorId(b.address)).equals(G2.BASE.multiply(bOld))).toBe(false);
    expect(publicShare(v2Commitments, operatorId(a.address)).equals(G2.BASE.multiply(v2.get(a.address)!.privateShare))).toBe(true);
  });

  it('a dealer that deals a different secret is rejected by every player (INVALID_COMMITMENT) and left out of D', () => {
    const signers = pool.slice(0, 4);
    const v0 = runDkg(signers, 5000);
    const mpk = hex([...v0.values()][0]!.masterPublicKey);
    const cheater = signers[1]!.address;
    const t = thresholdFor(4);
    const rng = createDeterministicRng('cheat');
    const fake = randomPolynomial(randomScalar(rng), t - 1, rng);
    const fakeCommitments = commitPolynomial(fake).map((p) => toHex(p.toBytes(true)));
    const sessions = reshareSessions(v0, signers, 6000);
    const report = runSessions(sessions, {
      intercept: (m: ProtocolMessage) =>
        m.type === 'deal' && m.from === cheater
          ? { ...m, commitments: fakeCommitments, share: toHex(encodeScalar(evaluatePolynomial(fake, operatorId(m.to)))) }
          : m,
    });
    expect(report.rejected.map((r) => r.error.code).sort()).toEqual(['INVALID_COMMITMENT', 'INVALID_COMMITMENT', 'INVALID_COMMITMENT']);
    const v1 = finalizedVersions(sessions);
    for (const v of v1.values()) {
      expect(v.dealers).not.toContain(cheater);
      expect(hex(v.masterPublicKey)).toBe(mpk);
    }
    expect(secretOf(v1)).toBe(secretOf(v0));
  });

  it('a joiner fed a wrong previous version is refused as WRONG_SOURCE both ways (no complaint excludes an honest dealer); nobody finalizes a different key', () => {
    const signers = pool.slice(0, 4);
    const v0 = runDkg(signers, 7000);
    const other = runDkg(pool.slice(4, 8), 7001);
    const joiner = pool[4]!;
    const wrong = { ...publicOf([...v0.values()][0]!), commitments: [...other.values()][0]!.commitments, masterPublicKey: [...other.values()][0]!.masterPublicKey };
    const sessions = reshareSessions(v0, [...signers, joiner], 8000, { [joiner.address]: wrong });
    const report = runSessions(sessions);
    expect(report.rejected.some((r) => r.to === joiner.address && r.error.code === 'WRONG_SOURCE')).toBe(true);
    expect(report.rejected.every((r) => r.error.code === 'WRONG_SOURCE')).toBe(true);
    for (const s of sessions.values()) expect(Object.keys(s.status().excludedDealers)).toEqual([]);
    const mpk = hex([...v0.values()][0]!.masterPublicKey);
    for (const s of sessions.values()) {
      const r = s.result();
      if (r !== null) expect(hex(r.masterPublicKey)).toBe(mpk);
    }
    expect(sessions.get(joiner.address)!.result()).toBeNull();
  });

  it('validates the reshare config', () => {
    const signers = pool.slice(0, 4);
    const v0 = runDkg(signers, 9000);
    const [a, b, c, d] = signers as [SimulatedSigner, SimulatedSigner, SimulatedSigner, SimulatedSigner];
    const prev = publicOf(v0.get(a.address)!);
    const base = { sessionTimestamp: 9100, recoverSigner: recoverSimulatedSigner, previous: prev };
    const ops = signers.map((s) => s.address);
    // A leaver (not in the new set) takes no part.
    expect(codeOf(() => createReshareSession({ ...base, operators: [a, b, c].map((s) => s.address), signer: d, previousShare: v0.get(d.address)!.privateShare }))).toBe('NOT_A_PARTICIPANT');
    // A holder without its share is a receiver (covered end to end below), not an error.
    expect(createReshareSession({ ...base, operators: ops, signer: a }).start().filter((m) => m.type === 'deal')).toEqual([]);
    expect(codeOf(() => createReshareSession({ ...base, operators: ops, signer: a, previousShare: v0.get(b.address)!.privateShare }))).toBe('INVALID_PREVIOUS_SHARE');
    const joiner = pool[5]!;
    expect(codeOf(() => createReshareSession({ ...base, operators: [...ops, joiner.address], signer: joiner, previousShare: 5n }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => createReshareSession({ ...base, operators: [a.address, b.address, joiner.address], signer: joiner }))).toBe('NOT_ENOUGH_DEALERS');
    expect(codeOf(() => createReshareSession({ ...base, previous: { ...prev, masterPublicKey: prev.commitments[1]! }, operators: ops, signer: a, previousShare: v0.get(a.address)!.privateShare }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => createReshareSession({ ...base, previous: { ...prev, commitments: prev.commitments.slice(1) }, operators: ops, signer: a, previousShare: v0.get(a.address)!.privateShare }))).toBe('INVALID_CONFIG');
    // Joining with enough holders is fine and deals nothing.
    const js = createReshareSession({ ...base, operators: [...ops, joiner.address], signer: joiner });
    expect(js.start().filter((m) => m.type === 'deal')).toEqual([]);
  });

  it('a holder that lost its share receives a fresh one: it withdraws as a dealer at once and is left out of D', () => {
    const signers = pool.slice(0, 4);
    const v0 = runDkg(signers, 5000);
    const secret = secretOf(v0);
    const lost = signers[0]!.address;
    const withoutLost = new Map([...v0].filter(([a]) => a !== lost));
    const sessions = reshareSessions(withoutLost, signers, 5010);
    // The lost holder deals nothing; it broadcasts a signed complaint about itself instead.
    const first = sessions.get(lost)!.start();
    expect(first.filter((m) => m.type === 'deal')).toEqual([]);
    expect(first.filter((m) => m.type === 'complaint' && m.dealer === lost && m.player === lost)).toHaveLength(3);
    // Nobody waits for it: no timeout (proceed) is needed.
    expect(runSessions(sessions, {}, first).rejected).toEqual([]);
    const v1 = finalizedVersions(sessions);
    expect(v1.get(lost)!.dealers).not.toContain(lost);
    expect(sessions.get(signers[1]!.address)!.status().excludedDealers[lost]).toBe('COMPLAINT:NO_PREVIOUS_SHARE');
    expect(secretOf(v1)).toBe(secret);
  });
});
