import fc from 'fast-check';
import { roundClockStart, roundTimeouts } from './roundTimeouts.js';

const ops = ['0xa', '0xb', '0xc', '0xd'];

describe('roundTimeouts', () => {
  it('staggers the ack deadlines of one session by rank, between half and three quarters of the budget', () => {
    const acks = ops.map((self) => roundTimeouts({ protocolTimeoutMs: 16_000, operators: ops, self, sessionTimestamp: 1_700_000_000 }).ackPhaseTimeoutMs);
    expect([...acks].sort((a, b) => a - b)).toEqual([8_000, 9_000, 10_000, 11_000]);
    expect(roundTimeouts({ protocolTimeoutMs: 16_000, operators: ops, self: '0xa', sessionTimestamp: 8 }).totalTimeoutMs).toBe(16_000);
  });

  it('rotates who decides first with the session', () => {
    const first = (ts: number): string => ops.find((self) => roundTimeouts({ protocolTimeoutMs: 16_000, operators: ops, self, sessionTimestamp: ts }).ackPhaseTimeoutMs === 8_000)!;
    expect(new Set([0, 1, 2, 3].map(first)).size).toBe(4);
  });

  it('property: every rank is taken once, and the ack deadline stays within [T/2, 3T/4) of the budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 100, max: 600_000 }), (n, ts, budget) => {
        const operators = Array.from({ length: n }, (_, i) => `0x${i.toString(16).padStart(2, '0')}`);
        const acks = operators.map((self) => roundTimeouts({ protocolTimeoutMs: budget, operators, self, sessionTimestamp: ts }).ackPhaseTimeoutMs);
        // One rank per operator: the deadlines differ wherever the step is at least 1 ms.
        if (budget >= 4 * n) expect(new Set(acks).size).toBe(n);
        for (const a of acks) {
          expect(a).toBeGreaterThanOrEqual(Math.floor(budget / 2));
          expect(a).toBeLessThan(Math.floor((3 * budget) / 4) + 1);
        }
      }),
    );
  });

  it('refuses a node that is not in the session', () => {
    expect(() => roundTimeouts({ protocolTimeoutMs: 1_000, operators: ops, self: '0xe', sessionTimestamp: 1 })).toThrow(RangeError);
  });
});

describe('roundClockStart', () => {
  it('counts from the boundary block when the node saw it late, by less than one round', () => {
    expect(roundClockStart(1_700_000_009_000, 1_700_000_000, 24_000)).toBe(1_700_000_000_000);
    // Seen at once, or the block stamped ahead of this clock: from when it was seen.
    expect(roundClockStart(1_700_000_000_500, 1_700_000_001, 24_000)).toBe(1_700_000_000_500);
    // A whole round late (or a chain whose timestamps are not wall time): from when it was seen.
    expect(roundClockStart(1_700_000_030_000, 1_700_000_000, 24_000)).toBe(1_700_000_030_000);
    expect(roundClockStart(1_700_000_024_000, 1_700_000_000, 24_000)).toBe(1_700_000_024_000);
  });
});
