import { Counter, Gauge, Registry } from 'prom-client';
import type { ProtocolMessage } from '../protocol/index.js';
import { EarlyMessageRefusedError } from './errors.js';
import { retainedBytes, SessionInbox, type SessionInboxLimits } from './sessionInbox.js';

/** The inbox reads sessionTimestamp, from and the size; `filler` makes a message as large as a test needs. */
function message(sessionTimestamp: number, n: number, filler = ''): ProtocolMessage {
  return { type: 'ack', sessionTimestamp, from: `0x${n.toString(16).padStart(40, '0')}`, ...(filler === '' ? {} : { filler }) } as unknown as ProtocolMessage;
}

const roomy: SessionInboxLimits = { maxSessions: 4, maxMessages: 100, maxBytesPerSender: 1 << 20, maxBytes: 4 << 20 };

function refusal(fn: () => void): EarlyMessageRefusedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EarlyMessageRefusedError) return error;
    throw error;
  }
  throw new Error('expected EarlyMessageRefusedError, nothing was thrown');
}

function metrics(): { refused: Counter<'reason'>; bytes: Gauge; registry: Registry } {
  const registry = new Registry();
  return {
    registry,
    refused: new Counter({ name: 'refused', help: 'h', labelNames: ['reason'], registers: [registry] }),
    bytes: new Gauge({ name: 'bytes', help: 'h', registers: [registry] }),
  };
}

describe('SessionInbox', () => {
  it('returns the messages of one session in arrival order, once', () => {
    const inbox = new SessionInbox(roomy);
    inbox.put(message(10, 1));
    inbox.put(message(20, 2));
    inbox.put(message(10, 3));
    expect(inbox.take(10)).toEqual([message(10, 1), message(10, 3)]);
    expect(inbox.take(10)).toEqual([]);
    expect(inbox.take(20)).toEqual([message(20, 2)]);
  });

  it('refuses a session beyond maxSessions with INBOX_FULL', () => {
    const inbox = new SessionInbox({ ...roomy, maxSessions: 2 });
    inbox.put(message(1, 1));
    inbox.put(message(2, 1));
    expect(refusal(() => { inbox.put(message(3, 1)); }).code).toBe('INBOX_FULL');
    inbox.put(message(2, 2)); // a session already held still takes messages
    inbox.take(1);
    inbox.put(message(3, 1));
    expect(inbox.take(3)).toHaveLength(1);
  });

  it('refuses messages beyond maxMessages in total and takes them again once drained', () => {
    const inbox = new SessionInbox({ ...roomy, maxMessages: 3 });
    inbox.put(message(1, 1));
    inbox.put(message(1, 2));
    inbox.put(message(2, 1));
    expect(() => { inbox.put(message(2, 2)); }).toThrow(/early-message buffer is full \(3 messages/);
    inbox.take(1);
    inbox.put(message(2, 2));
    inbox.put(message(2, 3));
    expect(inbox.take(2)).toHaveLength(3);
  });

  it('dropThrough discards sessions at or before a timestamp and frees their room', () => {
    const inbox = new SessionInbox({ ...roomy, maxSessions: 3, maxMessages: 3 });
    inbox.put(message(5, 1));
    inbox.put(message(10, 1));
    inbox.put(message(15, 1));
    inbox.dropThrough(10);
    expect(inbox.take(5)).toEqual([]);
    expect(inbox.take(10)).toEqual([]);
    inbox.put(message(20, 1));
    inbox.put(message(25, 1));
    expect(inbox.take(15)).toEqual([message(15, 1)]);
    expect(inbox.take(25)).toEqual([message(25, 1)]);
    expect(inbox.bufferedBytes()).toBe(retainedBytes(message(20, 1)));
  });

  it('caps the bytes one sender can have buffered, refusing the excess with INBOX_SENDER_QUOTA, counted', async () => {
    const m = metrics();
    const inbox = new SessionInbox({ ...roomy, maxBytesPerSender: 10_000, maxBytes: 100_000 }, { earlyMessagesRefused: m.refused, earlyMessageBytes: m.bytes });
    const size = retainedBytes(message(1, 1, 'x'.repeat(3_000)));
    let accepted = 0;
    const codes: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      try {
        inbox.put(message(1, 1, 'x'.repeat(3_000)));
        accepted += 1;
      } catch (error) {
        codes.push((error as EarlyMessageRefusedError).code);
      }
    }
    expect(accepted).toBe(Math.floor(10_000 / size));
    expect(new Set(codes)).toEqual(new Set(['INBOX_SENDER_QUOTA']));
    expect(inbox.bufferedBytes('0x0000000000000000000000000000000000000001')).toBeLessThanOrEqual(10_000);
    // Another sender is not held back by the first one's flood.
    inbox.put(message(1, 2, 'x'.repeat(3_000)));
    expect((await m.refused.get()).values).toEqual([{ labels: { reason: 'INBOX_SENDER_QUOTA' }, value: 1_000 - accepted }]);
    expect((await m.bytes.get()).values[0]?.value).toBe(inbox.bufferedBytes());
    inbox.take(1);
    expect(inbox.bufferedBytes()).toBe(0);
    inbox.put(message(2, 1, 'x'.repeat(3_000)));
  });

  it('caps the bytes of all senders together (INBOX_FULL), and refuses a message no sender may ever buffer (EARLY_MESSAGE_TOO_LARGE)', () => {
    const inbox = new SessionInbox({ ...roomy, maxBytesPerSender: 10_000, maxBytes: 25_000 });
    for (let sender = 1; sender <= 3; sender++) inbox.put(message(1, sender, 'x'.repeat(7_000)));
    const full = refusal(() => { inbox.put(message(1, 4, 'x'.repeat(7_000))); });
    expect(full.code).toBe('INBOX_FULL');
    expect(full.message).toMatch(/early-message buffer is full \(3 messages, \d+ bytes; caps 100 and 25000\)/);
    expect(full.details).toMatchObject({ from: '0x0000000000000000000000000000000000000004', sessionTimestamp: 1 });
    const huge = refusal(() => { inbox.put(message(1, 5, 'x'.repeat(20_000))); });
    expect(huge.code).toBe('EARLY_MESSAGE_TOO_LARGE');
    expect(inbox.bufferedBytes()).toBeLessThanOrEqual(25_000);
  });

  it('estimates a 200 KB deal (1,024 commitments) at about its wire size', () => {
    const commitment = `0x${'ab'.repeat(96)}`;
    const deal = { type: 'deal', protocol: 'dkg', sessionTimestamp: 1, from: `0x${'1'.repeat(40)}`, to: `0x${'2'.repeat(40)}`, commitments: Array.from({ length: 1_024 }, () => commitment), share: `0x${'cd'.repeat(32)}` };
    const wire = JSON.stringify(deal).length;
    expect(retainedBytes(deal)).toBeGreaterThan(wire);
    expect(retainedBytes(deal)).toBeLessThan(wire * 1.3);
  });
});
