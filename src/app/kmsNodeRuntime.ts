import type { ServerConfig } from '../config/serverConfig.js';
import { enforceAofPolicy } from '../controller/runtime/aofPolicy.js';
import { AofPolicyError } from '../controller/runtime/errors.js';
import { embeddedRedisAdmin, externalRedisAdmin } from '../controller/runtime/redisAdmin.js';
import { withAppendFsync, type ControllerNodeConfig } from '../controller/kmsnode/specMapping.js';
import { describeError } from '../logging/describeError.js';
import type { Logger } from '../logging/logger.js';
import { createNode } from '../node/createNode.js';
import type { KmsNode } from '../node/kmsNode.js';
import type { AppendFsyncPolicy, NodeRuntime, NodeRuntimeStatus, NodeStatusListener } from '../node/runtime.js';
import { StatusListeners } from '../node/statusListeners.js';

/** How long re-enabling the AOF may take to finish its rewrite before the repair is reported failed. */
export const AOF_REWRITE_TIMEOUT_MS = 60_000;

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
    private readonly logger: Logger,
    private readonly create: NodeFactory = createNode,
  ) {
    this.listeners = new StatusListeners((error) => { this.logger.warn({ err: describeError(error) }, 'a status listener threw; ignored'); });
  }

  async start(config: ControllerNodeConfig): Promise<void> {
    const node = await this.create(config.node, this.logger);
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
    const redis = config?.node.persistence ?? null;
    if (config === null || redis === null || redis.type !== 'redis') throw new AofPolicyError('no Redis to apply an AOF policy to', { fix: 'use persistence.type redis' });
    if (redis.appendfsync !== policy) {
      await this.stop();
      await this.start(withAppendFsync(config, policy));
      return;
    }
    const admin = redis.mode === 'embedded'
      ? embeddedRedisAdmin(redis.dataPath)
      : await externalRedisAdmin({ url: redis.url, db: redis.db, username: redis.username, password: redis.password, connectTimeoutMs: redis.connectTimeoutMs, commandTimeoutMs: redis.commandTimeoutMs });
    try {
      await enforceAofPolicy(admin, policy, AOF_REWRITE_TIMEOUT_MS);
    } finally {
      await admin.close();
    }
  }
}
