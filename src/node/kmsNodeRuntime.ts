import type { ControllerModeConfig } from '../config/parseServerConfig.js';
import { DEFAULT_APP_SIGN_POLICY } from './http/appSignAccess.js';
import type { ServerConfig } from '../config/serverConfig.js';
import { enforceAofPolicy } from '../controller/runtime/aofPolicy.js';
import { AofPolicyError } from '../controller/runtime/errors.js';
import { splitRedisUrl } from '../controller/runtime/persistenceRuntime.js';
import { embeddedRedisAdmin, externalRedisAdmin } from '../controller/runtime/redisAdmin.js';
import type { ControllerNodeConfig } from '../controller/kmsnode/specMapping.js';
import type { Logger } from '../logging/logger.js';
import type { OperatorAddress } from '../persistence/types.js';
import { createNode } from './createNode.js';
import type { KmsNode } from './kmsNode.js';
import type { AppendFsyncPolicy, NodeRuntime, NodeRuntimeStatus, NodeStatusListener } from './runtime.js';
import { StatusListeners } from './statusListeners.js';

/** What kms-server's own flags contribute when the KmsNode resource supplies the rest. */
export type RuntimeBaseSettings = Pick<
  ControllerModeConfig,
  'host' | 'logLevel' | 'redisServerBinary' | 'boundaryInterval' | 'pollIntervalMs' | 'protocolTimeoutMs'
>;

/** Builds a node from a configuration; createNode unless a test passes its own. */
export type NodeFactory = (config: ServerConfig, logger: Logger) => Promise<KmsNode>;

const STOPPED: NodeRuntimeStatus = {
  phase: 'stopped',
  persistence: null,
  keys: { activeVersion: null, versionCount: 0, lastProcessedBoundary: 0 },
  lastError: null,
};

/**
 * The full KMS node behind the controller's NodeRuntime seam: the KmsNode resource (and
 * the Secrets it names) configures it; start builds and starts a node, a persistence
 * change is a stop and a start on the new configuration, and the AOF policy is enforced
 * on the running Redis.
 */
export class KmsNodeRuntime implements NodeRuntime<ControllerNodeConfig> {
  private node: KmsNode | null = null;
  private config: ControllerNodeConfig | null = null;
  private last: NodeRuntimeStatus = STOPPED;
  /** Outlive each node: a restart builds a new node, the subscribers stay. */
  private readonly listeners: StatusListeners;
  private detachNode: (() => void) | null = null;

  constructor(
    private readonly base: RuntimeBaseSettings,
    private readonly logger: Logger,
    private readonly create: NodeFactory = createNode,
  ) {
    this.listeners = new StatusListeners((error) => { this.logger.warn({ err: String(error) }, 'a status listener threw; ignored'); });
  }

  async start(config: ControllerNodeConfig): Promise<void> {
    const node = await this.create(toServerConfig(config, this.base), this.logger);
    // Attached before start, so starting → restoring → running reach the subscribers too.
    const detach = node.onStatusChange((change) => { this.listeners.emit(change.reason, change.status); });
    try {
      await node.start();
    } catch (error) {
      this.last = node.status();
      detach();
      throw error;
    }
    this.node = node;
    this.config = config;
    this.detachNode = detach;
  }

  async stop(): Promise<void> {
    const node = this.node;
    if (node === null) return;
    await node.stop();
    this.last = node.status();
    this.detachNode?.();
    this.detachNode = null;
    this.node = null;
    this.config = null;
  }

  currentConfig(): ControllerNodeConfig | null {
    return this.config;
  }

  async refreshStatus(): Promise<NodeRuntimeStatus> {
    if (this.node === null) return this.last;
    await this.node.health();
    return this.node.status();
  }

  status(): NodeRuntimeStatus {
    return this.node?.status() ?? this.last;
  }

  onStatusChange(listener: NodeStatusListener): () => void {
    return this.listeners.add(listener);
  }

  /**
   * A new policy means reopening persistence under it (the node verifies its fsync policy
   * at open and in every health check); the same policy is re-enforced on the running
   * Redis, which heals `CONFIG SET appendonly no` done behind the node's back.
   */
  async applyAppendFsync(policy: AppendFsyncPolicy): Promise<void> {
    const config = this.config;
    const redis = config?.persistence.redis ?? null;
    if (config === null || redis === null) throw new AofPolicyError('no Redis to apply an AOF policy to', { fix: 'use persistence.type redis' });
    if (redis.appendfsync !== policy) {
      await this.stop();
      await this.start({ ...config, persistence: { ...config.persistence, redis: { ...redis, appendfsync: policy } } });
      return;
    }
    const admin = redis.mode === 'embedded' && config.persistence.dataPath !== null
      ? embeddedRedisAdmin(config.persistence.dataPath)
      : await externalRedisAdmin(redis.url ?? '', splitRedisUrl(redis.url ?? '').env);
    try {
      await enforceAofPolicy(admin, policy, 60_000);
    } finally {
      await admin.close();
    }
  }
}

/** The controller's view of a node configuration, completed by kms-server's own settings. */
export function toServerConfig(config: ControllerNodeConfig, base: RuntimeBaseSettings): ServerConfig {
  const p = config.persistence;
  const redis = p.redis;
  const common = redis === null ? null : {
    keyPrefix: redis.keyPrefix,
    appendfsync: redis.appendfsync,
    // The resource's choice of everysec is an explicit, reviewed setting.
    allowWeakerFsync: redis.appendfsync === 'everysec',
    commandTimeoutMs: 5_000,
  };
  let persistence: ServerConfig['persistence'];
  if (p.type === 'memory' || redis === null || common === null) {
    persistence = { type: 'memory' };
  } else if (redis.mode === 'embedded') {
    persistence = { type: 'redis', mode: 'embedded', dataPath: p.dataPath ?? './kms-data', redisServerBinary: base.redisServerBinary, ...common };
  } else {
    const { url, env } = splitRedisUrl(redis.url ?? '');
    const parsed = new URL(url);
    const db = Number(parsed.pathname.replace(/^\//, '') || '0');
    parsed.pathname = '';
    persistence = {
      type: 'redis', mode: 'external', url: parsed.toString().replace(/\/$/, ''), db, connectTimeoutMs: 5_000,
      username: env.KMS_REDIS_USERNAME ?? null, password: env.KMS_REDIS_PASSWORD ?? null, ...common,
    };
  }
  return {
    operator: { address: config.operator.address.toLowerCase() as OperatorAddress, privateKey: config.operator.privateKey as `0x${string}` },
    chain: {
      rpcUrl: config.chain.rpcUrl,
      chainId: config.chain.chainId,
      operatorSet: { kind: 'registry', address: config.chain.registryAddress.toLowerCase() as `0x${string}` },
      boundaryInterval: base.boundaryInterval,
      pollIntervalMs: base.pollIntervalMs,
      protocolTimeoutMs: base.protocolTimeoutMs,
    },
    persistence,
    encryptionSecret: p.encryptionSecret === null ? { source: 'operator-key' } : { source: 'file', secret: new TextEncoder().encode(p.encryptionSecret) },
    server: { host: base.host, port: config.server.port },
    appSign: config.appSign ?? DEFAULT_APP_SIGN_POLICY,
    logLevel: base.logLevel,
    controller: { enabled: false },
  };
}
