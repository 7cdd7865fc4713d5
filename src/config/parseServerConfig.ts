import { privateKeyToAddress } from 'viem/accounts';
import type { LevelWithSilent } from 'pino';
import { ConfigError, type ConfigProblem } from './errors.js';
import { SERVER_OPTIONS, envName, flagName, type OptionSpec, type RawServerOptions, type ServerOptionName } from './options.js';
import { stripUrlCredentials } from './redactUrl.js';
import { checkAppSignPolicy, type AppSignPolicy } from '../node/http/appSignAccess.js';
import type { AppendFsync, OperatorSetSettings, PersistenceSettings, ServerConfig } from './serverConfig.js';

export interface ConfigSources {
  /** Values given as flags (commander's parsed options, by long name). */
  readonly flags: RawServerOptions;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a secret file; throws when it cannot. Injected so parsing stays pure. */
  readonly readFile: (path: string) => string;
}

const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

const specs = new Map<ServerOptionName, OptionSpec>(SERVER_OPTIONS.map((o) => [o.name, o]));

/** Value readers over flags, env and defaults (in that order), collecting problems. */
function readers(sources: ConfigSources): ParseHelpers & { readonly problems: ConfigProblem[]; readonly required: (name: ServerOptionName, what: string) => string | undefined } {
  const problems: ConfigProblem[] = [];
  const problem = (name: ServerOptionName, message: string): void => {
    problems.push({ flag: flagName({ name }), env: envName({ name }), message });
  };
  const raw = (name: ServerOptionName): string | undefined => {
    const spec = specs.get(name);
    const fromFlag = spec?.envOnly === true ? undefined : sources.flags[name];
    const value = fromFlag ?? sources.env[envName({ name })] ?? spec?.defaultValue;
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
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
  /** A secret from its file option, else from its env-only option. Never echoes the value. */
  const secret = (fileOption: ServerOptionName, envOption?: ServerOptionName): string | undefined => {
    const path = raw(fileOption);
    if (path !== undefined) {
      try {
        const content = sources.readFile(path).trim();
        if (content === '') problem(fileOption, `file '${path}' is empty`);
        return content === '' ? undefined : content;
      } catch (err) {
        const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
        problem(fileOption, `cannot read file '${path}' (${reason})`);
        return undefined;
      }
    }
    return envOption === undefined ? undefined : raw(envOption);
  };
  return { problems, raw, problem, required, oneOf, integer, switchOn, secret };
}

/**
 * Builds the one validated configuration from flags, env and defaults (in that order of
 * precedence). Reports every problem at once; never returns a half-valid config.
 */
export function parseServerConfig(sources: ConfigSources): ServerConfig {
  const { problems, raw, problem, required, oneOf, integer, switchOn, secret } = readers(sources);
  // identity
  const address = required('operator-address', 'the operator address, 0x followed by 40 hex digits');
  if (address !== undefined && !ADDRESS.test(address)) problem('operator-address', `must be 0x followed by 40 hex digits; got '${address}'`);
  const privateKey = secret('operator-key-file', 'operator-key');
  if (privateKey === undefined) {
    problem('operator-key-file', `is required: a file with the operator's private key, or set ${envName({ name: 'operator-key' })}`);
  } else if (!PRIVATE_KEY.test(privateKey)) {
    problem('operator-key-file', 'the operator key must be 0x followed by 64 hex digits (value not shown)');
  } else if (address !== undefined && ADDRESS.test(address) && privateKeyToAddress(privateKey as `0x${string}`).toLowerCase() !== address.toLowerCase()) {
    problem('operator-key-file', `the operator key does not belong to ${address}: use that operator's key or fix --operator-address`);
  }

  // chain
  const rpcUrl = raw('chain-rpc-url');
  if (rpcUrl !== undefined && !/^(https?|wss?):\/\//.test(rpcUrl)) problem('chain-rpc-url', `must be an http(s):// or ws(s):// URL; got '${stripUrlCredentials(rpcUrl)}'`);
  const chainIdRaw = required('chain-id', 'the chain id, e.g. 31337 for a local anvil');
  const chainId = chainIdRaw === undefined ? undefined : integer('chain-id', 1, Number.MAX_SAFE_INTEGER);
  const registry = raw('registry-address');
  const operatorsFile = raw('operators-file');
  let operatorSet: OperatorSetSettings | undefined;
  if (registry !== undefined && operatorsFile !== undefined) {
    problem('operators-file', 'give either --registry-address or --operators-file, not both');
  } else if (registry !== undefined) {
    if (ADDRESS.test(registry)) operatorSet = { kind: 'registry', address: registry.toLowerCase() as `0x${string}` };
    else problem('registry-address', `must be 0x followed by 40 hex digits; got '${registry}'`);
  } else if (operatorsFile !== undefined) {
    operatorSet = { kind: 'file', path: operatorsFile };
  } else {
    problem('registry-address', 'is required: the OperatorRegistry address, or give --operators-file for a static set');
  }
  const boundaryInterval = integer('boundary-interval', 1, 1_000_000) ?? null;
  const pollIntervalMs = integer('poll-interval-ms', 50, 600_000) ?? null;
  const protocolTimeoutMs = integer('protocol-timeout-ms', 1_000, 3_600_000) ?? null;

  // persistence
  const persistence = parsePersistence({ raw, problem, oneOf, integer, switchOn, secret });
  const encryptionFile = raw('encryption-key-file');
  let encryptionSecret: ServerConfig['encryptionSecret'] = { source: 'operator-key' };
  if (encryptionFile !== undefined) {
    const value = secret('encryption-key-file');
    if (value !== undefined) {
      if (value.length < 32) problem('encryption-key-file', 'the encryption secret must be at least 32 characters (value not shown)');
      else encryptionSecret = { source: 'file', secret: new TextEncoder().encode(value) };
    }
  }

  // server
  const host = raw('host') ?? '127.0.0.1';
  const port = integer('port', 1, 65535);
  const logLevel = oneOf('log-level', LOG_LEVELS);
  const appSign = parseAppSign({ raw, problem, integer });

  // controller
  let controller: ServerConfig['controller'] = { enabled: false };
  if (switchOn('controller')) {
    const kmsNodeName = required('kmsnode-name', 'the KmsNode resource name, when --controller is on');
    const namespace = required('namespace', 'the KmsNode namespace, when --controller is on');
    if (kmsNodeName !== undefined && namespace !== undefined) controller = { enabled: true, kmsNodeName, namespace };
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    operator: { address: (address as string).toLowerCase() as `0x${string}`, privateKey: privateKey as `0x${string}` },
    chain: {
      rpcUrl: rpcUrl as string,
      chainId: chainId as number,
      operatorSet: operatorSet as OperatorSetSettings,
      boundaryInterval,
      pollIntervalMs,
      protocolTimeoutMs,
    },
    persistence: persistence as PersistenceSettings,
    encryptionSecret,
    server: { host, port: port as number },
    appSign,
    logLevel: logLevel as LevelWithSilent,
    controller,
  };
}

/** Controlled release of app keys: the allowlist and the limits, checked by the one policy check. */
function parseAppSign(h: Pick<ParseHelpers, 'raw' | 'problem' | 'integer'>): AppSignPolicy {
  const list = h.raw('app-allowlist');
  const options = { allowlist: 'app-allowlist', ratePerSecond: 'app-sign-rate', burst: 'app-sign-burst', maxConcurrent: 'app-sign-max-concurrent', maxBodyBytes: 'app-sign-max-body-bytes' } as const;
  const number = (name: ServerOptionName): number | undefined => {
    const value = h.raw(name);
    return value === undefined ? undefined : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  };
  const { policy, problems } = checkAppSignPolicy({
    allowlist: list === undefined ? null : list.split(','),
    ratePerSecond: number(options.ratePerSecond),
    burst: number(options.burst),
    maxConcurrent: number(options.maxConcurrent),
    maxBodyBytes: number(options.maxBodyBytes),
  });
  for (const p of problems) h.problem(options[p.field], p.message);
  return policy;
}

interface ParseHelpers {
  readonly raw: (name: ServerOptionName) => string | undefined;
  readonly problem: (name: ServerOptionName, message: string) => void;
  readonly oneOf: <T extends string>(name: ServerOptionName, allowed: readonly T[]) => T | undefined;
  readonly integer: (name: ServerOptionName, min: number, max: number) => number | undefined;
  readonly switchOn: (name: ServerOptionName) => boolean;
  readonly secret: (fileOption: ServerOptionName, envOption?: ServerOptionName) => string | undefined;
}

function parsePersistence(h: ParseHelpers): PersistenceSettings | undefined {
  const type = h.oneOf('persistence-type', ['memory', 'redis'] as const);
  if (type === undefined) return undefined;
  if (type === 'memory') return { type: 'memory' };
  const appendfsync = h.oneOf<AppendFsync>('appendfsync', ['always', 'everysec']);
  const allowWeakerFsync = h.switchOn('allow-weaker-fsync');
  if (appendfsync === 'everysec' && !allowWeakerFsync) {
    h.problem('appendfsync', "everysec can lose up to a second of acknowledged writes: add --allow-weaker-fsync to accept that, or use 'always'");
  }
  const keyPrefix = h.raw('redis-key-prefix') ?? 'kms:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(keyPrefix)) h.problem('redis-key-prefix', `must be 1-64 characters of A-Z a-z 0-9 : _ . -; got '${keyPrefix}'`);
  const commandTimeoutMs = h.integer('redis-command-timeout-ms', 100, 600_000);
  const url = h.raw('redis-url');
  if (appendfsync === undefined || commandTimeoutMs === undefined) return undefined;
  const common = { keyPrefix, appendfsync, allowWeakerFsync, commandTimeoutMs };
  if (url === undefined) {
    const dataPath = h.raw('persistence-data-path') ?? './kms-data';
    const redisServerBinary = h.raw('redis-server-binary') ?? 'redis-server';
    return { type: 'redis', mode: 'embedded', dataPath, redisServerBinary, ...common };
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    h.problem('redis-url', `is not a valid URL (${stripUrlCredentials(url)})`);
  }
  if (parsed === undefined) return undefined;
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    h.problem('redis-url', `must start with redis:// or rediss://; got '${parsed.protocol}//'`);
    return undefined;
  }
  // Credentials in the URL are accepted but moved out of it, so the URL itself is loggable.
  const username = h.secret('redis-username-file', 'redis-username') ?? (parsed.username === '' ? null : decodeURIComponent(parsed.username));
  const password = h.secret('redis-password-file', 'redis-password') ?? (parsed.password === '' ? null : decodeURIComponent(parsed.password));
  const db = h.integer('redis-db', 0, 15);
  const connectTimeoutMs = h.integer('redis-connect-timeout-ms', 100, 600_000);
  if (db === undefined || connectTimeoutMs === undefined) return undefined;
  return { type: 'redis', mode: 'external', url: stripUrlCredentials(url), username, password, db, connectTimeoutMs, ...common };
}

/** kms-server --controller: the KmsNode resource supplies identity, chain and persistence. */
export interface ControllerModeConfig {
  readonly kmsNodeName: string;
  readonly namespace: string;
  readonly host: string;
  readonly logLevel: LevelWithSilent;
  readonly redisServerBinary: string;
  readonly boundaryInterval: number | null;
  readonly pollIntervalMs: number | null;
  readonly protocolTimeoutMs: number | null;
  /** The controller's resync period, ms. */
  readonly resyncPeriodMs: number;
}

/** True when the controller switch is on (flag or env): then parseControllerModeConfig applies. */
export function isControllerMode(sources: ConfigSources): boolean {
  const value = sources.flags.controller ?? sources.env[envName({ name: 'controller' })];
  return value !== undefined && ['true', '1', 'yes'].includes(value.trim().toLowerCase());
}

export function parseControllerModeConfig(sources: ConfigSources): ControllerModeConfig {
  const { problems, raw, required, oneOf, integer } = readers(sources);
  const kmsNodeName = required('kmsnode-name', 'the KmsNode resource name, when --controller is on');
  const namespace = required('namespace', 'the KmsNode namespace, when --controller is on');
  const logLevel = oneOf('log-level', LOG_LEVELS);
  const boundaryInterval = integer('boundary-interval', 1, 1_000_000) ?? null;
  const pollIntervalMs = integer('poll-interval-ms', 50, 600_000) ?? null;
  const protocolTimeoutMs = integer('protocol-timeout-ms', 1_000, 3_600_000) ?? null;
  const resyncPeriodMs = integer('controller-resync-ms', 1_000, 86_400_000);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    kmsNodeName: kmsNodeName as string,
    namespace: namespace as string,
    host: raw('host') ?? '127.0.0.1',
    logLevel: logLevel as LevelWithSilent,
    redisServerBinary: raw('redis-server-binary') ?? 'redis-server',
    boundaryInterval,
    pollIntervalMs,
    protocolTimeoutMs,
    resyncPeriodMs: resyncPeriodMs as number,
  };
}
