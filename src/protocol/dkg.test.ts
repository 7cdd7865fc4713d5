import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2 } from '../crypto/points.js';
import { partialSign, recoverAppKey, verifyAppKey, verifyPartial, publicShare } from '../crypto/signatures.js';
import type { ProtocolSessionState } from '../persistence/types.js';
import { createDkgSession } from './dkg.js';
import { verifyCertificate } from './certificate.js';
import type { ProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedDkg, createSimulatedOperators, finalizedVersions, recoverSimulatedSigner, runSessions, runSimulatedDkg, seededRandomSources, type DeliveryOptions } from './simulation.js';
import { thresholdFor } from './threshold.js';
import type { FinalizedVersion } from './types.js';
import { codeOf } from '../../test/gen/errorCode.js';

const SESSION = 1_700_000_000;

function dkg(n: number, seed: string, options: DeliveryOptions = {}) {
  return runSimulatedDkg({ signers: createSimulatedOperators(n, seed), sessionTimestamp: SESSION, rng: seededRandomSources(seed) }, options);
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head as T, ...s]), ...subsets(rest, k)];
}

function results(sessions: ReadonlyMap<string, ProtocolSession>): FinalizedVersion[] {
  return [...finalizedVersions(sessions).values()];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DKG', () => {
  it.each([1, 3, 4, 7])('n=%i: all finalize with one MPK; every t-subset recovers it, no (t−1)-subset does', (n) => {
    const { operators, sessions, report } = dkg(n, `dkg-${n}`);
    expect(report.rejected).toEqual([]);
    const t = thresholdFor(n);
    const rs = results(sessions);
    const mpk = hex(rs[0]!.masterPublicKey);
    for (const r of rs) {
      expect(hex(r.masterPublicKey)).toBe(mpk);
      expect(r.commitments.map(hex)).toEqual(rs[0]!.commitments.map(hex));
      expect(r.threshold).toBe(t);
      expect(r.commitments).toHaveLength(t);
      expect(r.participants).toEqual(operators);
      expect(r.epoch).toBe(SESSION);
      expect(r.dealers).toEqual(operators);
    }
    const commitments = rs[0]!.commitments.map((b) => decodeG2(b));
    const shares = rs.map((r, i) => ({ x: operatorId(operators[i]!), y: r.privateShare }));
    for (const s of shares) expect(publicShare(commitments, s.x).equals(G2.BASE.multiply(s.y))).toBe(true);
    const secrets = new Set(subsets(shares, t).map((s) => interpolateAtZero(s)));
    expect(secrets.size).toBe(1);
    const secret = [...secrets][0]!;
    expect(hex(G2.BASE.multiply(secret).toBytes(true))).toBe(mpk);
    if (t > 1) for (const s of subsets(shares, t - 1)) expect(interpolateAtZero(s)).not.toBe(secret);
    // A few app-key recoveries on points.
    const appId = `app-for-${n}`;
    const partials = shares.map((s) => ({ id: s.x, signature: partialSign(s.y, appId) }));
    for (const p of partials) expect(verifyPartial(p.signature, appId, publicShare(commitments, p.id))).toBe(true);
    const key = recoverAppKey(partials.slice(0, t), t);
    expect(recoverAppKey(partials.slice(n - t), t).equals(key)).toBe(true);
    expect(verifyAppKey(key, appId, commitments[0]!)).toBe(true);
  });

  it('batched and unbatched delivery give the same version from the same randomness', () => {
    const a = results(dkg(4, 'same-seed').sessions);
    const b = results(dkg(4, 'same-seed', { batch: true }).sessions);
    expect(a.map((r) => hex(r.masterPublicKey))).toEqual(b.map((r) => hex(r.masterPublicKey)));
    expect(a.map((r) => r.privateShare)).toEqual(b.map((r) => r.privateShare));
  });

  it('reports progress, snapshots persistence-shaped state, and refuses a second start', () => {
    const signers = createSimulatedOperators(3, 'snap');
    const operators = signers.map((s) => s.address);
    const s0 = createDkgSession({ sessionTimestamp: SESSION, operators, signer: signers[0]!, recoverSigner: recoverSimulatedSigner, startTime: 42 });
    const out = s0.start();
    expect(out.filter((m) => m.type === 'deal').map((m) => m.to)).toEqual(operators.slice(1));
    expect(out.filter((m) => m.type === 'ack')).toHaveLength(2);
    const st = s0.status();
    expect(st.phase).toBe('acknowledging');
    expect(st.missingDeals).toEqual(operators.slice(1));
    expect(st.missingAcks[operators[0]!]).toEqual(operators.slice(1));
    const snap = s0.snapshot();
    const asStored: ProtocolSessionState = snap;
    expect(asStored.sessionTimestamp).toBe(SESSION);
    expect(snap.phase).toBe(2);
    expect(snap.startTime).toBe(42);
    expect(snap.type).toBe('dkg');
    expect(Object.keys(snap.shares)).toEqual([operators[0]]);
    expect(snap.commitments[operators[0]!]).toHaveLength(2);
    const ownAcks = Object.values(snap.acknowledgements[operators[0]!] ?? {});
    expect(ownAcks.map((a) => a.signature)).toEqual([expect.stringMatching(/^0x[0-9a-f]{130}$/)]);
    expect(() => s0.start()).toThrow(/already started/);
  });
});

describe('DKG rejections', () => {
  function setup(n: number, seed: string) {
    const { signers, operators, sessions: bySigner } = createSimulatedDkg({ signers: createSimulatedOperators(n, seed), sessionTimestamp: SESSION, rng: seededRandomSources(seed) });
    const sessions = [...bySigner.values()];
    const outs = sessions.map((s) => s.start());
    return { signers, operators, sessions, outs };
  }
  const pick = <T extends ProtocolMessage['type']>(msgs: ProtocolMessage[], type: T, to: string): Extract<ProtocolMessage, { type: T }> =>
    msgs.find((m) => m.type === type && m.to === to) as Extract<ProtocolMessage, { type: T }>;

  it('rejects wrong session, wrong protocol, wrong recipient, unknown sender, duplicates, malformed bodies', () => {
    const { operators, sessions, outs } = setup(3, 'env');
    const deal = pick(outs[0]!, 'deal', operators[1]!);
    const s1 = sessions[1]!;
    expect(codeOf(() => s1.handle({ ...deal, sessionTimestamp: SESSION + 1 }))).toBe('WRONG_SESSION');
    expect(codeOf(() => s1.handle({ ...deal, protocol: 'reshare' }))).toBe('WRONG_SESSION');
    expect(codeOf(() => s1.handle({ ...deal, to: operators[2] }))).toBe('WRONG_RECIPIENT');
    expect(codeOf(() => s1.handle({ ...deal, from: `0x${'ab'.repeat(20)}` }))).toBe('UNKNOWN_SENDER');
    expect(codeOf(() => s1.handle({ ...deal, share: '0x12' }))).toBe('MALFORMED_MESSAGE');
    expect(codeOf(() => s1.handle({ ...deal, extra: 1 }))).toBe('MALFORMED_MESSAGE');
    expect(s1.handle(deal).length).toBeGreaterThan(0);
    expect(codeOf(() => s1.handle(deal))).toBe('DUPLICATE_MESSAGE');
  });

  it('a tampered share is rejected with a complaint, and the dealer is excluded everywhere', () => {
    const signers = createSimulatedOperators(4, 'tamper');
    const bad = signers[2]!.address;
    const victim = signers[0]!.address;
    const { sessions, report } = runSimulatedDkg({ signers, sessionTimestamp: SESSION, rng: seededRandomSources('t') }, {
      intercept: (m) => (m.type === 'deal' && m.from === bad && m.to === victim ? { ...m, share: `0x${'00'.repeat(31)}05` } : m),
    });
    expect(report.rejected.map((r) => [r.to, r.error.code])).toEqual([[victim, 'INVALID_SHARE']]);
    const rs = results(sessions);
    for (const r of rs) {
      expect(r.dealers).not.toContain(bad);
      expect(r.dealers).toHaveLength(3);
      expect(hex(r.masterPublicKey)).toBe(hex(rs[0]!.masterPublicKey));
    }
    expect(sessions.get(signers[1]!.address)!.status().excludedDealers[bad]).toBe('COMPLAINT:INVALID_SHARE');
  });

  it('rejects tampered commitments: wrong count, invalid point, and a shifted point (share no longer matches)', () => {
    const { operators, sessions, outs } = setup(4, 'commit');
    const deal = pick(outs[0]!, 'deal', operators[1]!);
    const s1 = sessions[1]!;
    expect(codeOf(() => s1.handle({ ...deal, commitments: deal.commitments.slice(1) }))).toBe('INVALID_COMMITMENT');
    const { sessions: s2, outs: o2, operators: ops2 } = setup(4, 'commit2');
    const d2 = pick(o2[0]!, 'deal', ops2[1]!);
    const garbage = `0x${'a0'.repeat(96)}`;
    expect(codeOf(() => s2[1]!.handle({ ...d2, commitments: [garbage, ...d2.commitments.slice(1)] }))).toBe('INVALID_COMMITMENT');
    const { sessions: s3, outs: o3, operators: ops3 } = setup(4, 'commit3');
    const d3 = pick(o3[0]!, 'deal', ops3[1]!);
    const shifted = decodeG2(Buffer.from(d3.commitments[1]!.slice(2), 'hex')).add(G2.BASE);
    const c = [...d3.commitments];
    c[1] = `0x${hex(shifted.toBytes(true))}`;
    let err: ProtocolError | undefined;
    try {
      s3[1]!.handle({ ...d3, commitments: c });
    } catch (e) {
      err = e as ProtocolError;
    }
    expect(err?.code).toBe('INVALID_SHARE');
    expect(err?.outbound.filter((m) => m.type === 'complaint')).toHaveLength(3);
  });

  it('rejects tampered or misattributed acknowledgements and completions', () => {
    const { operators, sessions, outs } = setup(3, 'acks');
    const ack = pick(outs[1]!, 'ack', operators[0]!);
    const s0 = sessions[0]!;
    expect(codeOf(() => s0.handle({ ...ack, shareHash: `0x${'11'.repeat(32)}` }))).toBe('INVALID_ACK_SIGNATURE');
    expect(codeOf(() => s0.handle({ ...ack, commitmentHash: `0x${'22'.repeat(32)}` }))).toBe('INVALID_ACK_SIGNATURE');
    expect(codeOf(() => s0.handle({ ...ack, signature: `0x${'33'.repeat(65)}` }))).toBe('INVALID_ACK_SIGNATURE');
    expect(codeOf(() => s0.handle({ ...ack, player: operators[2] }))).toBe('INVALID_ACK');
    expect(codeOf(() => s0.handle({ ...ack, dealer: `0x${'cd'.repeat(20)}` }))).toBe('UNKNOWN_SENDER');
    // An ack replayed from another session does not verify in this one.
    expect(codeOf(() => s0.handle({ ...ack, sessionTimestamp: SESSION + 5 }))).toBe('WRONG_SESSION');
    s0.handle(ack);
    expect(codeOf(() => s0.handle(ack))).toBe('DUPLICATE_MESSAGE');
  });

  it('a completion with a forged signature or foreign dealer set is rejected', () => {
    const { sessions } = dkg(4, 'complete-forge');
    const rs = results(sessions);
    expect(rs).toHaveLength(4);
    const signers = createSimulatedOperators(4, 'complete-forge2');
    const operators = signers.map((s) => s.address);
    const captured: ProtocolMessage[] = [];
    runSimulatedDkg({ signers, sessionTimestamp: SESSION }, {
      intercept: (m) => {
        if (m.type === 'complete') captured.push(m);
        return m.type === 'complete' && m.to === operators[3] ? null : m;
      },
    });
    const fresh = createDkgSession({ sessionTimestamp: SESSION, operators, signer: signers[3]!, recoverSigner: recoverSimulatedSigner });
    const completion = captured.find((m) => m.type === 'complete' && m.to === operators[3]) as Extract<ProtocolMessage, { type: 'complete' }>;
    expect(codeOf(() => fresh.handle({ ...completion, commitmentsHash: `0x${'44'.repeat(32)}` }))).toBe('INVALID_COMPLETION_SIGNATURE');
    expect(codeOf(() => fresh.handle({ ...completion, dealers: [`0x${'ef'.repeat(20)}`] }))).toBe('INVALID_COMPLETION');
    expect(codeOf(() => fresh.handle({ ...completion, dealers: [...completion.dealers].reverse() }))).toBe('INVALID_COMPLETION');
  });

  it('a node missing one ack follows the dealer set a peer already completed with, instead of waiting for its deadline', () => {
    const signers = createSimulatedOperators(4, 'follow');
    const operators = signers.map((s) => s.address);
    // Operator 0's ack for dealer 3 is lost on the way to everyone else; its completion over all four is not.
    const { sessions: map, report } = runSimulatedDkg({ signers, sessionTimestamp: SESSION }, { intercept: (m) => (m.type === 'ack' && m.player === operators[0] && m.dealer === operators[3] ? null : m) });
    expect(report.rejected).toEqual([]);
    for (const a of operators) expect(map.get(a)!.result()?.dealers).toEqual(operators);
    expect(operators.map((a) => map.get(a)!.status().dealerSetDecision)).toEqual(['all-acked', 'followed', 'followed', 'followed']);
  });

  it('waits for a missing ack; after proceed() the majority finalizes without that dealer, and the odd one out finalizes the same version from its deals', () => {
    const signers = createSimulatedOperators(4, 'slow');
    const operators = signers.map((s) => s.address);
    const slowDealer = operators[3]!;
    // Operator 0's ack for dealer 3 and its completion are lost on the way to everyone else.
    const lost = (m: ProtocolMessage): boolean => m.from === operators[0] && ((m.type === 'ack' && m.dealer === slowDealer) || m.type === 'complete');
    const { sessions: map } = runSimulatedDkg({ signers, sessionTimestamp: SESSION }, { intercept: (m) => (lost(m) ? null : m) });
    // Operator 0 holds all acks for dealer 3 (its own included), so it already completed over all four.
    const odd = map.get(operators[0]!)!;
    expect(odd.phase).toBe('completing');
    const s1 = map.get(operators[1]!)!;
    expect(s1.phase).toBe('acknowledging');
    expect(s1.status().missingAcks[slowDealer]).toEqual([operators[0]]);
    const pending: ProtocolMessage[] = [];
    for (const s of map.values()) if (s.phase === 'acknowledging') pending.push(...s.proceed());
    const report = runSessions(map, { intercept: (m) => (lost(m) ? null : m) }, pending);
    expect(report.rejected).toEqual([]);
    const mpk = hex(s1.result()!.masterPublicKey);
    for (const a of operators) {
      const r = map.get(a)!.result();
      expect(r?.dealers).toEqual(operators.slice(0, 3));
      expect(hex(r!.masterPublicKey)).toBe(mpk);
    }
    expect(operators.map((a) => map.get(a)!.status().dealerSetDecision)).toEqual(['all-acked', 'deadline', 'deadline', 'deadline']);
    // Operator 0 signed the four-dealer outcome; the certified one carries the other three signatures only.
    const certificate = odd.result()!.certificate;
    expect(certificate.signatures.map((x) => x.operator)).toEqual(operators.slice(1));
    expect(() => { verifyCertificate(certificate, recoverSimulatedSigner); }).not.toThrow();
    expect(certificate.commitments.map(hex)).toEqual(s1.result()!.commitments.map(hex));
  });

  it('at the ack deadline with too few acknowledged dealers it keeps listening, fails NOT_ENOUGH_DEALERS at giveUp(), and NO_QUORUM when completions never come', () => {
    const { sessions } = setup(3, 'few');
    expect(sessions[0]!.proceed()).toEqual([]);
    expect(sessions[0]!.phase).toBe('acknowledging');
    expect(sessions[0]!.status().dealerSetShortfall).toMatchObject({ code: 'NOT_ENOUGH_DEALERS' });
    expect(codeOf(() => { sessions[0]!.giveUp(); })).toBe('NOT_ENOUGH_DEALERS');
    expect(sessions[0]!.phase).toBe('failed');
    expect(sessions[0]!.status().error?.message).toContain('acknowledged by every operator heard from');
    expect(codeOf(() => sessions[0]!.handle({}))).toBe('INVALID_STATE');

    const { operators, sessions: map } = runSimulatedDkg(
      { signers: createSimulatedOperators(3, 'noquorum'), sessionTimestamp: SESSION },
      { intercept: (m) => (m.type === 'complete' ? null : m) },
    );
    const s = map.get(operators[0]!)!;
    expect(s.phase).toBe('completing');
    expect(s.status().completions).toEqual({ matching: 1, received: 1, needed: 2 });
    expect(s.proceed()).toEqual([]);
    expect(codeOf(() => { s.giveUp(); })).toBe('NO_QUORUM');
  });

  it('refuses a config that does not include this operator', () => {
    const signers = createSimulatedOperators(3, 'cfg');
    const outsider = createSimulatedOperators(1, 'outsider')[0]!;
    expect(codeOf(() => createDkgSession({ sessionTimestamp: SESSION, operators: signers.map((s) => s.address), signer: outsider, recoverSigner: recoverSimulatedSigner }))).toBe('NOT_A_PARTICIPANT');
    expect(codeOf(() => createDkgSession({ sessionTimestamp: -1, operators: signers.map((s) => s.address), signer: signers[0]!, recoverSigner: recoverSimulatedSigner }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => createDkgSession({ sessionTimestamp: 1, operators: [signers[0]!.address, signers[0]!.address], signer: signers[0]!, recoverSigner: recoverSimulatedSigner }))).toBe('INVALID_CONFIG');
  });
});
