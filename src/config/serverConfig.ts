import type { LevelWithSilent } from 'pino';
import type { AppSignPolicy } from '../node/http/appSignAccess.js';
import type { OperatorAddress } from '../persistence/types.js';

export type AppendFsync = 'always' | 'everysec';

interface RedisCommon {
  readonly keyPrefix: string;
  readonly appendfsync: AppendFsync;
  /** True only when the operator explicitly accepted a weaker policy than always. */
  readonly allowWeakerFsync: boolean;
  readonly commandTimeoutMs: number;
}

export interface EmbeddedRedisSettings extends RedisCommon {
  readonly type: 'redis';
  readonly mode: 'embedded';
  readonly dataPath: string;
  readonly redisServerBinary: string;
}

export interface ExternalRedisSettings extends RedisCommon {
  readonly type: 'redis';
  readonly mode: 'external';
  /** Credentials stripped: they live in username/password. */
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly db: number;
  readonly connectTimeoutMs: number;
}

export type PersistenceSettings = { readonly type: 'memory' } | EmbeddedRedisSettings | ExternalRedisSettings;

export type OperatorSetSettings =
  | { readonly kind: 'registry'; readonly address: `0x${string}` }
  | { readonly kind: 'file'; readonly path: string };

/** The validated kms-server configuration: built once, before anything starts. */
export interface ServerConfig {
  readonly operator: {
    readonly address: OperatorAddress;
    /** Secret. Never logged: see redactConfig. */
    readonly privateKey: `0x${string}`;
  };
  readonly chain: {
    readonly rpcUrl: string;
    readonly chainId: number;
    readonly operatorSet: OperatorSetSettings;
    /** null = the chain id's default. */
    readonly boundaryInterval: number | null;
    readonly pollIntervalMs: number | null;
    readonly protocolTimeoutMs: number | null;
  };
  readonly persistence: PersistenceSettings;
  /** Secret that seals shares at rest; 'operator-key' = derived from the operator key. */
  readonly encryptionSecret: { readonly source: 'operator-key' } | { readonly source: 'file'; readonly secret: Uint8Array };
  readonly server: { readonly host: string; readonly port: number };
  /** Who may obtain app-key partial signatures (POST /app/sign) and how fast. */
  readonly appSign: AppSignPolicy;
  /** Byte budget of the node's cache of served partial signatures and hash-to-G1 points (0: none). */
  readonly appSignCacheBytes: number;
  /** Crypto worker threads: 'auto' (one per core), or a count (0: crypto on the event loop). */
  readonly cryptoWorkers: number | 'auto';
  /** Partial signatures that may wait for a crypto worker before /app/sign answers 503. */
  readonly cryptoQueueLimit: number;
  readonly logLevel: LevelWithSilent;
  readonly controller: { readonly enabled: false } | { readonly enabled: true; readonly kmsNodeName: string; readonly namespace: string };
}

/** A copy safe to log: secrets replaced, URL credentials removed. */
export function redactConfig(config: ServerConfig): Record<string, unknown> {
  const persistence =
    config.persistence.type === 'redis' && config.persistence.mode === 'external'
      ? { ...config.persistence, username: config.persistence.username === null ? null : '[Redacted]', password: config.persistence.password === null ? null : '[Redacted]' }
      : config.persistence;
  return {
    ...config,
    operator: { address: config.operator.address, privateKey: '[Redacted]' },
    persistence,
    encryptionSecret: { source: config.encryptionSecret.source },
  };
}
