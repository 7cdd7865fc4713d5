/**
 * Builders for controller tests, cert-manager's test/unit/gen shape: a valid default
 * plus modifiers, so each test states only what it is about.
 */
import { KMSNODE_API_VERSION, KMSNODE_KIND, type KmsNode, type KmsNodeSpec, type KmsNodeStatus } from '../../src/api/v1alpha1/kmsnode.types.js';
import type { NodeRuntimeStatus } from '../../src/node/runtime.js';
import type { PersistenceHealth } from '../../src/persistence/types.js';
import { specToNodeConfig, type ControllerNodeConfig } from '../../src/controller/kmsnode/specMapping.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type KmsNodeMod = (node: Mutable<KmsNode>) => void;

/** The address of the test key 0xabab…ab (defaultSecrets), so the spec's key and address agree. */
export const OPERATOR_ADDRESS = '0xe239cdc5fbe977a8a141b72194d3cf8c41bc5bc6';
export const REGISTRY_ADDRESS = '0x2222222222222222222222222222222222222222';

export function defaultSpec(dataPath = '/var/lib/kms/data'): KmsNodeSpec {
  return {
    operator: { address: OPERATOR_ADDRESS, keySecretRef: { name: 'operator-key', key: 'key' } },
    chain: { rpcUrlSecretRef: { name: 'chain-rpc', key: 'url' }, chainId: 31337, registryAddress: REGISTRY_ADDRESS },
    persistence: { type: 'redis', dataPath, redis: { mode: 'embedded', appendfsync: 'always', keyPrefix: 'kms:' } },
    server: { port: 8000 },
  };
}

/** Secret objects (name → data) that satisfy defaultSpec(). */
export function defaultSecrets(): Record<string, Record<string, string>> {
  return {
    'operator-key': { key: `0x${'ab'.repeat(32)}` },
    'chain-rpc': { url: 'http://127.0.0.1:8545' },
  };
}

export function kmsNode(name: string, ...mods: KmsNodeMod[]): KmsNode {
  const node: Mutable<KmsNode> = {
    apiVersion: KMSNODE_API_VERSION,
    kind: KMSNODE_KIND,
    metadata: { name, namespace: 'kms', uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: defaultSpec(),
  };
  for (const mod of mods) mod(node);
  return node;
}

export const withSpec = (spec: KmsNodeSpec): KmsNodeMod => (n) => { n.spec = spec; };
export const withStatus = (status: KmsNodeStatus): KmsNodeMod => (n) => { n.status = status; };
export const withGeneration = (generation: number): KmsNodeMod => (n) => { n.metadata = { ...n.metadata, generation }; };
export const withNamespace = (namespace: string): KmsNodeMod => (n) => { n.metadata = { ...n.metadata, namespace }; };
export const withResourceVersion = (resourceVersion: string): KmsNodeMod => (n) => { n.metadata = { ...n.metadata, resourceVersion }; };
export const withPersistence = (persistence: KmsNodeSpec['persistence']): KmsNodeMod => (n) => { n.spec = { ...n.spec, persistence }; };
export const withAppendFsync = (appendfsync: 'always' | 'everysec'): KmsNodeMod => (n) => {
  n.spec = { ...n.spec, persistence: { ...n.spec.persistence, redis: { ...n.spec.persistence.redis, appendfsync } } };
};
export const withDataPath = (dataPath: string): KmsNodeMod => (n) => {
  n.spec = { ...n.spec, persistence: { ...n.spec.persistence, dataPath } };
};

type HealthMod = (h: Mutable<PersistenceHealth>) => void;

/** A healthy embedded-Redis health report: AOF on, always, last write ok, data path 0700. */
export function redisHealth(...mods: HealthMod[]): PersistenceHealth {
  const health: Mutable<PersistenceHealth> = {
    healthy: true,
    backend: 'redis',
    mode: 'embedded',
    findings: [],
    aof: { enabled: true, fsync: 'always', lastWriteStatus: 'ok', rewriteInProgress: false, sizeBytes: 4096 },
    dataPath: { path: '/var/lib/kms/data', exists: true, mode: '0700', ownerUid: 1000, writable: true, freeBytes: 10 * 1024 ** 3 },
  };
  for (const mod of mods) mod(health);
  return health;
}

export const withAof = (aof: Partial<NonNullable<PersistenceHealth['aof']>>): HealthMod => (h) => {
  h.aof = { ...(h.aof ?? { enabled: true, fsync: 'always', lastWriteStatus: 'ok', rewriteInProgress: false, sizeBytes: 0 }), ...aof };
};
export const withDataPathFacts = (d: Partial<NonNullable<PersistenceHealth['dataPath']>>): HealthMod => (h) => {
  h.dataPath = { ...(h.dataPath ?? { path: '/x', exists: true, mode: '0700', ownerUid: 1000, writable: true, freeBytes: null }), ...d };
};
export const withFindings = (findings: PersistenceHealth['findings']): HealthMod => (h) => { h.findings = findings; };

type StatusMod = (s: Mutable<NodeRuntimeStatus>) => void;

/** A running node with healthy embedded Redis and no key yet. */
export function runtimeStatus(...mods: StatusMod[]): NodeRuntimeStatus {
  const status: Mutable<NodeRuntimeStatus> = {
    phase: 'running',
    persistence: redisHealth(),
    keys: { activeVersion: null, versionCount: 0, lastProcessedBoundary: 0 },
    lastError: null,
  };
  for (const mod of mods) mod(status);
  return status;
}

export const withPhase = (phase: NodeRuntimeStatus['phase']): StatusMod => (s) => { s.phase = phase; };
export const withHealth = (persistence: PersistenceHealth | null): StatusMod => (s) => { s.persistence = persistence; };
export const withKeys = (keys: NodeRuntimeStatus['keys']): StatusMod => (s) => { s.keys = keys; };
export const withLastError = (lastError: NodeRuntimeStatus['lastError']): StatusMod => (s) => { s.lastError = lastError; };

/** A validated controller configuration for `spec` (default: memory persistence), with the default Secrets. */
export function nodeConfig(spec: KmsNodeSpec = { ...defaultSpec(), persistence: { type: 'memory' } }): ControllerNodeConfig {
  const secrets = new Map(Object.entries(defaultSecrets()).flatMap(([name, data]) => Object.entries(data).map(([key, value]) => [`${name}/${key}`, value] as const)));
  const mapped = specToNodeConfig(spec, secrets);
  if (!mapped.ok) throw new Error(`test spec is invalid: ${JSON.stringify(mapped.problems)}`);
  return mapped.config;
}
