import { ackState, adoptableDealerSet, chooseDealers, chooseDealersAtDeadline, type DealerState } from './dealerSelection.js';
import type { OperatorAddress } from './types.js';

const addr = (n: number): OperatorAddress => `0x${n.toString(16).padStart(40, '0')}`;
const [A, B, C, D] = [addr(1), addr(2), addr(3), addr(4)] as [OperatorAddress, OperatorAddress, OperatorAddress, OperatorAddress];
const states = (...s: DealerState[]): [OperatorAddress, DealerState][] => s.map((state, i) => [addr(i + 1), state]);
const dkg = { threshold: 3, previousThreshold: null };
const reshare = { threshold: 3, previousThreshold: 2 };

describe('ackState', () => {
  const acked = new Map([[A, 1], [B, 1], [C, 1]]);
  it('needs the deal and an ack from every required operator', () => {
    expect(ackState(true, acked, [A, B, C])).toBe('full');
    expect(ackState(true, acked, [A, B, C, D])).toBe('pending');
    expect(ackState(false, acked, [A])).toBe('pending');
    expect(ackState(true, undefined, [A])).toBe('pending');
  });
});

describe('chooseDealers', () => {
  it('DKG: waits while any dealer is pending, unless forced; then takes every full dealer if at least t', () => {
    expect(chooseDealers(states('full', 'full', 'full', 'pending'), dkg, false)).toEqual({ kind: 'wait' });
    expect(chooseDealers(states('full', 'full', 'full', 'pending'), dkg, true)).toEqual({ kind: 'chosen', dealers: [A, B, C] });
    expect(chooseDealers(states('full', 'excluded', 'full', 'full'), dkg, false)).toEqual({ kind: 'chosen', dealers: [A, C, D] });
    expect(chooseDealers(states('full', 'pending', 'full', 'excluded'), dkg, true)).toMatchObject({ kind: 'short', code: 'NOT_ENOUGH_DEALERS' });
  });

  it('reshare: exactly previousThreshold full holders in ascending order; a pending one before them means wait unless forced', () => {
    expect(chooseDealers(states('full', 'full', 'pending'), reshare, false)).toEqual({ kind: 'chosen', dealers: [A, B] });
    expect(chooseDealers(states('pending', 'full', 'full'), reshare, false)).toEqual({ kind: 'wait' });
    expect(chooseDealers(states('pending', 'full', 'full'), reshare, true)).toEqual({ kind: 'chosen', dealers: [B, C] });
    const short = chooseDealers(states('pending', 'excluded', 'full'), reshare, true);
    expect(short).toMatchObject({ kind: 'short', code: 'NOT_ENOUGH_DEALERS' });
    if (short.kind === 'short') expect(short.message).toContain('heard from this round');
  });
});

describe('adoptableDealerSet', () => {
  const rec = (dealers: OperatorAddress[], key: string) => ({ dealers, key });
  it('adopts a set t operators completed with one key, when its size fits and every dealer is usable here', () => {
    const three = [rec([A, B, C], 'k'), rec([A, B, C], 'k'), rec([A, B, C], 'k')];
    expect(adoptableDealerSet(three, dkg, () => true)).toEqual([A, B, C]);
    expect(adoptableDealerSet(three.slice(1), dkg, () => true)).toBeNull();
    expect(adoptableDealerSet(three, dkg, (d) => d !== B)).toBeNull();
    expect(adoptableDealerSet(three, reshare, () => true)).toBeNull();
    expect(adoptableDealerSet([rec([A, B, C], 'k'), rec([A, B, C], 'other'), rec([A, B, C], 'k')], dkg, () => true)).toBeNull();
  });

  it('with minimum 1 (the ack deadline) follows the best-supported usable completion: most completions, then the lowest key', () => {
    const ab = rec([A, B], 'k2');
    const abc = rec([A, B, C], 'k1');
    const bcd = rec([B, C, D], 'k3');
    expect(adoptableDealerSet([bcd, abc], dkg, () => true, 1)).toEqual([A, B, C]);
    expect(adoptableDealerSet([abc, bcd, bcd], dkg, () => true, 1)).toEqual([B, C, D]);
    // The better-supported set holds a dealer whose deal this node lacks: the next one is followed.
    expect(adoptableDealerSet([abc, bcd, bcd], dkg, (d) => d !== D, 1)).toEqual([A, B, C]);
    // Too small for the rule, whatever its support.
    expect(adoptableDealerSet([ab, ab, ab], dkg, () => true, 1)).toBeNull();
    expect(adoptableDealerSet([], dkg, () => true, 1)).toBeNull();
  });
});

describe('chooseDealersAtDeadline', () => {
  const view = (acks: Record<OperatorAddress, OperatorAddress[]>, present: OperatorAddress[], held: OperatorAddress[] = [A, B, C, D], excluded: OperatorAddress[] = []) => ({
    dealers: [A, B, C, D],
    excluded: (d: OperatorAddress) => excluded.includes(d),
    hasDeal: (d: OperatorAddress) => held.includes(d),
    ackedBy: (d: OperatorAddress) => new Set(acks[d] ?? []),
    present,
  });
  const all = [A, B, C, D];

  it('an operator that dealt and then died (acked one dealer) is left out; D = what the others acked', () => {
    const acks = { [A]: [A, B, C], [B]: [A, B, C, D], [C]: [A, B, C], [D]: [A, B, C] };
    expect(chooseDealersAtDeadline(view(acks, all), dkg)).toEqual({ kind: 'chosen', dealers: all });
    expect(chooseDealersAtDeadline(view(acks, all), reshare)).toEqual({ kind: 'chosen', dealers: [A, B] });
  });

  it('leaves out the one whose absence frees most dealers, not merely the one with fewest acks', () => {
    // D's deal reached A only; D acked A and B (not C). Leaving out D frees C; leaving out B or C frees nothing.
    const acks = { [A]: [A, B, C, D], [B]: [A, B, C, D], [C]: [A, B, C], [D]: [A, D] };
    expect(chooseDealersAtDeadline(view(acks, all), dkg)).toEqual({ kind: 'chosen', dealers: [A, B, C] });
  });

  it('never keeps fewer than t operators, and this node must hold every chosen deal', () => {
    const lonely = { [A]: [A, B], [B]: [B, C], [C]: [C, D], [D]: [D, A] };
    const short = chooseDealersAtDeadline(view(lonely, all), dkg);
    expect(short).toMatchObject({ kind: 'short', code: 'NOT_ENOUGH_DEALERS' });
    if (short.kind === 'short') expect(short.message).toContain('heard from this round');
    const acks = { [A]: [A, B, C], [B]: [A, B, C], [C]: [A, B, C], [D]: [A, B, C] };
    const missed = chooseDealersAtDeadline(view(acks, [A, B, C], [A, B, C]), dkg);
    expect(missed).toMatchObject({ kind: 'short', code: 'NOT_ENOUGH_DEALERS' });
    if (missed.kind === 'short') expect(missed.message).toContain(D);
  });

  it('excluded dealers never count, whoever acked them', () => {
    const acks = { [A]: all, [B]: all, [C]: all, [D]: all };
    expect(chooseDealersAtDeadline(view(acks, all, all, [B, C]), dkg)).toMatchObject({ kind: 'short' });
    expect(chooseDealersAtDeadline(view(acks, all, all, [B]), dkg)).toEqual({ kind: 'chosen', dealers: [A, C, D] });
  });
});
