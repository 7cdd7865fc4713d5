import { ackState, adoptableDealerSet, chooseDealers, type DealerState } from './dealerSelection.js';
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
});
