import type { AppendFsync, KmsNodeSpec, SecretKeyRef } from '../../api/v1alpha1/kmsnode.types.js';
import { ConfigError } from '../../config/errors.js';
import { OPTION_SPECS, envName, type OptionSpec, type ServerOptionName, type SpecSource } from '../../config/options.js';
import { validateSettings } from '../../config/parseServerConfig.js';
import type { ServerConfig } from '../../config/serverConfig.js';

/**
 * KmsNode spec + the Secret values it references + the process's own settings → the node
 * configuration the runtime runs on, or every problem at once with its field path. Pure:
 * the gatherer reads the Secrets, this only maps field paths to option names; the rules
 * and messages are the CLI's (validateSettings), so a value the CLI refuses is refused
 * here in the same words. The CRD repeats the simplest rules so the API server refuses
 * early, but the controller may run against an older CRD: a bad spec never reaches the node.
 */

export interface ControllerRedisConfig {
  readonly mode: 'embedded' | 'external';
  /** External mode only. Secret (may carry credentials): never log it. */
  readonly url?: string;
  readonly appendfsync: AppendFsync;
  readonly keyPrefix: string;
}

export interface ControllerPersistenceConfig {
  readonly type: 'memory' | 'redis';
  /** The embedded redis-server's data directory; null for memory and external Redis. */
  readonly dataPath: string | null;
  readonly redis: ControllerRedisConfig | null;
  /** Secret that seals shares at rest; null = derived from the operator key. */
  readonly encryptionSecret: string | null;
}

export interface ControllerNodeConfig {
  readonly persistence: ControllerPersistenceConfig;
  readonly server: { readonly port: number };
  /** Who may obtain app-key partial signatures, and how fast. */
  readonly appSign: ServerConfig['appSign'];
  readonly chain: {
    /** Secret (provider URLs embed API keys): never log it. */
    readonly rpcUrl: string;
    readonly chainId: number;
    readonly registryAddress: string;
    readonly boundaryInterval: number | null;
    readonly pollIntervalMs: number | null;
    readonly protocolTimeoutMs: number | null;
  };
  readonly operator: {
    readonly address: string;
    /** Secret. */
    readonly privateKey: string;
  };
  /** The validated node configuration the runtime starts (secrets included: never log it). */
  readonly node: ServerConfig;
}

/** The process-level settings (pod env) by option name, e.g. host, log-level, volume-mount-path. */
export type ProcessSettings = ReadonlyMap<ServerOptionName, string>;

export type SpecProblemKind = 'invalid' | 'secret';

export interface SpecProblem {
  readonly kind: SpecProblemKind;
  /** e.g. "spec.persistence.dataPath". */
  readonly path: string;
  readonly message: string;
}

export type SpecMappingResult =
  | { readonly ok: true; readonly config: ControllerNodeConfig }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

/** Secret values by `secretValueKey(ref)`; absent = the Secret or its key does not exist. */
export type SecretValues = ReadonlyMap<string, string>;


export function secretValueKey(ref: SecretKeyRef): string {
  return `${ref.name}/${ref.key}`;
}

/** Every Secret key the spec references, each once, with the field naming it. */
export function secretRefsOf(spec: KmsNodeSpec): { readonly path: string; readonly ref: SecretKeyRef }[] {
  const external = spec.persistence.type === 'redis' && spec.persistence.redis?.mode === 'external';
  const refs: { path: string; ref: SecretKeyRef }[] = [];
  for (const option of SPEC_OPTIONS) {
    const { path, secret } = option.controller;
    if (secret !== true || (option.name === 'redis-url' && !external)) continue;
    const ref = atPath(spec, path);
    if (isSecretKeyRef(ref)) refs.push({ path, ref });
  }
  return refs;
}

const SPEC_OPTIONS: readonly (OptionSpec & { readonly controller: SpecSource })[] = OPTION_SPECS.filter(
  (o): o is OptionSpec & { readonly controller: SpecSource } => o.controller !== undefined && o.controller !== 'process',
);
const specSourceOf = new Map<string, SpecSource>(SPEC_OPTIONS.map((o) => [o.name, o.controller]));
/** Process settings the node configuration takes from the pod env (the rest are the process's own). */
const NODE_PROCESS_OPTIONS: ReadonlySet<string> = new Set(['host', 'log-level', 'redis-server-binary', 'volume-mount-path', 'app-sign-cache-bytes', 'crypto-workers', 'crypto-queue-limit']);

/** The value at a dotted path ("spec.a.b") of the resource, as the raw string the validator reads. */
function atPath(spec: KmsNodeSpec, path: string): unknown {
  let value: unknown = { spec };
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asRaw(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === undefined || value === null ? undefined : JSON.stringify(value);
}

function isSecretKeyRef(value: unknown): value is SecretKeyRef {
  return value !== null && typeof value === 'object' && typeof (value as SecretKeyRef).name === 'string' && typeof (value as SecretKeyRef).key === 'string';
}

/** `forbidden`: Secret names RBAC keeps from the controller (reported as such, not as missing). */
export function specToNodeConfig(
  spec: KmsNodeSpec,
  secrets: SecretValues,
  forbidden: ReadonlySet<string> = new Set(),
  processSettings: ProcessSettings = new Map(),
): SpecMappingResult {
  const problems: SpecProblem[] = [];
  const invalid = (path: string, message: string): void => { problems.push({ kind: 'invalid', path, message }); };
  const values = new Map<ServerOptionName, string>();
  const lists = new Map<ServerOptionName, readonly string[]>();
  const unreadable = new Set<string>();

  for (const option of SPEC_OPTIONS) {
    const { path, secret } = option.controller;
    const value = atPath(spec, path);
    if (secret !== true) {
      if (Array.isArray(value)) lists.set(option.name as ServerOptionName, value.map(String));
      const raw = asRaw(value);
      if (raw !== undefined) values.set(option.name as ServerOptionName, raw);
      continue;
    }
    if (value === undefined) continue;
    if (!isSecretKeyRef(value)) {
      invalid(path, 'must name a Secret and a key in it ({name, key})');
      unreadable.add(option.name);
      continue;
    }
    const found = secrets.get(secretValueKey(value));
    if (found === undefined || found.trim() === '') {
      const message = forbidden.has(value.name)
        ? `the controller may not read Secret '${value.name}' (its Role lists the Secrets it may get by name; add this one)`
        : `Secret '${value.name}' has no non-empty key '${value.key}'`;
      problems.push({ kind: 'secret', path, message });
      unreadable.add(option.name);
      continue;
    }
    values.set(option.name as ServerOptionName, found.trim());
  }
  for (const [name, value] of processSettings) if (NODE_PROCESS_OPTIONS.has(name)) values.set(name, value);
  applySpecShape(spec, values, invalid);

  const label = (name: ServerOptionName): string => specSourceOf.get(name)?.path ?? envName({ name });
  let node: ServerConfig | null = null;
  try {
    node = validateSettings({
      given: (name) => values.get(name),
      list: (name) => lists.get(name),
      label,
      problem: (name, message) => ({ option: name, flag: label(name), env: '', message }),
      readFile: () => { throw new Error('a KmsNode names no files'); },
      fileMode: () => null,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A setting whose Secret could not be read is reported once, as that.
    for (const p of error.problems) if (!unreadable.has(p.option.replace(/-file$/, ''))) invalid(p.flag, p.message);
  }
  if (problems.length > 0 || node === null) return { ok: false, problems };
  return { ok: true, config: controllerViewOf(node, values) };
}

/**
 * The spec's own shape, which the CLI expresses differently: an explicit Redis mode (the
 * CLI infers it from --redis-url), a required dataPath for embedded Redis (the CLI has a
 * default), and everysec chosen in the resource as the explicit opt-in the CLI asks for.
 */
function applySpecShape(spec: KmsNodeSpec, values: Map<ServerOptionName, string>, invalid: (path: string, message: string) => void): void {
  const p = spec.persistence;
  if (p.type !== 'redis') return;
  const mode: unknown = p.redis?.mode ?? 'embedded';
  if (mode === 'external') {
    if (p.redis?.urlSecretRef === undefined) invalid('spec.persistence.redis.urlSecretRef', 'is required for external Redis (a Secret key holding the redis:// or rediss:// URL)');
  } else if (mode === 'embedded') {
    values.delete('redis-url');
    if (p.dataPath === undefined || p.dataPath === '') invalid('spec.persistence.dataPath', 'is required for embedded Redis (the directory holding the AOF)');
  } else {
    invalid('spec.persistence.redis.mode', `must be one of embedded, external; got ${JSON.stringify(mode)}`);
  }
  if (values.get('appendfsync') === 'everysec') values.set('allow-weaker-fsync', 'true');
}

/** The fields the controller compares between passes, read off the validated config. */
function controllerViewOf(node: ServerConfig, values: ReadonlyMap<ServerOptionName, string>): ControllerNodeConfig {
  const p = node.persistence;
  const encryptionSecret = values.get('encryption-key') ?? null;
  let persistence: ControllerPersistenceConfig;
  if (p.type === 'memory') {
    persistence = { type: 'memory', dataPath: null, redis: null, encryptionSecret };
  } else if (p.mode === 'embedded') {
    persistence = { type: 'redis', dataPath: p.dataPath, redis: { mode: 'embedded', appendfsync: p.appendfsync, keyPrefix: p.keyPrefix }, encryptionSecret };
  } else {
    persistence = {
      type: 'redis', dataPath: null, encryptionSecret,
      redis: { mode: 'external', url: values.get('redis-url') ?? p.url, appendfsync: p.appendfsync, keyPrefix: p.keyPrefix },
    };
  }
  const c = node.chain;
  return {
    persistence,
    server: { port: node.server.port },
    appSign: node.appSign,
    chain: {
      rpcUrl: c.rpcUrl,
      chainId: c.chainId,
      registryAddress: c.operatorSet.kind === 'registry' ? c.operatorSet.address : '',
      boundaryInterval: c.boundaryInterval,
      pollIntervalMs: c.pollIntervalMs,
      protocolTimeoutMs: c.protocolTimeoutMs,
    },
    operator: { address: node.operator.address, privateKey: node.operator.privateKey },
    node,
  };
}

/** The same node on another AOF policy (applied in place, or by a restart of the node). */
export function withAppendFsync(config: ControllerNodeConfig, policy: AppendFsync): ControllerNodeConfig {
  const p = config.persistence;
  const n = config.node.persistence;
  if (p.redis === null || n.type !== 'redis') return config;
  return {
    ...config,
    persistence: { ...p, redis: { ...p.redis, appendfsync: policy } },
    node: { ...config.node, persistence: { ...n, appendfsync: policy, allowWeakerFsync: policy === 'everysec' } },
  };
}
