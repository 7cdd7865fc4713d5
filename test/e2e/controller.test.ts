/**
 * The KmsNode controller on a real kube-apiserver, run out of cluster exactly as the
 * chart's ServiceAccount would run it (a TokenRequest token bound to a Role with the
 * chart's rules), driving the production node runtime (KmsNodeRuntime: a full node on a
 * real embedded redis-server, on a real anvil chain with the OperatorRegistry deployed).
 *
 * Scenarios, in order, on one KmsNode:
 *   status  — status, heartbeat and all four conditions appear; `kubectl get kmsnodes -o wide` columns
 *   aof     — CONFIG SET appendonly no → PersistenceHealthy False (AofDisabled) → healed
 *   kill    — SIGKILL redis-server → PersistenceHealthy False with a reason → healed
 *   spec    — bad specs refused by the API server (schema/CEL, dataPath and port immutable);
 *             an unreadable Secret → condition
 *   fsync   — appendfsync changed in the resource: the node is stopped and started on the new
 *             policy (the production fsync change path), and Redis runs it
 *   restart — a persistence change on a node without key data drains and restarts it
 *   events  — a repeated event is one Event with a count, not a flood
 *   delete  — deleting the resource stops the node and leaves the data path intact
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { findCondition, type Condition, type ConditionType } from '../../src/api/v1alpha1/conditions.js';
import type { KmsNode } from '../../src/api/v1alpha1/kmsnode.types.js';
import { KmsNodeRuntime } from '../../src/app/kmsNodeRuntime.js';
import { deployRegistry } from '../../src/chain/deploy.js';
import { startKmsNodeController, type KmsNodeControllerHandle } from '../../src/controller/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { socketPathFor } from '../../src/persistence/redis/embedded/redisConfig.js';
import { parseInfo, sendCommand } from '../../src/persistence/redis/embedded/respProbe.js';
import { startAnvil, type AnvilHandle } from '../harness/anvil.js';
import { freePort } from '../harness/ports.js';
import { ok, startApiServer, TOOL_BUILD_TIMEOUT_MS } from './harness/apiServer.js';
import type { ApiServer } from './harness/apiServer.js';
import { BASE_VALUES, find, merge, render } from '../integration/chart/chartFixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'kms-ctl-e2e';
const NAME = 'node-0';
const SA = 'kms-node';
/** The address of the key 0x4f…4f (the spec's address and key must agree). */
const OPERATOR = '0xd31b822b233346334737c953fde6f92d745c5b8d';
const OPERATOR_KEY_HEX = '4f'.repeat(32);
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
let runtime: KmsNodeRuntime;
let anvil: AnvilHandle | undefined;
let registryAddress = '';
let nodePort = 0;
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
    chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'url' }, chainId: 31337, registryAddress },
    persistence: { type: 'redis', dataPath, redis: { mode: 'embedded', appendfsync: 'always' } },
    server: { port: nodePort },
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

/**
 * Polls until `check` returns a value. A check that throws is retried: Redis's socket is
 * briefly absent while the node restarts on a new configuration.
 */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS - 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}`);
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
  // The chain the node follows: a registry with no operator yet, and no block mined, so the
  // node idles (no boundary, no round) while the controller works on its persistence.
  anvil = await startAnvil();
  registryAddress = (await deployRegistry(anvil.wallet(0))).address.toLowerCase();
  nodePort = await freePort();
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
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chain-rpc', namespace: NS }, stringData: { url: anvil.rpcUrl } },
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
  runtime = new KmsNodeRuntime(logger);
  controllerStartedAt = Date.now();
  controller = startKmsNodeController({
    kubeConfig: saConfig, namespace: NS, name: NAME, runtime, logger,
    // Shorter than production (30 s / 5 s) so each scenario settles in seconds.
    resyncPeriodMs: 5_000, unhealthyRequeueMs: 3_000,
    // What the chart's pod declares: the data volume the data path must lie under.
    processSettings: new Map([['volume-mount-path', workDir], ['log-level', 'warn']]),
  });
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await controller?.stop();
  await runtime.stop().catch(() => undefined);
  await anvil?.stop();
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
    expect(Date.parse(status.lastHeartbeatTime ?? '')).toBeGreaterThanOrEqual(controllerStartedAt - 1_000);
    await eventsInclude(['NodeStarted']);
    // The production runtime: a full node serving its API on the spec's port.
    const served = await fetch(`http://127.0.0.1:${nodePort}/health`);
    expect(((await served.json()) as { phase: string }).phase).toBe('running');
  }, STEP_TIMEOUT_MS);

  test('status: `kubectl get kmsnodes -o wide` shows the columns, the heartbeat among them; the resync refreshes it', async () => {
    const first = (await getNode())?.status?.lastHeartbeatTime ?? '';
    // The resync (5 s here) refreshes the heartbeat of a node where nothing changes.
    const refreshed = await until('a newer heartbeat', async () => {
      const beat = (await getNode())?.status?.lastHeartbeatTime ?? '';
      return Date.parse(beat) > Date.parse(first) ? beat : undefined;
    });
    expect(Date.parse(refreshed) - Date.parse(first)).toBeGreaterThanOrEqual(2_500);
    const wide = await kubectl(['get', 'kmsnodes', '-n', NS, '-o', 'wide']);
    console.log(`kubectl get kmsnodes -n ${NS} -o wide\n${wide}`);
    const [header = '', row = ''] = wide.split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+PHASE\s+BACKEND\s+FSYNC\s+ACTIVE VERSION\s+HEARTBEAT\s+AGE\s+MESSAGE/);
    // The heartbeat column is an age: seconds here, minutes when nobody reports.
    // No key version yet (the column is empty), then the heartbeat's age, then the object's.
    expect(row).toMatch(new RegExp(`^${NAME}\\s+True\\s+Running\\s+redis\\s+always\\s+\\d+s\\s+\\d+s\\s+`));
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

  test('kill: a SIGKILLed redis-server is restarted under the node by its supervisor; the node stays Ready on the same data', async () => {
    expect(await redis(['SET', 'e2e:before-kill', 'survives'])).toBe('OK');
    const pid = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    const newPid = await until('a new redis-server process', async () => {
      const now = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
      return now > 1 && now !== pid ? now : undefined;
    });
    console.log(`redis-server ${pid} SIGKILLed; the supervisor started ${newPid}`);
    // The AOF replayed: what was acknowledged before the kill is there.
    expect(await redis(['GET', 'e2e:before-kill'])).toBe('survives');
    await until('Ready=True and PersistenceHealthy=True', async () => {
      const n = await getNode();
      return findCondition(n?.status?.conditions, 'Ready')?.status === 'True' && findCondition(n?.status?.conditions, 'PersistenceHealthy')?.status === 'True' ? true : undefined;
    });
    expect(runtime.status().phase).toBe('running');
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
    // The data path holds the key shares' AOF: it cannot move (to an unencrypted /tmp, say).
    const moved = await api!.kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { dataPath: '/tmp/kms' } } })]);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('persistence.dataPath is immutable once set');
    const removed = await api!.kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/persistence/dataPath' }])]);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('persistence.dataPath');
    // The port: the pod's probes and Service come from the chart's values, so it is fixed here.
    const port = await api!.kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { server: { port: nodePort + 1 } } })]);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain('server.port is immutable');
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

  test('fsync: changing appendfsync in the resource stops and starts the node on the new policy, and Redis runs it', async () => {
    const pidBefore = Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'));
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { persistence: { redis: { appendfsync: 'everysec' } } } })]);
    await until('Redis appendfsync everysec', async () => ((await redis(['CONFIG', 'GET', 'appendfsync'])) === 'appendfsync everysec' ? true : undefined));
    const node = await until('status fsync everysec', async () => {
      const n = await getNode();
      return n?.status?.persistence?.fsync === 'everysec' && n.status.observedGeneration === n.metadata.generation ? n : undefined;
    });
    expect(findCondition(node.status?.conditions, 'PersistenceHealthy')).toMatchObject({ status: 'True' });
    await eventsInclude(['AofPolicyApplied']);
    // The production path: the node was stopped and started, so Redis is a new process.
    expect(Number(parseInfo(await redis(['INFO', 'server'])).get('process_id'))).not.toBe(pidBefore);
    expect(runtime.currentConfig()?.node.persistence).toMatchObject({ appendfsync: 'everysec', allowWeakerFsync: true });
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

  test('events: a condition that flaps is one Event whose count grows, not one Event per flap', async () => {
    const countOf = async (reason: string): Promise<{ events: number; count: number }> => {
      const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${NAME},reason=${reason}` });
      return { events: list.items.length, count: list.items.reduce((n, e) => n + (e.count ?? 1), 0) };
    };
    const before = await countOf('AofDisabled');
    for (let flap = 0; flap < 2; flap++) {
      expect(await redis(['CONFIG', 'SET', 'appendonly', 'no'])).toBe('OK');
      await until('PersistenceHealthy=False', async () => ((await condition('PersistenceHealthy'))?.status === 'False' ? true : undefined));
      await until('PersistenceHealthy=True', async () => ((await condition('PersistenceHealthy'))?.status === 'True' ? true : undefined));
    }
    const after = await until('the flaps counted', async () => {
      const now = await countOf('AofDisabled');
      return now.count >= before.count + 2 ? now : undefined;
    });
    console.log(`AofDisabled events: ${before.events} → ${after.events} objects, count ${before.count} → ${after.count}`);
    expect(after.events).toBe(Math.max(before.events, 1));
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
