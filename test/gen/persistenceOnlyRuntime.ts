import { describeError } from '../../src/logging/describeError.js';
import type { Logger } from '../../src/logging/logger.js';
import type { AppendFsyncPolicy, NodeKeyStatus, NodeRuntime, NodeRuntimeStatus, NodeStatusListener } from '../../src/node/runtime.js';
import { StatusListeners } from '../../src/node/statusListeners.js';
import type { NodePersistence } from '../../src/persistence/nodePersistence.js';
import { openPersistence, type OpenPersistenceOptions, type PersistenceConfig } from '../../src/persistence/open.js';
import { withAppendFsync, type ControllerNodeConfig } from '../../src/controller/kmsnode/specMapping.js';
import { enforceAofPolicy } from '../../src/controller/runtime/aofPolicy.js';
import { AofPolicyError, RuntimeStateError } from '../../src/controller/runtime/errors.js';
import { embeddedRedisAdmin, externalRedisAdmin, type RedisAdmin } from '../../src/controller/runtime/redisAdmin.js';
import { persistenceConfigOf, sealingSecretOf } from '../../src/node/createNode.js';

/**
 * Test-only: a node runtime that opens the real persistence (embedded redis-server with
 * its AOF in the data path, or an external Redis) and reports its health and key status,
 * without chain participation, for tests of the controller's persistence handling that
 * need no chain. Production runs KmsNodeRuntime (src/app). Stop closes persistence (the
 * embedded server shuts down cleanly); nothing here ever deletes data.
 */
export interface PersistenceOnlyRuntimeOptions {
  readonly logger: Logger;
  /** Defaults to openPersistence; tests of the lifecycle may pass another opener. */
  readonly open?: (config: PersistenceConfig, options: OpenPersistenceOptions) => Promise<NodePersistence>;
  /** How long re-enabling the AOF may take to finish its rewrite; default 60 s. */
  readonly aofRewriteTimeoutMs?: number;
}

const NO_KEYS: NodeKeyStatus = { activeVersion: null, versionCount: 0, lastProcessedBoundary: 0 };

export class PersistenceOnlyRuntime implements NodeRuntime<ControllerNodeConfig> {
  private config: ControllerNodeConfig | null = null;
  private persistence: NodePersistence | null = null;
  private admin: RedisAdmin | null = null;
  private last: NodeRuntimeStatus = { phase: 'stopped', persistence: null, keys: NO_KEYS, lastError: null };
  private readonly logger: Logger;
  private readonly listeners: StatusListeners;

  constructor(private readonly options: PersistenceOnlyRuntimeOptions) {
    this.logger = options.logger.child({ module: 'runtime', runtime: 'persistence-only' });
    this.listeners = new StatusListeners((error) => { this.logger.warn({ err: describeError(error) }, 'a status listener threw; ignored'); });
  }

  /**
   * Every status change goes through here. Without a node there are no rounds or
   * boundaries: what this runtime knows to announce is a phase change and a flip of the
   * health verdict (seen when the owner refreshes). Key counts are only ever read on
   * the owner's own refresh, so announcing them would tell it nothing new.
   */
  private update(next: NodeRuntimeStatus): void {
    const previous = this.last;
    this.last = next;
    if (previous.phase !== next.phase) this.listeners.emit('phase', next);
    const [was, is] = [previous.persistence?.healthy, next.persistence?.healthy];
    if (was !== undefined && is !== undefined && was !== is) this.listeners.emit('persistenceHealth', next);
  }

  async start(config: ControllerNodeConfig): Promise<void> {
    if (this.persistence !== null) throw new RuntimeStateError('the runtime is already running', { fix: 'stop it before starting it again' });
    this.update({ phase: 'starting', persistence: null, keys: NO_KEYS, lastError: null });
    try {
      const persistenceConfig = persistenceConfigOf(config.node);
      const open = this.options.open ?? openPersistence;
      this.persistence = await open(persistenceConfig, { logger: this.logger, sealingSecret: sealingSecretOf(config.node) });
      this.update({ ...this.last, phase: 'restoring' });
      const p = config.node.persistence;
      this.admin = p.type !== 'redis'
        ? null
        : p.mode === 'embedded'
          ? embeddedRedisAdmin(p.dataPath)
          : await externalRedisAdmin(p);
      this.config = config;
      const health = await this.persistence.healthCheck();
      this.update({ phase: 'running', persistence: health, keys: await this.readKeys(), lastError: null });
      this.logger.info({ backend: health.backend, mode: health.mode }, 'persistence open; node running (persistence only)');
    } catch (error) {
      await this.closeQuietly();
      this.update({ phase: 'failed', persistence: null, keys: NO_KEYS, lastError: describeError(error) });
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.persistence === null) {
      this.update({ ...this.last, phase: 'stopped', persistence: null });
      return;
    }
    this.update({ ...this.last, phase: 'stopping' });
    await this.closeQuietly();
    this.update({ phase: 'stopped', persistence: null, keys: this.last.keys, lastError: null });
  }

  currentConfig(): ControllerNodeConfig | null {
    return this.config;
  }

  /** Fresh health and keys. */
  async refreshStatus(): Promise<NodeRuntimeStatus> {
    const persistence = this.persistence;
    if (persistence === null) return this.last;
    const health = await persistence.healthCheck();
    const keys = await this.readKeys().catch(() => this.last.keys);
    this.update({ phase: 'running', persistence: health, keys, lastError: null });
    return this.last;
  }

  status(): NodeRuntimeStatus {
    return this.last;
  }

  onStatusChange(listener: NodeStatusListener): () => void {
    return this.listeners.add(listener);
  }

  /** Sets appendonly yes and the appendfsync policy on the running Redis, then reads both back. */
  async applyAppendFsync(policy: AppendFsyncPolicy): Promise<void> {
    const admin = this.admin;
    if (admin === null) throw new AofPolicyError('the memory backend has no AOF policy', { fix: 'use persistence.type redis' });
    await enforceAofPolicy(admin, policy, this.options.aofRewriteTimeoutMs ?? 60_000);
    if (this.config !== null) this.config = withAppendFsync(this.config, policy);
    this.logger.info({ appendfsync: policy }, 'AOF policy applied and verified');
  }

  private async readKeys(): Promise<NodeKeyStatus> {
    const p = this.persistence;
    if (p === null) return NO_KEYS;
    const [epochs, active, state] = await Promise.all([p.listKeyShareEpochs(), p.getActiveVersionEpoch(), p.loadNodeState()]);
    return { activeVersion: active, versionCount: epochs.length, lastProcessedBoundary: state?.lastProcessedBoundary ?? 0 };
  }

  private async closeQuietly(): Promise<void> {
    const [persistence, admin] = [this.persistence, this.admin];
    this.persistence = null;
    this.admin = null;
    this.config = null;
    await admin?.close().catch(() => undefined);
    if (persistence !== null) {
      await persistence.close().catch((error: unknown) => { this.logger.warn({ err: describeError(error) }, 'closing persistence failed'); });
    }
  }
}
