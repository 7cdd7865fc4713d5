import type { Logger } from '../../logging/logger.js';
import type { AppendFsyncPolicy, NodeKeyStatus, NodeRuntime, NodeRuntimeStatus, NodeStatusListener } from '../../node/runtime.js';
import { StatusListeners } from '../../node/statusListeners.js';
import type { NodePersistence } from '../../persistence/nodePersistence.js';
import { openPersistence, type OpenPersistenceOptions, type PersistenceConfig } from '../../persistence/open.js';
import { BACKEND_RESTARTED_CODE } from '../kmsnode/checks.js';
import type { ControllerNodeConfig } from '../kmsnode/specMapping.js';
import { enforceAofPolicy } from './aofPolicy.js';
import { AofPolicyError, RuntimeStateError } from './errors.js';
import { embeddedRedisAdmin, externalRedisAdmin, type RedisAdmin } from './redisAdmin.js';

/**
 * A node runtime that opens the real persistence (embedded redis-server with its AOF in
 * the data path, or an external Redis) and reports its health and key status, without
 * chain participation. It is what `kms-server --controller` runs before a chain config is
 * ready, and what the controller e2e drives; the full node runtime implements the same
 * seam. Stop closes persistence (the embedded server shuts down cleanly); nothing here
 * ever deletes data.
 */
export interface PersistenceOnlyRuntimeOptions {
  readonly logger: Logger;
  readonly redisServerBinary?: string;
  /** Defaults to openPersistence; tests of the lifecycle may pass another opener. */
  readonly open?: (config: PersistenceConfig, options: OpenPersistenceOptions) => Promise<NodePersistence>;
  /** How long re-enabling the AOF may take to finish its rewrite; default 60 s. */
  readonly aofRewriteTimeoutMs?: number;
}

const NO_KEYS: NodeKeyStatus = { activeVersion: null, versionCount: 0, lastProcessedBoundary: 0 };

/** Splits credentials out of a Redis URL: the persistence layer refuses them inline. */
export function splitRedisUrl(url: string): { url: string; env: Record<string, string | undefined> } {
  const u = new URL(url);
  const env = {
    KMS_REDIS_USERNAME: u.username === '' ? undefined : decodeURIComponent(u.username),
    KMS_REDIS_PASSWORD: u.password === '' ? undefined : decodeURIComponent(u.password),
  };
  u.username = '';
  u.password = '';
  return { url: u.toString(), env };
}

/** The persistence layer's config for a controller config; the db is the URL path's number. */
export function persistenceConfigOf(config: ControllerNodeConfig, redisServerBinary: string | undefined): { config: PersistenceConfig; env: Record<string, string | undefined> } {
  const p = config.persistence;
  if (p.type === 'memory' || p.redis === null) return { config: { type: 'memory' }, env: {} };
  if (p.redis.mode === 'embedded') {
    if (p.dataPath === null) throw new RuntimeStateError('embedded Redis needs a data path', { fix: 'set spec.persistence.dataPath' });
    return {
      config: {
        type: 'redis', mode: 'embedded', dataPath: p.dataPath, keyPrefix: p.redis.keyPrefix, appendfsync: p.redis.appendfsync,
        ...(redisServerBinary === undefined ? {} : { redisServerBinary }),
      },
      env: {},
    };
  }
  if (p.redis.url === undefined) throw new RuntimeStateError('external Redis needs a URL', { fix: 'set spec.persistence.redis.urlSecretRef' });
  const { url, env } = splitRedisUrl(p.redis.url);
  const dbText = new URL(url).pathname.replace(/^\//, '');
  const serverUrl = new URL(url);
  serverUrl.pathname = '';
  return {
    config: {
      type: 'redis', mode: 'external', url: serverUrl.toString().replace(/\/$/, ''), keyPrefix: p.redis.keyPrefix,
      durability: p.redis.appendfsync === 'everysec' ? { allowEverysec: true } : 'always',
      ...(dbText === '' ? {} : { db: Number(dbText) }),
    },
    env,
  };
}

/** The operator key (0x + 64 hex) as bytes, or the configured sealing secret's UTF-8 bytes. */
export function sealingSecretOf(config: ControllerNodeConfig): Uint8Array {
  if (config.persistence.encryptionSecret !== null) return new TextEncoder().encode(config.persistence.encryptionSecret);
  return Uint8Array.from(Buffer.from(config.operator.privateKey.replace(/^0x/, ''), 'hex'));
}

export class PersistenceOnlyRuntime implements NodeRuntime<ControllerNodeConfig> {
  private config: ControllerNodeConfig | null = null;
  private persistence: NodePersistence | null = null;
  private admin: RedisAdmin | null = null;
  private runId: string | null = null;
  private last: NodeRuntimeStatus = { phase: 'stopped', persistence: null, keys: NO_KEYS, lastError: null };
  private readonly logger: Logger;
  private readonly listeners: StatusListeners;

  constructor(private readonly options: PersistenceOnlyRuntimeOptions) {
    this.logger = options.logger.child({ module: 'runtime', runtime: 'persistence-only' });
    this.listeners = new StatusListeners((error) => { this.logger.warn({ err: errorOf(error) }, 'a status listener threw; ignored'); });
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
      const { config: persistenceConfig, env } = persistenceConfigOf(config, this.options.redisServerBinary);
      const open = this.options.open ?? openPersistence;
      this.persistence = await open(persistenceConfig, { logger: this.logger, sealingSecret: sealingSecretOf(config), env });
      this.update({ ...this.last, phase: 'restoring' });
      this.admin = persistenceConfig.type !== 'redis'
        ? null
        : persistenceConfig.mode === 'embedded'
          ? embeddedRedisAdmin(persistenceConfig.dataPath)
          : await externalRedisAdmin(persistenceConfig.url, env);
      this.runId = await this.readRunId();
      this.config = config;
      const health = await this.persistence.healthCheck();
      this.update({ phase: 'running', persistence: health, keys: await this.readKeys(), lastError: null });
      this.logger.info({ backend: health.backend, mode: health.mode }, 'persistence open; node running (persistence only)');
    } catch (error) {
      await this.closeQuietly();
      this.update({ phase: 'failed', persistence: null, keys: NO_KEYS, lastError: errorOf(error) });
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

  /**
   * Fresh health and keys. A server restart seen since the last refresh (Redis run_id
   * changed) is reported once as lastError PERSISTENCE_BACKEND_RESTARTED: the node
   * survived it, but an operator should know that the process under its data died.
   */
  async refreshStatus(): Promise<NodeRuntimeStatus> {
    const persistence = this.persistence;
    if (persistence === null) return this.last;
    const runId = await this.readRunId().catch(() => null);
    const restarted = runId !== null && this.runId !== null && runId !== this.runId;
    if (runId !== null) this.runId = runId;
    const incident = restarted
      ? { code: BACKEND_RESTARTED_CODE, message: 'redis-server restarted underneath the node (its run_id changed); the AOF was replayed and is verified again' }
      : null;
    if (incident !== null) this.logger.warn(incident, 'persistence backend restarted');
    const health = await persistence.healthCheck();
    const keys = await this.readKeys().catch(() => this.last.keys);
    this.update({ phase: 'running', persistence: health, keys, lastError: incident });
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
    if (this.config?.persistence.redis) {
      this.config = { ...this.config, persistence: { ...this.config.persistence, redis: { ...this.config.persistence.redis, appendfsync: policy } } };
    }
    this.logger.info({ appendfsync: policy }, 'AOF policy applied and verified');
  }

  private async readRunId(): Promise<string | null> {
    if (this.admin === null) return null;
    return (await this.admin.info('server')).get('run_id') ?? null;
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
    this.runId = null;
    await admin?.close().catch(() => undefined);
    if (persistence !== null) {
      await persistence.close().catch((error: unknown) => { this.logger.warn({ err: errorOf(error) }, 'closing persistence failed'); });
    }
  }
}

function errorOf(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'UNKNOWN', message: String(error) };
}
