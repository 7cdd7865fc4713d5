/**
 * The KmsNode resource (kms.eigenx.dev/v1alpha1) as TypeScript types. The CRD in
 * crds/kmsnode.yaml is the schema the API server enforces; these types mirror it and
 * are what the controller reads (spec) and writes (status).
 */
import type { Condition } from './conditions.js';

export const KMSNODE_GROUP = 'kms.eigenx.dev';
export const KMSNODE_VERSION = 'v1alpha1';
export const KMSNODE_KIND = 'KmsNode';
export const KMSNODE_PLURAL = 'kmsnodes';
export const KMSNODE_API_VERSION = `${KMSNODE_GROUP}/${KMSNODE_VERSION}`;

/** A key inside a Secret in the KmsNode's namespace. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

export interface KmsNodeOperatorSpec {
  /** 0x + 40 hex. */
  readonly address: string;
  /** The operator's secp256k1 private key. */
  readonly keySecretRef: SecretKeyRef;
}

export interface KmsNodeChainSpec {
  /** The JSON-RPC URL lives in a Secret: provider URLs often embed an API key. */
  readonly rpcUrlSecretRef: SecretKeyRef;
  readonly chainId: number;
  readonly registryAddress: string;
  /** Blocks between protocol boundaries; absent = the chain id's default. */
  readonly boundaryInterval?: number;
  /** How often to poll for new blocks, ms; absent = the chain id's default. */
  readonly pollIntervalMs?: number;
  /** How long one DKG or reshare may take, ms; absent = the chain id's default. */
  readonly protocolTimeoutMs?: number;
}

export type PersistenceType = 'memory' | 'redis';
export type RedisMode = 'embedded' | 'external';
export type AppendFsync = 'always' | 'everysec';

export interface KmsNodeRedisSpec {
  readonly mode?: RedisMode;
  /** External mode: the redis:// or rediss:// URL (credentials included) lives in a Secret. */
  readonly urlSecretRef?: SecretKeyRef;
  readonly appendfsync?: AppendFsync;
  readonly keyPrefix?: string;
  /** External Redis connect timeout, ms. */
  readonly connectTimeoutMs?: number;
  /** Redis command timeout, ms. */
  readonly commandTimeoutMs?: number;
}

export interface KmsNodePersistenceSpec {
  readonly type: PersistenceType;
  readonly dataPath?: string;
  readonly redis?: KmsNodeRedisSpec;
  /** The secret that seals shares at rest; absent = derived from the operator key. */
  readonly encryptionKeySecretRef?: SecretKeyRef;
}

export interface KmsNodeServerSpec {
  readonly port?: number;
}

/** Controlled release of app keys (POST /app/sign); unset fields take upstream's defaults. */
export interface KmsNodeAppSignSpec {
  /** Exact app ids this node signs for; absent = every app id. */
  readonly allowlist?: readonly string[];
  readonly ratePerSecond?: number;
  readonly burst?: number;
  readonly maxConcurrent?: number;
  readonly maxBodyBytes?: number;
}

export interface KmsNodeSpec {
  readonly operator: KmsNodeOperatorSpec;
  readonly chain: KmsNodeChainSpec;
  readonly persistence: KmsNodePersistenceSpec;
  readonly server?: KmsNodeServerSpec;
  readonly appSign?: KmsNodeAppSignSpec;
}

export type KmsNodePhase = 'Pending' | 'Restoring' | 'Running' | 'Degraded' | 'NeedsIntervention' | 'Stopping';

export interface KmsNodePersistenceStatus {
  readonly backend: PersistenceType;
  /** Redis only (the CRD allows embedded | external). */
  readonly mode?: RedisMode;
  readonly aofEnabled?: boolean;
  readonly fsync?: string;
  readonly lastWriteStatus?: 'ok' | 'err';
  readonly aofSizeBytes?: number;
}

export interface KmsNodeDataPathStatus {
  readonly path: string;
  readonly exists: boolean;
  /** "0700"-style; absent when the directory does not exist. */
  readonly mode?: string;
  readonly ownerUid?: number;
  readonly writable: boolean;
  readonly freeBytes?: number;
}

export interface KmsNodeKeysStatus {
  readonly activeVersion?: number;
  readonly versionCount: number;
  readonly lastBoundary: number;
}

export interface KmsNodeStatus {
  readonly observedGeneration?: number;
  readonly phase?: KmsNodePhase;
  /** One human sentence on the phase, e.g. "Waiting for user action: …". */
  readonly phaseMessage?: string;
  /**
   * When the controller last wrote status (every pass, at least once per resync). Older
   * than a few resync periods = nobody is reporting: the pod is dead, Pending or hung.
   */
  readonly lastHeartbeatTime?: string;
  readonly conditions?: readonly Condition[];
  readonly persistence?: KmsNodePersistenceStatus;
  readonly dataPath?: KmsNodeDataPathStatus;
  readonly keys?: KmsNodeKeysStatus;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KmsNode {
  readonly apiVersion: typeof KMSNODE_API_VERSION;
  readonly kind: typeof KMSNODE_KIND;
  readonly metadata: ObjectMeta;
  readonly spec: KmsNodeSpec;
  readonly status?: KmsNodeStatus;
}

/** The queue key of a namespaced object: "namespace/name". */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Splits "namespace/name"; a key without a slash is a name in the empty namespace. */
export function splitObjectKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
