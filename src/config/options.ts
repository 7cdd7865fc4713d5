/**
 * The one table of kms-server settings: each has a flag, an env var (KMS_ + upper snake
 * of the flag) and a default defined here once. Secrets have no value flag at all: they
 * come from a file (flag or env) or from an env var, so they never show up in `ps`.
 */
export interface OptionSpec {
  /** Long flag without dashes, e.g. "persistence-type". */
  readonly name: string;
  readonly description: string;
  /** Default as the raw string a user would type; undefined = no default. */
  readonly defaultValue?: string;
  /** A boolean switch: `--name` sets it, KMS_NAME=true|false. */
  readonly isSwitch?: boolean;
  /** Settable only through the env var (secrets): no flag is registered. */
  readonly envOnly?: boolean;
  /**
   * Where the setting comes from under `--controller`: 'process' settings stay in the pod's
   * env (they belong to the process, not the node); a spec source is the KmsNode field that
   * sets it (a Secret reference when `secret`); no source = CLI only, refused in controller
   * mode. Adding an option is this one row: both modes read it through the same validator.
   */
  readonly controller?: 'process' | SpecSource;
}

/** A KmsNode spec field, as a dotted path from the resource root. */
export interface SpecSource {
  readonly path: string;
  /** The field is a Secret key reference; its value is the setting. */
  readonly secret?: boolean;
}

export function envName(option: Pick<OptionSpec, 'name'>): string {
  return `KMS_${option.name.toUpperCase().replaceAll('-', '_')}`;
}

export function flagName(option: Pick<OptionSpec, 'name'>): string {
  return `--${option.name}`;
}

export const SERVER_OPTIONS = [
  // identity
  { name: 'operator-address', description: 'this operator\'s address (0x + 40 hex); must match the operator key', controller: { path: 'spec.operator.address' } },
  { name: 'operator-key-file', description: 'file holding the operator\'s secp256k1 private key (0x + 64 hex); or set KMS_OPERATOR_KEY' },
  { name: 'operator-key', description: 'the operator\'s private key itself (env only, never a flag)', envOnly: true, controller: { path: 'spec.operator.keySecretRef', secret: true } },
  // chain
  { name: 'chain-rpc-url', description: 'JSON-RPC URL of the chain whose blocks drive DKG and reshare', defaultValue: 'http://127.0.0.1:8545', controller: { path: 'spec.chain.rpcUrlSecretRef', secret: true } },
  { name: 'chain-id', description: 'chain id; sets default boundary interval, poll interval and protocol timeout', controller: { path: 'spec.chain.chainId' } },
  { name: 'registry-address', description: 'address of the OperatorRegistry contract (or use --operators-file)', controller: { path: 'spec.chain.registryAddress' } },
  { name: 'operators-file', description: 'static JSON operator set for local use (instead of --registry-address)' },
  { name: 'boundary-interval', description: 'blocks between protocol boundaries (default: per chain id)', controller: { path: 'spec.chain.boundaryInterval' } },
  { name: 'poll-interval-ms', description: 'how often to poll for new blocks (default: per chain id)', controller: { path: 'spec.chain.pollIntervalMs' } },
  { name: 'protocol-timeout-ms', description: 'how long one DKG or reshare may take (default: per chain id)', controller: { path: 'spec.chain.protocolTimeoutMs' } },
  // persistence
  { name: 'persistence-type', description: 'memory (tests only, loses everything on exit) or redis', defaultValue: 'redis', controller: { path: 'spec.persistence.type' } },
  { name: 'persistence-data-path', description: 'data directory (0700) for the embedded redis-server and its AOF', defaultValue: './kms-data', controller: { path: 'spec.persistence.dataPath' } },
  { name: 'redis-url', description: 'redis:// or rediss:// URL of an external Redis; unset = embedded redis-server in the data path', controller: { path: 'spec.persistence.redis.urlSecretRef', secret: true } },
  { name: 'redis-username-file', description: 'file with the external Redis ACL username (or KMS_REDIS_USERNAME)' },
  { name: 'redis-username', description: 'external Redis ACL username (env only)', envOnly: true },
  { name: 'redis-password-file', description: 'file with the external Redis password (or KMS_REDIS_PASSWORD)' },
  { name: 'redis-password', description: 'external Redis password (env only)', envOnly: true },
  { name: 'redis-db', description: 'external Redis logical database (0-15)', defaultValue: '0' },
  { name: 'redis-key-prefix', description: 'prefix of every key this node writes', defaultValue: 'kms:', controller: { path: 'spec.persistence.redis.keyPrefix' } },
  { name: 'redis-server-binary', description: 'redis-server executable for the embedded mode', defaultValue: 'redis-server', controller: 'process' },
  { name: 'redis-connect-timeout-ms', description: 'external Redis connect timeout', defaultValue: '5000', controller: { path: 'spec.persistence.redis.connectTimeoutMs' } },
  { name: 'redis-command-timeout-ms', description: 'Redis command timeout', defaultValue: '5000', controller: { path: 'spec.persistence.redis.commandTimeoutMs' } },
  { name: 'appendfsync', description: 'AOF fsync policy: always (default) or everysec (needs --allow-weaker-fsync)', defaultValue: 'always', controller: { path: 'spec.persistence.redis.appendfsync' } },
  { name: 'allow-weaker-fsync', description: 'accept appendfsync everysec: up to one second of acknowledged writes may be lost on power failure', isSwitch: true },
  { name: 'encryption-key-file', description: 'file with the secret that seals shares at rest (default: derived from the operator key); or set KMS_ENCRYPTION_KEY' },
  { name: 'encryption-key', description: 'the sealing secret itself, at least 32 characters (env only, never a flag)', envOnly: true, controller: { path: 'spec.persistence.encryptionKeySecretRef', secret: true } },
  // server
  { name: 'host', description: 'address the HTTP API listens on', defaultValue: '127.0.0.1', controller: 'process' },
  { name: 'port', description: 'HTTP API port', defaultValue: '8000', controller: { path: 'spec.server.port' } },
  { name: 'log-level', description: 'fatal, error, warn, info, debug, trace or silent', defaultValue: 'info', controller: 'process' },
  // app key release (POST /app/sign)
  { name: 'app-allowlist', description: 'comma-separated app ids this node signs for (exact match); others get 403. Unset = every app id', controller: { path: 'spec.appSign.allowlist' } },
  { name: 'app-sign-rate', description: 'requests per second each client address (IPv6: each /64) may make to /app/sign', defaultValue: '50', controller: { path: 'spec.appSign.ratePerSecond' } },
  { name: 'app-sign-burst', description: 'requests a client may make at once to /app/sign before the rate applies', defaultValue: '100', controller: { path: 'spec.appSign.burst' } },
  { name: 'app-sign-max-concurrent', description: 'requests /app/sign signs at once; more get 429', defaultValue: '20', controller: { path: 'spec.appSign.maxConcurrent' } },
  { name: 'app-sign-max-body-bytes', description: 'largest /app/sign request body', defaultValue: '16384', controller: { path: 'spec.appSign.maxBodyBytes' } },
  { name: 'app-sign-cache-bytes', description: 'memory for the cache of partial signatures already served and of hash-to-G1 points (public values); 0 turns it off', defaultValue: '33554432', controller: 'process' },
  { name: 'crypto-workers', description: 'worker threads for /app/sign partial signatures and a round\'s share verifications: auto (one per core, os.availableParallelism()), 1 to 256, or 0 for none (the crypto runs on the event loop)', defaultValue: 'auto', controller: 'process' },
  { name: 'crypto-queue-limit', description: '/app/sign partial signatures that may wait for a crypto worker; one more gets 503 with Retry-After (0: none wait)', defaultValue: '128', controller: 'process' },
  // controller
  { name: 'controller', description: 'also run the Kubernetes controller for this node\'s KmsNode resource', isSwitch: true, controller: 'process' },
  { name: 'kmsnode-name', description: 'name of the KmsNode resource the controller reconciles', controller: 'process' },
  { name: 'namespace', description: 'namespace of the KmsNode resource', controller: 'process' },
  { name: 'volume-mount-path', description: 'controller mode: mount path of the volume that must hold the data path (the pod declares it; a spec.persistence.dataPath outside it is refused)', controller: 'process' },
  { name: 'probe-port', description: 'controller mode: port of the process\'s own /livez, /health and /startupz (probes never follow spec.server.port)', defaultValue: '8001', controller: 'process' },
  { name: 'controller-resync-ms', description: 'how often the controller revisits its KmsNode without a change (the node\'s own status changes are written at once)', defaultValue: '30000', controller: 'process' },
] as const satisfies readonly OptionSpec[];

export type ServerOptionName = (typeof SERVER_OPTIONS)[number]['name'];

/** Raw values as collected from flags and env, before validation. */
export type RawServerOptions = Partial<Record<ServerOptionName, string>>;

/** The same table, typed by its shape (every optional field readable) for code that walks it. */
export const OPTION_SPECS: readonly OptionSpec[] = SERVER_OPTIONS;
