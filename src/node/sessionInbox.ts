import type { ProtocolMessage } from '../protocol/index.js';
import { NodeNotReadyError } from './errors.js';

/**
 * Authenticated messages of rounds this node has not started yet. Peers see a boundary
 * a poll interval apart, so the first deals of a round often arrive early; refusing
 * them would cost the round. Bounded in sessions and messages so it cannot be flooded.
 */
export class SessionInbox {
  private readonly bySession = new Map<number, ProtocolMessage[]>();
  private count = 0;

  constructor(private readonly limits: { readonly maxSessions: number; readonly maxMessages: number }) {}

  put(message: ProtocolMessage): void {
    let list = this.bySession.get(message.sessionTimestamp);
    if (list === undefined) {
      if (this.bySession.size >= this.limits.maxSessions) {
        throw new NodeNotReadyError(`already holding early messages for ${this.bySession.size} future rounds`, { fix: 'retry once this node has started the round' });
      }
      list = [];
      this.bySession.set(message.sessionTimestamp, list);
    }
    if (this.count >= this.limits.maxMessages) {
      throw new NodeNotReadyError(`the early-message buffer is full (${this.count})`, { fix: 'retry once this node has started the round' });
    }
    list.push(message);
    this.count += 1;
  }

  /** Removes and returns the buffered messages of one session, in arrival order. */
  take(sessionTimestamp: number): ProtocolMessage[] {
    const list = this.bySession.get(sessionTimestamp) ?? [];
    this.bySession.delete(sessionTimestamp);
    this.count -= list.length;
    return list;
  }

  /** Drops everything for sessions at or before `sessionTimestamp`: they can no longer run. */
  dropThrough(sessionTimestamp: number): void {
    for (const [ts, list] of this.bySession) {
      if (ts <= sessionTimestamp) {
        this.bySession.delete(ts);
        this.count -= list.length;
      }
    }
  }
}
