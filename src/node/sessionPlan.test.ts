import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import { peerKeyViewSchema, planSession, viewOf, type PeerKeyView } from './sessionPlan.js';

const addr = (n: number): OperatorAddress => `0x${n.toString(16).padStart(40, '0')}`;
const A = addr(1);
const B = addr(2);
const C = addr(3);
const D = addr(4);
const E = addr(5);

/** Distinct 96-byte "points": the planner compares them, it does not decode them. */
const bytes = (seed: number): Uint8Array => new Uint8Array(96).fill(seed);

function version(epoch: number, participants: readonly OperatorAddress[], threshold: number, share = 11n): KeyShareVersion {
  return {
    epoch,
    privateShare: share,
    commitments: Array.from({ length: threshold }, (_, k) => bytes((epoch + k) % 251)),
    masterPublicKey: bytes(epoch % 251),
    threshold,
    participants,
    createdAt: 0,
  };
}

const views = (v: KeyShareVersion, holders: readonly OperatorAddress[]): PeerKeyView[] => holders.map((h) => viewOf(v, h));

describe('planSession', () => {
  const v100 = version(100, [A, B, C, D], 3);
  const v200 = version(200, [A, B, C, D], 3);

  it('runs a DKG when nobody, this node included, reports a key', () => {
    expect(planSession(null, A, [])).toEqual({ kind: 'dkg' });
  });

  it('reshares as a dealer from its own share when a threshold of holders agree with it', () => {
    const plan = planSession(v100, A, views(v100, [B, C]));
    expect(plan.kind).toBe('reshare');
    if (plan.kind !== 'reshare') return;
    expect(plan.previousShare).toBe(11n);
    expect(plan.previous.epoch).toBe(100);
    expect(plan.previous.threshold).toBe(3);
    expect(plan.previous.participants).toEqual([A, B, C, D]);
    expect(Buffer.from(plan.previous.masterPublicKey)).toEqual(Buffer.from(v100.masterPublicKey));
    expect(plan.previous.commitments.map((c) => Buffer.from(c))).toEqual(v100.commitments.map((c) => Buffer.from(c)));
  });

  it('never runs a DKG over a live cluster: a node without a key joins the agreed version as a receiver', () => {
    const plan = planSession(null, E, views(v100, [A, B, C]));
    expect(plan).toMatchObject({ kind: 'reshare', previousShare: null, previous: { epoch: 100 } });
  });

  it('a node lagging one version behind receives the newer agreed version instead of dealing from a stale share', () => {
    const plan = planSession(v100, A, views(v200, [B, C, D]));
    expect(plan).toMatchObject({ kind: 'reshare', previousShare: null, previous: { epoch: 200 } });
  });

  it('a node back after sleeping through a boundary whose round the others finished waits for the next one, then receives', () => {
    // v200 came from the round at this very boundary (session 200): the others are done with it.
    const late = planSession(v100, D, views(v200, [A, B, C]), 200);
    expect(late.kind).toBe('wait');
    if (late.kind === 'wait') expect(late.reason).toContain('version 200 already came from the round of this boundary (200)');
    expect(planSession(v100, D, views(v200, [A, B, C]), 250)).toMatchObject({ kind: 'reshare', previousShare: null, previous: { epoch: 200 } });
    // The normal case: the agreed version is older than the boundary.
    expect(planSession(v200, A, views(v200, [B, C]), 300)).toMatchObject({ kind: 'reshare', previousShare: 11n });
  });

  it('picks the highest version vouched for by its threshold', () => {
    const plan = planSession(v200, A, [...views(v200, [B, C]), ...views(v100, [D])]);
    expect(plan).toMatchObject({ kind: 'reshare', previousShare: 11n, previous: { epoch: 200 } });
  });

  it('waits when keys are reported but no version reaches its threshold of holders', () => {
    const plan = planSession(v200, A, views(v100, [B, C]));
    expect(plan.kind).toBe('wait');
    if (plan.kind === 'wait') expect(plan.reason).toContain('3 operators report keys');
  });

  it('only holders vouch: views from operators outside the participants do not count', () => {
    const outsiders = [viewOf(v100, E), { ...viewOf(v100, addr(6)) }];
    expect(planSession(null, A, [...views(v100, [B]), ...outsiders]).kind).toBe('wait');
  });

  it('ignores a peer answer that claims to be this node, and counts each holder once', () => {
    const forgedSelf = viewOf(v200, A);
    expect(planSession(null, A, [forgedSelf, ...views(v200, [B, B, C])]).kind).toBe('wait');
  });

  it('the same epoch with different commitments are different versions', () => {
    const fork = { ...v100, commitments: [bytes(7), bytes(8), bytes(9)] };
    expect(planSession(v100, A, [...views(fork, [B, C])]).kind).toBe('wait');
  });
});

describe('peerKeyViewSchema', () => {
  const good = viewOf(version(100, [A, B, C], 2), A);

  it('accepts what viewOf produces (what /pubkey serves)', () => {
    expect(peerKeyViewSchema.parse(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it.each([
    ['an uppercase address', { ...good, operatorAddress: `0x${'AB'.repeat(20)}` }],
    ['an address of 19 bytes', { ...good, operatorAddress: `0x${'ab'.repeat(19)}` }],
    ['a short master public key', { ...good, masterPublicKey: '0x1234' }],
    ['no commitments', { ...good, commitments: [] }],
    ['a negative version', { ...good, version: -1 }],
    ['a zero threshold', { ...good, threshold: 0 }],
    ['an uppercase commitment', { ...good, commitments: [`0x${'AB'.repeat(96)}`] }],
  ])('rejects %s', (_name, body) => {
    expect(peerKeyViewSchema.safeParse(body).success).toBe(false);
  });
});

describe('planSession with completion certificates', () => {
  const certOf = (v: KeyShareVersion): NonNullable<KeyShareVersion['certificate']> => ({
    type: 'reshare',
    sessionTimestamp: v.epoch,
    dealers: v.participants.slice(0, v.threshold),
    commitments: v.commitments,
    threshold: v.threshold,
    participants: v.participants,
    signatures: v.participants.slice(0, v.threshold).map((operator) => ({ operator, signature: `0x${'00'.repeat(65)}` as const })),
  });
  const v100 = version(100, [A, B, C, D], 3);
  const v200 = version(200, [A, B, C, D], 3, 22n);

  it('a node restarted on an older version receives the certified newer one, whatever the peers\' uncertified views say', () => {
    // Three peers still report v100 without a certificate; one peer forwards v200's certificate.
    const plan = planSession({ ...v100, certificate: certOf(v100) }, A, views(v100, [B, C, D]), 300, [certOf(v200)]);
    expect(plan.kind).toBe('reshare');
    if (plan.kind !== 'reshare') return;
    expect(plan.previous.epoch).toBe(200);
    expect(plan.previous.commitments).toEqual(v200.commitments);
    expect(plan.previous.masterPublicKey).toEqual(v200.commitments[0]);
    expect(plan.previousShare).toBeNull();
  });

  it('a holder of the certified version deals from it; its own certificate is evidence enough', () => {
    const mine = { ...v200, certificate: certOf(v200) };
    for (const plan of [planSession(mine, A, [], 300), planSession(mine, A, [], 300, [certOf(v100)])]) {
      expect(plan).toMatchObject({ kind: 'reshare', previousShare: 22n });
      if (plan.kind === 'reshare') expect(plan.previous.epoch).toBe(200);
    }
  });

  it('a node without any key receives the certified version instead of starting a DKG, and waits when the certificate is this boundary\'s', () => {
    expect(planSession(null, E, [], 300, [certOf(v200)])).toMatchObject({ kind: 'reshare', previousShare: null });
    expect(planSession(null, E, [], 200, [certOf(v200)])).toMatchObject({ kind: 'wait' });
  });

  it('an active version newer than every certificate but without one of its own (an earlier build) falls back to the holders rule', () => {
    const plan = planSession(v200, A, views(v200, [B, C]), 300, [certOf(v100)]);
    expect(plan).toMatchObject({ kind: 'reshare', previousShare: 22n });
  });
});
