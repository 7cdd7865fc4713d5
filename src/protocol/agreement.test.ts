/**
 * Agreement under an asynchronous network: messages delivered in any order, some lost,
 * and each node's ack deadline (proceed()) firing at any moment. Whatever happens, the
 * nodes that finalize hold one version; and when nothing is lost, either every node
 * finalizes it or none does (no node is left behind by timing alone).
 */
import fc from 'fast-check';
import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2 } from '../crypto/points.js';
import { isProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import { createSimulatedDkg, createSimulatedOperators, createSimulatedReshare, finalizedVersions, runSessions, seededRandomSources } from './simulation.js';
import type { FinalizedVersion } from './types.js';

type Sessions = Map<string, ProtocolSession>;
type Step =
  | { readonly kind: 'deliver' | 'lose'; readonly pick: number }
  | { readonly kind: 'deadline'; readonly who: number };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const signers = createSimulatedOperators(4, 'agreement');

function dkg(ts: number): Sessions {
  return createSimulatedDkg({ signers, sessionTimestamp: ts, rng: seededRandomSources(`agreement-${ts}`) }).sessions;
}

const base = dkg(1_000);
runSessions(base);
const v0 = finalizedVersions(base);

function reshare(ts: number): Sessions {
  return createSimulatedReshare({ signers, sessionTimestamp: ts, previous: v0, rng: seededRandomSources(`agreement-reshare-${ts}`) });
}

/** Runs the sessions through `steps`, then delivers what is left, fires every deadline, delivers again and gives up. */
function runAsynchronously(sessions: Sessions, steps: readonly Step[], lossAllowed: boolean): void {
  const flight: ProtocolMessage[] = [];
  const apply = (s: ProtocolSession, step: () => ProtocolMessage[]): void => {
    try {
      flight.push(...step());
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      flight.push(...err.outbound);
    }
  };
  const deliver = (m: ProtocolMessage): void => {
    const s = sessions.get(m.to);
    if (s !== undefined && s.phase !== 'failed') apply(s, () => s.handle(m));
  };
  for (const s of sessions.values()) flight.push(...s.start());
  for (const step of steps) {
    if (step.kind === 'deadline') {
      const s = [...sessions.values()][step.who % sessions.size]!;
      if (s.phase === 'acknowledging') apply(s, () => s.proceed());
      continue;
    }
    if (flight.length === 0) continue;
    const [m] = flight.splice(step.pick % flight.length, 1);
    if (step.kind === 'lose' && lossAllowed) continue;
    deliver(m!);
  }
  const drain = (): void => {
    while (flight.length > 0) deliver(flight.shift()!);
  };
  drain();
  for (const s of sessions.values()) if (s.phase === 'acknowledging') apply(s, () => s.proceed());
  drain();
  for (const s of sessions.values()) {
    if (s.phase === 'acknowledging' || s.phase === 'completing') {
      try {
        s.giveUp();
      } catch (err) {
        if (!isProtocolError(err)) throw err;
      }
    }
  }
}

/** The finalized versions all hold one outcome, and t of their shares interpolate the secret behind its MPK. */
function checkOneOutcome(sessions: Sessions): FinalizedVersion[] {
  const done = [...sessions.entries()].flatMap(([address, s]) => (s.result() === null ? [] : [[address, s.result()!] as const]));
  const outcomes = new Set(done.map(([, v]) => `${v.dealers.join()}|${v.commitments.map(hex).join()}`));
  expect(outcomes.size).toBeLessThanOrEqual(1);
  if (done.length >= (done[0]?.[1].threshold ?? Infinity)) {
    const first = done[0]![1];
    const secret = interpolateAtZero(done.slice(0, first.threshold).map(([a, v]) => ({ x: operatorId(a), y: v.privateShare })));
    expect(G2.BASE.multiply(secret).equals(decodeG2(first.masterPublicKey))).toBe(true);
  }
  return done.map(([, v]) => v);
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadline' as const), who: fc.nat() }) },
);
const scenario = fc.record({ steps: fc.array(step, { minLength: 0, maxLength: 120 }), reshareRound: fc.boolean() });

describe('agreement under reordering, loss and deadlines at any moment', () => {
  let session = 2_000;

  /** One fresh DKG or reshare run through the scenario; one outcome among the finalized, the MPK kept by a reshare. */
  function play(steps: readonly Step[], reshareRound: boolean, lossAllowed: boolean): { size: number; done: FinalizedVersion[] } {
    session += 1;
    const sessions = reshareRound ? reshare(session) : dkg(session);
    runAsynchronously(sessions, steps, lossAllowed);
    const done = checkOneOutcome(sessions);
    if (reshareRound && done.length > 0) expect(hex(done[0]!.masterPublicKey)).toBe(hex([...v0.values()][0]!.masterPublicKey));
    return { size: sessions.size, done };
  }

  it('property: the nodes that finalize hold one version, whatever is lost and whenever deadlines fire', () => {
    fc.assert(fc.property(scenario, ({ steps, reshareRound }) => { play(steps, reshareRound, true); }), { numRuns: 16 });
  });

  it('property: when nothing is lost, every node finalizes the one version or none does', () => {
    let finalizedRuns = 0;
    fc.assert(
      fc.property(scenario, ({ steps, reshareRound }) => {
        const { size, done } = play(steps, reshareRound, false);
        expect([0, size]).toContain(done.length);
        if (done.length > 0) finalizedRuns++;
      }),
      { numRuns: 16 },
    );
    // Splits that finalize nothing need deadlines racing each other; most schedules finalize.
    expect(finalizedRuns).toBeGreaterThan(8);
  });
});
