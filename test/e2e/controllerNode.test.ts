/**
 * `kms-server --controller` as a pod of the chart runs it, but on loopback: a separate
 * OS process whose only credential is a kubeconfig with a ServiceAccount token bound to
 * the chart's Role, configured entirely by a KmsNode resource on a real kube-apiserver.
 * The resource names its Secrets (operator key, RPC URL); the chain is a real anvil with
 * the OperatorRegistry deployed and one operator registered (threshold 1, the smallest
 * network). Boundaries are mined by the test, so every round happens when a step asks.
 * The controller's resync is an hour: the status can follow a DKG or a reshare within a
 * step only because the node announces its changes and the controller queues on them.
 *
 * In order, on one resource:
 *   start   — the node starts from the resource: Ready=True, no key share yet
 *   dkg     — a boundary → DKG → KeyShareActive True with an active version; `kubectl get`
 *   serve   — GET /pubkey and POST /app/sign answer; kms-client's app key verifies
 *   kill    — SIGKILL, status wiped, restart: the new process reports the same version and MPK
 *   reshare — the restored share deals the next round: new version, same MPK and app key
 *   probes  — the process's own probes: an unhealthy persistence (AOF switched off) makes
 *             /health (readiness) 503 while /livez stays 200 and the process stays up;
 *             the controller repairs it and /health is 200 again
 *   delete  — deleting the resource stops the node; the process stays up (its controller
 *             keeps watching), a re-created resource starts it again on the same data,
 *             and SIGTERM writes Ready=False (Stopping) before the node stops, then exit 0
 *
 * The pod env carries only process-level settings (name, namespace, log level, the data
 * volume, the probe port); chain timing lives in the resource like everything else.
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { findCondition, type Condition, type ConditionType } from '../../src/api/v1alpha1/conditions.js';
import type { KmsNode } from '../../src/api/v1alpha1/kmsnode.types.js';
import { deployRegistry, registerOperator, setOperatorAllowed } from '../../src/chain/deploy.js';
import { g1FromHex, g2FromHex, verifyAppKey } from '../../src/crypto/index.js';
import { cliEntry } from '../../src/devnet/cliEntry.js';
import { devAccount } from '../../src/devnet/devAccounts.js';
import type { DevnetOperator } from '../../src/devnet/devnet.js';
import { NodeProcess } from '../../src/devnet/nodeProcess.js';
import { socketPathFor } from '../../src/persistence/redis/embedded/redisConfig.js';
import { sendCommand } from '../../src/persistence/redis/embedded/respProbe.js';
import { OperatorSigner } from '../../src/transport/signer.js';
import { startAnvil, type AnvilHandle } from '../harness/anvil.js';
import { freePort, isPortListening } from '../harness/ports.js';
import { makeTempDir, removeTempDir } from '../harness/tempDir.js';
import { appKey, health, logLines, logMark, messages, pubkey, sign, type PubkeyBody } from '../integration/node/cluster.js';
import { ok, run, startApiServer, TOOL_BUILD_TIMEOUT_MS, type ApiServer } from './harness/apiServer.js';
import { bindRole, chartRoleRules, writeServiceAccountKubeconfig } from './harness/serviceAccount.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'kms-node-e2e';
const NAME = 'node-0';
const SA = { namespace: NS, name: 'kms-node' };
const SECRETS = { operatorKey: { name: 'operator-key', key: 'key' }, chainRpc: { name: 'chain-rpc', key: 'url' } };
/** Dev account 0 deploys the registry; account 1 is the operator. */
const OPERATOR = devAccount(1);
const BOUNDARY_INTERVAL = 5;
const APP_ID = 'controller-e2e-app';
/** Generous: a tsx start and a DKG on a shared 2-core machine. */
const STEP_TIMEOUT_MS = 240_000;
/** Longer than the whole run, so no status in it comes from a periodic resync. */
const CONTROLLER_RESYNC_MS = 3_600_000;

let api: ApiServer | undefined;
let admin: CustomObjectsApi;
let anvil: AnvilHandle | undefined;
let workDir: string | undefined;
let dataPath: string;
let registryAddress: string;
let server: NodeProcess | undefined;
let operator: DevnetOperator;
let probePort = 0;
/** What the node served after its DKG, compared after the restart and the reshare. */
let afterDkg: { version: number; pubkey: PubkeyBody; appKey: string } | undefined;

async function kubectl(args: readonly string[], input?: string): Promise<string> {
  if (api === undefined) throw new Error('API server not started');
  return ok(await api.kubectl(args, input === undefined ? {} : { input }), `kubectl ${args.join(' ')}`);
}

function kmsNodeManifest(port: number): string {
  return JSON.stringify({
    apiVersion: 'kms.eigenx.dev/v1alpha1',
    kind: 'KmsNode',
    metadata: { name: NAME, namespace: NS },
    spec: {
      operator: { address: OPERATOR.address, keySecretRef: SECRETS.operatorKey },
      chain: { rpcUrlSecretRef: SECRETS.chainRpc, chainId: 31337, registryAddress, boundaryInterval: BOUNDARY_INTERVAL, pollIntervalMs: 250, protocolTimeoutMs: 30_000 },
      persistence: { type: 'redis', dataPath, redis: { mode: 'embedded', appendfsync: 'always' } },
      server: { port },
    },
  });
}

async function getNode(): Promise<KmsNode | null> {
  try {
    return (await admin.getNamespacedCustomObject({ group: 'kms.eigenx.dev', version: 'v1alpha1', namespace: NS, plural: 'kmsnodes', name: NAME })) as KmsNode;
  } catch {
    return null;
  }
}

const conditionOf = (node: KmsNode | null, type: ConditionType): Condition | undefined => findCondition(node?.status?.conditions, type);

/** The resource's status and the server's last log lines, for a failed wait's message. */
async function diagnostics(): Promise<string> {
  const node = await getNode();
  const tail = server === undefined ? [] : logLines(operator).slice(-15).map((l) => `  ${l.msg} ${JSON.stringify(l)}`.slice(0, 400));
  return `status: ${JSON.stringify(node?.status ?? null)}\nkms-server (${server?.isRunning() === true ? `pid ${server.pid ?? '?'}` : 'not running'}) log tail:\n${tail.join('\n')}`;
}

/** Polls until `check` returns a value; on the deadline, fails with the status and the log tail. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}\n${await diagnostics()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The resource once Ready and KeyShareActive are True with an active version (newer than `after`). */
function keyShareActive(after: number | null): Promise<KmsNode & { status: { keys: { activeVersion: number } } }> {
  return until(`Ready=True and KeyShareActive=True with an active version${after === null ? '' : ` newer than ${after}`}`, async () => {
    const node = await getNode();
    const version = node?.status?.keys?.activeVersion;
    const ready = conditionOf(node, 'Ready')?.status === 'True' && conditionOf(node, 'KeyShareActive')?.status === 'True';
    return ready && version !== undefined && (after === null || version > after) ? (node as KmsNode & { status: { keys: { activeVersion: number } } }) : undefined;
  });
}

/** Mines (all stamped now) up to the next boundary above the head; returns it. */
async function mineToNextBoundary(): Promise<number> {
  if (anvil === undefined) throw new Error('anvil not started');
  const head = Number(await anvil.blockNumber());
  const boundary = (Math.floor(head / BOUNDARY_INTERVAL) + 1) * BOUNDARY_INTERVAL;
  await anvil.mine(boundary - head, 0);
  return boundary;
}

/** Starts kms-server (resolves once its node answers /health); a failed start reports the resource status. */
async function startServer(): Promise<void> {
  if (server === undefined) throw new Error('kms-server not configured');
  try {
    await server.start();
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnostics()}`, { cause: error });
  }
}

/** kms-client in registry mode (the node list read from the OperatorRegistry), as a user runs it. */
function kmsClient(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (anvil === undefined) throw new Error('anvil not started');
  const entry = cliEntry('kms-client');
  const child = spawn(entry.command, [...entry.args, '--registry-address', registryAddress, '--rpc-url', anvil.rpcUrl, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface AppKeyJson {
  readonly appKey: string;
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKey: string;
  readonly verification: { readonly verified: boolean };
}

async function clientAppKey(): Promise<AppKeyJson> {
  const run = await kmsClient(['app-key', APP_ID, '--json']);
  if (run.code !== 0) throw new Error(`kms-client app-key exited ${run.code ?? 'by signal'}: ${run.stderr}`);
  return JSON.parse(run.stdout) as AppKeyJson;
}

beforeAll(async () => {
  api = await startApiServer();
  const adminConfig = new KubeConfig();
  adminConfig.loadFromFile(api.kubeconfig);
  admin = adminConfig.makeApiClient(CustomObjectsApi);
  workDir = makeTempDir('kms-ctl-node-');
  dataPath = path.join(workDir, 'data');

  // The chain: anvil, the registry, this operator allowlisted and registered at its port.
  anvil = await startAnvil();
  const port = await freePort();
  const deployed = await deployRegistry(anvil.wallet(0));
  registryAddress = deployed.address.toLowerCase();
  await setOperatorAllowed(anvil.wallet(0), deployed.address, OPERATOR.address, true);
  await registerOperator(anvil.wallet(1), {
    registryAddress: deployed.address,
    socketUrl: `http://127.0.0.1:${port}`,
    signingPublicKey: OperatorSigner.fromPrivateKey(OPERATOR.privateKey).publicKey,
  });

  // The cluster side: CRD, namespace, the Secrets the resource names, the chart's Role.
  await kubectl(['apply', '-f', path.join(ROOT, 'crds/kmsnode.yaml')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/kmsnodes.kms.eigenx.dev']);
  await kubectl(['create', 'namespace', NS]);
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRETS.operatorKey.name, namespace: NS }, stringData: { [SECRETS.operatorKey.key]: OPERATOR.privateKey } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRETS.chainRpc.name, namespace: NS }, stringData: { [SECRETS.chainRpc.key]: anvil.rpcUrl } },
    ],
  }));
  await bindRole(api, SA, await chartRoleRules(SECRETS));
  const kubeconfig = path.join(workDir, 'kubeconfig');
  await writeServiceAccountKubeconfig(api, SA, kubeconfig);
  await kubectl(['apply', '-f', '-'], kmsNodeManifest(port));

  probePort = await freePort();
  server = new NodeProcess({
    name: 'kms-server --controller',
    port,
    logFile: path.join(workDir, 'kms-server.log'),
    env: {
      KUBECONFIG: kubeconfig,
      KMS_CONTROLLER: 'true',
      KMS_KMSNODE_NAME: NAME,
      KMS_NAMESPACE: NS,
      KMS_VOLUME_MOUNT_PATH: workDir,
      KMS_PROBE_PORT: String(probePort),
      KMS_LOG_LEVEL: 'info',
      KMS_CONTROLLER_RESYNC_MS: String(CONTROLLER_RESYNC_MS),
    },
  });
  operator = { index: 1, account: OPERATOR, process: server, dataDir: dataPath };
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await server?.signal('SIGKILL').catch(() => undefined);
  await anvil?.stop();
  await api?.stop();
  if (workDir === undefined) return;
  if (process.env.KMS_KEEP_TEST_DIRS === undefined) {
    removeTempDir(workDir);
  } else {
    // The kept directory must not keep a live credential.
    await rm(path.join(workDir, 'kubeconfig'), { force: true });
    console.log(`kept ${workDir}`);
  }
}, STEP_TIMEOUT_MS);

describe('kms-server --controller runs the full node a KmsNode resource describes', () => {
  test('start: the kubeconfig holds the chart Role\'s rights only; the node starts from the resource, Ready=True, no key share yet', async () => {
    // The process's credential can do what the Role says and nothing more.
    const kubeconfig = path.join(workDir!, 'kubeconfig');
    // `auth can-i` exits 1 for "no": read its answer, not its exit code.
    const canI = async (verb: string, resource: string): Promise<string> =>
      (await run(api!.tools.kubectl, ['--kubeconfig', kubeconfig, 'auth', 'can-i', verb, resource, '-n', NS])).stdout.trim();
    expect(await canI('watch', 'kmsnodes.kms.eigenx.dev')).toBe('yes');
    expect(await canI('get', `secrets/${SECRETS.operatorKey.name}`)).toBe('yes');
    expect(await canI('list', 'secrets')).toBe('no');
    expect(await canI('update', 'kmsnodes.kms.eigenx.dev')).toBe('no');

    const started = Date.now();
    await startServer();
    const node = await until('Ready=True', async () => {
      const n = await getNode();
      return conditionOf(n, 'Ready')?.status === 'True' ? n! : undefined;
    });
    console.log(`Ready=True ${Date.now() - started} ms after kms-server was spawned`);
    expect(node.status?.phase).toBe('Running');
    expect(conditionOf(node, 'KeyShareActive')).toMatchObject({ status: 'False', reason: 'NoKeyShareYet' });
    expect(node.status?.persistence).toMatchObject({ backend: 'redis', mode: 'embedded', aofEnabled: true, fsync: 'always' });
    const h = await health(operator);
    expect(h).toMatchObject({ phase: 'running', operatorAddress: OPERATOR.address, activeVersion: null, versionCount: 0 });
    const controllerStarted = messages(operator, 'controller started; the KmsNode resource configures this node');
    expect(controllerStarted).toHaveLength(1);
    // The long resync took effect: what follows in status comes from the node's announcements.
    expect(controllerStarted[0]).toMatchObject({ resyncPeriodMs: CONTROLLER_RESYNC_MS });
  }, STEP_TIMEOUT_MS);

  test('dkg: a boundary runs the DKG; status shows KeyShareActive True and the active version; `kubectl get kmsnodes` shows it', async () => {
    const boundary = await mineToNextBoundary();
    const node = await keyShareActive(null);
    const version = node.status.keys.activeVersion;
    expect(conditionOf(node, 'KeyShareActive')?.reason).toBe('KeyShareActive');
    expect(node.status.keys).toMatchObject({ versionCount: 1, lastBoundary: boundary });
    const h = await health(operator);
    expect(h).toMatchObject({ activeVersion: version, versionCount: 1, lastProcessedBoundary: boundary });
    expect(messages(operator, 'round completed; new key version active')[0]).toMatchObject({ type: 'dkg', version, threshold: 1, participants: 1 });

    const table = await kubectl(['get', 'kmsnodes', '-n', NS]);
    console.log(`kubectl get kmsnodes -n ${NS}\n${table}`);
    const [header = '', row = ''] = table.split('\n');
    expect(header).toMatch(/^NAME\s+READY\s+PHASE\s+BACKEND\s+FSYNC\s+ACTIVE VERSION\s+HEARTBEAT\s+AGE/);
    expect(row).toMatch(new RegExp(`^${NAME}\\s+True\\s+Running\\s+redis\\s+always\\s+${version}\\s+\\d+[sm]\\s+`));
  }, STEP_TIMEOUT_MS);

  test('serve: GET /pubkey and POST /app/sign answer; the app key kms-client derives verifies against the MPK', async () => {
    const version = (await getNode())?.status?.keys?.activeVersion;
    const view = await pubkey(operator);
    expect(view).toMatchObject({ operatorAddress: OPERATOR.address, version, threshold: 1, participants: [OPERATOR.address] });
    const signed = await sign(operator, APP_ID);
    expect(signed.status).toBe(200);
    expect(signed.body).toMatchObject({ operatorAddress: OPERATOR.address, version });
    // Recovered from the node's partial signature by this test's own crypto and verified.
    const recovered = await appKey([operator], APP_ID, view.masterPublicKey, 1);

    const derived = await clientAppKey();
    expect(derived).toMatchObject({ appKey: recovered, version, threshold: 1, masterPublicKey: view.masterPublicKey, verification: { verified: true } });
    expect(verifyAppKey(g1FromHex(derived.appKey), APP_ID, g2FromHex(view.masterPublicKey))).toBe(true);
    // The check can fail: the same key does not verify for another app id.
    expect(verifyAppKey(g1FromHex(derived.appKey), `${APP_ID}-other`, g2FromHex(view.masterPublicKey))).toBe(false);
    const mpk = await kmsClient(['pubkey']);
    expect(mpk).toMatchObject({ code: 0, stdout: `${view.masterPublicKey}\n` });
    afterDkg = { version: view.version, pubkey: view, appKey: derived.appKey };
  }, STEP_TIMEOUT_MS);

  test('kill: after SIGKILL and a restart, the new process reports the same active version and MPK (the shares survived)', async () => {
    if (afterDkg === undefined) throw new Error('the serve step did not record the DKG result');
    const killed = await server!.kill();
    expect(killed.signal).toBe('SIGKILL');
    expect(await isPortListening(server!.options.port)).toBe(false);
    // Wipe the status the dead process wrote, so what comes back is the new process's own report.
    await kubectl(['patch', 'kmsnode', NAME, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: null })]);
    expect((await getNode())?.status?.keys).toBeUndefined();

    const mark = logMark(operator);
    await startServer();
    const node = await keyShareActive(null);
    expect(node.status.keys.activeVersion).toBe(afterDkg.version);
    expect(messages(operator, 'state restored', mark)[0]).toMatchObject({ versions: 1, activeVersion: afterDkg.version });
    expect(await pubkey(operator)).toEqual(afterDkg.pubkey);
    expect((await clientAppKey()).appKey).toBe(afterDkg.appKey);
  }, STEP_TIMEOUT_MS);

  test('reshare: the restored share deals the next round; a new version with the same MPK and app key', async () => {
    if (afterDkg === undefined) throw new Error('the serve step did not record the DKG result');
    const mark = logMark(operator);
    const boundary = await mineToNextBoundary();
    const node = await keyShareActive(afterDkg.version);
    const version = node.status.keys.activeVersion;
    expect(node.status.keys).toMatchObject({ versionCount: 2, lastBoundary: boundary });
    expect(messages(operator, 'round completed; new key version active', mark)[0]).toMatchObject({ type: 'reshare', version });
    const view = await pubkey(operator);
    expect(view.version).toBe(version);
    expect(view.masterPublicKey).toBe(afterDkg.pubkey.masterPublicKey);
    expect(await clientAppKey()).toMatchObject({ appKey: afterDkg.appKey, version });
  }, STEP_TIMEOUT_MS);

  test('probes: unhealthy persistence makes the pod unready, never dead; the controller heals it', async () => {
    const probe = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`http://127.0.0.1:${probePort}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const pid = server!.pid;
    expect(await probe('/startupz')).toMatchObject({ status: 200, body: { status: 'started', phase: 'running' } });
    expect(await probe('/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await probe('/health')).toMatchObject({ status: 200, body: { status: 'ok', phase: 'running', persistenceHealthy: true } });

    // What a disk problem looks like to the node: Redis stops logging writes.
    const socket = socketPathFor(dataPath);
    expect(await sendCommand({ path: socket }, ['CONFIG', 'SET', 'appendonly', 'no'])).toMatchObject({ value: 'OK' });
    // The kubelet's readiness probe: unready, with the reason.
    const unready = await probe('/health');
    console.log(`readiness with appendonly no: ${unready.status} ${JSON.stringify(unready.body)}`);
    expect(unready).toMatchObject({ status: 503, body: { status: 'unhealthy', persistenceHealthy: false } });
    // The liveness probe: alive, so the kubelet never restarts the pod over it.
    expect(await probe('/livez')).toMatchObject({ status: 200, body: { status: 'alive' } });
    const reported = await until('PersistenceHealthy=False AofDisabled', async () => {
      const c = conditionOf(await getNode(), 'PersistenceHealthy');
      return c?.status === 'False' ? c : undefined;
    });
    expect(reported.reason).toBe('AofDisabled');
    // Healed by the controller, not by a restart: the same process, ready again.
    await until('readiness 200 again', async () => ((await probe('/health')).status === 200 ? true : undefined));
    await until('PersistenceHealthy=True', async () => (conditionOf(await getNode(), 'PersistenceHealthy')?.status === 'True' ? true : undefined));
    expect(await sendCommand({ path: socket }, ['CONFIG', 'GET', 'appendonly'])).toMatchObject({ kind: 'array' });
    expect(server!.pid).toBe(pid);
    expect(server!.isRunning()).toBe(true);
    expect(await probe('/livez')).toMatchObject({ status: 200 });
  }, STEP_TIMEOUT_MS);

  test('delete: the node stops and the process stays up; a re-created resource starts it again on the same data; SIGTERM exits 0', async () => {
    if (afterDkg === undefined) throw new Error('the serve step did not record the DKG result');
    const port = server!.options.port;
    const activeBefore = (await health(operator)).activeVersion;
    const mark = logMark(operator);
    await kubectl(['delete', 'kmsnode', NAME, '-n', NS, '--wait=true']);
    await until("the node's 'node stopped' log line", () => Promise.resolve(messages(operator, 'node stopped', mark).length > 0 ? true : undefined));
    expect(messages(operator, 'KmsNode deleted: stopping the node', mark)).toHaveLength(1);
    expect(await isPortListening(port)).toBe(false);
    // The controller keeps watching: the process does not exit on a deleted resource.
    expect(server!.isRunning()).toBe(true);
    const files = await readdir(dataPath, { recursive: true });
    expect(files.some((f) => f.startsWith('appendonlydir') && f.endsWith('.aof'))).toBe(true);

    await kubectl(['apply', '-f', '-'], kmsNodeManifest(port));
    const node = await keyShareActive(null);
    expect(node.status.keys.activeVersion).toBe(activeBefore);
    expect((await pubkey(operator)).masterPublicKey).toBe(afterDkg.pubkey.masterPublicKey);

    const exit = await server!.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await isPortListening(port)).toBe(false);
    // Written before the node stopped: the status does not claim a dead node is Ready.
    const stopped = await getNode();
    console.log(`after SIGTERM: phase ${String(stopped?.status?.phase)}, Ready ${JSON.stringify(conditionOf(stopped, 'Ready'))}`);
    expect(stopped?.status?.phase).toBe('Stopping');
    expect(conditionOf(stopped, 'Ready')).toMatchObject({ status: 'False', reason: 'Stopping' });
    const lines = logLines(operator);
    const beforeNodeStopped = lines.findIndex((m) => m.msg === 'status: Ready=False (Stopping)');
    const nodeStopped = lines.findLastIndex((m) => m.msg === 'node stopped');
    expect(beforeNodeStopped).toBeGreaterThanOrEqual(0);
    expect(beforeNodeStopped).toBeLessThan(nodeStopped);
  }, STEP_TIMEOUT_MS);
});
