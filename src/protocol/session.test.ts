import { dealerSetHash, completionDigest, toHex } from './digests.js';
import type { ProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import { createSimulatedDkg, createSimulatedOperators, runSimulatedDkg, seededRandomSources } from './simulation.js';

const SESSION = 1_700_000_500;

describe('completion quorum', () => {
  it('fails with CONFLICTING_COMPLETION when t operators sign a different outcome', () => {
    const signers = createSimulatedOperators(4, 'conflict');
    const operators = signers.map((s) => s.address);
    // Hold back every completion so each node sits in the completing phase.
    const { sessions: map } = runSimulatedDkg({ signers, sessionTimestamp: SESSION }, { intercept: (m) => (m.type === 'complete' ? null : m) });
    const victim = map.get(operators[0]!)!;
    expect(victim.phase).toBe('completing');
    const forged = `0x${'77'.repeat(32)}` as const;
    const dealers = [...operators];
    let error: ProtocolError | undefined;
    for (const signer of signers.slice(1)) {
      const digest = completionDigest('dkg', SESSION, signer.address, dealerSetHash(dealers), Buffer.from(forged.slice(2), 'hex'));
      const msg: ProtocolMessage = {
        type: 'complete',
        protocol: 'dkg',
        sessionTimestamp: SESSION,
        from: signer.address,
        to: operators[0]!,
        dealers,
        commitmentsHash: forged,
        signature: toHex(signer.sign(digest)),
      };
      try {
        victim.handle(msg);
      } catch (err) {
        error = err as ProtocolError;
        break;
      }
    }
    expect(['CONFLICTING_COMPLETION', 'NO_QUORUM']).toContain(error?.code);
    expect(victim.phase).toBe('failed');
    expect(victim.result()).toBeNull();
    expect(victim.status().error?.code).toBe(error?.code);
  });

  it('a node still acknowledging adopts a dealer set that t others completed, if it holds those deals', () => {
    const signers = createSimulatedOperators(4, 'adopt');
    const operators = signers.map((s) => s.address);
    const late = operators[3]!;
    // Operator 3 never hears operator 2's ack for dealer 1; it waits while the rest finalize.
    const { sessions: map } = runSimulatedDkg(
      { signers, sessionTimestamp: SESSION },
      { intercept: (m) => (m.type === 'ack' && m.to === late && m.player === operators[2] && m.dealer === operators[1] ? null : m) },
    );
    const s3 = map.get(late)!;
    expect(s3.phase).toBe('finalized');
    const others = operators.slice(0, 3).map((a) => map.get(a)!.result()!);
    expect(Buffer.from(s3.result()!.masterPublicKey).equals(Buffer.from(others[0]!.masterPublicKey))).toBe(true);
    expect(s3.result()!.dealers).toEqual(operators);
  });
});

describe('handleAll in two steps (prepareBatch, applyBatch)', () => {
  it('hands out the deals to verify without changing the session, applies the verifier\'s answer once, and re-checks a deal called invalid before complaining', () => {
    const signers = createSimulatedOperators(4, 'two-step');
    const { sessions, operators } = createSimulatedDkg({ signers, sessionTimestamp: SESSION, rng: seededRandomSources('two-step') });
    const self = operators[0]!;
    const outbound = [...sessions.values()].flatMap((s) => s.start());
    const mine = outbound.filter((m) => m.type === 'deal' && m.to === self);
    const session = sessions.get(self)!;
    const before = JSON.stringify(session.status());

    const batch = session.prepareBatch(mine);
    expect(batch.dealChecks?.deals).toHaveLength(3);
    expect(batch.dealChecks?.previousCommitments).toBeNull();
    expect(JSON.stringify(session.status())).toBe(before);

    // A verifier that wrongly calls the second deal invalid: the session checks it alone and accepts it.
    const { outbound: acks, rejected } = session.applyBatch(batch, [1]);
    expect(rejected).toEqual([]);
    expect(acks.filter((m) => m.type === 'ack' && m.player === self).map((m) => (m.type === 'ack' ? m.dealer : '')).sort()).toEqual(operators.slice(1).flatMap((d) => [d, d, d]).sort());
    expect(acks.some((m) => m.type === 'complaint')).toBe(false);
    expect(() => session.applyBatch(batch, [])).toThrow(/applyBatch\(\) takes a batch this session prepared, once/);
    // Deals already applied are duplicates in a later batch, and none is handed out again.
    expect(session.prepareBatch(mine).dealChecks).toBeNull();
  });
});
