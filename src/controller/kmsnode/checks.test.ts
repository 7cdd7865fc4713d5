import fc from 'fast-check';
import { ConditionType, Reason } from '../../api/v1alpha1/conditions.js';
import {
  kmsNode, redisHealth, runtimeStatus, withAof, withDataPathFacts, withFindings, withHealth, withKeys, withLastError, withPhase,
} from '../../../test/gen/kmsNode.js';
import type { NodeRuntimeStatus } from '../../node/runtime.js';
import { evaluate, formatBytes } from './checks.js';
import type { Decision } from './decide.js';
import type { ReconcileInput } from './input.js';
import { specToNodeConfig, type SpecMappingResult } from './specMapping.js';

const SECRETS = new Map([['operator-key/key', `0x${'ab'.repeat(32)}`], ['chain-rpc/url', 'http://127.0.0.1:8545']]);
const desiredOk = specToNodeConfig(kmsNode('n').spec, SECRETS);
const running = desiredOk.ok ? desiredOk.config : null;

function input(over: Partial<ReconcileInput> & { runtime?: NodeRuntimeStatus } = {}): ReconcileInput {
  return {
    node: kmsNode('n'),
    desired: desiredOk,
    decision: { kind: 'none' },
    actionError: null,
    runtime: runtimeStatus(),
    running,
    expectedUid: 1000,
    minFreeBytes: 64 * 1024 * 1024,
    ...over,
  };
}

function cond(i: ReconcileInput, type: ConditionType): { status: string; reason: string; message: string } {
  const c = evaluate(i).conditions.get(type);
  if (c === undefined) throw new Error(`no ${type}`);
  return c;
}

describe('PersistenceHealthy chain', () => {
  test.each<[string, NodeRuntimeStatus, string, string]>([
    ['healthy AOF', runtimeStatus(), 'True', Reason.AofHealthy],
    ['not open yet', runtimeStatus(withPhase('starting'), withHealth(null)), 'Unknown', Reason.PersistenceNotOpen],
    ['open failed', runtimeStatus(withPhase('failed'), withHealth(null), withLastError({ code: 'REDIS_START_FAILED', message: 'redis-server exited' })), 'False', Reason.HealthCheckFailed],
    ['no AOF facts', runtimeStatus(withHealth({ ...redisHealth(), aof: undefined })), 'False', Reason.AofFactsMissing],
    ['appendonly no', runtimeStatus(withHealth(redisHealth(withAof({ enabled: false })))), 'False', Reason.AofDisabled],
    ['write failing', runtimeStatus(withHealth(redisHealth(withAof({ lastWriteStatus: 'err' })))), 'False', Reason.AofWriteFailing],
    ['fsync drift', runtimeStatus(withHealth(redisHealth(withAof({ fsync: 'everysec' })))), 'False', Reason.FsyncPolicyMismatch],
    ['other finding', runtimeStatus(withHealth(redisHealth(withFindings([{ check: 'schema', ok: false, message: 'schema v0' }])))), 'False', Reason.HealthCheckFailed],
    ['memory backend', runtimeStatus(withHealth({ healthy: true, backend: 'memory', mode: 'memory', findings: [] })), 'True', Reason.MemoryBackend],
  ])('%s', (_name, runtime, status, reason) => {
    expect(cond(input({ runtime }), ConditionType.PersistenceHealthy)).toMatchObject({ status, reason });
  });

  test('the first failing check wins: appendonly no is reported before a fsync mismatch', () => {
    const runtime = runtimeStatus(withHealth(redisHealth(withAof({ enabled: false, fsync: 'everysec' }))));
    expect(cond(input({ runtime }), ConditionType.PersistenceHealthy).reason).toBe(Reason.AofDisabled);
  });

  test('everysec asked for by the resource is healthy, and the layer\'s fsync finding is not a fault then', () => {
    const spec = kmsNode('n').spec;
    const desired = specToNodeConfig({ ...spec, persistence: { ...spec.persistence, redis: { ...spec.persistence.redis, appendfsync: 'everysec' } } }, SECRETS);
    const runtime = runtimeStatus(withHealth(redisHealth(withAof({ fsync: 'everysec' }), withFindings([{ check: 'appendfsync', ok: false, message: 'weaker than always' }]))));
    const c = cond(input({ desired, runtime }), ConditionType.PersistenceHealthy);
    expect(c).toMatchObject({ status: 'True', reason: Reason.AofHealthy });
    expect(c.message).toContain('appendfsync everysec');
  });
});

describe('DataPathReady chain', () => {
  const facts = (d: Parameters<typeof withDataPathFacts>[0]) => runtimeStatus(withHealth(redisHealth(withDataPathFacts(d))));
  test.each<[string, NodeRuntimeStatus, string, string]>([
    ['healthy', runtimeStatus(), 'True', Reason.DataPathHealthy],
    ['missing', facts({ exists: false, mode: '', ownerUid: -1 }), 'False', Reason.DataPathMissing],
    ['0750', facts({ mode: '0750' }), 'False', Reason.DataPathPermissive],
    ['0701', facts({ mode: '0701' }), 'False', Reason.DataPathPermissive],
    ['foreign owner', facts({ ownerUid: 0 }), 'False', Reason.DataPathWrongOwner],
    ['read-only', facts({ writable: false }), 'False', Reason.DataPathNotWritable],
    ['low space', facts({ freeBytes: 1024 }), 'False', Reason.DataPathLowSpace],
    ['not inspected', runtimeStatus(withHealth(null), withPhase('starting')), 'Unknown', Reason.DataPathUnknown],
  ])('%s', (_name, runtime, status, reason) => {
    expect(cond(input({ runtime }), ConditionType.DataPathReady)).toMatchObject({ status, reason });
  });

  test('memory backend keeps no data path', () => {
    const spec = kmsNode('n').spec;
    const desired = specToNodeConfig({ ...spec, persistence: { type: 'memory' } }, SECRETS);
    const runtime = runtimeStatus(withHealth({ healthy: true, backend: 'memory', mode: 'memory', findings: [] }));
    expect(cond(input({ desired, running: desired.ok ? desired.config : null, runtime }), ConditionType.DataPathReady).reason).toBe(Reason.DataPathNotUsed);
  });

  test('the healthy message names mode, owner, free space and AOF size', () => {
    expect(cond(input(), ConditionType.DataPathReady).message).toBe('/var/lib/kms/data: mode 0700, owner uid 1000, writable, 10.0 GiB free, AOF 4.0 KiB');
  });
});

describe('KeyShareActive chain', () => {
  test.each<[string, NodeRuntimeStatus, string, string]>([
    ['active', runtimeStatus(withKeys({ activeVersion: 1_700_000_000, versionCount: 3, lastProcessedBoundary: 120 })), 'True', Reason.KeyShareActive],
    ['none yet', runtimeStatus(), 'False', Reason.NoKeyShareYet],
    ['stopped', runtimeStatus(withPhase('stopped'), withHealth(null)), 'Unknown', Reason.KeysUnknown],
  ])('%s', (_name, runtime, status, reason) => {
    expect(cond(input({ runtime }), ConditionType.KeyShareActive)).toMatchObject({ status, reason });
  });

  test('the message names active version, count and last boundary', () => {
    const runtime = runtimeStatus(withKeys({ activeVersion: 42, versionCount: 3, lastProcessedBoundary: 120 }));
    expect(cond(input({ runtime }), ConditionType.KeyShareActive).message).toBe('active version 42 of 3 stored, last boundary 120');
  });
});

describe('Ready and phase', () => {
  const invalid: SpecMappingResult = { ok: false, problems: [{ kind: 'invalid', path: 'spec.persistence.dataPath', message: 'must be absolute' }] };
  const secretMissing: SpecMappingResult = { ok: false, problems: [{ kind: 'secret', path: 'spec.operator.keySecretRef', message: "Secret 'operator-key' has no non-empty key 'key'" }] };
  const refuse: Decision = { kind: 'refuse', changed: ['persistence.dataPath'], message: 'changing persistence.dataPath would leave …' };

  test.each<[string, Partial<ReconcileInput>, string, string, string]>([
    ['healthy and running', {}, 'True', Reason.NodeRunning, 'Running'],
    ['no key yet is still Ready', { runtime: runtimeStatus() }, 'True', Reason.NodeRunning, 'Running'],
    ['invalid spec, never started', { desired: invalid, running: null, runtime: runtimeStatus(withPhase('stopped'), withHealth(null)) }, 'False', Reason.InvalidSpec, 'NeedsIntervention'],
    ['secret missing', { desired: secretMissing }, 'False', Reason.SecretUnavailable, 'NeedsIntervention'],
    ['refused transition', { decision: refuse }, 'False', Reason.TransitionRefused, 'NeedsIntervention'],
    ['start failed', { decision: { kind: 'start', config: running! }, actionError: { code: 'REDIS_START_FAILED', message: 'boom' }, runtime: runtimeStatus(withPhase('failed'), withHealth(null)) }, 'False', Reason.NodeFailed, 'Degraded'],
    ['start failed on corrupt AOF', { actionError: { code: 'REDIS_AOF_CORRUPT', message: 'bad AOF' }, decision: { kind: 'start', config: running! }, runtime: runtimeStatus(withPhase('failed'), withHealth(null)) }, 'False', Reason.NodeFailed, 'NeedsIntervention'],
    ['restoring', { runtime: runtimeStatus(withPhase('restoring')) }, 'False', Reason.NodeRestoring, 'Restoring'],
    ['not started', { running: null, runtime: runtimeStatus(withPhase('stopped'), withHealth(null)) }, 'False', Reason.NodeNotStarted, 'Pending'],
    ['AOF off', { runtime: runtimeStatus(withHealth(redisHealth(withAof({ enabled: false })))) }, 'False', Reason.PersistenceUnhealthy, 'Degraded'],
    ['low disk', { runtime: runtimeStatus(withHealth(redisHealth(withDataPathFacts({ freeBytes: 1 })))) }, 'False', Reason.DataPathNotReady, 'Degraded'],
    ['permissive data path', { runtime: runtimeStatus(withHealth(redisHealth(withDataPathFacts({ mode: '0755' })))) }, 'False', Reason.DataPathNotReady, 'NeedsIntervention'],
  ])('%s', (_name, over, status, reason, phase) => {
    const i = input(over);
    const evaluation = evaluate(i);
    expect(evaluation.conditions.get(ConditionType.Ready)).toMatchObject({ status, reason });
    expect(evaluation.phase).toBe(phase);
  });

  test('a refused change says the node keeps its previous configuration', () => {
    expect(evaluate(input({ decision: refuse })).conditions.get(ConditionType.Ready)?.message).toMatch(/^not applied \(the node keeps its previous configuration\): /);
  });

  test('phase messages are sentences', () => {
    expect(evaluate(input()).phaseMessage).toBe('Node in healthy state');
    expect(evaluate(input({ desired: invalid })).phaseMessage).toBe('Waiting for user action: not applied (the node keeps its previous configuration): spec.persistence.dataPath: must be absolute');
  });
});

test('formatBytes', () => {
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(1536)).toBe('1.5 KiB');
  expect(formatBytes(64 * 1024 ** 2)).toBe('64.0 MiB');
});

describe('evaluate (properties)', () => {
  const healthArb = fc.option(fc.record({
    enabled: fc.boolean(),
    fsync: fc.constantFrom('always', 'everysec', 'no'),
    lastWriteStatus: fc.constantFrom('ok', 'err'),
    mode: fc.constantFrom('0700', '0750', '0755', ''),
    exists: fc.boolean(),
    ownerUid: fc.constantFrom(0, 1000, -1),
    writable: fc.boolean(),
    freeBytes: fc.option(fc.nat(), { nil: null }),
  }), { nil: null });
  const runtimeArb = fc.record({
    phase: fc.constantFrom<NodeRuntimeStatus['phase']>('stopped', 'starting', 'restoring', 'running', 'stopping', 'failed'),
    health: healthArb,
    active: fc.option(fc.nat(), { nil: null }),
    error: fc.option(fc.constantFrom('REDIS_AOF_CORRUPT', 'REDIS_DIED'), { nil: null }),
  });
  // The CRD's reason pattern and message cap: a status the API server would refuse is never produced.
  const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

  test('every condition has a CRD-valid reason and a message; Ready=True only when all its inputs are', () => {
    fc.assert(fc.property(runtimeArb, (r) => {
      const persistence = r.health === null ? null : redisHealth(
        withAof({ enabled: r.health.enabled, fsync: r.health.fsync, lastWriteStatus: r.health.lastWriteStatus }),
        withDataPathFacts({ mode: r.health.mode, exists: r.health.exists, ownerUid: r.health.ownerUid, writable: r.health.writable, freeBytes: r.health.freeBytes }),
      );
      const runtime = runtimeStatus(withPhase(r.phase), withHealth(persistence), withKeys({ activeVersion: r.active, versionCount: r.active === null ? 0 : 1, lastProcessedBoundary: 0 }),
        withLastError(r.error === null ? null : { code: r.error, message: 'x' }));
      const e = evaluate(input({ runtime }));
      for (const c of e.conditions.values()) {
        expect(c.reason).toMatch(REASON);
        expect(c.message.length).toBeGreaterThan(0);
        expect(c.message.length).toBeLessThanOrEqual(32_768);
      }
      const ready = e.conditions.get(ConditionType.Ready)!;
      if (ready.status === 'True') {
        expect(r.phase).toBe('running');
        expect(e.conditions.get(ConditionType.PersistenceHealthy)?.status).toBe('True');
        expect(e.conditions.get(ConditionType.DataPathReady)?.status).toBe('True');
        expect(e.phase).toBe('Running');
      } else {
        expect(e.phase).not.toBe('Running');
      }
    }));
  });
});
