import { ConditionType, Reason, setCondition } from '../../api/v1alpha1/conditions.js';
import { kmsNode, redisHealth, runtimeStatus, withDataPathFacts, withHealth, withPhase } from '../../../test/gen/kmsNode.js';
import { applyTransactions, FREE_BYTES_STEP, jsonEqual, mergePatchFor, setPhase, setRuntimeDetails, statusTransactions, stoppingTransactions } from './status.js';
import type { Evaluation } from './checks.js';

describe('setCondition', () => {
  const t0 = new Date('2026-11-26T12:00:00.123Z');
  const t1 = new Date('2026-11-26T12:05:00Z');
  test('lastTransitionTime moves only when the status flips', () => {
    const a = setCondition(undefined, ConditionType.Ready, { status: 'True', reason: 'A', message: 'm' }, t0, 1);
    expect(a).toEqual([{ type: 'Ready', status: 'True', reason: 'A', message: 'm', lastTransitionTime: '2026-11-26T12:00:00Z', observedGeneration: 1 }]);
    const b = setCondition(a, ConditionType.Ready, { status: 'True', reason: 'B', message: 'other' }, t1, 2);
    expect(b[0]).toMatchObject({ reason: 'B', message: 'other', lastTransitionTime: '2026-11-26T12:00:00Z', observedGeneration: 2 });
    const c = setCondition(b, ConditionType.Ready, { status: 'False', reason: 'C', message: 'x' }, t1, 2);
    expect(c[0]?.lastTransitionTime).toBe('2026-11-26T12:05:00Z');
  });
});

describe('mergePatchFor', () => {
  test('only changed keys, removed keys as null, arrays whole', () => {
    expect(mergePatchFor({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: 1, b: { c: 2, d: 4 }, e: [1, 2] })).toEqual({ b: { d: 4 } });
    expect(mergePatchFor({ a: 1, b: 2 }, { a: 1 })).toEqual({ b: null });
    expect(mergePatchFor({ e: [1, 2] }, { e: [2, 1] })).toEqual({ e: [2, 1] });
    expect(mergePatchFor({ a: { x: 1 } }, { a: { x: 1 } })).toBeUndefined();
  });
  test('jsonEqual ignores key order', () => {
    expect(jsonEqual({ a: 1, b: { c: 1, d: 2 } }, { b: { d: 2, c: 1 }, a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });
});

describe('status transactions', () => {
  const evaluation: Evaluation = {
    phase: 'Running',
    phaseMessage: 'Node in healthy state',
    conditions: new Map([[ConditionType.Ready, { status: 'True', reason: Reason.NodeRunning, message: 'ok' }]]),
  };
  test('equal inputs give equal status (idempotent), so a second pass patches nothing but a due heartbeat', () => {
    const node = kmsNode('n');
    const now = new Date('2026-11-26T12:00:00Z');
    const once = applyTransactions(undefined, statusTransactions(node, evaluation, runtimeStatus(), now, 15_000));
    expect(once.lastHeartbeatTime).toBe('2026-11-26T12:00:00.000Z');
    const soon = applyTransactions(once, statusTransactions(node, evaluation, runtimeStatus(), new Date('2026-11-26T12:00:14Z'), 15_000));
    expect(mergePatchFor(once, soon)).toBeUndefined();
    const later = applyTransactions(once, statusTransactions(node, evaluation, runtimeStatus(), new Date('2026-11-26T13:00:00Z'), 15_000));
    expect(mergePatchFor(once, later)).toEqual({ lastHeartbeatTime: '2026-11-26T13:00:00.000Z' });
  });

  test('Stopping: Ready False with reason Stopping, phase Stopping, a fresh heartbeat', () => {
    const node = kmsNode('n');
    const running = applyTransactions(undefined, statusTransactions(node, evaluation, runtimeStatus(), new Date('2026-11-26T12:00:00Z')));
    const stopping = applyTransactions(running, stoppingTransactions(node, 'kms-server received SIGTERM', new Date('2026-11-26T12:00:05Z')));
    expect(stopping).toMatchObject({ phase: 'Stopping', phaseMessage: 'kms-server received SIGTERM', lastHeartbeatTime: '2026-11-26T12:00:05.000Z' });
    expect(stopping.conditions?.find((c) => c.type === ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.Stopping, lastTransitionTime: '2026-11-26T12:00:05Z' });
  });

  test('free bytes are reported in steps; a missing data path carries no mode or owner', () => {
    const s = applyTransactions({}, [setRuntimeDetails(runtimeStatus(withHealth(redisHealth(withDataPathFacts({ freeBytes: FREE_BYTES_STEP * 3 + 12_345 })))))]);
    expect(s.dataPath?.freeBytes).toBe(FREE_BYTES_STEP * 3);
    const missing = applyTransactions({}, [setRuntimeDetails(runtimeStatus(withHealth(redisHealth(withDataPathFacts({ exists: false, mode: '', ownerUid: -1, freeBytes: null })))))]);
    expect(missing.dataPath).toEqual({ path: '/var/lib/kms/data', exists: false, writable: true });
  });

  test('memory backend: no Redis mode in status (the CRD allows embedded|external only)', () => {
    const s = applyTransactions({}, [setRuntimeDetails(runtimeStatus(withHealth({ healthy: true, backend: 'memory', mode: 'memory', findings: [] })))]);
    expect(s.persistence).toEqual({ backend: 'memory' });
  });

  test('keys are reported only once the node runs', () => {
    expect(applyTransactions({}, [setRuntimeDetails(runtimeStatus(withPhase('starting'), withHealth(null)))]).keys).toBeUndefined();
    expect(applyTransactions({}, [setPhase('Pending', 'x')])).toEqual({ phase: 'Pending', phaseMessage: 'x' });
  });
});
