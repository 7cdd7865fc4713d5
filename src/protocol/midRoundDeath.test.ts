import fc from 'fast-check';
import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2 } from '../crypto/points.js';
import { isProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedDkg, createSimulatedOperators, createSimulatedReshare, finalizedVersions, runSessions, seededRandomSources, type DeliveryOptions, type SimulatedSigner } from './simulation.js';
import type { FinalizedVersion } from './types.js';

/**
 * Issue 11 item 2: an operator heard from earlier in the round and then silent past the
 * ack deadline (killed mid-round) is treated like one offline for the whole round.
 */
type Sessions = Map<string, ProtocolSession>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function dkg(signers: readonly SimulatedSigner[], ts: number): Sessions {
  return createSimulatedDkg({ signers, sessionTimestamp: ts, rng: seededRandomSources(`death-${ts}`) }).sessions;
}

function reshare(previous: ReadonlyMap<string, FinalizedVersion>, signers: readonly SimulatedSigner[], ts: number): Sessions {
  return createSimulatedReshare({ signers, sessionTimestamp: ts, previous, rng: seededRandomSources(`death-reshare-${ts}`) });
}

/**
 * Kills each of `dying` after it sent its first `sent[i]` messages (in the order it emitted them; the last one
 * reaches only the recipients `lastReaches` lets through): from then on nothing comes from it or reaches it.
 */
function killMidRound(dying: readonly string[], sent: readonly number[], lastReaches: (to: string) => boolean): DeliveryOptions {
  const count = new Map<string, number>();
  return {
    intercept: (m: ProtocolMessage) => {
      const i = dying.indexOf(m.to);
      if (i >= 0 && (count.get(m.to) ?? 0) >= (sent[i] ?? 0)) return null;
      const j = dying.indexOf(m.from);
      if (j < 0) return m;
      const k = (count.get(m.from) ?? 0) + 1;
      count.set(m.from, k);
      const limit = sent[j] ?? 0;
      if (k < limit) return m;
      return k === limit && lastReaches(m.to) ? m : null;
    },
  };
}

/** The ack deadline, then delivery of what it produced. */
function deadline(sessions: Sessions, options: DeliveryOptions): void {
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

/** Every survivor finalized one version whose shares interpolate the secret behind its MPK. */
function survivorsAgree(sessions: Sessions, dying: readonly string[]): FinalizedVersion {
  for (const d of dying) sessions.delete(d);
  const versions = [...finalizedVersions(sessions).entries()];
  const first = versions[0]![1];
  for (const [, v] of versions) {
    expect(v.commitments.map(hex)).toEqual(first.commitments.map(hex));
    expect(v.dealers).toEqual(first.dealers);
  }
  const secret = interpolateAtZero(versions.slice(0, first.threshold).map(([a, v]) => ({ x: operatorId(a), y: v.privateShare })));
  expect(G2.BASE.multiply(secret).equals(decodeG2(first.masterPublicKey))).toBe(true);
  return first;
}

describe('an operator killed mid-round is offline for the round', () => {
  it('DKG n=4: killed after its deals and one ack went out, the 3 survivors finalize (today: "only 1/2 dealers were acknowledged")', () => {
    const signers = createSimulatedOperators(4, 'death-dkg4');
    // The highest address: start() emits its 3 deals, then 3 copies of its own ack; the deals and one ack copy get out.
    const victim = signers[3]!.address;
    const sessions = dkg(signers, 11_000);
    const options = killMidRound([victim], [4], () => true);
    runSessions(sessions, options);
    for (const [a, s] of sessions) if (a !== victim) expect(s.phase).toBe('acknowledging');
    deadline(sessions, options);
    const v = survivorsAgree(sessions, [victim]);
    expect(v.dealers).toContain(victim);
    expect(v.participants).toContain(victim);
  });

  it('property: n=4 DKG or reshare, one operator killed at any point of its sending, the 3 survivors finalize one version', () => {
    const signers = createSimulatedOperators(4, 'death-prop4');
    const base = dkg(signers, 12_000);
    runSessions(base);
    const v0 = finalizedVersions(base);
    const mpk = hex([...v0.values()][0]!.masterPublicKey);
    fc.assert(
      fc.property(
        fc.record({ victim: fc.integer({ min: 0, max: 3 }), sent: fc.integer({ min: 0, max: 20 }), lastTo: fc.subarray([0, 1, 2, 3]), isReshare: fc.boolean() }),
        ({ victim, sent, lastTo, isReshare }) => {
          const dying = signers[victim]!.address;
          const sessions = isReshare ? reshare(v0, signers, 12_100) : dkg(signers, 12_200);
          const options = killMidRound([dying], [sent], (to) => lastTo.some((i) => signers[i]!.address === to));
          runSessions(sessions, options);
          deadline(sessions, options);
          const v = survivorsAgree(sessions, [dying]);
          if (isReshare) expect(hex(v.masterPublicKey)).toBe(mpk);
        },
      ),
      { numRuns: 12, seed: 1111 },
    );
  });

  it('n=7: two operators killed mid-round (n − t = 2) in a DKG and in a reshare, the 5 survivors finalize', () => {
    const signers = createSimulatedOperators(7, 'death-7');
    const dying = [signers[1]!.address, signers[5]!.address];
    const first = dkg(signers, 13_000);
    const options = killMidRound(dying, [7, 9], (to) => to < dying[0]!);
    runSessions(first, options);
    deadline(first, options);
    survivorsAgree(first, dying);

    const full = dkg(signers, 13_100);
    runSessions(full);
    const v0 = finalizedVersions(full);
    const sessions = reshare(v0, signers, 13_200);
    const again = killMidRound(dying, [3, 12], (to) => to > dying[1]!);
    runSessions(sessions, again);
    deadline(sessions, again);
    const v1 = survivorsAgree(sessions, dying);
    expect(hex(v1.masterPublicKey)).toBe(hex([...v0.values()][0]!.masterPublicKey));
  });
});
