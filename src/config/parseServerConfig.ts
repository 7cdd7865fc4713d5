import { isAbsolute, normalize, relative } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { ConfigError, type ConfigProblem } from './errors.js';
import { SERVER_OPTIONS, envName, flagName, type OptionSpec, type RawServerOptions, type ServerOptionName } from './options.js';
import { stripUrlCredentials } from './redactUrl.js';
import { checkAppSignPolicy, type AppSignPolicy } from '../node/http/appSignAccess.js';
import { OperatorSigner } from '../transport/signer.js';
import type { AppendFsync, OperatorSetSettings, PersistenceSettings, ServerConfig } from './serverConfig.js';

/**
 * The one validator of a node configuration. The CLI (flags, env, secret files) and the
 * KmsNode resource (spec fields, Secret values) both hand it raw strings by option name,
 * so both get the same rules and the same messages; only how a setting is named differs.
 */
export interface SettingsInput {
  /** The raw value given for an option (defaults not applied); undefined = not given. */
  readonly given: (name: ServerOptionName) => string | undefined;
  /** A list-valued option given as a list (a KmsNode array field); undefined = split the raw value at commas. */
  readonly list?: (name: ServerOptionName) => readonly string[] | undefined;
  /** How messages name an option: `--flag` on the CLI, the spec field for a KmsNode. */
  readonly label: (name: ServerOptionName) => string;
  /** The problem for an option, named as its source names it. */
  readonly problem: (name: ServerOptionName, message: string) => ConfigProblem;
  /** Reads a secret file; throws when it cannot. */
  readonly readFile: (path: string) => string;
  /** A file's permission bits (following symlinks), or null when it does not exist. */
  readonly fileMode: (path: string) => number | null;
}

export interface ConfigSources {
  /** Values given as flags (commander's parsed options, by long name). */
  readonly flags: RawServerOptions;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a secret file; throws when it cannot. Injected so parsing stays pure. */
  readonly readFile: (path: string) => string;
  /** A file's permission bits, or null when it does not exist. */
  readonly fileMode: (path: string) => number | null;
}

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
/** The one key-prefix rule (the CRD's pattern is the same): braces allow cluster hash tags. */
export const KEY_PREFIX = /^[A-Za-z0-9:_.{}-]{1,64}$/;
/** secp256k1's group order: a private key is a number from 1 to n − 1. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MIN_SEALING_SECRET_CHARS = 32;
/** 16 GiB: far above any sensible cache, low enough to catch a unit mistake. */
const MAX_APP_SIGN_CACHE_BYTES = 16 * 1024 ** 3;
/** Far above any machine this runs on; a larger number is a typo. */
const MAX_CRYPTO_WORKERS = 256;
const MAX_CRYPTO_QUEUE = 1_000_000;

const specs = new Map<ServerOptionName, OptionSpec>(SERVER_OPTIONS.map((o) => [o.name, o]));

/** The flag an option is set by: its own, or for an env-only secret the file flag that sets the same secret. */
function cliFlagOf(name: ServerOptionName): string {
  const spec = specs.get(name);
  return spec?.envOnly === true && specs.has(`${name}-file` as ServerOptionName) ? flagName({ name: `${name}-file` }) : flagName({ name });
}

/** The CLI's naming and sources: flags win over env. */
export function cliSettingsInput(sources: ConfigSources): SettingsInput {
  return {
    given: (name) => {
      const fromFlag = specs.get(name)?.envOnly === true ? undefined : sources.flags[name];
      return fromFlag ?? sources.env[envName({ name })];
    },
    label: (name) => (specs.get(name)?.envOnly === true ? envName({ name }) : flagName({ name })),
    problem: (name, message) => ({ option: name, flag: cliFlagOf(name), env: envName({ name }), message }),
    readFile: sources.readFile,
    fileMode: sources.fileMode,
  };
}

/** Value readers over the given values and the table's defaults, collecting problems. */
function readers(input: SettingsInput) {
  const problems: ConfigProblem[] = [];
  const problem = (name: ServerOptionName, message: string): void => { problems.push(input.problem(name, message)); };
  const given = (name: ServerOptionName): string | undefined => {
    const value = input.given(name);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const raw = (name: ServerOptionName): string | undefined => given(name) ?? specs.get(name)?.defaultValue;
  const required = (name: ServerOptionName, what: string): string | undefined => {
    const value = raw(name);
    if (value === undefined) problem(name, `is required: ${what}`);
    return value;
  };
  const oneOf = <T extends string>(name: ServerOptionName, allowed: readonly T[]): T | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problem(name, `must be one of ${allowed.join(', ')}; got '${value}'`);
    return undefined;
  };
  const integer = (name: ServerOptionName, min: number, max: number): number | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problem(name, `must be a whole number from ${min} to ${max}; got '${value}'`);
      return undefined;
    }
    return n;
  };
  const switchOn = (name: ServerOptionName): boolean => {
    const value = raw(name);
    if (value === undefined) return false;
    if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
    problem(name, `must be true or false; got '${value}'`);
    return false;
  };
  /**
   * A secret from its file option or its value option (env, or a Secret for a KmsNode):
   * exactly one of them. The file must be private to its owner. Never echoes the value.
   * Returns the option that supplied it, so a bad value is reported against its source.
   */
  const secret = (fileOption: ServerOptionName | null, valueOption: ServerOptionName | null): { value: string; from: ServerOptionName } | undefined => {
    const path = fileOption === null ? undefined : given(fileOption);
    const value = valueOption === null ? undefined : given(valueOption);
    if (path !== undefined && value !== undefined && fileOption !== null && valueOption !== null) {
      problem(fileOption, `give this secret once: both the file '${path}' and ${input.label(valueOption)} are set; unset one of them`);
      return undefined;
    }
    if (path === undefined || fileOption === null) return value === undefined || valueOption === null ? undefined : { value, from: valueOption };
    const mode = input.fileMode(path);
    if (mode === null) {
      problem(fileOption, `file '${path}' does not exist`);
      return undefined;
    }
    if ((mode & 0o077) !== 0) {
      problem(fileOption, `file '${path}' is accessible to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): make it private with chmod 600 '${path}'`);
      return undefined;
    }
    try {
      const content = input.readFile(path).trim();
      if (content === '') problem(fileOption, `file '${path}' is empty`);
      return content === '' ? undefined : { value: content, from: fileOption };
    } catch (err) {
      const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
      problem(fileOption, `cannot read file '${path}' (${reason})`);
      return undefined;
    }
  };
  const list = (name: ServerOptionName): readonly string[] | undefined => input.list?.(name) ?? raw(name)?.split(',');
  return { problems, given, raw, list, problem, required, oneOf, integer, switchOn, secret, label: input.label, fileMode: input.fileMode };
}

type Readers = ReturnType<typeof readers>;

/**
 * Builds the one validated configuration from the given values and the table's defaults.
 * Reports every problem at once; never returns a half-valid config.
 */
export function validateSettings(input: SettingsInput): ServerConfig {
  const r = readers(input);
  const { problems, raw, problem, required, integer, oneOf } = r;
  const operator = parseOperator(r);
  const chain = parseChain(r);
  const persistence = parsePersistence(r);
  let encryptionSecret: ServerConfig['encryptionSecret'] = { source: 'operator-key' };
  const sealing = r.secret('encryption-key-file', 'encryption-key');
  if (sealing !== undefined) {
    if (sealing.value.length < MIN_SEALING_SECRET_CHARS) problem(sealing.from, `the sealing secret must be at least ${MIN_SEALING_SECRET_CHARS} characters (value not shown)`);
    else encryptionSecret = { source: 'file', secret: new TextEncoder().encode(sealing.value) };
  }
  const host = raw('host') ?? '127.0.0.1';
  const port = integer('port', 1, 65535);
  const logLevel = oneOf('log-level', LOG_LEVELS);
  const appSign = parseAppSign(r);
  const appSignCacheBytes = integer('app-sign-cache-bytes', 0, MAX_APP_SIGN_CACHE_BYTES);
  const cryptoWorkers = parseCryptoWorkers(r);
  const cryptoQueueLimit = integer('crypto-queue-limit', 0, MAX_CRYPTO_QUEUE);
  let controller: ServerConfig['controller'] = { enabled: false };
  if (r.switchOn('controller')) {
    const kmsNodeName = required('kmsnode-name', 'the KmsNode resource name, when --controller is on');
    const namespace = required('namespace', 'the KmsNode namespace, when --controller is on');
    if (kmsNodeName !== undefined && namespace !== undefined) controller = { enabled: true, kmsNodeName, namespace };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    operator: operator as ServerConfig['operator'],
    chain: chain as ServerConfig['chain'],
    persistence: persistence as PersistenceSettings,
    encryptionSecret,
    server: { host, port: port as number },
    appSign,
    appSignCacheBytes: appSignCacheBytes as number,
    cryptoWorkers: cryptoWorkers as number | 'auto',
    cryptoQueueLimit: cryptoQueueLimit as number,
    logLevel: logLevel as LevelWithSilent,
    controller,
  };
}

/** kms-server's flags and env: see validateSettings. */
export function parseServerConfig(sources: ConfigSources): ServerConfig {
  return validateSettings(cliSettingsInput(sources));
}

function parseCryptoWorkers(r: Readers): number | 'auto' | undefined {
  const value = r.raw('crypto-workers') ?? 'auto';
  if (value === 'auto') return 'auto';
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(n) && n <= MAX_CRYPTO_WORKERS) return n;
  r.problem('crypto-workers', `must be auto (one worker per core) or a whole number from 0 to ${MAX_CRYPTO_WORKERS}; got '${value}'`);
  return undefined;
}

function parseOperator(r: Readers): ServerConfig['operator'] | undefined {
  const address = r.required('operator-address', 'the operator address, 0x followed by 40 hex digits');
  if (address !== undefined && !ADDRESS.test(address)) r.problem('operator-address', `must be 0x followed by 40 hex digits; got '${address}'`);
  const key = r.secret('operator-key-file', 'operator-key');
  if (key === undefined) {
    if (!r.problems.some((p) => p.option === 'operator-key-file' || p.option === 'operator-key')) {
      r.problem('operator-key-file', `is required: a file with the operator's private key, or set ${r.label('operator-key')}`);
    }
    return undefined;
  }
  if (!isPrivateKey(key.value)) {
    r.problem(key.from, 'the operator key must be 0x followed by 64 hex digits, a number from 1 to the secp256k1 group order minus 1 (value not shown)');
    return undefined;
  }
  const privateKey = key.value as `0x${string}`;
  if (address === undefined || !ADDRESS.test(address)) return undefined;
  if (OperatorSigner.fromPrivateKey(privateKey).signingAddress !== address.toLowerCase()) {
    r.problem(key.from, `the operator key does not belong to ${address}: use that operator's key or fix ${r.label('operator-address')}`);
    return undefined;
  }
  return { address: address.toLowerCase() as `0x${string}`, privateKey };
}

function isPrivateKey(value: string): boolean {
  if (!PRIVATE_KEY.test(value)) return false;
  const n = BigInt(value);
  return n > 0n && n < SECP256K1_ORDER;
}

function parseChain(r: Readers): ServerConfig['chain'] | undefined {
  const rpcUrl = r.raw('chain-rpc-url');
  const rpcUrlOk = rpcUrl !== undefined && /^(https?|wss?):\/\/[^/\s]+/.test(rpcUrl);
  if (rpcUrl !== undefined && !rpcUrlOk) r.problem('chain-rpc-url', `must be an http(s):// or ws(s):// URL; got '${stripUrlCredentials(rpcUrl)}'`);
  const chainIdRaw = r.required('chain-id', 'the chain id, e.g. 31337 for a local anvil');
  const chainId = chainIdRaw === undefined ? undefined : r.integer('chain-id', 1, Number.MAX_SAFE_INTEGER);
  const registry = r.raw('registry-address');
  const operatorsFile = r.raw('operators-file');
  let operatorSet: OperatorSetSettings | undefined;
  if (registry !== undefined && operatorsFile !== undefined) {
    r.problem('operators-file', `give either ${r.label('registry-address')} or ${r.label('operators-file')}, not both`);
  } else if (registry !== undefined) {
    if (ADDRESS.test(registry)) operatorSet = { kind: 'registry', address: registry.toLowerCase() as `0x${string}` };
    else r.problem('registry-address', `must be 0x followed by 40 hex digits; got '${registry}'`);
  } else if (operatorsFile !== undefined) {
    if (r.fileMode(operatorsFile) === null) r.problem('operators-file', `file '${operatorsFile}' does not exist`);
    else operatorSet = { kind: 'file', path: operatorsFile };
  } else {
    r.problem('registry-address', `is required: the OperatorRegistry address, or give ${r.label('operators-file')} for a static set`);
  }
  const boundaryInterval = r.integer('boundary-interval', 1, 1_000_000) ?? null;
  const pollIntervalMs = r.integer('poll-interval-ms', 50, 600_000) ?? null;
  const protocolTimeoutMs = r.integer('protocol-timeout-ms', 1_000, 3_600_000) ?? null;
  if (!rpcUrlOk || chainId === undefined || operatorSet === undefined) return undefined;
  return { rpcUrl, chainId, operatorSet, boundaryInterval, pollIntervalMs, protocolTimeoutMs };
}

function parsePersistence(r: Readers): PersistenceSettings | undefined {
  const type = r.oneOf('persistence-type', ['memory', 'redis'] as const);
  if (type === undefined) return undefined;
  if (type === 'memory') return { type: 'memory' };
  const appendfsync = r.oneOf<AppendFsync>('appendfsync', ['always', 'everysec']);
  const allowWeakerFsync = r.switchOn('allow-weaker-fsync');
  if (appendfsync === 'everysec' && !allowWeakerFsync) {
    r.problem('appendfsync', `everysec can lose up to a second of acknowledged writes: add ${r.label('allow-weaker-fsync')} to accept that, or use 'always'`);
  }
  const keyPrefix = r.raw('redis-key-prefix') ?? 'kms:';
  if (!KEY_PREFIX.test(keyPrefix)) r.problem('redis-key-prefix', `must be 1-64 characters of letters, digits and : _ . - { }; got '${keyPrefix}'`);
  const commandTimeoutMs = r.integer('redis-command-timeout-ms', 100, 600_000);
  const url = r.raw('redis-url');
  const dataPath = url === undefined ? checkedDataPath(r) : undefined;
  if (appendfsync === undefined || commandTimeoutMs === undefined) return undefined;
  const common = { keyPrefix, appendfsync, allowWeakerFsync, commandTimeoutMs };
  if (url === undefined) {
    const redisServerBinary = r.raw('redis-server-binary') ?? 'redis-server';
    return dataPath === undefined ? undefined : { type: 'redis', mode: 'embedded', dataPath, redisServerBinary, ...common };
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    r.problem('redis-url', `is not a valid URL (${stripUrlCredentials(url)})`);
  }
  if (parsed === undefined) return undefined;
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    r.problem('redis-url', `must start with redis:// or rediss://; got '${parsed.protocol}//'`);
    return undefined;
  }
  // Credentials in the URL are accepted but moved out of it, so the URL itself is loggable;
  // a credential given twice (URL and file or env) is a mistake, not a precedence rule.
  const username = credential(r, parsed.username, 'redis-username-file', 'redis-username', 'username');
  const password = credential(r, parsed.password, 'redis-password-file', 'redis-password', 'password');
  const db = urlDb(r, parsed);
  const connectTimeoutMs = r.integer('redis-connect-timeout-ms', 100, 600_000);
  if (db === undefined || connectTimeoutMs === undefined || username === undefined || password === undefined) return undefined;
  parsed.username = '';
  parsed.password = '';
  parsed.pathname = '';
  return { type: 'redis', mode: 'external', url: parsed.toString(), username, password, db, connectTimeoutMs, ...common };
}

/** A Redis credential from the URL or from its own file/env option, never both; null = none. */
function credential(r: Readers, inUrl: string, fileOption: ServerOptionName, valueOption: ServerOptionName, what: string): string | null | undefined {
  const separate = r.secret(fileOption, valueOption);
  if (inUrl !== '' && separate !== undefined) {
    r.problem(separate.from, `the Redis URL already carries a ${what}: give it in one place`);
    return undefined;
  }
  if (separate !== undefined) return separate.value;
  return inUrl === '' ? null : decodeURIComponent(inUrl);
}

/** The logical database: the URL's path (/2) or --redis-db, which must agree when both are given. */
function urlDb(r: Readers, url: URL): number | undefined {
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) {
    r.problem('redis-url', `its path must be a database number like /2; got '/${path}'`);
    return undefined;
  }
  const flagDb = r.given('redis-db') === undefined ? undefined : r.integer('redis-db', 0, 15);
  if (path === '') return flagDb ?? Number(specs.get('redis-db')?.defaultValue ?? '0');
  const fromUrl = Number(path);
  if (fromUrl > 15) {
    r.problem('redis-url', `its database number must be from 0 to 15; got ${fromUrl}`);
    return undefined;
  }
  if (flagDb !== undefined && flagDb !== fromUrl) {
    r.problem('redis-db', `is ${flagDb} but the Redis URL names database ${fromUrl}: give it in one place`);
    return undefined;
  }
  return fromUrl;
}

/** The data path; when a volume mount path is declared, it must lie strictly under it. */
function checkedDataPath(r: Readers): string | undefined {
  const dataPath = r.raw('persistence-data-path') ?? './kms-data';
  const volume = r.given('volume-mount-path');
  if (volume === undefined) return dataPath;
  if (!isAbsolute(volume)) {
    r.problem('volume-mount-path', `must be an absolute path; got '${volume}'`);
    return undefined;
  }
  if (!isAbsolute(dataPath) || normalize(dataPath) !== dataPath.replace(/(.)\/+$/, '$1')) {
    r.problem('persistence-data-path', `must be an absolute, normalized directory path; got '${dataPath}'`);
    return undefined;
  }
  const inside = relative(normalize(volume), normalize(dataPath));
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    r.problem('persistence-data-path', `must lie under the data volume mounted at ${normalize(volume)} (e.g. ${normalize(volume).replace(/\/$/, '')}/data); got '${dataPath}'`);
    return undefined;
  }
  return normalize(dataPath);
}

/** Controlled release of app keys: the allowlist and the limits, checked by the one policy check. */
function parseAppSign(r: Readers): AppSignPolicy {
  const list = r.list('app-allowlist');
  const options = { allowlist: 'app-allowlist', ratePerSecond: 'app-sign-rate', burst: 'app-sign-burst', maxConcurrent: 'app-sign-max-concurrent', maxBodyBytes: 'app-sign-max-body-bytes' } as const;
  const number = (name: ServerOptionName): number | undefined => {
    const value = r.raw(name);
    return value === undefined ? undefined : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  };
  const { policy, problems } = checkAppSignPolicy({
    allowlist: list ?? null,
    ratePerSecond: number(options.ratePerSecond),
    burst: number(options.burst),
    maxConcurrent: number(options.maxConcurrent),
    maxBodyBytes: number(options.maxBodyBytes),
  });
  for (const p of problems) r.problem(options[p.field], p.message);
  return policy;
}
