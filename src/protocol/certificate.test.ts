import fc from 'fast-check';
import { certificateCompletions, finalizeWithCertificate, newestCertificate, verifyCertificate } from './certificate.js';
import { certificateToJson, parseCertificateJson } from './certificateJson.js';
import { commitmentsHash, completionDigest, dealerSetHash, toHex } from './digests.js';
import { isProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedDkg, createSimulatedOperators, createSimulatedReshare, finalizedVersions, recoverSimulatedSigner, runSessions, seededRandomSources, type DeliveryOptions, type SimulatedSigner } from './simulation.js';
import type { CompletionCertificate, FinalizedVersion, Hex } from './types.js';
import { codeOf } from '../../test/gen/errorCode.js';

type Sessions = Map<string, ProtocolSession>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function dkg(signers: readonly SimulatedSigner[], ts: number): Sessions {
  return createSimulatedDkg({ signers, sessionTimestamp: ts, rng: seededRandomSources(`cert-${ts}`) }).sessions;
}

/** Reshare sessions in the signers' order from what each previous holder finalized (the others are receivers). */
function reshareFrom(previous: ReadonlyMap<string, FinalizedVersion>, signers: readonly SimulatedSigner[], ts: number): ProtocolSession[] {
  return [...createSimulatedReshare({ signers, sessionTimestamp: ts, previous, rng: seededRandomSources(`cert-reshare-${ts}`) }).values()];
}

function deadline(sessions: Sessions, options: DeliveryOptions = {}): void {
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

const signers4 = createSimulatedOperators(4, 'cert-4');
const ops4 = signers4.map((s) => s.address);
const base = dkg(signers4, 21_000);
runSessions(base);
const v0 = finalizedVersions(base);
const cert0 = [...v0.values()][0]!.certificate;

describe('completion certificates', () => {
  it('every finalized version carries t or more signed completions that verify, and survive JSON', () => {
    for (const v of v0.values()) {
      expect(v.certificate.signatures.length).toBeGreaterThanOrEqual(3);
      expect(v.certificate.commitments.map(hex)).toEqual(v.commitments.map(hex));
      expect(v.certificate.dealers).toEqual(v.dealers);
      verifyCertificate(v.certificate, recoverSimulatedSigner);
    }
    const again = parseCertificateJson(JSON.parse(JSON.stringify(certificateToJson(cert0))));
    expect(again.commitments.map(hex)).toEqual(cert0.commitments.map(hex));
    verifyCertificate(again, recoverSimulatedSigner);
    expect(codeOf(() => parseCertificateJson({ ...certificateToJson(cert0), threshold: 'three' }))).toBe('MALFORMED_MESSAGE');
  });

  it('rejects a certificate that was tampered with, with INVALID_CERTIFICATE', () => {
    const other = [...finalizedVersions((() => { const s = dkg(signers4, 21_100); runSessions(s); return s; })()).values()][0]!;
    const bad: [string, CompletionCertificate][] = [
      ['other commitments', { ...cert0, commitments: other.commitments }],
      ['fewer than t', { ...cert0, signatures: cert0.signatures.slice(0, 2) }],
      ['signatures moved to other operators', { ...cert0, signatures: cert0.signatures.map((s, i) => (i < 2 ? { ...s, signature: cert0.signatures[2]!.signature } : s)) }],
      ['unsorted signers', { ...cert0, signatures: [...cert0.signatures].reverse() }],
      ['a foreign threshold', { ...cert0, threshold: 2, commitments: cert0.commitments.slice(0, 2) }],
      ['another session', { ...cert0, sessionTimestamp: cert0.sessionTimestamp + 1 }],
      ['a dealer outside the set', { ...cert0, dealers: [...cert0.dealers.slice(0, 3), '0xffffffffffffffffffffffffffffffffffffffff'] }],
    ];
    for (const [what, cert] of bad) expect([what, codeOf(() => { verifyCertificate(cert, recoverSimulatedSigner); })]).toEqual([what, 'INVALID_CERTIFICATE']);
    // With all four completions signed and t = 3, one that does not verify (its signer left the set, say) leaves
    // enough; two do not.
    const sign = (s: SimulatedSigner): Hex => toHex(s.sign(completionDigest('dkg', cert0.sessionTimestamp, s.address, dealerSetHash(cert0.dealers), commitmentsHash(cert0.commitments))));
    const full = { ...cert0, signatures: signers4.map((s) => ({ operator: s.address, signature: sign(s) })) };
    verifyCertificate(full, recoverSimulatedSigner);
    const spoil = (count: number): CompletionCertificate => ({ ...full, signatures: full.signatures.map((s, i) => (i < count ? { ...s, signature: full.signatures[3]!.signature } : s)) });
    verifyCertificate(spoil(1), recoverSimulatedSigner);
    expect(codeOf(() => { verifyCertificate(spoil(2), recoverSimulatedSigner); })).toBe('INVALID_CERTIFICATE');
    expect(newestCertificate([cert0, { ...cert0, sessionTimestamp: 5 }])).toBe(cert0);
    expect(newestCertificate([])).toBeNull();
  });

  it('a node whose completions were all lost finalizes the same version from a forwarded certificate', () => {
    const sessions = dkg(signers4, 21_200);
    const cutOff = ops4[1]!;
    runSessions(sessions, { intercept: (m) => (m.type === 'complete' && m.to === cutOff ? null : m) });
    const late = sessions.get(cutOff)!;
    expect(late.phase).toBe('completing');
    const cert = sessions.get(ops4[0]!)!.result()!.certificate;
    expect(late.handleCertificate(cert)).toEqual([]);
    expect(late.phase).toBe('finalized');
    expect(late.result()!.commitments.map(hex)).toEqual(cert.commitments.map(hex));
    // Once finalized, the same certificate is a no-op; another session's is refused without touching the session.
    expect(late.handleCertificate(cert)).toEqual([]);
    expect(codeOf(() => late.handleCertificate(cert0))).toBe('WRONG_SESSION');
    const fresh = dkg(signers4, 21_300).get(cutOff)!;
    fresh.start();
    expect(codeOf(() => fresh.handleCertificate(cert))).toBe('WRONG_SESSION');
    expect(fresh.phase).toBe('acknowledging');
  });

  it('after its round gave up, the kept completion finalizes with a certificate that turns up later — and only with one for it', () => {
    const sessions = dkg(signers4, 21_400);
    const cutOff = ops4[2]!;
    runSessions(sessions, { intercept: (m) => (m.type === 'complete' && m.to === cutOff ? null : m) });
    const late = sessions.get(cutOff)!;
    expect(late.proceed()).toEqual([]);
    expect(codeOf(() => { late.giveUp(); })).toBe('NO_QUORUM');
    const pending = late.pendingCompletion();
    expect(pending).not.toBeNull();
    const winner = sessions.get(ops4[0]!)!.result()!;
    const version = finalizeWithCertificate(pending!, winner.certificate, recoverSimulatedSigner);
    expect(version.commitments.map(hex)).toEqual(winner.commitments.map(hex));
    expect(version.dealers).toEqual(winner.dealers);
    expect(codeOf(() => finalizeWithCertificate(pending!, cert0, recoverSimulatedSigner))).toBe('INVALID_CERTIFICATE');
    expect(sessions.get(ops4[0]!)!.pendingCompletion()).toBeNull();
  });

  it('forwarded completions are ordinary completions: certificateCompletions skips the recipient\'s own', () => {
    const to = cert0.signatures[0]!.operator;
    const msgs = certificateCompletions(cert0, to);
    expect(msgs.map((m) => m.from)).toEqual(cert0.signatures.slice(1).map((s) => s.operator));
    expect(new Set(msgs.map((m) => m.to))).toEqual(new Set([to]));
  });
});

describe('a dealer on a non-agreed source version', () => {
  it('a node still on the previous version (restarted, lagging) is left out the same way by all; the others finalize', () => {
    // v1 finalized by everyone but `stale`, which restarted on v0 and reshares from it.
    const v1Sessions = new Map(reshareFrom(v0, signers4, 21_500).map((s, i) => [ops4[i]!, s]));
    runSessions(v1Sessions);
    const v1 = finalizedVersions(v1Sessions);
    const stale = ops4[3]!;
    const first = [...v1.values()][0]!;
    const current = reshareFrom(new Map([...v1].filter(([a]) => a !== stale)), signers4, 21_600);
    const lagging = reshareFrom(new Map([[stale, v0.get(stale)!]]), signers4, 21_600)[3]!;
    const sessions: Sessions = new Map(ops4.map((a, i) => [a, a === stale ? lagging : current[i]!]));
    const report = runSessions(sessions);
    // Every message between the two sides is refused as WRONG_SOURCE (never as a complaint that excludes an honest dealer).
    const codes = new Set(report.rejected.map((r) => r.error.code));
    expect(codes).toEqual(new Set(['WRONG_SOURCE']));
    for (const r of report.rejected) expect((r.message as ProtocolMessage).from === stale || r.to === stale).toBe(true);
    deadline(sessions);
    sessions.delete(stale);
    const v2 = finalizedVersions(sessions);
    const again = [...v2.values()][0]!;
    expect(hex(again.masterPublicKey)).toBe(hex(first.masterPublicKey));
    expect(again.dealers).toEqual(ops4.filter((a) => a !== stale));
    expect(lagging.phase === 'failed' || lagging.result() === null).toBe(true);
  });

  it('property: stale sources (≤ n − t), lost completions and forwarded certificates — at most one version finalizes, and the agreed holders do', () => {
    const signers = createSimulatedOperators(4, 'cert-prop');
    const ops = signers.map((s) => s.address);
    const start = dkg(signers, 22_000);
    runSessions(start);
    const va = finalizedVersions(start);
    const vbSessions = new Map(reshareFrom(va, signers, 22_100).map((s, i) => [ops[i]!, s]));
    runSessions(vbSessions);
    const vb = finalizedVersions(vbSessions);
    const vbFirst = [...vb.values()][0]!;
    let runs = 0;
    let finalizedAnywhere = 0;
    fc.assert(
      fc.property(
        fc.record({ stale: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }), lostTo: fc.subarray([0, 1, 2, 3]), forwardTo: fc.subarray([0, 1, 2, 3]) }),
        ({ stale, lostTo, forwardTo }) => {
          const ts = 22_200 + runs++;
          const staleAddr = stale === null ? null : ops[stale]!;
          const current = reshareFrom(new Map([...vb].filter(([a]) => a !== staleAddr)), signers, ts);
          const sessions: Sessions = new Map(ops.map((a, i) => [a, a === staleAddr ? reshareFrom(new Map([[a, va.get(a)!]]), signers, ts)[i]! : current[i]!]));
          const lost: DeliveryOptions = { intercept: (m) => (m.type === 'complete' && lostTo.some((i) => ops[i] === m.to) ? null : m) };
          runSessions(sessions, lost);
          deadline(sessions, lost);
          const winner = [...sessions.values()].find((s) => s.result() !== null)?.result() ?? null;
          if (winner !== null) {
            for (const i of forwardTo) {
              const s = sessions.get(ops[i]!)!;
              if (s.phase !== 'completing') continue;
              try {
                s.handleCertificate(winner.certificate);
              } catch (err) {
                if (!isProtocolError(err)) throw err;
              }
            }
          }
          const done = [...sessions.values()].flatMap((s) => (s.result() === null ? [] : [s.result()!]));
          expect(new Set(done.map((v) => v.commitments.map(hex).join())).size).toBeLessThanOrEqual(1);
          for (const v of done) expect(hex(v.masterPublicKey)).toBe(hex(vbFirst.masterPublicKey));
          // With t or more completions delivered somewhere a version finalized, and everyone on the agreed source that
          // got them (directly or by a forwarded certificate) finalized it.
          const reached = ops.filter((a, i) => a !== staleAddr && !lostTo.includes(i));
          if (reached.length > 0) expect(winner).not.toBeNull();
          for (const [i, a] of ops.entries()) {
            if (a === staleAddr || winner === null) continue;
            if (!lostTo.includes(i) || forwardTo.includes(i)) expect(sessions.get(a)!.phase).toBe('finalized');
          }
          finalizedAnywhere += winner === null ? 0 : 1;
        },
      ),
      { numRuns: 10, seed: 2222 },
    );
    expect(finalizedAnywhere).toBeGreaterThan(0);
  });
});
