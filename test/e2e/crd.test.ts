/**
 * The KmsNode CRD on a real kube-apiserver: schema defaults, printer columns, `kubectl
 * explain`, schema/CEL rejections with their messages, the status subresource, and the
 * RBAC the controller will run with (as a ServiceAccount, by impersonation and by token).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, startApiServer, TOOL_BUILD_TIMEOUT_MS } from './harness/apiServer.js';
import type { ApiServer, CommandResult } from './harness/apiServer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CRD_FILE = path.join(ROOT, 'crds/kmsnode.yaml');
const NS = 'kms-e2e';
const OPERATOR = '0x1111111111111111111111111111111111111111';
const REGISTRY = '0x2222222222222222222222222222222222222222';

/** kubectl round trips against a loaded 2-core machine. */
const STEP_TIMEOUT_MS = 60_000;
let api: ApiServer;
/** Set only once startup succeeded, so afterAll knows whether there is anything to stop. */
let started: ApiServer | undefined;

interface KmsNodeSpec {
  operator: { address: string; keySecretRef: { name: string; key: string } };
  chain: { rpcUrlSecretRef: { name: string; key: string }; chainId: number; registryAddress: string };
  persistence: Record<string, unknown>;
  server?: Record<string, unknown>;
  [extra: string]: unknown;
}

function kmsNode(name: string, persistence: Record<string, unknown>, extra: Partial<KmsNodeSpec> = {}): string {
  const spec: KmsNodeSpec = {
    operator: { address: OPERATOR, keySecretRef: { name: 'operator-key', key: 'key' } },
    chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'url' }, chainId: 17000, registryAddress: REGISTRY },
    persistence,
    ...extra,
  };
  return JSON.stringify({ apiVersion: 'kms.eigenx.dev/v1alpha1', kind: 'KmsNode', metadata: { name, namespace: NS }, spec });
}

const embedded = { type: 'redis', dataPath: '/var/lib/kms/data', redis: { mode: 'embedded' } };

function create(manifest: string): Promise<CommandResult> {
  return api.kubectl(['create', '-f', '-'], { input: manifest });
}

/** Expects the API server to refuse, and returns its message. */
async function refused(manifest: string): Promise<string> {
  const result = await create(manifest);
  expect(result.code).not.toBe(0);
  return result.stderr;
}

async function getJson(args: readonly string[]): Promise<Record<string, unknown>> {
  return JSON.parse(ok(await api.kubectl(['get', ...args, '-o', 'json']), `kubectl get ${args.join(' ')}`)) as Record<string, unknown>;
}

/** The published OpenAPI lags CRD establishment by a moment; explain retries until it is there. */
async function explain(field: string): Promise<string> {
  let last: CommandResult | undefined;
  for (let attempt = 0; attempt < 60; attempt++) {
    last = await api.kubectl(['explain', field]);
    if (last.code === 0) return last.stdout;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`kubectl explain ${field} kept failing: ${last?.stderr ?? ''}`);
}

/** Splits kubectl's table output into cells by the header's column positions. */
function parseTable(text: string): { columns: string[]; rows: Record<string, string>[] } {
  const [header = '', ...lines] = text.replace(/\n$/, '').split('\n');
  const starts = [...header.matchAll(/\S+( \S+)*/g)].map((m) => ({ name: m[0], at: m.index }));
  const rows = lines.map((line) =>
    Object.fromEntries(starts.map((col, i) => [col.name, line.slice(col.at, starts[i + 1]?.at ?? line.length).trim()])),
  );
  return { columns: starts.map((c) => c.name), rows };
}

beforeAll(async () => {
  api = await startApiServer();
  started = api;
  ok(await api.kubectl(['apply', '-f', CRD_FILE]), 'kubectl apply crd');
  ok(await api.kubectl(['wait', '--for=condition=Established', 'crd/kmsnodes.kms.eigenx.dev', '--timeout=60s']), 'kubectl wait crd');
  ok(await api.kubectl(['create', 'namespace', NS]), 'kubectl create namespace');
}, TOOL_BUILD_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await started?.stop();
}, 60_000);

describe('KmsNode CRD on kube-apiserver', () => {
  test('accepts a valid KmsNode and fills the schema defaults', async () => {
    ok(await create(kmsNode('node-a', embedded)), 'create node-a');
    const node = await getJson(['kmsnode', 'node-a', '-n', NS]);
    const spec = node['spec'] as { persistence: { redis: Record<string, unknown> }; server: Record<string, unknown> };
    expect(spec.persistence.redis).toEqual({ mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' });
    expect(spec.server).toEqual({ port: 8000 });
  }, STEP_TIMEOUT_MS);

  test('accepts memory persistence and external redis with a URL secret', async () => {
    ok(await create(kmsNode('node-mem', { type: 'memory' })), 'create node-mem');
    ok(
      await create(
        kmsNode('node-ext', {
          type: 'redis',
          redis: { mode: 'external', urlSecretRef: { name: 'redis', key: 'url' }, appendfsync: 'everysec', keyPrefix: 'kms:node-ext:' },
          encryptionKeySecretRef: { name: 'seal', key: 'key' },
        }),
      ),
      'create node-ext',
    );
  }, STEP_TIMEOUT_MS);

  test('status subresource takes a merge-patch and kubectl get shows the printer columns', async () => {
    const status = {
      status: {
        observedGeneration: 1,
        phase: 'Running',
        phaseMessage: 'serving',
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Serving', message: 'all checks pass', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
          { type: 'PersistenceHealthy', status: 'True', reason: 'AofOk', message: 'aof ok', lastTransitionTime: '2026-01-01T00:00:00Z' },
        ],
        persistence: { backend: 'redis', mode: 'embedded', aofEnabled: true, fsync: 'always', lastWriteStatus: 'ok', aofSizeBytes: 4096 },
        dataPath: { path: '/var/lib/kms/data', exists: true, mode: '0700', ownerUid: 10001, writable: true, freeBytes: 1048576 },
        keys: { activeVersion: 1700000000, versionCount: 2, lastBoundary: 1234 },
        lastHeartbeatTime: new Date(Date.now() - 3 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    ok(
      await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]),
      'patch status',
    );
    const node = await getJson(['kmsnode', 'node-a', '-n', NS]);
    expect(node['status']).toEqual(status.status);

    const table = parseTable(ok(await api.kubectl(['get', 'kmsnodes', '-n', NS]), 'get kmsnodes'));
    expect(table.columns).toEqual(['NAME', 'READY', 'PHASE', 'BACKEND', 'FSYNC', 'ACTIVE VERSION', 'HEARTBEAT', 'AGE']);
    const rowA = table.rows.find((row) => row['NAME'] === 'node-a');
    // A heartbeat three minutes old reads as such: a stale reporter is visible at a glance.
    expect(rowA).toMatchObject({ READY: 'True', PHASE: 'Running', BACKEND: 'redis', FSYNC: 'always', 'ACTIVE VERSION': '1700000000', HEARTBEAT: expect.stringMatching(/^3m\d*s?$/) as unknown });
    // No status yet: the status columns are empty, the spec column is filled.
    const rowMem = table.rows.find((row) => row['NAME'] === 'node-mem');
    expect(rowMem).toMatchObject({ READY: '', PHASE: '', BACKEND: 'memory', FSYNC: '', 'ACTIVE VERSION': '', HEARTBEAT: '' });

    const wide = ok(await api.kubectl(['get', 'kmsnode', 'node-a', '-n', NS, '-o', 'wide']), 'get -o wide');
    expect(wide.split('\n')[0]).toMatch(/\bMESSAGE$/);
    expect(wide).toContain('all checks pass');
  }, STEP_TIMEOUT_MS);

  test('a status patch cannot change the spec, and a spec update keeps the status', async () => {
    ok(
      await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--subresource=status', '--type=merge', '-p', '{"spec":{"persistence":{"redis":{"appendfsync":"everysec"}}}}']),
      'patch spec through status',
    );
    ok(await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--type=merge', '-p', '{"spec":{"persistence":{"redis":{"keyPrefix":"kms2:"}}},"status":{"phase":"Degraded"}}']), 'patch spec');
    const node = await getJson(['kmsnode', 'node-a', '-n', NS]);
    expect((node['spec'] as { persistence: { redis: { keyPrefix: string; appendfsync: string } } }).persistence.redis).toMatchObject({ keyPrefix: 'kms2:', appendfsync: 'always' });
    expect((node['status'] as { phase: string }).phase).toBe('Running');
    expect((node['metadata'] as { generation: number }).generation).toBe(2);
  }, STEP_TIMEOUT_MS);

  test('refuses status values outside the schema', async () => {
    const result = await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Sleeping"}}']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('status.phase: Unsupported value: "Sleeping"');
  }, STEP_TIMEOUT_MS);

  test('kubectl explain prints the field descriptions', async () => {
    const persistence = await explain('kmsnode.spec.persistence');
    expect(persistence).toContain('KIND:       KmsNode');
    expect(persistence).toContain('Where the node keeps its key shares');
    expect(persistence).toMatch(/type\s+<string> -required-/);
    expect(persistence).toContain('enum: memory, redis');
    expect(persistence).toMatch(/dataPath\s+<string>/);
    const fsync = await explain('kmsnode.spec.persistence.redis.appendfsync');
    expect(fsync).toContain('always (default) fsyncs every write');
    const conditions = await explain('kmsnode.status.conditions');
    expect(conditions).toContain('KeyShareActive');
  }, STEP_TIMEOUT_MS);

  test('refuses a relative dataPath with the CEL message', async () => {
    const message = await refused(kmsNode('bad-path', { ...embedded, dataPath: 'data/kms' }));
    expect(message).toContain('spec.persistence.dataPath');
    expect(message).toContain('persistence.dataPath must be an absolute path (start with /)');
  }, STEP_TIMEOUT_MS);

  test('refuses a dataPath with .. segments', async () => {
    const message = await refused(kmsNode('bad-dots', { ...embedded, dataPath: '/var/lib/../etc' }));
    expect(message).toContain("persistence.dataPath must not contain '..' segments");
  }, STEP_TIMEOUT_MS);

  test('refuses values outside an enum', async () => {
    expect(await refused(kmsNode('bad-type', { type: 'badger' }))).toContain('spec.persistence.type: Unsupported value: "badger"');
    expect(await refused(kmsNode('bad-fsync', { ...embedded, redis: { appendfsync: 'no' } }))).toContain(
      'spec.persistence.redis.appendfsync: Unsupported value: "no"',
    );
  }, STEP_TIMEOUT_MS);

  test('refuses an operator address that is not 0x + 40 hex', async () => {
    const manifest = kmsNode('bad-addr', embedded, {
      operator: { address: '0x1234', keySecretRef: { name: 'operator-key', key: 'key' } },
    });
    expect(await refused(manifest)).toContain('spec.operator.address: Invalid value: "0x1234"');
  }, STEP_TIMEOUT_MS);

  test('refuses cross-field mistakes with the CEL messages', async () => {
    expect(await refused(kmsNode('bad-ext', { type: 'redis', redis: { mode: 'external' } }))).toContain(
      'persistence.redis.urlSecretRef is required when persistence.redis.mode is external',
    );
    expect(await refused(kmsNode('bad-mem', { type: 'memory', redis: { mode: 'embedded' } }))).toContain(
      'persistence.redis applies only when persistence.type is redis',
    );
    expect(await refused(kmsNode('bad-nodir', { type: 'redis' }))).toContain(
      'persistence.dataPath is required for redis in embedded mode',
    );
  }, STEP_TIMEOUT_MS);

  test('refuses an unknown field', async () => {
    const message = await refused(kmsNode('bad-field', { ...embedded, bogus: true }));
    expect(message).toContain('unknown field "spec.persistence.bogus"');
  }, STEP_TIMEOUT_MS);

  test('refuses a missing required field', async () => {
    const manifest = JSON.parse(kmsNode('bad-missing', embedded)) as { spec: Record<string, unknown> };
    delete manifest.spec['chain'];
    expect(await refused(JSON.stringify(manifest))).toContain('spec.chain: Required value');
  }, STEP_TIMEOUT_MS);

  test('refuses moving or removing dataPath, and changing the port, after creation', async () => {
    const moved = await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { persistence: { dataPath: '/tmp' } } })]);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('persistence.dataPath is immutable once set');
    const removed = await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/persistence/dataPath' }])]);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toMatch(/persistence.dataPath (cannot be removed once set|is required)/);
    const port = await api.kubectl(['patch', 'kmsnode', 'node-a', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { server: { port: 9000 } } })]);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain('server.port is immutable');
    const node = await getJson(['kmsnode', 'node-a', '-n', NS]);
    expect(node['spec']).toMatchObject({ persistence: { dataPath: expect.any(String) as unknown }, server: { port: 8000 } });
  }, STEP_TIMEOUT_MS);

  test('refuses changing persistence.type after creation', async () => {
    const result = await api.kubectl(['patch', 'kmsnode', 'node-mem', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { persistence: embedded } })]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('persistence.type is immutable once set');
    const node = await getJson(['kmsnode', 'node-mem', '-n', NS]);
    expect((node['spec'] as { persistence: { type: string } }).persistence.type).toBe('memory');
  }, STEP_TIMEOUT_MS);

  test('a ServiceAccount with the controller role reads KmsNodes and patches status only', async () => {
    const account = { namespace: NS, name: 'kms-controller' };
    ok(await api.kubectl(['create', 'serviceaccount', account.name, '-n', NS]), 'create sa');
    ok(
      await api.kubectl(['create', 'role', 'kms-controller', '-n', NS, '--verb=get,list,watch', '--resource=kmsnodes.kms.eigenx.dev']),
      'create role',
    );
    const role = await getJson(['role', 'kms-controller', '-n', NS]);
    const rules = role['rules'] as Record<string, unknown>[];
    rules.push({ apiGroups: ['kms.eigenx.dev'], resources: ['kmsnodes/status'], verbs: ['patch'] });
    ok(await api.kubectl(['apply', '-f', '-'], { input: JSON.stringify(role) }), 'extend role');
    ok(await api.kubectl(['create', 'rolebinding', 'kms-controller', '-n', NS, '--role=kms-controller', `--serviceaccount=${NS}:${account.name}`]), 'bind');

    const canI = async (...args: string[]): Promise<string> => (await api.kubectl(['auth', 'can-i', ...args, '-n', NS], { as: account })).stdout.trim();
    expect(await canI('list', 'kmsnodes.kms.eigenx.dev')).toBe('yes');
    expect(await canI('patch', 'kmsnodes.kms.eigenx.dev', '--subresource=status')).toBe('yes');
    expect(await canI('patch', 'kmsnodes.kms.eigenx.dev')).toBe('no');
    expect(await canI('get', 'secrets')).toBe('no');

    const token = await api.createToken(account);
    const listed = ok(await api.kubectlWithToken(token, ['get', 'kmsnodes', '-n', NS, '-o', 'name']), 'list as sa');
    expect(listed.split('\n').filter(Boolean).sort()).toEqual(['kmsnode.kms.eigenx.dev/node-a', 'kmsnode.kms.eigenx.dev/node-ext', 'kmsnode.kms.eigenx.dev/node-mem']);
    const patched = await api.request(token, 'PATCH', `/apis/kms.eigenx.dev/v1alpha1/namespaces/${NS}/kmsnodes/node-ext/status`, {
      contentType: 'application/merge-patch+json',
      data: { status: { phase: 'Restoring' } },
    });
    expect(patched.status).toBe(200);
    expect((JSON.parse(patched.body) as { status: { phase: string } }).status.phase).toBe('Restoring');
    const denied = await api.kubectlWithToken(token, ['patch', 'kmsnode', 'node-ext', '-n', NS, '--type=merge', '-p', '{"spec":{"server":{"port":9000}}}']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('forbidden');
    expect(denied.stderr).toContain('system:serviceaccount:kms-e2e:kms-controller');
  }, STEP_TIMEOUT_MS);
});
