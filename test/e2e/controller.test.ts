/**
 * The KmsNode controller on a real kube-apiserver, run out of cluster exactly as the
 * chart's ServiceAccount would run it (a TokenRequest token bound to a Role with the
 * chart's rules), driving a real node runtime on a real embedded redis-server.
 *
 * Scenarios, in order, on one KmsNode:
 *   status  — status and all four conditions appear; `kubectl get kmsnodes -o wide` columns
 *   aof     — CONFIG SET appendonly no → PersistenceHealthy False (AofDisabled) → healed
 *   kill    — SIGKILL redis-server → PersistenceHealthy False with a reason → healed
 *   spec    — bad specs refused by the API server (schema/CEL); an unreadable Secret → condition
 *   fsync   — appendfsync changed in the resource is applied to Redis
 *   restart — a persistence change on a node without key data drains and restarts it
 *   move    — with a key share stored, a dataPath change is refused (condition), not applied
 *   delete  — deleting the resource stops the node and leaves the data path intact
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { Redis } from 'ioredis';
import { findCondition, type Condition, type ConditionType } from '../../src/api/v1alpha1/conditions.js';
import type { KmsNode } from '../../src/api/v1alpha1/kmsnode.types.js';
import { startKmsNodeController, type KmsNodeControllerHandle } from '../../src/controller/index.js';
import { PersistenceOnlyRuntime } from '../../src/controller/runtime/persistenceRuntime.js';
import { createLogger } from '../../src/logging/logger.js';
import { socketPathFor } from '../../src/persistence/redis/embedded/redisConfig.js';
import { RedisPersistence } from '../../src/persistence/redis/redisPersistence.js';
import { createRecordSealer } from '../../src/persistence/sealing.js';
import { parseInfo, sendCommand } from '../../src/persistence/redis/embedded/respProbe.js';
import { ok, startApiServer, TOOL_BUILD_TIMEOUT_MS } from './harness/apiServer.js';
import type { ApiServer } from './harness/apiServer.js';
import { BASE_VALUES, find, merge, render } from '../integration/chart/chartFixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'kms-ctl-e2e';
const NAME = 'node-0';
const SA = 'kms-node';
const OPERATOR = '0x1111111111111111111111111111111111111111';
const OPERATOR_KEY_HEX = '4f'.repeat(32);
const EPOCH = 1_700_000_000;
const REGISTRY = '0x2222222222222222222222222222222222222222';
/** Generous: every step is polled, and the machine is a shared 2-core box. */
const STEP_TIMEOUT_MS = 90_000;

/**
 * The chart's own Role, rendered by helm from charts/kms-node with this test's Secret
 * names: the controller runs with exactly the rights a release grants it.
 */
async function chartRoleRules(): Promise<unknown> {
  const values = merge(BASE_VALUES, {
    node: { operator: { keySecretRef: { name: 'operator-key', key: 'key' } }, chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'url' } } },
  });
  const rendered = await render(values, ['--show-only', 'templates/role.yaml']);
  if (rendered.code !== 0) throw new Error(`helm template of the chart's Role failed: ${rendered.stderr}`);
  return (find(rendered.objects, 'Role') as unknown as { rules: unknown }).rules;
}

let api: ApiServer | undefined;
let admin: CustomObjectsApi;
let core: CoreV1Api;
let workDir: string | undefined;
let dataPath: string;
let runtime: PersistenceOnlyRuntime;
let controller: KmsNodeControllerHandle | undefined;
let controllerStartedAt = 0;

function manifest(objects: readonly object[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

function kmsNodeManifest(spec: Record<string, unknown>): object {
  return { apiVersion: 'kms.eigenx.dev/v1alpha1', kind: 'KmsNode', metadata: { name: NAME, namespace: NS }, spec };
}

function baseSpec(): Record<string, unknown> {
  return {
    operator: { address: OPERATOR, keySecretRef: { name: 'operator-key', key: 'key' } },
    chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'url' }, chainId: 31337, registryAddress: REGISTRY },
    persistence: { type: 'redis', dataPath, redis: { mode: 'embedded', appendfsync: 'always' } },
  };
}

async function kubectl(args: readonly string[], input?: string): Promise<string> {
  if (api === undefined) throw new Error('API server not started');
  return ok(await api.kubectl(args, input === undefined ? {} : { input }), `kubectl ${args.join(' ')}`);
}

async function getNode(): Promise<KmsNode | null> {
  try {
    return (await admin.getNamespacedCustomObject({ group: 'kms.eigenx.dev', version: 'v1alpha1', namespace: NS, plural: 'kmsnodes', name: NAME })) as KmsNode;
  } catch {
    return null;
  }
}

async function condition(type: ConditionType): Promise<Condition | undefined> {
  return findCondition((await getNode())?.status?.conditions, type);
}

/** Polls until `check` returns a value; returns every distinct value seen on the way (for the log). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function redis(args: readonly string[]): Promise<string> {
  const reply = await sendCommand({ path: socketPathFor(dataPath) }, args);
  if (reply === null) throw new Error(`no reply to ${args.join(' ')}`);
  if (reply.kind === 'array') return reply.items.map((i) => ('value' in i ? String(i.value) : '')).join(' ');
  return 'value' in reply ? String(reply.value) : '';
}

async function events(): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${NAME}` });
  return list.items.map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

/** Events are recorded right after the status write of the same pass: wait for them. */
async function eventsInclude(reasons: readonly string[]): Promise<void> {
  await until(`events ${reasons.join(', ')}`, async () => {
    const seen = new Set((await events()).map((e) => e.reason));
    return reasons.every((r) => seen.has(r)) ? true : undefined;
  });
}

beforeAll(async () => {
  api = await startApiServer();
  const adminConfig = new KubeConfig();
  adminConfig.loadFromFile(api.kubeconfig);
  admin = adminConfig.makeApiClient(CustomObjectsApi);
  core = adminConfig.makeApiClient(CoreV1Api);

  await kubectl(['apply', '-f', path.join(ROOT, 'crds/kmsnode.yaml')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/kmsnodes.kms.eigenx.dev']);
  await kubectl(['create', 'namespace', NS]);
  const roleRules = await chartRoleRules();
  console.log(`controller runs with the chart's Role rules: ${JSON.stringify(roleRules)}`);
  await kubectl(['apply', '-f', '-'], manifest([
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'operator-key', namespace: NS }, stringData: { key: `0x${OPERATOR_KEY_HEX}` } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chain-rpc', namespace: NS }, stringData: { url: 'http://127.0.0.1:8545' } },
    // A Secret the Role does not name: the controller must not be able to read it.
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rotated-operator-key', namespace: NS }, stringData: { key: `0x${'5e'.repeat(32)}` } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: SA, namespace: NS }, rules: roleRules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: SA, namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
    },
  ]));

  // What a pod would hold: the API server's CA and a ServiceAccount token, nothing else.
  const token = await api.createToken({ namespace: NS, name: SA }, 3600);
  const cluster = adminConfig.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no cluster');
  const saConfig = new KubeConfig();
  saConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: SA, token }],
    contexts: [{ name: SA, cluster: cluster.name, user: SA, namespace: NS }],
    currentContext: SA,
  });

  workDir = await mkdtemp(path.join(tmpdir(), 'kms-ctl-'));
  dataPath = path.join(workDir, 'data');
  await kubectl(['apply', '-f', '-'], JSON.stringify(kmsNodeManifest(baseSpec())));

  const logger = createLogger({ level: process.env.KMS_E2E_LOG_LEVEL === undefined ? 'warn' : (process.env.KMS_E2E_LOG_LEVEL as 'info'), name: 'controller-e2e' });
  runtime = new PersistenceOnlyRuntime({ logger });
  controllerStartedAt = Date.now();
  controller = startKmsNodeController({
    kubeConfig: saConfig, namespace: NS, name: NAME, runtime, logger,
    // Shorter than production (30 s / 5 s) so each scenario settles in seconds.
    resyncPeriodMs: 5_000, unhealthyRequeueMs: 3_000,
  });
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await controller?.stop();
  await runtime.stop().catch(() => undefined);
  await api?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}, STEP_TIMEOUT_MS);

describe('KmsNode controller on a real API server, as the chart\'s ServiceAccount', () => {
  test('status: phase, observedGeneration and all four conditions appear', async () => {
    const node = await until('Ready=True', async () => {
      const n = await getNode();
      return findCondition(n?.status?.conditions, 'Ready')?.status === 'True' ? n! : undefined;
    });
    console.log(`status Ready=True ${Date.now() - controllerStartedAt} ms after the controller started (embedded redis-server start included)`);
    const status = node.status!;
    expect(status.phase).toBe('Running');
    expect(status.observedGeneration).toBe(node.metadata.generation);
    for (const type of ['Ready', 'PersistenceHealthy', 'DataPathReady', 'KeyShareActive'] as const) {
      const c = findCondition(status.conditions, type);
      expect(c).toMatchObject({ reason: expect.stringMatching(/^[A-Z][A-Za-z]+$/) as unknown, observedGeneration: node.metadata.generation });
      expect(c?.message).not.toBe('');
      expect(Date.parse(c!.lastTransitionTime)).not.toBeNaN();
    }
    expect(findCondition(status.conditions, 'PersistenceHealthy')).toMatchObject({ status: 'True', reason: 'AofHealthy' });
    expect(findCondition(status.conditions, 'DataPathReady')).toMatchObject({ status: 'True', reason: 'DataPathHealthy' });
    // A fresh node has no key share until its first DKG: reported, not hidden.
    expect(findCondition(status.conditions, 'KeyShareActive')).toMatchObject({ status: 'False', reason: 'NoKeyShareYet' });
    expect(status.persistence).toMatchObject({ backend: 'redis', mode: 'embedded', aofEnabled: true, fsync: 'always', lastWriteStatus: 'ok' });
    expect(status.dataPath).toMatchObject({ path: dataPath, exists: true, mode: '0700', writable: true });
    expect(status.keys).toEqual({ versionCount: 0, lastBoundary: 0 });
    await eventsInclude(['NodeStarted']);
  }, STEP_TIMEOUT_MS);

  test('status: `kubectl get kmsnodes -o wide` shows the columns', async () => {
    const wide = await kubectl(['get', 'kmsnodes', '-n', NS, '-o', 'wide']);
    console.log(`kubectl get kmsnodes -n ${NS} -o wide\n${wide}`);
    const [header = '', row = ''] = wide.split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+PHASE\s+BACKEND\s+FSYNC\s+ACTIVE VERSION\s+AGE\s+MESSAGE/);
    expect(row).toMatch(new RegExp(`^${NAME}\\s+True\\s+Running\\s+redis\\s+always\\s+`));
    expect(row).toContain('the node runs the resource\'s configuration with healthy persistence');
  }, STEP_TIMEOUT_MS);

  test('aof: CONFIG SET appendonly no turns PersistenceHealthy False (AofDisabled), then it heals', async () => {
    expect(await redis(['CONFIG', 'SET', 'appendonly', 'no'])).toBe('OK');
    const down = await until('PersistenceHealthy=False', async () => {
      const c = await condition('PersistenceHealthy');
      return c?.status === 'False' ? c : undefined;
    });
    expect(down.reason).toBe('AofDisabled');
    expect(down.message).toContain('appendonly no');
    expect((await getNode())?.status?.phase).toBe('Degraded');
    const healed = await until('PersistenceHealthy=True again', async () => {
      const c = await condition('PersistenceHealthy');
      return c?.status === 'True' ? c : undefined;
    });
    expect(healed.reason).toBe('AofHealthy');
    expect(await redis(['CONFIG', 'GET', 'appendonly'])).toBe('appendonly yes');
    await eventsInclude(['AofDisabled', 'AofPolicyRepaired', 'AofHealthy']);
  }, STEP_TIMEOUT_MS);

  test('kill: SIGKILL of redis-server turns PersistenceHealthy False with a reason, then it heals', async () => {
    const pid = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    const down = await until('PersistenceHealthy=False after SIGKILL', async () => {
      const c = await condition('PersistenceHealthy');
      return c?.status === 'False' ? c : undefined;
    });
    console.log(`after SIGKILL of redis-server ${pid}: PersistenceHealthy False ${down.reason}: ${down.message}`);
    expect(['BackendRestarted', 'HealthCheckFailed']).toContain(down.reason);
    // The event follows the status write of the same pass.
    await until(`a Warning event ${down.reason}`, async () => ((await events()).some((e) => e.type === 'Warning' && e.reason === down.reason) ? true : undefined));
    await until('PersistenceHealthy=True after the supervisor restart', async () => ((await condition('PersistenceHealthy'))?.status === 'True' ? true : undefined));
    const newPid = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
    expect(newPid).not.toBe(pid);
    expect((await condition('Ready'))?.status).toBe('True');
  }, STEP_TIMEOUT_MS);

  test('spec: invalid specs are refused by the API server with the schema/CEL message', async () => {
    const relative = await api!.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(kmsNodeManifest({ ...baseSpec(), persistence: { type: 'redis', dataPath: 'relative/data' } })),
    });
    expect(relative.code).not.toBe(0);
    expect(relative.stderr).toContain('persistence.dataPath must be an absolute path');
    const typeChange = await api!.kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { type: 'memory', redis: null, dataPath: null } } })]);
    expect(typeChange.code).not.toBe(0);
    expect(typeChange.stderr).toContain('persistence.type is immutable');
    const badFsync = await api!.kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { appendfsync: 'never' } } } })]);
    expect(badFsync.code).not.toBe(0);
    expect(badFsync.stderr).toContain('Unsupported value: "never"');
  }, STEP_TIMEOUT_MS);

  test('spec: a Secret the Role does not grant surfaces as a condition; the node keeps running; reverting heals', async () => {
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { operator: { keySecretRef: { name: 'rotated-operator-key' } } } })]);
    const refused = await until('Ready=False SecretUnavailable', async () => {
      const c = await condition('Ready');
      return c?.reason === 'SecretUnavailable' ? c : undefined;
    });
    expect(refused.status).toBe('False');
    expect(refused.message).toContain("the controller may not read Secret 'rotated-operator-key'");
    const node = await getNode();
    expect(node?.status?.phase).toBe('NeedsIntervention');
    expect(node?.status?.observedGeneration).toBe(node?.metadata.generation);
    expect(runtime.status().phase).toBe('running');
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { operator: { keySecretRef: { name: 'operator-key' } } } })]);
    await until('Ready=True again', async () => ((await condition('Ready'))?.status === 'True' ? true : undefined));
  }, STEP_TIMEOUT_MS);

  test('fsync: changing appendfsync in the resource is applied to Redis and reported', async () => {
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { appendfsync: 'everysec' } } } })]);
    await until('Redis appendfsync everysec', async () => ((await redis(['CONFIG', 'GET', 'appendfsync'])) === 'appendfsync everysec' ? true : undefined));
    const node = await until('status fsync everysec', async () => {
      const n = await getNode();
      return n?.status?.persistence?.fsync === 'everysec' && n.status.observedGeneration === n.metadata.generation ? n : undefined;
    });
    expect(findCondition(node.status?.conditions, 'PersistenceHealthy')).toMatchObject({ status: 'True' });
    await eventsInclude(['AofPolicyApplied']);
    console.log(`after appendfsync everysec:\n${await kubectl(['get', 'kmsnodes', '-n', NS, '-o', 'wide'])}`);
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { appendfsync: 'always' } } } })]);
    await until('Redis appendfsync always', async () => ((await redis(['CONFIG', 'GET', 'appendfsync'])) === 'appendfsync always' ? true : undefined));
  }, STEP_TIMEOUT_MS);

  test('restart: a persistence change on a node without key data drains and restarts it on the new config', async () => {
    const pidBefore = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { keyPrefix: 'kms2:' } } } })]);
    await until('runtime on the new key prefix', () => Promise.resolve(runtime.currentConfig()?.persistence.redis?.keyPrefix === 'kms2:' ? true : undefined));
    await eventsInclude(['NodeRestarted']);
    const restarted = (await events()).find((e) => e.reason === 'NodeRestarted');
    expect(restarted?.message).toContain('persistence.redis.keyPrefix');
    await until('Ready=True on the new config', async () => {
      const n = await getNode();
      return findCondition(n?.status?.conditions, 'Ready')?.status === 'True' && n?.status?.observedGeneration === n?.metadata.generation ? true : undefined;
    });
    // Drained and restarted: a new redis-server process on the same data path.
    expect(Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'))).not.toBe(pidBefore);
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { keyPrefix: 'kms:' } } } })]);
    await until('runtime back on kms:', () => Promise.resolve(runtime.currentConfig()?.persistence.redis?.keyPrefix === 'kms:' ? true : undefined));
    await until('Ready=True again', async () => ((await condition('Ready'))?.status === 'True' ? true : undefined));
  }, STEP_TIMEOUT_MS);

  test('move: with a key share stored, a dataPath change is refused as a condition and not applied', async () => {
    // The persistence-only runtime runs no DKG; store what a finished one-operator DKG
    // leaves behind, through a second client of the node's own Redis, sealed with the
    // node's key, exactly as the node would.
    const secret = 0x1234_5678_9abc_def0n;
    const mpk = bls12_381.G2.Point.BASE.multiply(secret).toBytes(true);
    const client = new Redis({ path: socketPathFor(dataPath), lazyConnect: true });
    const store = await RedisPersistence.open(client, {
      logger: createLogger({ level: 'warn' }), sealer: createRecordSealer(Buffer.from(OPERATOR_KEY_HEX, 'hex')), mode: 'embedded',
    });
    await store.saveKeyShareVersion({
      epoch: EPOCH, privateShare: secret, commitments: [mpk], masterPublicKey: mpk, threshold: 1, participants: [OPERATOR], createdAt: Date.now(),
    }, { activate: true });
    await store.saveNodeState({ lastProcessedBoundary: 120, nodeStartTime: Date.now(), operatorAddress: OPERATOR });
    await store.close();

    const active = await until('KeyShareActive=True', async () => {
      const c = await condition('KeyShareActive');
      return c?.status === 'True' ? c : undefined;
    });
    expect(active.message).toBe(`active version ${EPOCH} of 1 stored, last boundary 120`);
    expect((await getNode())?.status?.keys).toEqual({ activeVersion: EPOCH, versionCount: 1, lastBoundary: 120 });
    console.log(`with a key share stored:\n${await kubectl(['get', 'kmsnodes', '-n', NS, '-o', 'wide'])}`);

    const elsewhere = path.join(workDir!, 'elsewhere');
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { dataPath: elsewhere } } })]);
    const refused = await until('Ready=False TransitionRefused', async () => {
      const c = await condition('Ready');
      return c?.reason === 'TransitionRefused' ? c : undefined;
    });
    console.log(`dataPath change refused: ${refused.message}`);
    expect(refused.status).toBe('False');
    expect(refused.message).toContain('persistence.dataPath');
    expect((await getNode())?.status?.phase).toBe('NeedsIntervention');
    expect(runtime.currentConfig()?.persistence.dataPath).toBe(dataPath);
    expect(runtime.status().phase).toBe('running');
    await expect(stat(elsewhere)).rejects.toThrow();
    await until('a Warning event TransitionRefused', async () => ((await events()).some((e) => e.type === 'Warning' && e.reason === 'TransitionRefused') ? true : undefined));

    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { dataPath } } })]);
    await until('Ready=True again', async () => ((await condition('Ready'))?.status === 'True' ? true : undefined));
    expect(runtime.currentConfig()?.persistence.dataPath).toBe(dataPath);
  }, STEP_TIMEOUT_MS);

  test('delete: deleting the resource stops the node and leaves the data path intact', async () => {
    // A marker written through Redis (so into the AOF) before the resource goes.
    expect(await redis(['SET', 'e2e:marker', 'kept-after-delete'])).toBe('OK');
    const before = await readdir(dataPath, { recursive: true });
    await kubectl(['delete', 'kmsnode', NAME, '-n', NS, '--wait=true']);
    await until('node stopped', () => Promise.resolve(runtime.status().phase === 'stopped' ? true : undefined));
    const st = await stat(dataPath);
    expect(st.isDirectory()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe('700');
    const after = await readdir(dataPath, { recursive: true });
    const aofFiles = after.filter((f) => f.startsWith('appendonlydir') && f.endsWith('.aof'));
    expect(aofFiles.length).toBeGreaterThan(0);
    // Nothing the node had is gone; only the live server's socket and ownership files go with it.
    const runtimeOnly = /(^|\/)(redis\.sock|redis\.lock|owner\.json|.*\.pid)$/;
    expect(before.filter((f) => !runtimeOnly.test(f) && !after.includes(f))).toEqual([]);
    const aofText = (await Promise.all(aofFiles.map((f) => readFile(path.join(dataPath, f), 'latin1')))).join('');
    expect(aofText).toContain('kept-after-delete');
    console.log(`data path after delete: ${after.join(', ')}`);
  }, STEP_TIMEOUT_MS);
});
