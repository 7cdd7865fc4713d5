import type { Counter, Gauge } from 'prom-client';
import type { ProtocolMessage } from '../protocol/index.js';
import { EarlyMessageRefusedError, type EarlyMessageRefusal } from './errors.js';

export interface SessionInboxLimits {
  readonly maxSessions: number;
  readonly maxMessages: number;
  /** Bytes one sender may have buffered (estimated heap size, see retainedBytes). */
  readonly maxBytesPerSender: number;
  /** Bytes all senders together may have buffered. */
  readonly maxBytes: number;
}

/** Issue 11: 4 MiB per operator, 16 MiB overall; a round's real deals are far smaller (n = 100: ~20 KB each). */
export const DEFAULT_INBOX_LIMITS: SessionInboxLimits = {
  maxSessions: 4,
  maxMessages: 20_000,
  maxBytesPerSender: 4 * 1024 * 1024,
  maxBytes: 16 * 1024 * 1024,
};

/** The metrics the inbox keeps (NodeMetrics has them). */
export interface SessionInboxMetrics {
  readonly earlyMessagesRefused: Counter<'reason'>;
  readonly earlyMessageBytes: Gauge;
}

interface Held { readonly message: ProtocolMessage; readonly bytes: number }

/**
 * Heap bytes a parsed message holds, estimated from its shape: strings by length (hex
 * and addresses are one-byte strings) plus V8's per-object overheads. Not exact; it
 * only has to grow with what a sender can make the node keep.
 */
export function retainedBytes(value: unknown): number {
  if (typeof value === 'string') return 16 + value.length;
  if (Array.isArray(value)) return (value as unknown[]).reduce((sum: number, item) => sum + 8 + retainedBytes(item), 16);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).reduce((sum, [key, item]) => sum + 8 + key.length + retainedBytes(item), 32);
  }
  return 8;
}

/**
 * Authenticated messages of rounds this node has not started yet. Peers see a boundary
 * a poll interval apart, so the first deals of a round often arrive early; refusing
 * them would cost the round. Bounded in sessions, messages and bytes (per sender and in
 * all) so no operator key can make the node hold more than the caps: what is over them
 * is refused with a typed error (HTTP 429/413) and counted.
 */
export class SessionInbox {
  private readonly bySession = new Map<number, Held[]>();
  private readonly bytesBySender = new Map<string, number>();
  private count = 0;
  private bytes = 0;

  constructor(private readonly limits: SessionInboxLimits, private readonly metrics?: SessionInboxMetrics) {}

  /** @throws EarlyMessageRefusedError when the message would go over a cap (nothing is kept then). */
  put(message: ProtocolMessage): void {
    const size = retainedBytes(message);
    const senderBytes = this.bytesBySender.get(message.from) ?? 0;
    const details = { from: message.from, sessionTimestamp: message.sessionTimestamp, bytes: size };
    if (size > this.limits.maxBytesPerSender) {
      this.refuse('EARLY_MESSAGE_TOO_LARGE', `an early ${message.type} of ${size} bytes is larger than the ${this.limits.maxBytesPerSender} bytes a sender may have buffered`, details);
    }
    if (senderBytes + size > this.limits.maxBytesPerSender) {
      this.refuse('INBOX_SENDER_QUOTA', `${message.from} already has ${senderBytes} bytes of early messages buffered (cap ${this.limits.maxBytesPerSender})`, details);
    }
    if (this.bytes + size > this.limits.maxBytes || this.count >= this.limits.maxMessages) {
      this.refuse('INBOX_FULL', `the early-message buffer is full (${this.count} messages, ${this.bytes} bytes; caps ${this.limits.maxMessages} and ${this.limits.maxBytes})`, details);
    }
    let list = this.bySession.get(message.sessionTimestamp);
    if (list === undefined) {
      if (this.bySession.size >= this.limits.maxSessions) {
        this.refuse('INBOX_FULL', `already holding early messages for ${this.bySession.size} future rounds`, details);
      }
      list = [];
      this.bySession.set(message.sessionTimestamp, list);
    }
    list.push({ message, bytes: size });
    this.count += 1;
    this.bytes += size;
    this.bytesBySender.set(message.from, senderBytes + size);
    this.metrics?.earlyMessageBytes.set(this.bytes);
  }

  /** Removes and returns the buffered messages of one session, in arrival order. */
  take(sessionTimestamp: number): ProtocolMessage[] {
    const list = this.bySession.get(sessionTimestamp) ?? [];
    this.bySession.delete(sessionTimestamp);
    this.release(list);
    return list.map((held) => held.message);
  }

  /** Drops everything for sessions at or before `sessionTimestamp`: they can no longer run. */
  dropThrough(sessionTimestamp: number): void {
    for (const [ts, list] of this.bySession) {
      if (ts <= sessionTimestamp) {
        this.bySession.delete(ts);
        this.release(list);
      }
    }
  }

  /** Bytes buffered in all, and by one sender. */
  bufferedBytes(sender?: string): number {
    return sender === undefined ? this.bytes : this.bytesBySender.get(sender) ?? 0;
  }

  private release(list: readonly Held[]): void {
    for (const { message, bytes } of list) {
      this.count -= 1;
      this.bytes -= bytes;
      const left = (this.bytesBySender.get(message.from) ?? 0) - bytes;
      if (left > 0) this.bytesBySender.set(message.from, left);
      else this.bytesBySender.delete(message.from);
    }
    this.metrics?.earlyMessageBytes.set(this.bytes);
  }

  private refuse(code: EarlyMessageRefusal, message: string, details: Readonly<Record<string, string | number>>): never {
    this.metrics?.earlyMessagesRefused.inc({ reason: code });
    throw new EarlyMessageRefusedError(code, message, details);
  }
}
