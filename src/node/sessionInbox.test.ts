import type { ProtocolMessage } from '../protocol/index.js';
import { NodeNotReadyError } from './errors.js';
import { SessionInbox } from './sessionInbox.js';

/** The inbox only reads sessionTimestamp; the rest identifies a message in assertions. */
function message(sessionTimestamp: number, n: number): ProtocolMessage {
  return { type: 'ack', sessionTimestamp, from: `0x${n.toString(16).padStart(40, '0')}` } as unknown as ProtocolMessage;
}

describe('SessionInbox', () => {
  it('returns the messages of one session in arrival order, once', () => {
    const inbox = new SessionInbox({ maxSessions: 4, maxMessages: 100 });
    inbox.put(message(10, 1));
    inbox.put(message(20, 2));
    inbox.put(message(10, 3));
    expect(inbox.take(10)).toEqual([message(10, 1), message(10, 3)]);
    expect(inbox.take(10)).toEqual([]);
    expect(inbox.take(20)).toEqual([message(20, 2)]);
  });

  it('refuses a session beyond maxSessions with a retryable NODE_NOT_READY', () => {
    const inbox = new SessionInbox({ maxSessions: 2, maxMessages: 100 });
    inbox.put(message(1, 1));
    inbox.put(message(2, 1));
    expect(() => { inbox.put(message(3, 1)); }).toThrow(NodeNotReadyError);
    inbox.put(message(2, 2)); // a session already held still takes messages
    inbox.take(1);
    inbox.put(message(3, 1));
    expect(inbox.take(3)).toHaveLength(1);
  });

  it('refuses messages beyond maxMessages in total and takes them again once drained', () => {
    const inbox = new SessionInbox({ maxSessions: 4, maxMessages: 3 });
    inbox.put(message(1, 1));
    inbox.put(message(1, 2));
    inbox.put(message(2, 1));
    expect(() => { inbox.put(message(2, 2)); }).toThrow(/early-message buffer is full \(3\)/);
    inbox.take(1);
    inbox.put(message(2, 2));
    inbox.put(message(2, 3));
    expect(inbox.take(2)).toHaveLength(3);
  });

  it('dropThrough discards sessions at or before a timestamp and frees their room', () => {
    const inbox = new SessionInbox({ maxSessions: 3, maxMessages: 3 });
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
  });
});
