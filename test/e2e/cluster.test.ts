/**
 * The chart's pods on a real single-node cluster (test/e2e/cluster/start-cluster.sh): the image
 * built by `make image`, four releases in four namespaces (one per operator, each with its own
 * Secrets), their volumes on ext4-fscrypt encrypted local PVs through `storage.existingClass`.
 * anvil (with the OperatorRegistry) runs on the host at the node's bridge address; each operator
 * registers its Service's ClusterIP. The test mines every boundary, so each round happens when a
 * step asks. The chart is used as users get it: only values differ.
 *
 * In order:
 *   ready     — four pods Ready (startup, readiness, liveness probes on a read-only root)
 *   dkg       — a boundary: all four KmsNodes Ready with one active version (`kubectl get kmsnodes -A`)
 *   client    — kms-client on the host, against the Service addresses: app key, encrypt, decrypt
 *   restore   — `kubectl delete pod`: recreated, same MPK and versions from its PVC, Ready again
 *   reshare   — the next boundary: a reshare that includes the restored node
 *   helm test — the chart's test pod passes in every release
 *   upgrade   — `helm upgrade` to appendfsync everysec shows in the KmsNode status
 *   uninstall — the PVC and its data stay; with the volume's key removed its files (the AOF
 *               included) are unreadable and the disk holds none of their plaintext
 *   teardown  — the host is as it was before the cluster started
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployRegistry, registerOperator, setOperatorAllowed } from '../../src/chain/deploy.js';
import { cliEntry } from '../../src/devnet/cliEntry.js';
import { devAccount } from '../../src/devnet/devAccounts.js';
import { OperatorSigner } from '../../src/transport/signer.js';
import { startAnvil, type AnvilHandle } from '../harness/anvil.js';
import { waitFor } from '../integration/node/cluster.js';
import { ok, run, startCluster, TOOL_BUILD_TIMEOUT_MS, type Cluster } from './harness/cluster.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHART = path.join(ROOT, 'charts/kms-node');
const OPERATORS = [1, 2, 3, 4].map((index) => ({
  index,
  account: devAccount(index),
  namespace: `operator-${index}`,
  release: `kms-node-${index}`,
  pod: `kms-node-${index}-0`,
  pvc: `data-kms-node-${index}-0`,
}));
type Operator = (typeof OPERATORS)[number];
const PORT = 8000;
/** The anvil chain id's default (src/chain/chainDefaults.ts). */
const BOUNDARY_INTERVAL = 10;
const APP_ID = 'cluster-e2e-app';
/** Generous: pods start, restore and run rounds on a shared 2-core machine. */
const STEP_TIMEOUT_MS = 600_000;

let cluster: Cluster | undefined;
let anvil: AnvilHandle | undefined;
let registryAddress = '';
let work = '';
const serviceIps = new Map<number, string>();
/** What the network agreed after the DKG, compared after the restore and the reshare. */
let afterDkg: { version: number; masterPublicKey: string; appKey: string } | undefined;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not set up (an earlier step failed)`);
  return value;
}

async function kubectl(args: readonly string[], input?: string): Promise<string> {
  const c = need(cluster, 'the cluster');
  return ok(await c.kubectl(args, { timeoutMs: 180_000, ...(input === undefined ? {} : { input }) }), `kubectl ${args.join(' ')}`);
}

async function helm(args: readonly string[]): Promise<string> {
  const c = need(cluster, 'the cluster');
  return ok(await c.helm(args, { timeoutMs: STEP_TIMEOUT_MS }), `helm ${args.join(' ')}`);
}

interface KmsNodeView {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly { type: string; status: string; reason?: string; message?: string }[];
    readonly persistence?: { readonly fsync?: string; readonly mode?: string };
    readonly keys?: { readonly activeVersion?: number; readonly versionCount?: number };
  };
}

async function kmsNodes(): Promise<KmsNodeView[]> {
  return (JSON.parse(await kubectl(['get', 'kmsnodes', '-A', '-o', 'json'])) as { items: KmsNodeView[] }).items;
}

const condition = (node: KmsNodeView, type: string): string | undefined => node.status?.conditions?.find((c) => c.type === type)?.status;

/** Pod states, KmsNode statuses and each pod's last log lines: what a failed wait reports. */
async function diagnostics(): Promise<string> {
  const c = cluster;
  if (c === undefined) return '';
  const pods = await c.kubectl(['get', 'pods,pvc,kmsnodes', '-A', '-o', 'wide']);
  const logs = await Promise.all(
    OPERATORS.map(async (o) => `--- ${o.pod}:\n${(await c.kubectl(['logs', o.pod, '-n', o.namespace, '--tail=8'])).stdout.slice(-3000)}`),
  );
  const events = await c.kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  return `${pods.stdout}${pods.stderr}\n${logs.join('\n')}\n--- events:\n${events.stdout.split('\n').slice(-25).join('\n')}`;
}

/** Polls `check` until it returns a value; on the deadline fails with the cluster's state. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  try {
    return await waitFor(what, check, timeoutMs, 1000);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnostics()}`, { cause: error });
  }
}

/** The four KmsNodes once each is Ready with KeyShareActive and one common active version (newer than `after`). */
function agreedVersion(after: number | null, operators: readonly Operator[] = OPERATORS): Promise<number> {
  return until(`${operators.length} KmsNodes Ready with one active version${after === null ? '' : ` newer than ${after}`}`, async () => {
    const nodes = (await kmsNodes()).filter((n) => operators.some((o) => o.namespace === n.metadata.namespace));
    if (nodes.length !== operators.length) return undefined;
    const versions = new Set(nodes.map((n) => n.status?.keys?.activeVersion));
    const [version] = [...versions];
    const ready = nodes.every((n) => condition(n, 'Ready') === 'True' && condition(n, 'KeyShareActive') === 'True');
    return ready && versions.size === 1 && typeof version === 'number' && (after === null || version > after) ? version : undefined;
  });
}

async function mineToNextBoundary(): Promise<number> {
  const chain = need(anvil, 'anvil');
  const head = Number(await chain.blockNumber());
  const boundary = (Math.floor(head / BOUNDARY_INTERVAL) + 1) * BOUNDARY_INTERVAL;
  await chain.mine(boundary - head, 0);
  return boundary;
}

/** kms-client on the host against the pods' Service addresses, as an app outside the pods runs it. */
async function kmsClient(args: readonly string[]): Promise<string> {
  const nodes = OPERATORS.map((o) => `http://${need(serviceIps.get(o.index), `the Service address of ${o.release}`)}:${PORT}`).join(',');
  const entry = cliEntry('kms-client');
  const result = await run(entry.command, [...entry.args, '--nodes', nodes, ...args], { timeoutMs: 120_000 });
  return ok(result, `kms-client ${args.join(' ')}`);
}

interface AppKeyJson {
  readonly appKey: string;
  readonly version: number;
  readonly masterPublicKey: string;
  readonly verification: { readonly verified: boolean };
}
const appKey = async (): Promise<AppKeyJson> => JSON.parse(await kmsClient(['app-key', APP_ID, '--json'])) as AppKeyJson;

function valuesFor(o: Operator): string {
  const c = need(cluster, 'the cluster');
  const [repository, tag] = c.image.split(':');
  return JSON.stringify({
    image: { repository, tag, pullPolicy: 'Never' },
    // One release owns the CRD (values.yaml: set false in every other release).
    crd: { install: o.index === 1 },
    node: {
      operator: { address: o.account.address, keySecretRef: { name: 'operator-key', key: 'operator-key' } },
      chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'rpc-url' }, chainId: 31337, registryAddress },
    },
    storage: { existingClass: { name: c.storageClass, encrypted: true } },
    probes: { periodSeconds: 3 },
  });
}

/** The PV bound to an operator's claim, and its directory on the encrypted filesystem. */
async function volumeOf(o: Operator): Promise<{ pv: string; dir: string }> {
  const pv = (await kubectl(['get', 'pvc', o.pvc, '-n', o.namespace, '-o', 'jsonpath={.spec.volumeName}'])).trim();
  const dir = (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.local.path}'])).trim();
  return { pv, dir };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(path.join(dir, f)).isFile());
}

beforeAll(async () => {
  cluster = await startCluster();
  work = mkdtempSync(path.join(tmpdir(), 'kms-cluster-e2e-'));
  // The chain listens on the node's bridge address: the pods reach it, nothing off the machine does.
  anvil = await startAnvil({ host: cluster.nodeIp });
  const deployed = await deployRegistry(anvil.wallet(0));
  registryAddress = deployed.address.toLowerCase();
  for (const o of OPERATORS) {
    await setOperatorAllowed(anvil.wallet(0), deployed.address, o.account.address, true);
    await kubectl(['create', 'namespace', o.namespace]);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'operator-key', namespace: o.namespace }, stringData: { 'operator-key': o.account.privateKey } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chain-rpc', namespace: o.namespace }, stringData: { 'rpc-url': anvil.rpcUrl } },
      ],
    }));
    const values = path.join(work, `${o.release}.json`);
    writeFileSync(values, valuesFor(o));
    await helm(['install', o.release, CHART, '-n', o.namespace, '-f', values]);
    const ip = (await kubectl(['get', 'service', o.release, '-n', o.namespace, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    serviceIps.set(o.index, ip);
    // Peers and clients find the node at its Service address, as the registry lists it.
    await registerOperator(anvil.wallet(o.index), {
      registryAddress: deployed.address,
      socketUrl: `http://${ip}:${PORT}`,
      signingPublicKey: OperatorSigner.fromPrivateKey(o.account.privateKey).publicKey,
    });
  }
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await anvil?.stop();
  const stopped = await cluster?.stop();
  if (stopped !== undefined && !stopped.restored) console.error(`cluster teardown:\n${stopped.output}`);
  if (work !== '') rmSync(work, { recursive: true, force: true });
}, STEP_TIMEOUT_MS);

describe('the chart on a real single-node cluster with encrypted volumes', () => {
  test('ready: all four pods start on their encrypted volumes and become Ready', async () => {
    for (const o of OPERATORS) {
      await until(`${o.pod} Ready`, async () => {
        const ready = await kubectl(['get', 'pod', o.pod, '-n', o.namespace, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return ready.trim() === 'True' ? true : undefined;
      });
      const pvc = JSON.parse(await kubectl(['get', 'pvc', o.pvc, '-n', o.namespace, '-o', 'json'])) as { spec: { storageClassName: string }; status: { phase: string } };
      expect(pvc).toMatchObject({ spec: { storageClassName: need(cluster, 'cluster').storageClass }, status: { phase: 'Bound' } });
    }
    const nodes = await kmsNodes();
    expect(nodes).toHaveLength(4);
    for (const n of nodes) expect(n.status?.persistence).toMatchObject({ mode: 'embedded', fsync: 'always' });
  }, STEP_TIMEOUT_MS);

  test('dkg: a boundary runs the DKG; `kubectl get kmsnodes -A` shows all four Ready with one active version', async () => {
    await mineToNextBoundary();
    const version = await agreedVersion(null);
    const table = await kubectl(['get', 'kmsnodes', '-A']);
    console.log(`kubectl get kmsnodes -A\n${table}`);
    const rows = table.trim().split('\n').slice(1);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(new RegExp(`^operator-\\d\\s+kms-node-\\d\\s+True\\s+Running\\s+redis\\s+always\\s+${version}\\s`));
  }, STEP_TIMEOUT_MS);

  test('client: kms-client on the host, against the Service addresses, derives an app key and decrypts', async () => {
    const key = await appKey();
    expect(key.verification.verified).toBe(true);
    const mpk = (await kmsClient(['pubkey'])).trim();
    expect(key.masterPublicKey).toBe(mpk);
    const plaintext = path.join(work, 'plain.txt');
    const sealed = path.join(work, 'sealed.bin');
    const opened = path.join(work, 'opened.txt');
    writeFileSync(plaintext, 'a secret only the app can read');
    await kmsClient(['encrypt', APP_ID, '--in', plaintext, '--out', sealed]);
    expect(readFileSync(sealed).includes('a secret only')).toBe(false);
    await kmsClient(['decrypt', APP_ID, '--in', sealed, '--out', opened]);
    expect(readFileSync(opened, 'utf8')).toBe('a secret only the app can read');
    afterDkg = { version: key.version, masterPublicKey: mpk, appKey: key.appKey };
  }, STEP_TIMEOUT_MS);

  test('restore: a deleted pod is recreated, restores the same MPK and versions from its PVC, and is Ready again', async () => {
    const before = need(afterDkg, 'the DKG result');
    const o = OPERATORS[1]!;
    const oldUid = (await kubectl(['get', 'pod', o.pod, '-n', o.namespace, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const statusBefore = (await kmsNodes()).find((n) => n.metadata.namespace === o.namespace)?.status?.keys;
    await kubectl(['delete', 'pod', o.pod, '-n', o.namespace, '--wait=true']);
    await until(`${o.pod} recreated and Ready`, async () => {
      const pod = JSON.parse(await kubectl(['get', 'pod', o.pod, '-n', o.namespace, '-o', 'json'])) as {
        metadata: { uid: string };
        status: { conditions?: { type: string; status: string }[] };
      };
      const ready = pod.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return pod.metadata.uid !== oldUid && ready ? true : undefined;
    });
    const logs = await kubectl(['logs', o.pod, '-n', o.namespace]);
    const restored = logs.split('\n').filter((l) => l.includes('"state restored"')).map((l) => JSON.parse(l) as { versions: number; activeVersion: number });
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ versions: statusBefore?.versionCount, activeVersion: before.version });
    expect(await agreedVersion(null)).toBe(before.version);
    expect((await appKey()).masterPublicKey).toBe(before.masterPublicKey);
  }, STEP_TIMEOUT_MS);

  test('reshare: the next boundary reshares among all four, the restored node included; same MPK and app key', async () => {
    const before = need(afterDkg, 'the DKG result');
    await mineToNextBoundary();
    const version = await agreedVersion(before.version);
    const o = OPERATORS[1]!;
    const logs = await kubectl(['logs', o.pod, '-n', o.namespace]);
    const completed = logs.split('\n').filter((l) => l.includes('"round completed; new key version active"')).map((l) => JSON.parse(l) as { type: string; version: number; participants: number });
    expect(completed.at(-1)).toMatchObject({ type: 'reshare', version, participants: 4 });
    const key = await appKey();
    expect(key).toMatchObject({ version, masterPublicKey: before.masterPublicKey, appKey: before.appKey });
  }, STEP_TIMEOUT_MS);

  test('helm test: the chart\'s test pod passes in every release', async () => {
    for (const o of OPERATORS) {
      // The hook deletes a test pod that succeeded, so its log is gone; helm exits 1 on a failed one.
      const out = await helm(['test', o.release, '-n', o.namespace, '--timeout', '5m']);
      expect(out).toMatch(new RegExp(`TEST SUITE:\\s+${o.release}-test\\s[\\s\\S]*Phase:\\s+Succeeded`));
    }
  }, STEP_TIMEOUT_MS);

  test('upgrade: `helm upgrade` to appendfsync everysec shows up in the KmsNode status', async () => {
    const o = OPERATORS[2]!;
    await helm(['upgrade', o.release, CHART, '-n', o.namespace, '--reuse-values', '--set', 'node.persistence.redis.appendfsync=everysec']);
    await kubectl(['rollout', 'status', `statefulset/${o.release}`, '-n', o.namespace, '--timeout=300s']);
    await until(`${o.release}'s KmsNode reporting fsync everysec`, async () => {
      const node = (await kmsNodes()).find((n) => n.metadata.namespace === o.namespace);
      return node?.status?.persistence?.fsync === 'everysec' && condition(node, 'Ready') === 'True' ? true : undefined;
    });
    const table = await kubectl(['get', 'kmsnodes', '-n', o.namespace]);
    expect(table.split('\n')[1]).toMatch(/\sTrue\s+Running\s+redis\s+everysec\s/);
  }, STEP_TIMEOUT_MS);

  test('uninstall: the PVC and its data stay; with the key removed the files, AOF included, are unreadable and hold no plaintext', async () => {
    const c = need(cluster, 'the cluster');
    const o = OPERATORS[3]!;
    const wide = await kubectl(['get', 'pods,pvc,kmsnodes', '-A', '-o', 'wide']);
    console.log(`kubectl get pods,pvc,kmsnodes -A -o wide\n${wide}`);
    mkdirSync(path.join(ROOT, '.test-results'), { recursive: true });
    writeFileSync(path.join(ROOT, '.test-results', 'cluster-get-wide.txt'), wide);
    const { pv, dir } = await volumeOf(o);
    await helm(['uninstall', o.release, '-n', o.namespace, '--wait', '--timeout', '5m']);
    await until(`${o.pod} gone`, async () => ((await c.kubectl(['get', 'pod', o.pod, '-n', o.namespace])).code !== 0 ? true : undefined));
    const pvc = JSON.parse(await kubectl(['get', 'pvc', o.pvc, '-n', o.namespace, '-o', 'json'])) as { status: { phase: string } };
    expect(pvc.status.phase).toBe('Bound');

    // With the key: the data directory and the AOF, in plaintext.
    const files = filesUnder(dir);
    const aof = files.filter((f) => /appendonlydir\/.*\.aof$/.test(f));
    expect(aof.length).toBeGreaterThan(0);
    const aofText = aof.map((f) => readFileSync(path.join(dir, f), 'latin1')).join('');
    // Key names the node wrote are plaintext in the AOF: they are what the disk must not show.
    const markers = [...new Set(aofText.match(/kms:[\w:.-]{6,}/g) ?? [])].slice(0, 5);
    expect(markers.length).toBeGreaterThan(0);

    const locked = await c.volumes('lock', pv);
    expect(locked.code).toBe(0);
    try {
      const names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => /data|appendonly|\.aof|\.rdb/.test(n))).toEqual([]);
      const someFile = names.map((n) => path.join(dir, n)).find((p) => statSync(p).isFile());
      // ENOKEY ("Required key not available", errno 126): Node has no name for it.
      let readError: NodeJS.ErrnoException | undefined;
      try {
        readFileSync(someFile!);
      } catch (error) {
        readError = error as NodeJS.ErrnoException;
      }
      expect(readError?.errno).toBe(-126);
      // The raw filesystem image: none of the markers appears anywhere on the disk.
      const image = path.join(c.stateDir, 'volumes.img');
      const found = await run('grep', ['-a', '-o', '-F', ...markers.flatMap((m) => ['-e', m]), image], { timeoutMs: 300_000 });
      // grep exits 1 when nothing matched, 0 with the matches, 2 on an error.
      expect({ code: found.code, matches: found.stdout }).toEqual({ code: 1, matches: '' });
    } finally {
      expect((await c.volumes('unlock', pv)).code).toBe(0);
    }
    // The key back: the same files, readable again.
    expect(filesUnder(dir)).toEqual(files);
  }, STEP_TIMEOUT_MS);

  test('teardown: the cluster stops and the host is as it was (processes, bridge, iptables, sysctls, cgroups, mounts)', async () => {
    await anvil?.stop();
    const stopped = await need(cluster, 'the cluster').stop();
    console.log(`cluster teardown:\n${stopped.output}`);
    expect(stopped.restored).toBe(true);
  }, STEP_TIMEOUT_MS);
});
