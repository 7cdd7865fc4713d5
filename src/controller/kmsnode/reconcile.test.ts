import { ConditionType, Reason, findCondition } from '../../api/v1alpha1/conditions.js';
import type { KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import { silentLogger } from '../../logging/logger.js';
import { FakeKubeApi } from '../../../test/gen/fakeKubeApi.js';
import { FakeRuntime } from '../../../test/gen/fakeRuntime.js';
import { defaultSecrets, kmsNode, redisHealth, runtimeStatus, withAof, withAppendFsync, withDataPath, withGeneration, withHealth, withKeys } from '../../../test/gen/kmsNode.js';
import { ReconcileRetryError } from './errors.js';
import { createEventRecorder } from './events.js';
import { createKmsNodeApi } from './kubeApi.js';
import { KmsNodeReconciler } from './reconcile.js';
import { StatusWriter } from './status.js';

describe('KmsNodeReconciler against an HTTP-level fake API server', () => {
  let fake: FakeKubeApi;
  let runtime: FakeRuntime;
  let reconciler: KmsNodeReconciler;
  let time: number;

  beforeEach(async () => {
    fake = new FakeKubeApi();
    await fake.start();
    for (const [name, data] of Object.entries(defaultSecrets())) fake.secrets.set(`kms/${name}`, data);
    runtime = new FakeRuntime();
    runtime.runningStatus = runtimeStatus(withHealth(redisHealth((h) => { h.dataPath = { ...h.dataPath!, ownerUid: 1000 }; })));
    time = Date.parse('2026-11-26T12:00:00Z');
    const api = createKmsNodeApi(fake.kubeConfig());
    const now = (): Date => new Date(time);
    reconciler = new KmsNodeReconciler({
      // The lister reads the fake's store directly: what an up-to-date informer would hold.
      lister: { get: (ns, name) => fake.objects.get(`${ns}/${name}`) },
      api,
      runtime,
      statusWriter: new StatusWriter(api),
      events: createEventRecorder(api, silentLogger(), now),
      logger: silentLogger(),
      now,
      expectedUid: 1000,
    });
  });

  afterEach(async () => {
    await fake.stop();
  });

  const stored = (): KmsNode => fake.objects.get('kms/node-a')!;
  const condition = (type: ConditionType) => findCondition(stored().status?.conditions, type);

  test('first pass starts the node and writes status with merge patch; an unchanged pass writes nothing', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data']);
    expect(fake.count('PATCH', '/status')).toBe(1);
    const patch = fake.requests.find((r) => r.method === 'PATCH');
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(stored().status).toMatchObject({
      observedGeneration: 1,
      phase: 'Running',
      persistence: { backend: 'redis', mode: 'embedded', aofEnabled: true, fsync: 'always', lastWriteStatus: 'ok', aofSizeBytes: 4096 },
      dataPath: { path: '/var/lib/kms/data', exists: true, mode: '0700', ownerUid: 1000, writable: true },
      keys: { versionCount: 0, lastBoundary: 0 },
    });
    expect(condition(ConditionType.Ready)).toMatchObject({ status: 'True', reason: Reason.NodeRunning, lastTransitionTime: '2026-11-26T12:00:00Z', observedGeneration: 1 });

    expect(stored().status?.lastHeartbeatTime).toBe('2026-11-26T12:00:00.000Z');

    // Passes within the heartbeat refresh (15 s) that change nothing write nothing.
    time += 10_000;
    await reconciler.processItem('kms/node-a');
    await reconciler.processItem('kms/node-a');
    expect(fake.count('PATCH', '/status')).toBe(1);
    // The next pass after it (a resync, 30 s) refreshes the heartbeat and nothing else.
    time += 20_000;
    await reconciler.processItem('kms/node-a');
    expect(fake.count('PATCH', '/status')).toBe(2);
    expect(stored().status?.lastHeartbeatTime).toBe('2026-11-26T12:00:30.000Z');
    expect(condition(ConditionType.Ready)?.lastTransitionTime).toBe('2026-11-26T12:00:00Z');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data']);
  });

  test('a repeated event within the window bumps count and lastTimestamp of the first instead of creating another', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    const recorder = createEventRecorder(createKmsNodeApi(fake.kubeConfig()), silentLogger(), () => new Date(time));
    const before = fake.events.length;
    const flap = { type: 'Warning' as const, reason: 'AofDisabled', message: 'PersistenceHealthy True → False: appendonly no' };
    for (let i = 0; i < 5; i++) {
      time += 1_000;
      await recorder.record(stored(), flap);
    }
    expect(fake.events.length - before).toBe(1);
    expect(fake.events.at(-1)).toMatchObject({ reason: 'AofDisabled', count: 5, lastTimestamp: new Date(time).toISOString() });
    // Another message is another event; past the window, the same one is recorded afresh.
    await recorder.record(stored(), { ...flap, message: 'other' });
    time += 11 * 60_000;
    await recorder.record(stored(), flap);
    expect(fake.events.length - before).toBe(3);
    expect(fake.events.at(-1)).toMatchObject({ reason: 'AofDisabled', count: 1 });
  });

  test('a flip writes once, keeps lastTransitionTime of unflipped conditions, and emits a Warning event', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    const eventsBefore = fake.events.length;
    time += 60_000;
    runtime.runningStatus = { ...runtime.runningStatus, persistence: redisHealth(withAof({ enabled: false }), (h) => { h.dataPath = { ...h.dataPath!, ownerUid: 1000 }; }) };
    const result = await reconciler.processItem('kms/node-a');
    expect(result).toEqual({ requeueAfterMs: 5_000 });
    expect(fake.count('PATCH', '/status')).toBe(2);
    expect(condition(ConditionType.PersistenceHealthy)).toMatchObject({ status: 'False', reason: Reason.AofDisabled, lastTransitionTime: '2026-11-26T12:01:00Z' });
    expect(condition(ConditionType.DataPathReady)).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-26T12:00:00Z' });
    expect(stored().status?.phase).toBe('Degraded');
    const newEvents = fake.events.slice(eventsBefore);
    expect(newEvents.map((e) => [e.type, e.reason])).toEqual([['Warning', Reason.PersistenceUnhealthy], ['Warning', Reason.AofDisabled]]);
    expect(newEvents[0]).toMatchObject({ involvedObject: { kind: 'KmsNode', name: 'node-a', namespace: 'kms', uid: 'uid-node-a' } });

    // Next pass: the drift is repaired (re-applied policy) and the condition heals.
    time += 5_000;
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data', 'fsync:always']);
    expect(condition(ConditionType.PersistenceHealthy)).toMatchObject({ status: 'True', reason: Reason.AofHealthy, lastTransitionTime: '2026-11-26T12:01:05Z' });
    expect(fake.events.slice(-3).map((e) => e.reason)).toEqual(['AofPolicyRepaired', Reason.NodeRunning, Reason.AofHealthy]);
  });

  test('appendfsync change in the resource is applied in place and recorded', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    fake.put(kmsNode('node-a', withAppendFsync('everysec'), withGeneration(2), (n) => { n.status = stored().status; }));
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data', 'fsync:everysec']);
    expect(stored().status).toMatchObject({ observedGeneration: 2, persistence: { fsync: 'everysec' } });
    expect(fake.events.map((e) => e.reason)).toContain('AofPolicyApplied');
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toHaveLength(2);
  });

  test('a data path change on a node with key data is refused: condition, event, no restart', async () => {
    runtime.runningStatus = { ...runtime.runningStatus, keys: { activeVersion: 5, versionCount: 1, lastProcessedBoundary: 9 } };
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    fake.put(kmsNode('node-a', withDataPath('/elsewhere'), withGeneration(2), (n) => { n.status = stored().status; }));
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data']);
    expect(condition(ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.TransitionRefused });
    expect(stored().status?.phase).toBe('NeedsIntervention');
    expect(fake.events.map((e) => e.reason)).toContain('TransitionRefused');
    // It stands until the spec changes: later passes record no new event and write nothing.
    const [events, patches] = [fake.events.length, fake.count('PATCH', '/status')];
    await reconciler.processItem('kms/node-a');
    expect(fake.events.length).toBe(events);
    expect(fake.count('PATCH', '/status')).toBe(patches);
  });

  test('a data path change on an empty node drains and restarts on the new path', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    fake.put(kmsNode('node-a', withDataPath('/elsewhere'), withGeneration(2), (n) => { n.status = stored().status; }));
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data', 'stop', 'start:/elsewhere']);
  });

  test('a missing Secret surfaces as a condition and nothing starts', async () => {
    fake.secrets.delete('kms/operator-key');
    fake.put(kmsNode('node-a'));
    // Waiting for a person: no fast requeue (the watch and the resync bring it back).
    expect(await reconciler.processItem('kms/node-a')).toBeUndefined();
    expect(runtime.calls).toEqual([]);
    expect(condition(ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.SecretUnavailable });
    expect(condition(ConditionType.Ready)?.message).toContain("Secret 'operator-key'");
    expect(stored().status?.phase).toBe('NeedsIntervention');
  });

  test('a Secret RBAC forbids is reported as such (the chart grants Secrets by name)', async () => {
    fake.forbiddenSecrets.add('kms/chain-rpc');
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual([]);
    expect(condition(ConditionType.Ready)?.message).toContain("the controller may not read Secret 'chain-rpc'");
  });

  test('a failed start is written to status first, then retried with backoff (throws)', async () => {
    runtime.startError = new Error('redis-server exited with code 1');
    fake.put(kmsNode('node-a'));
    await expect(reconciler.processItem('kms/node-a')).rejects.toBeInstanceOf(ReconcileRetryError);
    expect(condition(ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.NodeFailed });
    expect(stored().status?.phase).toBe('Degraded');
    expect(fake.events.map((e) => e.reason)).toContain('ActionFailed');
  });

  test('a resourceVersion conflict re-reads the object and retries the patch', async () => {
    fake.put(kmsNode('node-a'));
    fake.conflictNextPatches = 1;
    await reconciler.processItem('kms/node-a');
    expect(fake.count('PATCH', '/status')).toBe(2);
    expect(fake.count('GET', '/kmsnodes/node-a')).toBe(1);
    expect(stored().status?.phase).toBe('Running');
  });

  test('deleting the resource stops the node and touches nothing else', async () => {
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    fake.remove('kms', 'node-a');
    const before = fake.requests.length;
    await reconciler.processItem('kms/node-a');
    expect(runtime.calls).toEqual(['start:/var/lib/kms/data', 'stop']);
    expect(fake.requests.length).toBe(before);
  });

  test('key status reaches status.keys and KeyShareActive', async () => {
    runtime.runningStatus = { ...runtime.runningStatus, ...runtimeStatus(withKeys({ activeVersion: 1_700_000_000, versionCount: 2, lastProcessedBoundary: 77 })), persistence: runtime.runningStatus.persistence };
    fake.put(kmsNode('node-a'));
    await reconciler.processItem('kms/node-a');
    expect(stored().status?.keys).toEqual({ activeVersion: 1_700_000_000, versionCount: 2, lastBoundary: 77 });
    expect(condition(ConditionType.KeyShareActive)).toMatchObject({ status: 'True', reason: Reason.KeyShareActive });
  });
});
