import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { parseProtocolMessage, type ProtocolMessage } from './messages.js';

const addr = (c: string): string => `0x${c.repeat(40)}`;
const h = (bytes: number, c = 'a'): string => `0x${c.repeat(bytes * 2)}`;

const base = { protocol: 'dkg', sessionTimestamp: 1_700_000_000, from: addr('1'), to: addr('2') };
const valid: Record<ProtocolMessage['type'], Record<string, unknown>> = {
  deal: { type: 'deal', ...base, commitments: [h(96), h(96, 'b')], share: h(32) },
  ack: { type: 'ack', ...base, dealer: addr('3'), player: addr('1'), shareHash: h(32), commitmentHash: h(32, 'c'), signature: h(65) },
  complaint: { type: 'complaint', ...base, dealer: addr('3'), player: addr('1'), reason: 'INVALID_SHARE', signature: h(65) },
  complete: { type: 'complete', ...base, dealers: [addr('1'), addr('3')], commitmentsHash: h(32), signature: h(65) },
};

function fieldOf(value: unknown): string | undefined {
  try {
    parseProtocolMessage(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('MALFORMED_MESSAGE');
    return String((err as ProtocolError).details.field);
  }
  return undefined;
}

describe('parseProtocolMessage', () => {
  it.each(Object.keys(valid))('accepts a well-formed %s and survives a JSON round trip', (type) => {
    const msg = valid[type as ProtocolMessage['type']];
    expect(parseProtocolMessage(JSON.parse(JSON.stringify(msg)))).toEqual(msg);
  });

  it('lowercases addresses and hex', () => {
    const upper = { ...valid.deal, from: addr('A'), share: h(32, 'F') };
    const parsed = parseProtocolMessage(upper);
    expect(parsed.from).toBe(addr('a'));
    expect((parsed as Extract<ProtocolMessage, { type: 'deal' }>).share).toBe(h(32, 'f'));
  });

  it('names the bad field', () => {
    expect(fieldOf({ ...valid.deal, share: h(31) })).toBe('share');
    expect(fieldOf({ ...valid.deal, commitments: [h(48)] })).toBe('commitments.0');
    expect(fieldOf({ ...valid.deal, commitments: [] })).toBe('commitments');
    expect(fieldOf({ ...valid.ack, signature: h(64) })).toBe('signature');
    expect(fieldOf({ ...valid.ack, dealer: '0x1234' })).toBe('dealer');
    expect(fieldOf({ ...valid.complete, sessionTimestamp: -1 })).toBe('sessionTimestamp');
    expect(fieldOf({ ...valid.complete, sessionTimestamp: 1.5 })).toBe('sessionTimestamp');
    expect(fieldOf({ ...valid.complaint, reason: 'drop table' })).toBe('reason');
    expect(fieldOf({ ...valid.deal, protocol: 'other' })).toBe('protocol');
    expect(fieldOf({ ...valid.deal, type: 'nonsense' })).toBe('type');
    expect(fieldOf({ ...valid.deal, extra: true })).toBe('(message)');
    expect(fieldOf(null)).toBe('(message)');
  });

  it('rejects arbitrary values and never throws anything but MALFORMED_MESSAGE (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(fieldOf(value)).toBeDefined();
      }),
    );
  });

  it('rejects any single dropped field of a valid message (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(valid)), fc.nat(), (msg, k) => {
        const keys = Object.keys(msg);
        const drop = keys[k % keys.length]!;
        const copy = Object.fromEntries(Object.entries(msg).filter(([key]) => key !== drop));
        expect(fieldOf(copy)).toBeDefined();
      }),
    );
  });
});
