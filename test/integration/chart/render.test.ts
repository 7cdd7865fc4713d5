/**
 * Renders the kms-node chart with helm (built from its Go module): lint, every storage
 * encryption option, the guard and the schema refusing bad values with their messages, and
 * the security-relevant shape of what is rendered.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envName, OPTION_SPECS } from '../../../src/config/options.js';
import { run, TOOL_BUILD_TIMEOUT_MS } from '../../e2e/harness/tools.js';
import type { CommandResult } from '../../e2e/harness/tools.js';
import { BASE_VALUES, CHART_DIR, find, helm, helmWithValues, merge, OPERATOR, parseManifests, REGISTRY, render, ROOT } from './chartFixtures.js';
import type { K8sObject, Values } from './chartFixtures.js';

beforeAll(async () => {
  await helm();
}, TOOL_BUILD_TIMEOUT_MS);

interface Container {
  name: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}
interface StatefulSetShape {
  spec: {
    replicas: number;
    persistentVolumeClaimRetentionPolicy?: Record<string, string>;
    template: { spec: { securityContext: Record<string, unknown>; initContainers?: Container[]; containers: Container[]; serviceAccountName: string } };
    volumeClaimTemplates?: { spec: { storageClassName?: string; resources: { requests: { storage: string } } } }[];
  };
}

function statefulSet(objects: readonly K8sObject[]): StatefulSetShape {
  return find(objects, 'StatefulSet', 'node1-kms-node') as unknown as StatefulSetShape;
}

function envOf(container: Container): Map<string, string | undefined> {
  return new Map((container.env ?? []).map((e) => [e.name, e.value]));
}

async function renderOk(values: Values, extraArgs: readonly string[] = []): Promise<K8sObject[]> {
  const result = await render(values, extraArgs);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.objects;
}

async function renderFails(values: Values | undefined): Promise<string> {
  const result = await render(values);
  expect(result.code).not.toBe(0);
  return result.stderr;
}

describe('values.yaml', () => {
  test('every value has a comment on the line above', () => {
    const lines = readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8').split('\n');
    const uncommented: string[] = [];
    let previous = '';
    let inList = 0;
    lines.forEach((line, index) => {
      const indent = line.length - line.trimStart().length;
      if (/^\s*-/.test(line)) inList = indent + 1;
      else if (line.trim() !== '' && indent < inList) inList = 0;
      const key = /^\s*[\w./"-]+:\s*(.*)$/.exec(line);
      // Leaf keys (with a value on the line) outside example lists need their own comment.
      if (key !== null && key[1] !== '' && inList === 0 && !/^\s*#/.test(previous)) uncommented.push(`${index + 1}: ${line.trim()}`);
      if (line.trim() !== '') previous = line;
    });
    expect(uncommented).toEqual([]);
  });
});

describe('helm lint', () => {
  test('passes --strict with complete values', async () => {
    const result = await helmWithValues(['lint', '--strict', CHART_DIR], BASE_VALUES);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('storage encryption options', () => {
  const storageClass = (objects: readonly K8sObject[]): K8sObject & { provisioner: string; parameters?: Record<string, string> } =>
    find(objects, 'StorageClass') as K8sObject & { provisioner: string; parameters?: Record<string, string> };

  test('aws: EBS CSI with encrypted=true and the KMS key, Retain, WaitForFirstConsumer', async () => {
    const objects = await renderOk(merge(BASE_VALUES, { storage: { storageClass: { aws: { kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/abc' } } } }));
    const sc = storageClass(objects);
    expect(sc.metadata.name).toBe('node1-kms-node-encrypted');
    expect(sc.provisioner).toBe('ebs.csi.aws.com');
    expect(sc.parameters).toEqual({ type: 'gp3', encrypted: 'true', kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/abc' });
    expect(sc['reclaimPolicy']).toBe('Retain');
    expect(sc['volumeBindingMode']).toBe('WaitForFirstConsumer');
    expect(sc.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(statefulSet(objects).spec.volumeClaimTemplates?.[0]?.spec.storageClassName).toBe('node1-kms-node-encrypted');
  });

  test('aws without a key id still asks EBS to encrypt (account default key)', async () => {
    const sc = storageClass(await renderOk(BASE_VALUES));
    expect(sc.parameters).toEqual({ type: 'gp3', encrypted: 'true' });
  });

  test('gcp: PD CSI with disk-encryption-kms-key', async () => {
    const key = 'projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k';
    const objects = await renderOk(merge(BASE_VALUES, { storage: { storageClass: { provider: 'gcp', gcp: { diskEncryptionKmsKey: key } } } }));
    const sc = storageClass(objects);
    expect(sc.provisioner).toBe('pd.csi.storage.gke.io');
    expect(sc.parameters).toEqual({ type: 'pd-balanced', 'disk-encryption-kms-key': key });
  });

  test('azure: Azure Disk CSI with diskEncryptionSetID', async () => {
    const id = '/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/diskEncryptionSets/des';
    const objects = await renderOk(merge(BASE_VALUES, { storage: { storageClass: { provider: 'azure', azure: { diskEncryptionSetID: id } } } }));
    const sc = storageClass(objects);
    expect(sc.provisioner).toBe('disk.csi.azure.com');
    expect(sc.parameters).toEqual({ skuName: 'Premium_LRS', diskEncryptionSetID: id });
  });

  test('custom: the provisioner and parameters map as given, once confirmed encrypted', async () => {
    const objects = await renderOk(
      merge(BASE_VALUES, {
        storage: {
          storageClass: { provider: 'custom', name: 'kms-luks', custom: { provisioner: 'csi.example.com', parameters: { luks: 'true', cipher: 'aes-xts-plain64' }, encrypted: true } },
        },
      }),
    );
    const sc = storageClass(objects);
    expect(sc.metadata.name).toBe('kms-luks');
    expect(sc.provisioner).toBe('csi.example.com');
    expect(sc.parameters).toEqual({ luks: 'true', cipher: 'aes-xts-plain64' });
    expect(statefulSet(objects).spec.volumeClaimTemplates?.[0]?.spec.storageClassName).toBe('kms-luks');
  });

  test('existing class confirmed encrypted: no StorageClass rendered, the claim uses it', async () => {
    const objects = await renderOk(
      merge(BASE_VALUES, { storage: { storageClass: { create: false }, existingClass: { name: 'encrypted-ssd', encrypted: true } } }),
    );
    expect(objects.filter((o) => o.kind === 'StorageClass')).toEqual([]);
    expect(statefulSet(objects).spec.volumeClaimTemplates?.[0]?.spec.storageClassName).toBe('encrypted-ssd');
  });

  test('encryption not required (tests): the claim falls back to the default class', async () => {
    const objects = await renderOk(merge(BASE_VALUES, { storage: { storageClass: { create: false }, encryption: { required: false } } }));
    expect(objects.filter((o) => o.kind === 'StorageClass')).toEqual([]);
    const claim = statefulSet(objects).spec.volumeClaimTemplates?.[0];
    expect(claim?.spec.storageClassName).toBeUndefined();
    expect(claim?.spec.resources.requests.storage).toBe('1Gi');
  });
});

describe('bad values are refused with their messages', () => {
  const noClass: Values = { storage: { storageClass: { create: false } } };

  test('guard: encryption required and no encrypted class configured', async () => {
    expect(await renderFails(merge(BASE_VALUES, noClass))).toContain(
      'kms-node: storage encryption is required (storage.encryption.required=true) but no encrypted StorageClass is configured',
    );
  });

  test('guard: an existing class not confirmed encrypted', async () => {
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { create: false }, existingClass: { name: 'standard' } } }))).toContain(
      'storage encryption is required but StorageClass "standard" is not confirmed encrypted',
    );
  });

  test('guard: provider options missing their encryption key', async () => {
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { provider: 'gcp' } } }))).toContain(
      'storage.storageClass.provider=gcp needs storage.storageClass.gcp.diskEncryptionKmsKey',
    );
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { provider: 'azure' } } }))).toContain(
      'storage.storageClass.provider=azure needs storage.storageClass.azure.diskEncryptionSetID',
    );
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { provider: 'custom', custom: { provisioner: 'csi.example.com' } } } }))).toContain(
      'the custom StorageClass is not confirmed encrypted',
    );
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { provider: '' } } }))).toContain(
      'storage.storageClass.create=true needs storage.storageClass.provider',
    );
  });

  test('guard: creating a class and naming an existing one at once', async () => {
    expect(await renderFails(merge(BASE_VALUES, { storage: { existingClass: { name: 'x', encrypted: true } } }))).toContain(
      'set either storage.storageClass.create=true or storage.existingClass.name, not both',
    );
  });

  test('required node settings are named', async () => {
    expect(await renderFails(undefined)).toContain('kms-node: node.operator.address is required');
    const noChainId = merge(BASE_VALUES, { node: { chain: { chainId: 0 } } });
    expect(await renderFails(noChainId)).toContain('kms-node: node.chain.chainId is required');
    const external = merge(BASE_VALUES, { node: { persistence: { redis: { mode: 'external' } } } });
    expect(await renderFails(external)).toContain('node.persistence.redis.urlSecretRef.name is required when node.persistence.redis.mode is external');
  });

  test('schema: unknown keys at any depth', async () => {
    expect(await renderFails(merge(BASE_VALUES, { bogus: 1 }))).toMatch(/additional properties? 'bogus' not allowed/);
    expect(await renderFails(merge(BASE_VALUES, { node: { persistence: { redis: { fsync: 'always' } } } }))).toContain(
      "at '/node/persistence/redis': additional properties 'fsync' not allowed",
    );
  });

  test('schema: enums, patterns and ranges', async () => {
    expect(await renderFails(merge(BASE_VALUES, { node: { persistence: { redis: { appendfsync: 'no' } } } }))).toContain(
      "at '/node/persistence/redis/appendfsync': value must be one of 'always', 'everysec'",
    );
    expect(await renderFails(merge(BASE_VALUES, { node: { operator: { address: '0x12' } } }))).toContain("at '/node/operator/address'");
    expect(await renderFails(merge(BASE_VALUES, { storage: { mountPath: 'relative/dir' } }))).toContain("at '/storage/mountPath'");
    expect(await renderFails(merge(BASE_VALUES, { runAsUser: 0 }))).toContain("at '/runAsUser'");
    expect(await renderFails(merge(BASE_VALUES, { storage: { storageClass: { provider: 'openstack' } } }))).toContain(
      "at '/storage/storageClass/provider'",
    );
    // The chart takes exactly what the KmsNode CRD takes (0 = the chain's default, which the CRD expresses by omission).
    const outOfRange: Record<string, number>[] = [{ pollIntervalMs: 49 }, { pollIntervalMs: 600_001 }, { protocolTimeoutMs: 999 }, { protocolTimeoutMs: 3_600_001 }];
    for (const chain of outOfRange) {
      expect(await renderFails(merge(BASE_VALUES, { node: { chain } }))).toContain(`at '/node/chain/${Object.keys(chain)[0]!}'`);
    }
    const inRange: Record<string, number>[] = [{ pollIntervalMs: 0 }, { pollIntervalMs: 50 }, { protocolTimeoutMs: 1_000 }, { protocolTimeoutMs: 0 }];
    for (const chain of inRange) {
      await renderOk(merge(BASE_VALUES, { node: { chain } }));
    }
    for (const cryptoWorkers of [-1, 257, 'all', '4']) {
      expect(await renderFails(merge(BASE_VALUES, { node: { cryptoWorkers } }))).toContain("at '/node/cryptoWorkers'");
    }
    for (const cryptoWorkers of [0, 16, 'auto']) {
      const server = statefulSet(await renderOk(merge(BASE_VALUES, { node: { cryptoWorkers } }))).spec.template.spec.containers.find((c) => c.name === 'kms-server')!;
      expect(envOf(server).get('KMS_CRYPTO_WORKERS')).toBe(String(cryptoWorkers));
    }
  });
});

describe('rendered workload', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderOk(merge(BASE_VALUES, { node: { persistence: { encryptionKeySecretRef: { name: 'kms-seal' } } } }));
  });

  test('one StatefulSet pod, non-root, read-only root, seccomp RuntimeDefault, ALL capabilities dropped', () => {
    const sts = statefulSet(objects);
    expect(sts.spec.replicas).toBe(1);
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });

  test('kms-server runs with the controller on; its env carries only process-level settings', () => {
    const server = statefulSet(objects).spec.template.spec.containers.find((c) => c.name === 'kms-server')!;
    expect(server.command).toEqual(['node', 'dist/cli/kms-server.js']);
    const env = envOf(server);
    // The KmsNode resource configures the node: nothing of the node's own configuration is in the env.
    expect([...env.keys()].sort()).toEqual(['KMS_CONTROLLER', 'KMS_CRYPTO_WORKERS', 'KMS_HOST', 'KMS_KMSNODE_NAME', 'KMS_LOG_LEVEL', 'KMS_NAMESPACE', 'KMS_PROBE_PORT', 'KMS_VOLUME_MOUNT_PATH']);
    expect(env.get('KMS_CONTROLLER')).toBe('true');
    // A count: with no CPU limit, auto would be one thread per core of the host.
    expect(env.get('KMS_CRYPTO_WORKERS')).toBe('2');
    expect(env.get('KMS_KMSNODE_NAME')).toBe('node1-kms-node');
    expect(env.get('KMS_VOLUME_MOUNT_PATH')).toBe('/var/lib/kms-node');
    expect(env.get('KMS_PROBE_PORT')).toBe('8001');
    // Nor does Kubernetes add Service links (KMS_NODE_1_SERVICE_HOST for a release named kms-node-1).
    expect((statefulSet(objects).spec.template.spec as { enableServiceLinks?: boolean }).enableServiceLinks).toBe(false);
    // No Secret is mounted into the pod: the controller reads the ones the resource names.
    expect((server.volumeMounts ?? []).map((m) => m.name).sort()).toEqual(['data', 'tmp']);
  });

  test('probes: startup covers the first pass and restore, liveness only the process, readiness the node; all on the probe port', () => {
    const server = statefulSet(objects).spec.template.spec.containers.find((c) => c.name === 'kms-server')! as Container & { ports?: { name: string; containerPort: number }[] };
    expect(server.startupProbe?.httpGet).toEqual({ path: '/startupz', port: 'probes' });
    expect(server.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'probes' });
    expect(server.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'probes' });
    expect(server.ports).toEqual([
      { name: 'api', containerPort: 8000, protocol: 'TCP' },
      { name: 'probes', containerPort: 8001, protocol: 'TCP' },
    ]);
  });

  test('chain timing goes into the KmsNode spec when set, and is left to the chain id\'s defaults when 0', async () => {
    const timed = find(await renderOk(merge(BASE_VALUES, { node: { chain: { boundaryInterval: 10, pollIntervalMs: 2000, protocolTimeoutMs: 120000 } } })), 'KmsNode') as K8sObject & { spec: { chain: Record<string, unknown> } };
    expect(timed.spec.chain).toMatchObject({ boundaryInterval: 10, pollIntervalMs: 2000, protocolTimeoutMs: 120000 });
    const node = find(objects, 'KmsNode') as K8sObject & { spec: { chain: Record<string, unknown> } };
    expect(Object.keys(node.spec.chain).sort()).toEqual(['chainId', 'registryAddress', 'rpcUrlSecretRef']);
  });

  test('the KmsNode spec carries what the env no longer does', () => {
    const node = find(objects, 'KmsNode') as K8sObject & { spec: Record<string, unknown> };
    expect(node.spec).toMatchObject({
      operator: { address: OPERATOR },
      chain: { chainId: 17000, registryAddress: REGISTRY },
      persistence: { type: 'redis', dataPath: '/var/lib/kms-node/data', redis: { mode: 'embedded', appendfsync: 'always' }, encryptionKeySecretRef: { name: 'kms-seal' } },
      server: { port: 8000 },
    });
  });

  test('the data directory is created 0700 on the volume by an init step running as the runtime user', () => {
    const pod = statefulSet(objects).spec.template.spec;
    const init = pod.initContainers?.find((c) => c.name === 'data-dir');
    expect(init?.command?.join(' ')).toContain('mode:0o700');
    expect(init?.command?.join(' ')).toContain('chmodSync(p,0o700)');
    expect(envOf(init!).get('KMS_PERSISTENCE_DATA_PATH')).toBe('/var/lib/kms-node/data');
    expect(init?.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/kms-node' }]);
  });

  test('the init step, run here, creates the directory 0700 and tightens an existing one', async () => {
    const init = statefulSet(objects).spec.template.spec.initContainers!.find((c) => c.name === 'data-dir')!;
    expect(init.command?.slice(0, 2)).toEqual(['node', '-e']);
    const dir = mkdtempSync(path.join(tmpdir(), 'kms-init-'));
    try {
      const dataPath = path.join(dir, 'volume', 'data');
      const runInit = (): Promise<CommandResult> => run(process.execPath, ['-e', init.command![2]!], { env: { KMS_PERSISTENCE_DATA_PATH: dataPath } });
      expect((await runInit()).code).toBe(0);
      expect(statSync(dataPath).mode & 0o777).toBe(0o700);
      chmodSync(dataPath, 0o755);
      expect((await runInit()).code).toBe(0);
      expect(statSync(dataPath).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('claims are retained when the StatefulSet is deleted or scaled', () => {
    expect(statefulSet(objects).spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  test('the Role grants only what the controller uses, Secrets by name', () => {
    const role = find(objects, 'Role', 'node1-kms-node') as K8sObject & { rules: unknown[] };
    expect(role.rules).toEqual([
      { apiGroups: ['kms.eigenx.dev'], resources: ['kmsnodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['kms.eigenx.dev'], resources: ['kmsnodes/status'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['kms-operator', 'kms-chain', 'kms-seal'], verbs: ['get'] },
    ]);
    expect(objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
  });

  test('the KmsNode mirrors the values', () => {
    const node = find(objects, 'KmsNode', 'node1-kms-node') as K8sObject & { spec: unknown };
    expect(node.spec).toEqual({
      operator: { address: OPERATOR, keySecretRef: { name: 'kms-operator', key: 'operator-key' } },
      chain: { rpcUrlSecretRef: { name: 'kms-chain', key: 'rpc-url' }, chainId: 17000, registryAddress: REGISTRY },
      persistence: {
        type: 'redis',
        dataPath: '/var/lib/kms-node/data',
        redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' },
        encryptionKeySecretRef: { name: 'kms-seal', key: 'encryption-key' },
      },
      server: { port: 8000 },
      appSign: { ratePerSecond: 50, burst: 100, maxConcurrent: 20, maxBodyBytes: 16384 },
    });
  });

  test('the KmsNode carries the app-key allowlist and limits from node.appSign', async () => {
    const values = merge(BASE_VALUES, { node: { appSign: { allowlist: ['my-app-id', '日本語'], ratePerSecond: 5, burst: 10, maxConcurrent: 2, maxBodyBytes: 4096 } } });
    const node = find(await renderOk(values), 'KmsNode', 'node1-kms-node') as K8sObject & { spec: { appSign: unknown } };
    expect(node.spec.appSign).toEqual({ allowlist: ['my-app-id', '日本語'], ratePerSecond: 5, burst: 10, maxConcurrent: 2, maxBodyBytes: 4096 });
  });

  test('NetworkPolicy: default deny ingress, API port from peers, clients and the helm test', () => {
    const np = find(objects, 'NetworkPolicy') as K8sObject & { spec: { policyTypes: string[]; ingress: { ports: unknown[]; from: unknown[] }[] } };
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0]?.ports).toEqual([{ port: 'api', protocol: 'TCP' }]);
    expect(np.spec.ingress[0]?.from).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'node1', 'app.kubernetes.io/component': 'helm-test' } } },
      { namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kms-node' } } },
    ]);
  });

  test('PDB: minAvailable 1, unhealthy pods always evictable', () => {
    const pdb = find(objects, 'PodDisruptionBudget') as K8sObject & { spec: Record<string, unknown> };
    expect(pdb.spec['minAvailable']).toBe(1);
    expect(pdb.spec['unhealthyPodEvictionPolicy']).toBe('AlwaysAllow');
  });

  test('the helm test pod checks /health and the Ready condition', () => {
    const pod = find(objects, 'Pod', 'node1-kms-node-test') as K8sObject & { spec: { containers: Container[] } };
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const script = pod.spec.containers[0]?.command?.join('\n') ?? '';
    expect(script).toContain("c.type === 'Ready'");
    // The kubelet expands $(NODE1_KMS_NODE_SERVICE_HOST) from the Service's link variables: no DNS needed.
    expect(envOf(pod.spec.containers[0]!).get('HEALTH_URL')).toBe('http://$(NODE1_KMS_NODE_SERVICE_HOST):8000/health');
  });
});

describe('kms-server settings', () => {
  test('every KMS_ variable the chart sets is a process-level kms-server option (controller mode refuses the rest)', async () => {
    const processLevel = new Set(OPTION_SPECS.filter((o) => o.controller === 'process').map((o) => envName(o)));
    const variants: Values[] = [
      merge(BASE_VALUES, { node: { persistence: { encryptionKeySecretRef: { name: 'kms-seal' } } } }),
      merge(BASE_VALUES, { node: { persistence: { redis: { mode: 'external', urlSecretRef: { name: 'r' }, appendfsync: 'everysec' } } } }),
      merge(BASE_VALUES, { node: { persistence: { type: 'memory' } } }),
      merge(BASE_VALUES, { extraEnv: [{ name: 'KMS_CONTROLLER_RESYNC_MS', value: '60000' }] }),
    ];
    const outside = new Set<string>();
    for (const values of variants) {
      const server = statefulSet(await renderOk(values)).spec.template.spec.containers.find((c) => c.name === 'kms-server')!;
      for (const e of server.env ?? []) if (e.name.startsWith('KMS_') && !processLevel.has(e.name)) outside.add(e.name);
    }
    expect([...outside]).toEqual([]);
  });

  test('extraEnv cannot smuggle node settings back into the env', async () => {
    const refused = await render(merge(BASE_VALUES, { extraEnv: [{ name: 'KMS_CHAIN_ID', value: '1' }] }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/extraEnv/);
  });
});

describe('variants', () => {
  test('external Redis: no volume, no init step, KMS_REDIS_URL from the Secret', async () => {
    const objects = await renderOk(
      merge(BASE_VALUES, { node: { persistence: { redis: { mode: 'external', urlSecretRef: { name: 'kms-redis' }, appendfsync: 'everysec' } } } }),
    );
    const sts = statefulSet(objects);
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(sts.spec.template.spec.initContainers).toBeUndefined();
    expect(objects.filter((o) => o.kind === 'StorageClass')).toEqual([]);
    expect(find(objects, 'KmsNode')).toMatchObject({ spec: { persistence: { redis: { mode: 'external', urlSecretRef: { name: 'kms-redis', key: 'redis-url' }, appendfsync: 'everysec' } } } });
    const role = find(objects, 'Role', 'node1-kms-node') as K8sObject & { rules: { resourceNames?: string[] }[] };
    expect(role.rules[4]?.resourceNames).toEqual(['kms-operator', 'kms-chain', 'kms-redis']);
  });

  test('crd.install=false leaves the CRD out; true renders it kept on uninstall', async () => {
    expect((await renderOk(merge(BASE_VALUES, { crd: { install: false } }))).some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
    const crd = find(await renderOk(BASE_VALUES), 'CustomResourceDefinition');
    expect(crd.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });

  test('the KmsNode is a post-install hook only while the cluster lacks its API', async () => {
    const freshObjects = await renderOk(BASE_VALUES);
    const fresh = find(freshObjects, 'KmsNode');
    expect(fresh.metadata.annotations).toEqual({ 'helm.sh/hook': 'post-install', 'meta.helm.sh/release-name': 'node1', 'meta.helm.sh/release-namespace': 'kms' });
    // Helm runs post-install hooks by ascending weight (default 0), each Job to completion first.
    const wait = find(freshObjects, 'Job', 'node1-kms-node-api-wait');
    expect(wait.metadata.annotations).toEqual({
      'helm.sh/hook': 'post-install',
      'helm.sh/hook-weight': '-5',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      'helm.sh/hook-output-log-policy': 'hook-failed',
    });
    // helm template cannot look the live object up, so with the API known it renders the regular object alone.
    const known = await renderOk(BASE_VALUES, ['--api-versions', 'kms.eigenx.dev/v1alpha1/KmsNode']);
    expect(known.filter((o) => o.kind === 'KmsNode')).toHaveLength(1);
    expect(find(known, 'KmsNode').metadata.annotations).toBeUndefined();
    expect(known.filter((o) => o.kind === 'Job')).toEqual([]);
  });

  test('the API-wait Job runs as the node, hardened, and no node selector picks its pod', async () => {
    const values = merge(BASE_VALUES, { nodeSelector: { pool: 'kms' }, tolerations: [{ key: 'kms', operator: 'Exists' }], imagePullSecrets: [{ name: 'reg' }] });
    const objects = await renderOk(values);
    const job = find(objects, 'Job') as K8sObject & {
      spec: { backoffLimit: number; template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> & { containers: Container[] } } };
    };
    expect(job.spec.backoffLimit).toBe(0);
    const pod = job.spec.template.spec;
    expect(pod).toMatchObject({ restartPolicy: 'Never', serviceAccountName: 'node1-kms-node', nodeSelector: { pool: 'kms' }, imagePullSecrets: [{ name: 'reg' }] });
    expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0]?.securityContext).toEqual(statefulSet(objects).spec.template.spec.containers[0]?.securityContext);
    expect(envOf(pod.containers[0]!)).toEqual(new Map([['API_GROUP_VERSION', 'kms.eigenx.dev/v1alpha1'], ['API_RESOURCE', 'kmsnodes'], ['WAIT_SECONDS', '300']]));
    const podLabels = job.spec.template.metadata.labels;
    const selectors = [
      (find(objects, 'Service', 'node1-kms-node') as K8sObject & { spec: { selector: Record<string, string> } }).spec.selector,
      (find(objects, 'PodDisruptionBudget') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels,
      (find(objects, 'NetworkPolicy') as K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> } } }).spec.podSelector.matchLabels,
    ];
    for (const selector of selectors) expect(Object.entries(selector).every(([k, v]) => podLabels[k] === v)).toBe(false);
  });

  test('the API-wait script, run here, gives up after WAIT_SECONDS naming what it waited for and why', async () => {
    const job = find(await renderOk(BASE_VALUES), 'Job') as K8sObject & { spec: { template: { spec: { containers: Container[] } } } };
    const command = job.spec.template.spec.containers[0]!.command!;
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    const dir = mkdtempSync(path.join(tmpdir(), 'kms-api-wait-'));
    try {
      const result = await run(process.execPath, ['-e', command[2]!], {
        env: { API_GROUP_VERSION: 'kms.eigenx.dev/v1alpha1', API_RESOURCE: 'kmsnodes', WAIT_SECONDS: '0', SA_DIR: dir, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`kms-node: the API server still does not serve kms.eigenx.dev/v1alpha1 kmsnodes after 0 s (ENOENT: no such file or directory, open '${dir}/ca.crt')`);
      expect(result.stderr).toContain('see kubectl get crd kmsnodes.kms.eigenx.dev');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CRD schema', () => {
  interface SchemaNode {
    description?: string;
    properties?: Record<string, SchemaNode>;
    items?: SchemaNode;
  }

  test('every field has a description (what kubectl explain prints)', () => {
    const crd = parseManifests(readFileSync(path.join(ROOT, 'crds/kmsnode.yaml'), 'utf8'))[0] as unknown as {
      spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
    };
    const missing: string[] = [];
    const walk = (node: SchemaNode, at: string): void => {
      for (const [name, child] of Object.entries(node.properties ?? {})) {
        // metadata is the standard ObjectMeta; a CRD may not describe it.
        if (at === '' && name === 'metadata') continue;
        if (child.description === undefined || child.description.trim() === '') missing.push(`${at}.${name}`);
        walk(child, `${at}.${name}`);
      }
      if (node.items !== undefined) walk(node.items, `${at}[]`);
    };
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    walk(root, '');
    expect(missing).toEqual([]);
    expect(root.properties?.['spec']?.properties?.['persistence']?.properties?.['dataPath']?.description).toMatch(/Absolute path/);
  });
});

describe('CRD copy', () => {
  test('the chart ships crds/kmsnode.yaml byte for byte', () => {
    expect(readFileSync(path.join(CHART_DIR, 'files/kmsnode-crd.yaml'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'crds/kmsnode.yaml'), 'utf8'));
  });

  test('the rendered CRD has the same spec as crds/kmsnode.yaml', async () => {
    const rendered = find(await renderOk(BASE_VALUES), 'CustomResourceDefinition') as K8sObject & { spec: unknown };
    const source = parseManifests(readFileSync(path.join(ROOT, 'crds/kmsnode.yaml'), 'utf8'))[0];
    expect(rendered.spec).toEqual(source?.spec);
  });
});
