/**
 * The kms-node chart against a real kube-apiserver: helm install (every object accepted
 * server-side, the KmsNode created on a fresh cluster), the controller's RBAC as its
 * ServiceAccount, the helm test objects, helm upgrade (values and a changed CRD), and helm
 * uninstall keeping the claims, the CRD and the StorageClass. No kubelet runs: pods are
 * stored, never started.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BASE_VALUES, CHART_DIR, merge, parseManifests } from '../integration/chart/chartFixtures.js';
import type { Values } from '../integration/chart/chartFixtures.js';
import { waitFor } from '../integration/node/cluster.js';
import { ok, run, startApiServer, TOOL_BUILD_TIMEOUT_MS } from './harness/apiServer.js';
import type { ApiServer, CommandResult } from './harness/apiServer.js';

const NS = 'kms-chart';
const RELEASE = 'node1';
const FULLNAME = 'node1-kms-node';
const SA = { namespace: NS, name: FULLNAME };
const WAIT_JOB = `${FULLNAME}-api-wait`;
/** helm and kubectl round trips against a loaded 2-core machine. */
const STEP_TIMEOUT_MS = 120_000;
const VALUES = merge(BASE_VALUES, { node: { persistence: { encryptionKeySecretRef: { name: 'kms-seal' } } } });

let api: ApiServer;
let started: ApiServer | undefined;
let workDir = '';

async function helmWith(args: readonly string[], values: Values, chart = CHART_DIR): Promise<CommandResult> {
  const file = path.join(workDir, `values-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(values));
  return api.helm([...args.map((a) => (a === '$CHART' ? chart : a)), '-f', file, '--namespace', NS, '--timeout', '120s']);
}

async function getJson(args: readonly string[]): Promise<Record<string, unknown>> {
  return JSON.parse(ok(await api.kubectl(['get', ...args, '-o', 'json']), `kubectl get ${args.join(' ')}`)) as Record<string, unknown>;
}

async function exists(args: readonly string[]): Promise<boolean> {
  const result = await api.kubectl(['get', ...args, '-o', 'name']);
  if (result.code !== 0 && !result.stderr.includes('NotFound')) throw new Error(result.stderr);
  return result.code === 0;
}

beforeAll(async () => {
  api = await startApiServer();
  started = api;
  workDir = mkdtempSync(path.join(tmpdir(), 'kms-chart-e2e-'));
  ok(await api.kubectl(['create', 'namespace', NS]), 'create namespace');
  for (const [name, key] of [['kms-operator', 'operator-key'], ['kms-chain', 'rpc-url'], ['kms-seal', 'encryption-key'], ['unrelated', 'x']] as const) {
    ok(await api.kubectl(['create', 'secret', 'generic', name, '-n', NS, `--from-literal=${key}=test-value-of-${name}`]), `create secret ${name}`);
  }
}, TOOL_BUILD_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await started?.stop();
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('kms-node chart on kube-apiserver', () => {
  test('the API-wait script fails while discovery lacks a resource and passes once its CRD is served', async () => {
    const rendered = ok(await helmWith(['template', RELEASE, '$CHART', '--show-only', 'templates/kmsnode.yaml'], VALUES), 'helm template kmsnode');
    const job = parseManifests(rendered).find((o) => o.kind === 'Job') as unknown as JobShape;
    // Discovery is open to every authenticated identity (system:discovery), a plain ServiceAccount too.
    ok(await api.kubectl(['create', 'serviceaccount', 'discovery-probe', '-n', NS]), 'create serviceaccount');
    const probe = { group: 'wait.kms-test.dev', version: 'v1', plural: 'probes' };
    const env = { API_GROUP_VERSION: `${probe.group}/${probe.version}`, API_RESOURCE: probe.plural };
    const absent = await runApiWait(job, { namespace: NS, name: 'discovery-probe' }, { ...env, WAIT_SECONDS: '0' });
    expect({ code: absent.code, stderr: absent.stderr.trim() }).toEqual({
      code: 1,
      stderr: `kms-node: the API server still does not serve ${probe.group}/${probe.version} ${probe.plural} after 0 s (not listed): its CRD ${probe.plural}.${probe.group} must be installed (crd.install=true in one release) and Established; see kubectl get crd ${probe.plural}.${probe.group}`,
    });
    const waiting = runApiWait(job, { namespace: NS, name: 'discovery-probe' }, { ...env, WAIT_SECONDS: '100' });
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${probe.plural}.${probe.group}` },
      spec: {
        group: probe.group,
        scope: 'Namespaced',
        names: { plural: probe.plural, singular: 'probe', kind: 'Probe' },
        versions: [{ name: probe.version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    };
    try {
      ok(await api.kubectl(['create', '-f', '-'], { input: JSON.stringify(crd) }), 'create probe crd');
      const served = await waiting;
      expect({ code: served.code, stdout: served.stdout }).toEqual({ code: 0, stdout: expect.stringContaining(`the API server serves ${probe.group}/${probe.version} ${probe.plural}`) as unknown });
    } finally {
      await waiting;
      ok(await api.kubectl(['delete', 'crd', crd.metadata.name]), 'delete probe crd');
    }
  }, STEP_TIMEOUT_MS);

  test('helm install on a fresh cluster: every object accepted, the KmsNode created after its CRD', async () => {
    const install = helmWith(['install', RELEASE, '$CHART'], VALUES);
    // No kubelet or Job controller runs here: the test runs the API-wait Job's container as its
    // ServiceAccount, then records the completion the Job controller would.
    const job = await waitFor('the API-wait Job', async () => {
      const found = await api.kubectl(['get', 'job', WAIT_JOB, '-n', NS, '-o', 'json']);
      return found.code === 0 ? (JSON.parse(found.stdout) as JobShape) : undefined;
    });
    expect(job.metadata.annotations['helm.sh/hook']).toBe('post-install');
    expect(job.spec.template.spec.serviceAccountName).toBe(FULLNAME);
    const waited = await runApiWait(job, SA, {});
    expect({ code: waited.code, stdout: waited.stdout }).toEqual({ code: 0, stdout: expect.stringContaining('the API server serves kms.eigenx.dev/v1alpha1 kmsnodes') as unknown });
    // Helm holds the KmsNode hook until the lower-weight Job completes.
    const before = await api.request(await api.createToken(SA), 'GET', `/apis/kms.eigenx.dev/v1alpha1/namespaces/${NS}/kmsnodes/${FULLNAME}`);
    expect(before.status).toBe(404);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string): Record<string, string> => ({ type, status: 'True', reason: 'CompletionsReached', message: 'run by the test', lastProbeTime: now, lastTransitionTime: now });
    const status = { status: { startTime: now, completionTime: now, succeeded: 1, conditions: [condition('SuccessCriteriaMet'), condition('Complete')] } };
    ok(await api.kubectl(['patch', 'job', WAIT_JOB, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]), 'complete the Job');
    const notes = ok(await install, 'helm install');
    expect(await exists(['job', WAIT_JOB, '-n', NS])).toBe(false);
    expect(notes).toContain(`kubectl get kmsnode ${FULLNAME} -n ${NS} -o wide`);
    expect(notes).toContain(`helm test ${RELEASE} -n ${NS}`);
    for (const kind of ['statefulset', 'service', 'serviceaccount', 'role', 'rolebinding', 'networkpolicy', 'poddisruptionbudget']) {
      expect(await exists([kind, FULLNAME, '-n', NS])).toBe(true);
    }
    expect(await exists(['service', `${FULLNAME}-headless`, '-n', NS])).toBe(true);
    expect(await exists(['storageclass', `${FULLNAME}-encrypted`])).toBe(true);
    expect(await exists(['crd', 'kmsnodes.kms.eigenx.dev'])).toBe(true);
    const node = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    expect((node['spec'] as { persistence: { dataPath: string } }).persistence.dataPath).toBe('/var/lib/kms-node/data');
    const sts = await getJson(['statefulset', FULLNAME, '-n', NS]);
    expect((sts['spec'] as { persistentVolumeClaimRetentionPolicy: unknown }).persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
  }, STEP_TIMEOUT_MS);

  test('the controller ServiceAccount may do exactly what the controller needs', async () => {
    const canI = async (...args: string[]): Promise<string> => (await api.kubectl(['auth', 'can-i', ...args, '-n', NS], { as: SA })).stdout.trim();
    expect(await canI('watch', 'kmsnodes.kms.eigenx.dev')).toBe('yes');
    expect(await canI('patch', 'kmsnodes.kms.eigenx.dev', '--subresource=status')).toBe('yes');
    expect(await canI('update', 'kmsnodes.kms.eigenx.dev')).toBe('no');
    expect(await canI('delete', 'kmsnodes.kms.eigenx.dev')).toBe('no');
    expect(await canI('create', 'events')).toBe('yes');
    expect(await canI('get', 'secret/kms-operator')).toBe('yes');
    expect(await canI('get', 'secret/kms-seal')).toBe('yes');
    expect(await canI('get', 'secret/unrelated')).toBe('no');
    expect(await canI('list', 'secrets')).toBe('no');
    expect(await canI('list', 'pods')).toBe('no');

    const token = await api.createToken(SA);
    const status = '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"Serving","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}';
    const patched = await api.request(token, 'PATCH', `/apis/kms.eigenx.dev/v1alpha1/namespaces/${NS}/kmsnodes/${FULLNAME}/status`, {
      contentType: 'application/merge-patch+json',
      data: JSON.parse(status),
    });
    expect(patched.status).toBe(200);
    const secret = ok(await api.kubectlWithToken(token, ['get', 'secret', 'kms-chain', '-n', NS, '-o', 'jsonpath={.data.rpc-url}']), 'get secret');
    expect(Buffer.from(secret, 'base64').toString()).toBe('test-value-of-kms-chain');
    const denied = await api.kubectlWithToken(token, ['get', 'secret', 'unrelated', '-n', NS]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('forbidden');
  }, STEP_TIMEOUT_MS);

  test('the helm test objects are accepted by the API server', async () => {
    const rendered = ok(await helmWith(['template', RELEASE, '$CHART', '--show-only', 'templates/tests/test-health.yaml'], VALUES), 'helm template test');
    const [rbac, pod] = splitLast(rendered);
    // The pod's ServiceAccount must exist for admission, so the RBAC objects go in for real.
    ok(await api.kubectl(['apply', '-n', NS, '-f', '-'], { input: rbac }), 'apply test rbac');
    ok(await api.kubectl(['create', '--dry-run=server', '-n', NS, '-f', '-'], { input: pod }), 'dry-run test pod');
    const canRead = await api.kubectl(['auth', 'can-i', 'get', `kmsnodes.kms.eigenx.dev/${FULLNAME}`, '-n', NS], { as: { namespace: NS, name: `${FULLNAME}-test` } });
    expect(canRead.stdout.trim()).toBe('yes');
  }, STEP_TIMEOUT_MS);

  test('the helm test script passes on /health 200 with Ready=True and names what failed otherwise', async () => {
    const rendered = ok(await helmWith(['template', RELEASE, '$CHART', '--show-only', 'templates/tests/test-health.yaml'], VALUES), 'helm template test');
    const pod = parseManifests(rendered).find((o) => o.kind === 'Pod') as unknown as {
      spec: { containers: { command: string[]; env: { name: string; value: string }[] }[] };
    };
    const container = pod.spec.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(container.command.slice(0, 2)).toEqual(['node', '-e']);
    // Run the pod's script here, as the test ServiceAccount, against this API server and a stand-in /health.
    const saDir = path.join(workDir, 'sa');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(path.join(saDir, 'ca.crt'), readFileSync(path.join(api.stateDir, 'pki', 'ca.crt')));
    writeFileSync(path.join(saDir, 'token'), await api.createToken({ namespace: NS, name: `${FULLNAME}-test` }));
    let healthStatus = 200;
    const health = createServer((_req, res) => {
      res.writeHead(healthStatus).end();
    });
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    const runScript = (): Promise<CommandResult> =>
      run(process.execPath, ['-e', container.command[2]!], {
        env: {
          KMSNODE_PATH: env['KMSNODE_PATH']!,
          HEALTH_URL: `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`,
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: new URL(api.server).port,
          SA_DIR: saDir,
        },
      });
    try {
      const passed = await runScript();
      expect({ code: passed.code, stdout: passed.stdout.trim() }).toEqual({ code: 0, stdout: 'helm test: /health ok, KmsNode Ready=True' });

      healthStatus = 503;
      const unhealthy = await runScript();
      expect({ code: unhealthy.code, stderr: unhealthy.stderr.trim() }).toEqual({ code: 1, stderr: 'helm test: GET /health answered 503' });

      healthStatus = 200;
      const notReady = { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Restoring', message: 'verifying key shares', lastTransitionTime: '2026-01-01T00:00:01Z' }] } };
      ok(await api.kubectl(['patch', 'kmsnode', FULLNAME, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(notReady)]), 'patch not ready');
      const failed = await runScript();
      expect({ code: failed.code, stderr: failed.stderr.trim() }).toEqual({ code: 1, stderr: 'helm test: KmsNode Ready is False: verifying key shares' });
    } finally {
      await new Promise((resolve) => health.close(resolve));
    }
  }, STEP_TIMEOUT_MS);

  test('every values variant renders objects the API server accepts (server-side dry run)', async () => {
    const variants: Record<string, Values> = {
      gcp: { storage: { storageClass: { provider: 'gcp', gcp: { diskEncryptionKmsKey: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' } } } },
      azure: { storage: { storageClass: { provider: 'azure', azure: { diskEncryptionSetID: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/diskEncryptionSets/d' } } } },
      custom: { storage: { storageClass: { provider: 'custom', custom: { provisioner: 'csi.example.com', parameters: { encrypted: 'yes' }, encrypted: true } } } },
      existing: { storage: { storageClass: { create: false }, existingClass: { name: 'encrypted-ssd', encrypted: true } } },
      external: { node: { persistence: { redis: { mode: 'external', urlSecretRef: { name: 'kms-redis' }, appendfsync: 'everysec' } } } },
      memory: { node: { persistence: { type: 'memory' } }, storage: { storageClass: { create: false }, encryption: { required: false } } },
      noPolicies: { networkPolicy: { enabled: false }, podDisruptionBudget: { enabled: false } },
    };
    for (const [name, variant] of Object.entries(variants)) {
      const values = merge(merge(VALUES, { crd: { install: false } }), variant);
      const rendered = ok(
        await helmWith(['template', `dry-${name.toLowerCase()}`, '$CHART', '--skip-tests', '--api-versions', 'kms.eigenx.dev/v1alpha1/KmsNode'], values),
        `helm template ${name}`,
      );
      const applied = await api.kubectl(['apply', '--dry-run=server', '-n', NS, '-f', '-'], { input: rendered });
      expect({ name, code: applied.code, stderr: applied.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
  }, STEP_TIMEOUT_MS);

  test('the first helm upgrade turns the hook-made KmsNode into a release object with the new values', async () => {
    const before = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    expect((before['metadata'] as { annotations: Record<string, string> }).annotations['helm.sh/hook']).toBe('post-install');
    ok(await helmWith(['upgrade', RELEASE, '$CHART'], merge(VALUES, { node: { persistence: { redis: { appendfsync: 'everysec' } } } })), 'helm upgrade');
    const node = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    expect((node['spec'] as { persistence: { redis: { appendfsync: string } } }).persistence.redis.appendfsync).toBe('everysec');
    expect((node['metadata'] as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook']).toBeUndefined();
    const manifest = ok(await api.helm(['get', 'manifest', RELEASE, '--namespace', NS]), 'helm get manifest');
    expect(manifest).toContain('kind: KmsNode');
  }, STEP_TIMEOUT_MS);

  test('later upgrades patch the KmsNode in place and keep its status', async () => {
    const status = { status: { phase: 'Running', phaseMessage: 'serving' } };
    ok(await api.kubectl(['patch', 'kmsnode', FULLNAME, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]), 'patch status');
    const before = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    ok(await helmWith(['upgrade', RELEASE, '$CHART'], merge(VALUES, { node: { appSign: { allowlist: ['demo-app'] } } })), 'helm upgrade');
    const after = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    expect((after['spec'] as { appSign: { allowlist: string[] } }).appSign.allowlist).toEqual(['demo-app']);
    expect(after['status']).toEqual(status.status);
    expect((after['metadata'] as { uid: string }).uid).toBe((before['metadata'] as { uid: string }).uid);
  }, STEP_TIMEOUT_MS);

  test('helm upgrade with a changed CRD updates it in the cluster', async () => {
    const chart = path.join(workDir, 'kms-node');
    cpSync(CHART_DIR, chart, { recursive: true });
    const crdFile = path.join(chart, 'files/kmsnode-crd.yaml');
    const marker = 'Upgraded schema marker for the e2e test.';
    const original = readFileSync(crdFile, 'utf8');
    const changed = original.replace('description: Desired configuration of the node.', `description: ${marker} Desired configuration of the node.`);
    expect(changed).not.toBe(original);
    writeFileSync(crdFile, changed);
    ok(await helmWith(['upgrade', RELEASE, '$CHART'], VALUES, chart), 'helm upgrade changed crd');
    const description = ok(
      await api.kubectl(['get', 'crd', 'kmsnodes.kms.eigenx.dev', '-o', 'jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.description}']),
      'get crd',
    );
    expect(description).toContain(marker);
  }, STEP_TIMEOUT_MS);

  // Last upgrade of the release: a refused upgrade may leave the other objects half-patched.
  test('an upgrade that moves the API port is refused by the CRD and changes nothing', async () => {
    const before = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    const moved = await helmWith(['upgrade', RELEASE, '$CHART'], merge(VALUES, { node: { server: { port: 8200 } } }));
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('server.port is immutable');
    const after = await getJson(['kmsnode', FULLNAME, '-n', NS]);
    expect((after['spec'] as { server: { port: number } }).server.port).toBe((before['spec'] as { server: { port: number } }).server.port);
    expect((after['metadata'] as { uid: string }).uid).toBe((before['metadata'] as { uid: string }).uid);
  }, STEP_TIMEOUT_MS);

  test('helm uninstall leaves the claims, the CRD and the StorageClass', async () => {
    // No StatefulSet controller runs here: create the claim as it would, from the template.
    const sts = await getJson(['statefulset', FULLNAME, '-n', NS]);
    const template = (sts['spec'] as { volumeClaimTemplates: { metadata: { name: string; labels: Record<string, string> }; spec: unknown }[] }).volumeClaimTemplates[0]!;
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${template.metadata.name}-${FULLNAME}-0`, namespace: NS, labels: template.metadata.labels }, spec: template.spec };
    ok(await api.kubectl(['create', '-f', '-'], { input: JSON.stringify(claim) }), 'create claim');

    ok(await api.helm(['uninstall', RELEASE, '--namespace', NS, '--timeout', '120s']), 'helm uninstall');
    expect(await exists(['statefulset', FULLNAME, '-n', NS])).toBe(false);
    expect(await exists(['kmsnode', FULLNAME, '-n', NS])).toBe(false);
    expect(await exists(['role', FULLNAME, '-n', NS])).toBe(false);
    expect(await exists(['pvc', `data-${FULLNAME}-0`, '-n', NS])).toBe(true);
    expect(await exists(['crd', 'kmsnodes.kms.eigenx.dev'])).toBe(true);
    expect(await exists(['storageclass', `${FULLNAME}-encrypted`])).toBe(true);
  }, STEP_TIMEOUT_MS);

  test('a second install finds the CRD and creates the KmsNode as a regular release object', async () => {
    ok(await helmWith(['install', 'node2', '$CHART'], merge(VALUES, { crd: { install: false } })), 'helm install node2');
    const manifest = ok(await api.helm(['get', 'manifest', 'node2', '--namespace', NS]), 'helm get manifest');
    expect(manifest).toContain('kind: KmsNode');
    expect(await exists(['kmsnode', 'node2-kms-node', '-n', NS])).toBe(true);
  }, STEP_TIMEOUT_MS);
});

interface JobShape {
  metadata: { annotations: Record<string, string> };
  spec: { template: { spec: { serviceAccountName: string; containers: { command: string[]; env: { name: string; value: string }[] }[] } } };
}

/** Runs the API-wait Job's script here, as `account`, against this API server (as its pod would). */
async function runApiWait(job: JobShape, account: { namespace: string; name: string }, env: Record<string, string>): Promise<CommandResult> {
  const container = job.spec.template.spec.containers[0]!;
  expect(container.command.slice(0, 2)).toEqual(['node', '-e']);
  const saDir = mkdtempSync(path.join(workDir, 'api-wait-sa-'));
  writeFileSync(path.join(saDir, 'ca.crt'), readFileSync(path.join(api.stateDir, 'pki', 'ca.crt')));
  writeFileSync(path.join(saDir, 'token'), await api.createToken(account));
  return run(process.execPath, ['-e', container.command[2]!], {
    env: {
      ...Object.fromEntries(container.env.map((e) => [e.name, e.value])),
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: new URL(api.server).port,
      SA_DIR: saDir,
      ...env,
    },
  });
}

/** Splits a multi-document YAML stream into everything but the last document, and the last. */
function splitLast(stream: string): [string, string] {
  const docs = stream.split(/^---\s*$/m).filter((d) => d.trim() !== '');
  const last = docs.pop();
  if (last === undefined) throw new Error('helm template rendered nothing');
  return [docs.join('\n---\n'), last];
}
