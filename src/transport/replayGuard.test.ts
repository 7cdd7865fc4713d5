import { TransportError } from './errors.js';
import { ReplayGuard } from './replayGuard.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransportError) return error.code;
    throw error;
  }
  return 'ACCEPTED';
}

describe('ReplayGuard', () => {
  it('accepts a nonce once and rejects it again while it is live', () => {
    const guard = new ReplayGuard({ maxEntries: 10 });
    expect(code(() => { guard.observe('0xa', 'n1', 1_000, 0); })).toBe('ACCEPTED');
    expect(code(() => { guard.observe('0xa', 'n1', 1_000, 500); })).toBe('REPLAYED_MESSAGE');
    expect(code(() => { guard.observe('0xa', 'n1', 1_000, 1_000); })).toBe('REPLAYED_MESSAGE');
  });

  it('keys on the sender too', () => {
    const guard = new ReplayGuard({ maxEntries: 10 });
    guard.observe('0xa', 'n1', 1_000, 0);
    expect(code(() => { guard.observe('0xb', 'n1', 1_000, 0); })).toBe('ACCEPTED');
  });

  it('forgets entries once they expire', () => {
    const guard = new ReplayGuard({ maxEntries: 10 });
    guard.observe('0xa', 'n1', 1_000, 0);
    guard.observe('0xa', 'n2', 2_000, 0);
    expect(guard.size).toBe(2);
    guard.observe('0xa', 'n3', 3_000, 1_500);
    expect(guard.size).toBe(2);
    guard.sweep(10_000);
    expect(guard.size).toBe(0);
  });

  it('refuses new messages when full instead of forgetting live ones', () => {
    const guard = new ReplayGuard({ maxEntries: 3 });
    for (const n of ['n1', 'n2', 'n3']) guard.observe('0xa', n, 1_000, 0);
    expect(code(() => { guard.observe('0xb', 'n4', 1_000, 10); })).toBe('REPLAY_GUARD_FULL');
    expect(code(() => { guard.observe('0xa', 'n1', 1_000, 10); })).toBe('REPLAYED_MESSAGE');
    expect(guard.size).toBe(3);
  });

  it('sweeps out-of-order expired entries before declaring itself full', () => {
    const guard = new ReplayGuard({ maxEntries: 2 });
    guard.observe('0xa', 'late', 5_000, 0);
    guard.observe('0xa', 'early', 100, 0);
    // the front entry is still live, so only a full sweep finds the expired one behind it
    expect(code(() => { guard.observe('0xa', 'n3', 5_000, 200); })).toBe('ACCEPTED');
    expect(code(() => { guard.observe('0xa', 'late', 5_000, 200); })).toBe('REPLAYED_MESSAGE');
  });

  it('limits one sender without starving the others', () => {
    const guard = new ReplayGuard({ maxEntries: 10, maxEntriesPerSender: 2 });
    guard.observe('0xa', 'n1', 1_000, 0);
    guard.observe('0xa', 'n2', 1_000, 0);
    let message = '';
    try {
      guard.observe('0xa', 'n3', 1_000, 0);
    } catch (error) {
      message = (error as Error).message;
      expect((error as TransportError).code).toBe('REPLAY_GUARD_FULL');
    }
    expect(message).toContain('from 0xa');
    expect(code(() => { guard.observe('0xb', 'n1', 1_000, 0); })).toBe('ACCEPTED');
    expect(code(() => { guard.observe('0xa', 'n3', 3_000, 1_001); })).toBe('ACCEPTED');
  });

  it('does not re-open a replay when the clock steps back after an eviction', () => {
    const guard = new ReplayGuard({ maxEntries: 10 });
    guard.observe('0xa', 'n1', 1_000, 0);
    guard.observe('0xa', 'n2', 5_000, 2_000); // evicts n1
    expect(guard.size).toBe(1);
    expect(code(() => { guard.observe('0xa', 'n1', 1_000, 500); })).toBe('REPLAYED_MESSAGE');
    expect(code(() => { guard.observe('0xa', 'n3', 2_500, 500); })).toBe('ACCEPTED');
  });

  it('validates its limits', () => {
    expect(code(() => new ReplayGuard({ maxEntries: 0 }))).toBe('INVALID_TRANSPORT_CONFIG');
    expect(code(() => new ReplayGuard({ maxEntries: 2, maxEntriesPerSender: 3 }))).toBe('INVALID_TRANSPORT_CONFIG');
  });
});
