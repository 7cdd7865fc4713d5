import { phaseReached, roundPhaseOf, sessionSnapshotCount } from './roundPhase.js';

const metrics = [
  '# HELP kms_persistence_operation_duration_seconds Latency of NodePersistence operations',
  '# TYPE kms_persistence_operation_duration_seconds histogram',
  'kms_persistence_operation_duration_seconds_bucket{le="0.001",operation="saveProtocolSession"} 4',
  'kms_persistence_operation_duration_seconds_sum{operation="saveProtocolSession"} 0.01',
  'kms_persistence_operation_duration_seconds_count{operation="saveNodeState"} 12',
  'kms_persistence_operation_duration_seconds_count{operation="saveProtocolSession"} 7',
].join('\n');

test('the session snapshot count is read from its own series, not a neighbour', () => {
  expect(sessionSnapshotCount(metrics)).toBe(7);
  expect(sessionSnapshotCount(metrics.replace('saveProtocolSession"} 7', 'deleteProtocolSession"} 7'))).toBeNull();
  expect(sessionSnapshotCount('')).toBeNull();
});

test('snapshots since the boundary name the round phase', () => {
  expect([0, 1, 2, 3, 4].map(roundPhaseOf)).toEqual(['not-started', 'dealing', 'completing', 'finalized', 'finalized']);
});

test('deals strike once any node deals; acks once any node completes; the others at once', () => {
  expect(phaseReached('deals', ['not-started', 'not-started'])).toBe(false);
  expect(phaseReached('deals', ['not-started', 'dealing'])).toBe(true);
  expect(phaseReached('acks', ['dealing', 'dealing'])).toBe(false);
  expect(phaseReached('acks', ['dealing', 'completing'])).toBe(true);
  expect(phaseReached('acks', ['finalized'])).toBe(true);
  expect(phaseReached('after-boundary', [])).toBe(true);
  expect(phaseReached('startup', [])).toBe(true);
});
