import { readFile } from 'node:fs/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { inspectDataPath } from './dataPath.js';
import { PersistenceConfigError } from './errors.js';
import { instrumentPersistence, type PersistenceObserver } from './instrument.js';
import { DEFAULT_KEY_PREFIX, keySchema } from './keySchema.js';
import { MemoryPersistence } from './memory/memoryPersistence.js';
import type { NodePersistence } from './nodePersistence.js';
import type { DurabilityOption } from './redis/durability.js';
import { EmbeddedRedisServer } from './redis/embedded/embeddedRedisServer.js';
import { RedisPersistence } from './redis/redisPersistence.js';
import { createRecordSealer } from './sealing.js';
import type { HealthFinding } from './types.js';

/** The one place a node's persistence is built from configuration. */

export interface MemoryPersistenceConfig {
  readonly type: 'memory';
}

interface RedisCommon {
  readonly type: 'redis';
  /** Default "kms:" (lines up with the Go original's keys for migration). */
  readonly keyPrefix?: string;
}

/** The default: the node runs its own redis-server with its AOF in the data path. */
export interface EmbeddedRedisConfig extends RedisCommon {
  readonly mode: 'embedded';
  /** Absolute; created 0700. */
  readonly dataPath: string;
  readonly redisServerBinary?: string;
  /** 'everysec' trades up to ~1 s of acknowledged writes for speed; it must be chosen explicitly. */
  readonly appendfsync?: 'always' | 'everysec';
  readonly startTimeoutMs?: number;
}

export interface ExternalRedisConfig extends RedisCommon {
  readonly mode: 'external';
  /** redis://host:port or rediss://host:port; credentials in the URL are refused (use the file or env options). */
  readonly url: string;
  readonly db?: number;
  readonly usernameFile?: string;
  readonly passwordFile?: string;
  /** Env var names to read credentials from; defaults KMS_REDIS_USERNAME / KMS_REDIS_PASSWORD. */
  readonly usernameEnv?: string;
  readonly passwordEnv?: string;
  /** Credentials as values (kms-server validated them already); when given, the file and env options are not read. */
  readonly credentials?: { readonly username: string | null; readonly password: string | null };
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  /** For rediss:// URLs. */
  readonly tls?: { readonly caFile?: string; readonly serverName?: string };
  /** Default 'always'; weaker policies only by explicit choice. */
  readonly durability?: Exclude<DurabilityOption, 'none-mock'>;
}

export type PersistenceConfig = MemoryPersistenceConfig | EmbeddedRedisConfig | ExternalRedisConfig;

export interface OpenPersistenceOptions {
  readonly logger: Logger;
  /** Key material the at-rest sealing key is derived from: the operator's private key by default. Not kept. */
  readonly sealingSecret: Uint8Array;
  /** Wraps the result with instrumentPersistence when given. */
  readonly observer?: PersistenceObserver;
  /** Defaults to process.env (credentials). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The embedded redis-server for this configuration, already being started (kms-server
   * starts it while the node's modules load); used instead of starting one here.
   */
  readonly embeddedServer?: Promise<EmbeddedRedisServer>;
}

/**
 * Builds the configured backend, verified and ready: durability and schema are
 * checked before this resolves, and on any refusal everything it started is stopped.
 */
export async function openPersistence(config: PersistenceConfig, options: OpenPersistenceOptions): Promise<NodePersistence> {
  const logger = options.logger.child({ module: 'persistence' });
  let persistence: NodePersistence;
  switch (config.type) {
    case 'memory':
      persistence = new MemoryPersistence({ logger });
      break;
    case 'redis':
      // Validate the prefix before starting anything.
      keySchema(config.keyPrefix ?? DEFAULT_KEY_PREFIX);
      persistence = config.mode === 'embedded'
        ? await openEmbedded(config, options.sealingSecret, logger, options.embeddedServer)
        : await openExternal(config, options.sealingSecret, logger, options.env ?? process.env);
      break;
  }
  return options.observer === undefined ? persistence : instrumentPersistence(persistence, options.observer);
}

async function openEmbedded(config: EmbeddedRedisConfig, secret: Uint8Array, logger: Logger, started?: Promise<EmbeddedRedisServer>): Promise<NodePersistence> {
  const sealer = createRecordSealer(secret);
  const appendfsync = config.appendfsync ?? 'always';
  const server = await (started ?? EmbeddedRedisServer.start({
    dataPath: config.dataPath,
    logger,
    appendfsync,
    ...(config.redisServerBinary === undefined ? {} : { redisServerBinary: config.redisServerBinary }),
    ...(config.startTimeoutMs === undefined ? {} : { startTimeoutMs: config.startTimeoutMs }),
  }));
  server.onRestart(() => { logger.warn({ dataPath: config.dataPath }, 'embedded redis-server was restarted by its supervisor; the client reconnects'); });
  const client = new Redis({ path: server.socketPath, lazyConnect: true, maxRetriesPerRequest: 3 });
  client.on('error', (error: Error) => { logger.warn({ err: error.message }, 'embedded redis connection error'); });
  const extraHealth = async (): Promise<{ findings: HealthFinding[]; dataPath: Awaited<ReturnType<typeof inspectDataPath>> }> => {
    const status = server.status();
    const dataPath = await inspectDataPath(config.dataPath);
    return {
      findings: [
        {
          check: 'embedded-server',
          ok: status.state === 'running',
          message: status.lastError === null ? `redis-server ${status.state} (restarts: ${status.restarts})` : `redis-server ${status.state}: ${status.lastError.message}`,
        },
        { check: 'data-path', ok: dataPath.exists && dataPath.writable, message: `${dataPath.path} mode ${dataPath.mode}${dataPath.writable ? '' : ' (not writable)'}` },
      ],
      dataPath,
    };
  };
  try {
    return await RedisPersistence.open(client, {
      logger,
      sealer,
      mode: 'embedded',
      durability: appendfsync === 'everysec' ? { allowEverysec: true } : 'always',
      extraHealth,
      onClose: () => server.stop(),
      ...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function readSecret(file: string | undefined, envName: string, env: Readonly<Record<string, string | undefined>>, what: string): Promise<string | undefined> {
  if (file !== undefined) {
    try {
      // Secret files conventionally end in a newline that is not part of the secret.
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (cause) {
      throw new PersistenceConfigError(`Cannot read the Redis ${what} file ${file}`, { fix: 'check the path and that the node may read it', cause });
    }
  }
  const value = env[envName];
  return value === undefined || value === '' ? undefined : value;
}

/** Parses and checks the external config into ioredis options; exported for tests (no connection made). */
export async function externalClientOptions(config: ExternalRedisConfig, env: Readonly<Record<string, string | undefined>>): Promise<RedisOptions> {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new PersistenceConfigError('The Redis URL is not a valid URL', { fix: 'use redis://host:port or rediss://host:port' });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new PersistenceConfigError(`The Redis URL scheme ${url.protocol} is not supported`, { fix: 'use redis://host:port or rediss://host:port' });
  }
  if (url.password !== '') {
    throw new PersistenceConfigError('The Redis URL carries a password; URLs end up in logs and process listings', {
      fix: 'remove it from the URL and pass it with passwordFile or the KMS_REDIS_PASSWORD environment variable',
    });
  }
  const db = config.db ?? 0;
  if (!Number.isSafeInteger(db) || db < 0) throw new PersistenceConfigError(`Invalid Redis db ${db}`, { fix: 'use a non-negative integer (0–15 on a default server)' });
  for (const [name, value] of [['connectTimeoutMs', config.connectTimeoutMs], ['commandTimeoutMs', config.commandTimeoutMs]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new PersistenceConfigError(`Invalid ${name} ${value}`, { fix: 'use a positive number of milliseconds' });
    }
  }
  const username = config.credentials === undefined
    ? (await readSecret(config.usernameFile, config.usernameEnv ?? 'KMS_REDIS_USERNAME', env, 'username')) ?? (url.username === '' ? undefined : decodeURIComponent(url.username))
    : config.credentials.username ?? undefined;
  const password = config.credentials === undefined
    ? await readSecret(config.passwordFile, config.passwordEnv ?? 'KMS_REDIS_PASSWORD', env, 'password')
    : config.credentials.password ?? undefined;
  const tls = url.protocol === 'rediss:'
    ? {
      ...(config.tls?.caFile === undefined ? {} : { ca: await readFile(config.tls.caFile) }),
      ...(config.tls?.serverName === undefined ? {} : { servername: config.tls.serverName }),
    }
    : undefined;
  if (tls === undefined && config.tls !== undefined) {
    throw new PersistenceConfigError('TLS options were given for a redis:// URL', { fix: 'use a rediss:// URL to connect with TLS' });
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    connectTimeout: config.connectTimeoutMs ?? 10_000,
    commandTimeout: config.commandTimeoutMs ?? 10_000,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };
}

async function openExternal(config: ExternalRedisConfig, secret: Uint8Array, logger: Logger, env: Readonly<Record<string, string | undefined>>): Promise<NodePersistence> {
  const sealer = createRecordSealer(secret);
  const clientOptions = await externalClientOptions(config, env);
  const client = new Redis(clientOptions);
  // Only host, port and db: never the credentials.
  const where = { host: clientOptions.host, port: clientOptions.port, db: clientOptions.db, tls: clientOptions.tls !== undefined };
  client.on('error', (error: Error) => { logger.warn({ ...where, err: error.message }, 'redis connection error'); });
  logger.info(where, 'connecting to external redis');
  return RedisPersistence.open(client, {
    logger,
    sealer,
    mode: 'external',
    durability: config.durability ?? 'always',
    ...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
  });
}
