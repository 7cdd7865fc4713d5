import fc from 'fast-check';
import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2 } from '../crypto/points.js';
import { partialSign, publicShare, recoverAppKey, verifyAppKey, verifyPartial } from '../crypto/signatures.js';
import { isProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedDkg, createSimulatedOperators, createSimulatedReshare, finalizedVersions, runSessions, seededRandomSources, type DeliveryOptions, type SimulatedSigner } from './simulation.js';
import type { FinalizedVersion } from './types.js';

type Sessions = Map<string, ProtocolSession>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const addresses = (signers: readonly SimulatedSigner[]): string[] => signers.map((s) => s.address);

/** DKG sessions for every signer; the offline ones get no session (nothing reaches them, they send nothing). */
function dkgSessions(signers: readonly SimulatedSigner[], session: number, offline: readonly string[] = []): Sessions {
  const { sessions } = createSimulatedDkg({ signers, sessionTimestamp: session, rng: seededRandomSources(`dkg-${session}`) });
  for (const a of offline) sessions.delete(a);
  return sessions;
}

/** Reshare sessions for `signers` from `previous` (holders pass their share; the offline get no session). */
function reshareSessions(previous: ReadonlyMap<string, FinalizedVersion>, signers: readonly SimulatedSigner[], session: number, offline: readonly string[] = []): Sessions {
  return createSimulatedReshare({ signers, sessionTimestamp: session, previous, offline, rng: seededRandomSources(`reshare-${session}`) });
}

/** The node's ack deadline: proceed() on every session still acknowledging, then deliver what that produced. */
function proceedAll(sessions: Sessions, options: DeliveryOptions = {}): void {
  const out: ProtocolMessage[] = [];
  for (const s of sessions.values()) {
    if (s.phase !== 'acknowledging') continue;
    try {
      out.push(...s.proceed());
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      out.push(...err.outbound);
    }
  }
  runSessions(sessions, options, out);
}

/** The node's total deadline: whoever has not finalized gives up. */
function giveUpAll(sessions: Sessions): void {
  for (const s of sessions.values()) {
    if (s.phase !== 'completing' && s.phase !== 'acknowledging') continue;
    try {
      s.giveUp();
    } catch (err) {
      if (!isProtocolError(err)) throw err;
    }
  }
}

/** All finalized the same version and every share lies on its commitments. */
function checkAgreement(versions: ReadonlyMap<string, FinalizedVersion>): FinalizedVersion {
  const vs = [...versions.entries()];
  const first = vs[0]![1];
  const commitments = first.commitments.map((c) => decodeG2(c));
  for (const [a, v] of vs) {
    expect(hex(v.masterPublicKey)).toBe(hex(first.masterPublicKey));
    expect(v.commitments.map(hex)).toEqual(first.commitments.map(hex));
    expect(v.dealers).toEqual(first.dealers);
    expect(publicShare(commitments, operatorId(a)).equals(G2.BASE.multiply(v.privateShare))).toBe(true);
  }
  return first;
}

/** checkAgreement, and t of the shares interpolate the secret behind the MPK. */
function secretOf(versions: ReadonlyMap<string, FinalizedVersion>): bigint {
  checkAgreement(versions);
  const vs = [...versions.entries()];
  const first = vs[0]![1];
  expect(vs.length).toBeGreaterThanOrEqual(first.threshold);
  const secret = interpolateAtZero(vs.slice(0, first.threshold).map(([a, v]) => ({ x: operatorId(a), y: v.privateShare })));
  expect(G2.BASE.multiply(secret).equals(decodeG2(first.masterPublicKey))).toBe(true);
  return secret;
}

/** One app key from the first t holders; it verifies against the MPK. */
function appKeyOf(versions: ReadonlyMap<string, FinalizedVersion>, appId: string): string {
  const vs = [...versions.entries()];
  const t = vs[0]![1].threshold;
  const key = recoverAppKey(vs.slice(0, t).map(([a, v]) => ({ id: operatorId(a), signature: partialSign(v.privateShare, appId) })), t);
  expect(verifyAppKey(key, appId, decodeG2(vs[0]![1].masterPublicKey))).toBe(true);
  return hex(key.toBytes(true));
}

describe('an operator offline for a whole round', () => {
  it('DKG n=4: without proceed() the others keep waiting; after it the 3 others finalize one version (t=3) without the silent dealer', () => {
    const signers = createSimulatedOperators(4, 'offline-dkg4');
    const ops = addresses(signers);
    const silent = ops[1]!;
    const sessions = dkgSessions(signers, 1000, [silent]);
    const report = runSessions(sessions);
    expect(report.rejected).toEqual([]);
    expect(report.undelivered).toBeGreaterThan(0);
    for (const s of sessions.values()) {
      expect(s.phase).toBe('acknowledging');
      expect(s.result()).toBeNull();
      expect(s.status().missingDeals).toEqual([silent]);
      // The fast path still wants every operator's ack.
      for (const [dealer, missing] of Object.entries(s.status().missingAcks)) expect(missing).toEqual(dealer === silent ? ops : [silent]);
    }
    proceedAll(sessions);
    const v = finalizedVersions(sessions);
    expect([...v.keys()]).toEqual(ops.filter((a) => a !== silent));
    const first = [...v.values()][0]!;
    expect(first.threshold).toBe(3);
    expect(first.dealers).toEqual(ops.filter((a) => a !== silent));
    // The silent operator stays a participant: it is the one to receive a share at the next reshare.
    expect(first.participants).toEqual(ops);
    secretOf(v);
  });

  it('reshare n=4 with one silent previous holder (previousThreshold 3): finalizes after proceed(), MPK and secret unchanged', () => {
    const signers = createSimulatedOperators(4, 'offline-reshare4');
    const ops = addresses(signers);
    const all = dkgSessions(signers, 2000);
    runSessions(all);
    const v0 = finalizedVersions(all);
    const secret = secretOf(v0);
    const silent = ops[0]!;
    const sessions = reshareSessions(v0, signers, 2100, [silent]);
    expect(runSessions(sessions).rejected).toEqual([]);
    for (const s of sessions.values()) expect(s.phase).toBe('acknowledging');
    proceedAll(sessions);
    const v1 = finalizedVersions(sessions);
    expect(v1.size).toBe(3);
    expect([...v1.values()][0]!.dealers).toEqual(ops.slice(1));
    expect(hex([...v1.values()][0]!.masterPublicKey)).toBe(hex([...v0.values()][0]!.masterPublicKey));
    expect(secretOf(v1)).toBe(secret);
    expect(appKeyOf(v1, 'app-offline')).toBe(appKeyOf(v0, 'app-offline'));
  });

  it('n=7 with two silent operators: a DKG (t=5) and a reshare of a full version both finalize after proceed()', () => {
    const signers = createSimulatedOperators(7, 'offline-7');
    const ops = addresses(signers);
    const dkg = dkgSessions(signers, 3000, [ops[2]!, ops[5]!]);
    runSessions(dkg);
    for (const s of dkg.values()) expect(s.phase).toBe('acknowledging');
    proceedAll(dkg);
    const partial = finalizedVersions(dkg);
    expect(partial.size).toBe(5);
    expect([...partial.values()][0]!.threshold).toBe(5);
    secretOf(partial);

    const full = dkgSessions(signers, 3100);
    runSessions(full);
    const v0 = finalizedVersions(full);
    const secret = secretOf(v0);
    const silent = [ops[0]!, ops[6]!];
    const reshare = reshareSessions(v0, signers, 3200, silent);
    runSessions(reshare);
    proceedAll(reshare);
    const v1 = finalizedVersions(reshare);
    expect([...v1.values()][0]!.dealers).toEqual(ops.filter((a) => !silent.includes(a)));
    expect(secretOf(v1)).toBe(secret);
  });

  it('the operator that missed a DKG later receives a working share in a reshare (a holder without its share), with no timeout needed', () => {
    const signers = createSimulatedOperators(4, 'offline-return');
    const ops = addresses(signers);
    const returning = ops[3]!;
    const dkg = dkgSessions(signers, 4000, [returning]);
    runSessions(dkg);
    proceedAll(dkg);
    const v0 = finalizedVersions(dkg);
    expect(v0.has(returning)).toBe(false);
    const secret = secretOf(v0);
    const sessions = reshareSessions(v0, signers, 4100);
    // Listed in v0 but without a share: it withdraws as a dealer at once, so nobody waits for it.
    expect(runSessions(sessions).rejected).toEqual([]);
    const v1 = finalizedVersions(sessions);
    expect(v1.size).toBe(4);
    expect(v1.get(returning)!.dealers).toEqual(ops.slice(0, 3));
    expect(secretOf(v1)).toBe(secret);
    // Its partial signature verifies against the new commitments, and any t holders including it recover the app key.
    const appId = 'app-returning';
    const commitments = v1.get(returning)!.commitments.map((c) => decodeG2(c));
    expect(verifyPartial(partialSign(v1.get(returning)!.privateShare, appId), appId, publicShare(commitments, operatorId(returning)))).toBe(true);
    const withReturning = [...v1.entries()].slice(1);
    const key = recoverAppKey(withReturning.map(([a, v]) => ({ id: operatorId(a), signature: partialSign(v.privateShare, appId) })), 3);
    expect(hex(key.toBytes(true))).toBe(appKeyOf(v0, appId));
  });

  it('only a valid message makes an operator present: forged acks do not, one accepted deal does', () => {
    const signers = createSimulatedOperators(4, 'offline-valid');
    const ops = addresses(signers);
    const ghost = ops[2]!;
    // Everything from the ghost is lost except its acks, whose signatures are corrupted: all rejected.
    const forged = dkgSessions(signers, 5000);
    const forgedReport = runSessions(forged, {
      intercept: (m) => (m.from !== ghost ? m : m.type === 'ack' ? { ...m, signature: `0x${'11'.repeat(65)}` } : null),
    });
    expect(new Set(forgedReport.rejected.map((r) => r.error.code))).toEqual(new Set(['INVALID_ACK_SIGNATURE']));
    forged.delete(ghost);
    proceedAll(forged);
    expect(finalizedVersions(forged).size).toBe(3);

    // Its deal arrives (so it is present), then it falls silent (none of its acks arrive): at the deadline it is
    // left out like one silent all round, and the three others finalize, its valid deal included in D.
    const heard = dkgSessions(signers, 5100);
    runSessions(heard, { intercept: (m) => (m.from === ghost && m.type !== 'deal' ? null : m) });
    heard.delete(ghost);
    for (const s of heard.values()) expect(s.phase).toBe('acknowledging');
    proceedAll(heard);
    const v = finalizedVersions(heard);
    expect(v.size).toBe(3);
    expect([...v.values()][0]!.dealers).toEqual(ops);
    secretOf(v);
  });

  it('a flaky operator heard by one node only: the views differ, yet every node decides the same D and finalizes', () => {
    const signers = createSimulatedOperators(4, 'offline-flaky');
    const [a, b, c, f] = addresses(signers) as [string, string, string, string];
    // f reaches only a, and even a never gets f's ack for dealer c; f hears everyone.
    const options: DeliveryOptions = {
      intercept: (m) => (m.from !== f ? m : m.to !== a ? null : m.type === 'ack' && m.dealer === c ? null : m),
    };
    const sessions = dkgSessions(signers, 6000);
    runSessions(sessions, options);
    proceedAll(sessions, options);
    giveUpAll(sessions);
    // a counts f present but lacks its ack for c: only a and b are acked by all four, so a leaves f out (the one
    // whose absence frees most dealers) and takes {a, b, c}. b and c never heard f: {a, b, c}. f heard everyone but
    // only a acked f's deal: {a, b, c} too. Four matching completions; everyone finalizes one version.
    const version = checkAgreement(finalizedVersions(sessions));
    expect(version.dealers).toEqual([a, b, c]);
  });

  it('property: whatever subset of a flaky operator\'s messages is lost, all finalized nodes agree on one version', () => {
    const signers = createSimulatedOperators(4, 'offline-prop');
    const ops = addresses(signers);
    const flaky = ops[3]!;
    const base = dkgSessions(signers, 7000);
    runSessions(base);
    const v0 = finalizedVersions(base);
    const runs = { finalized: 0, failed: 0 };
    const others = ops.filter((x) => x !== flaky);
    const scenario = fc.record({
      // Who receives the flaky operator's messages, whether it receives theirs, and which of its acks are lost anyway.
      heardBy: fc.subarray(others),
      hears: fc.boolean(),
      lostAcks: fc.subarray(ops),
      reshareRound: fc.boolean(),
    });
    fc.assert(
      fc.property(scenario, ({ heardBy, hears, lostAcks, reshareRound }) => {
        const options: DeliveryOptions = {
          intercept: (m) => {
            if (m.to === flaky) return hears ? m : null;
            if (m.from !== flaky) return m;
            if (!heardBy.includes(m.to)) return null;
            return m.type === 'ack' && lostAcks.includes(m.dealer) ? null : m;
          },
        };
        const sessions = reshareRound ? reshareSessions(v0, signers, 7100) : dkgSessions(signers, 7200);
        runSessions(sessions, options);
        proceedAll(sessions, options);
        giveUpAll(sessions);
        const done = [...sessions.entries()].filter(([, s]) => s.result() !== null);
        // Whatever the flaky operator does, the three that hear each other finalize (it is left out at worst).
        for (const o of others) expect(sessions.get(o)!.phase).toBe('finalized');
        const keys = new Set(done.map(([, s]) => `${s.result()!.dealers.join()}|${s.result()!.commitments.map(hex).join()}`));
        expect(keys.size).toBeLessThanOrEqual(1);
        for (const s of sessions.values()) expect(['finalized', 'failed']).toContain(s.phase);
        if (done.length > 0) {
          checkAgreement(new Map(done.map(([addr, s]) => [addr, s.result()!])));
          runs.finalized++;
        } else {
          runs.failed++;
        }
      }),
      { numRuns: 14, seed: 4242 },
    );
    expect(runs.finalized).toBe(14);
    expect(runs.failed).toBe(0);
  });
});
