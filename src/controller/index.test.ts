import { ConditionType, findCondition } from '../api/v1alpha1/conditions.js';
import { silentLogger } from '../logging/logger.js';
import { FakeKubeApi } from '../../test/gen/fakeKubeApi.js';
import { FakeRuntime } from '../../test/gen/fakeRuntime.js';
import { defaultSecrets, kmsNode, redisHealth, runtimeStatus, withAppendFsync, withGeneration, withHealth, withKeys } from '../../test/gen/kmsNode.js';
import { startKmsNodeController } from './index.js';
import { until } from '../../test/gen/until.js';

describe('startKmsNodeController (informer + queue + reconciler over the HTTP fake)', () => {
  test('reconciles its own KmsNode from the watch: start, status, spec change, deletion', async () => {
    const fake = new FakeKubeApi();
    await fake.start();
    for (const [name, data] of Object.entries(defaultSecrets())) fake.secrets.set(`kms/${name}`, data);
    const runtime = new FakeRuntime();
    runtime.runningStatus = runtimeStatus(withHealth(redisHealth((h) => { h.dataPath = { ...h.dataPath!, ownerUid: process.getuid!() }; })));
    fake.put(kmsNode('node-a'));
    // Another KmsNode in the namespace: not this process's, never touched.
    fake.put(kmsNode('node-b'));
    const controller = startKmsNodeController({
      kubeConfig: fake.kubeConfig(), namespace: 'kms', name: 'node-a', runtime, logger: silentLogger(), resyncPeriodMs: 60_000,
    });
    try {
      await until('Ready on node-a', () => findCondition(fake.objects.get('kms/node-a')?.status?.conditions, ConditionType.Ready)?.status === 'True');
      expect(runtime.calls).toEqual(['start:/var/lib/kms/data']);
      // The controller's own status patch comes back through the watch; it does not
      // trigger another pass (no second status read of the Secrets).
      const secretReads = fake.count('GET', '/secrets/');
      fake.put({ ...fake.objects.get('kms/node-a')!, metadata: { ...fake.objects.get('kms/node-a')!.metadata } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fake.count('GET', '/secrets/')).toBe(secretReads);
      expect(fake.requests.some((r) => r.path.includes('fieldSelector=metadata.name%3Dnode-a') && r.path.includes('watch=true'))).toBe(true);

      fake.put(kmsNode('node-a', withAppendFsync('everysec'), withGeneration(2), (n) => { n.status = fake.objects.get('kms/node-a')!.status; }));
      await until('fsync applied', () => fake.objects.get('kms/node-a')?.status?.persistence?.fsync === 'everysec');
      expect(runtime.calls).toEqual(['start:/var/lib/kms/data', 'fsync:everysec']);

      fake.remove('kms', 'node-a');
      await until('runtime stopped', () => runtime.calls.includes('stop'));
      expect(fake.objects.get('kms/node-b')?.status).toBeUndefined();
      expect(fake.count('PATCH', '/kmsnodes/node-b')).toBe(0);
    } finally {
      await controller.stop();
      await fake.stop();
    }
  });

  /**
   * A healthy node-a whose controller resyncs only hourly: a Ready node is not revisited
   * before that, so only the runtime's announcements can change its status.
   */
  async function startAnnounced(configure: (runtime: FakeRuntime) => void = () => undefined) {
    const fake = new FakeKubeApi();
    await fake.start();
    for (const [name, data] of Object.entries(defaultSecrets())) fake.secrets.set(`kms/${name}`, data);
    const runtime = new FakeRuntime();
    const health = withHealth(redisHealth((h) => { h.dataPath = { ...h.dataPath!, ownerUid: process.getuid!() }; }));
    runtime.runningStatus = runtimeStatus(health);
    configure(runtime);
    fake.put(kmsNode('node-a'));
    const controller = startKmsNodeController({
      kubeConfig: fake.kubeConfig(), namespace: 'kms', name: 'node-a', runtime, logger: silentLogger(), resyncPeriodMs: 3_600_000,
    });
    const status = () => fake.objects.get('kms/node-a')?.status;
    const stop = async () => { await controller.stop(); await fake.stop(); };
    try {
      await until('Ready on node-a', () => findCondition(status()?.conditions, ConditionType.Ready)?.status === 'True');
    } catch (error) {
      await stop();
      throw error;
    }
    return { runtime, health, status, stop };
  }

  test('a status change the node announces is written at once, long before the resync; stop unsubscribes', async () => {
    const { runtime, health, status, stop } = await startAnnounced();
    try {
      expect(status()?.keys).toEqual({ versionCount: 0, lastBoundary: 0 });
      expect(runtime.listeners.size).toBe(1);

      runtime.emit('boundaryProcessed', runtimeStatus(health, withKeys({ activeVersion: null, versionCount: 0, lastProcessedBoundary: 5 })));
      runtime.emit('keyVersionActivated', runtimeStatus(health, withKeys({ activeVersion: 1_700_000_060, versionCount: 1, lastProcessedBoundary: 5 })));
      await until('the new version in status', () => status()?.keys?.activeVersion === 1_700_000_060);
      expect(status()?.keys).toEqual({ activeVersion: 1_700_000_060, versionCount: 1, lastBoundary: 5 });
      expect(findCondition(status()?.conditions, ConditionType.KeyShareActive)?.status).toBe('True');
      expect(runtime.calls).toEqual(['start:/var/lib/kms/data']);
    } finally {
      await stop();
    }
    expect(runtime.listeners.size).toBe(0);
  });

  test('a health flip found by the controller\'s own refresh queues no extra pass; the node\'s own announcements do', async () => {
    // As a runtime does when a refresh reads a different verdict than the last one.
    const { runtime, health, status, stop } = await startAnnounced((r) => {
      r.duringRefresh = () => { r.listeners.emit('persistenceHealth', r.runningStatus); };
    });
    try {
      for (const [boundary, passes] of [[5, 2], [10, 3]] as const) {
        runtime.emit('boundaryProcessed', runtimeStatus(health, withKeys({ activeVersion: null, versionCount: 0, lastProcessedBoundary: boundary })));
        await until(`boundary ${boundary} in status`, () => status()?.keys?.lastBoundary === boundary);
        // One pass per announcement: the flips each pass's refresh announced queued nothing.
        expect(runtime.refreshes).toBe(passes);
      }
    } finally {
      await stop();
    }
  });

  test('a failing list restarts the informer with backoff; a dropped watch is resumed', async () => {
    const fake = new FakeKubeApi();
    await fake.start();
    for (const [name, data] of Object.entries(defaultSecrets())) fake.secrets.set(`kms/${name}`, data);
    const runtime = new FakeRuntime();
    runtime.runningStatus = runtimeStatus(withHealth(redisHealth((h) => { h.dataPath = { ...h.dataPath!, ownerUid: process.getuid!() }; })));
    fake.put(kmsNode('node-a'));
    fake.failNextLists = 2;
    const controller = startKmsNodeController({
      kubeConfig: fake.kubeConfig(), namespace: 'kms', name: 'node-a', runtime, logger: silentLogger(), resyncPeriodMs: 60_000, baseDelayMs: 20,
    });
    try {
      await until('Ready after two failed lists', () => findCondition(fake.objects.get('kms/node-a')?.status?.conditions, ConditionType.Ready)?.status === 'True');
      const lists = fake.requests.filter((r) => r.method === 'GET' && r.path.includes('/kmsnodes?') && !r.path.includes('watch=true'));
      expect(lists.length).toBeGreaterThanOrEqual(3);

      const watchesBefore = fake.requests.filter((r) => r.path.includes('watch=true')).length;
      fake.dropWatches();
      await until('a new watch', () => fake.requests.filter((r) => r.path.includes('watch=true')).length > watchesBefore);
      fake.put(kmsNode('node-a', withAppendFsync('everysec'), withGeneration(2), (n) => { n.status = fake.objects.get('kms/node-a')!.status; }));
      await until('change seen through the new watch', () => runtime.calls.includes('fsync:everysec'));
    } finally {
      await controller.stop();
      await fake.stop();
    }
  });
});
