import { isAbsolute, normalize } from 'node:path';
import type { AppendFsync, KmsNodeSpec, SecretKeyRef } from '../../api/v1alpha1/kmsnode.types.js';
import { checkAppSignPolicy, type AppSignPolicy } from '../../node/http/appSignAccess.js';

/**
 * KmsNode spec + the Secret values it references → the node configuration the runtime
 * runs on, or every problem at once with its field path. Pure: the gatherer reads the
 * Secrets, this only maps. The checks repeat the CRD's schema and CEL rules on purpose:
 * the controller may run against an older CRD, and a bad spec must never reach the node.
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
  /** Absent in configs built without a spec (tests): upstream's defaults apply. */
  readonly appSign?: AppSignPolicy;
  readonly chain: {
    /** Secret (provider URLs embed API keys): never log it. */
    readonly rpcUrl: string;
    readonly chainId: number;
    readonly registryAddress: string;
  };
  readonly operator: {
    readonly address: string;
    /** Secret. */
    readonly privateKey: string;
  };
}

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

export const DEFAULT_KEY_PREFIX = 'kms:';
export const DEFAULT_PORT = 8000;
export const DEFAULT_APPENDFSYNC: AppendFsync = 'always';

export function secretValueKey(ref: SecretKeyRef): string {
  return `${ref.name}/${ref.key}`;
}

/** Every Secret key the spec references, each once, with the field naming it. */
export function secretRefsOf(spec: KmsNodeSpec): { readonly path: string; readonly ref: SecretKeyRef }[] {
  const refs: { path: string; ref: SecretKeyRef | undefined }[] = [
    { path: 'spec.operator.keySecretRef', ref: spec.operator.keySecretRef },
    { path: 'spec.chain.rpcUrlSecretRef', ref: spec.chain.rpcUrlSecretRef },
    { path: 'spec.persistence.encryptionKeySecretRef', ref: spec.persistence.encryptionKeySecretRef },
    {
      path: 'spec.persistence.redis.urlSecretRef',
      ref: spec.persistence.type === 'redis' && spec.persistence.redis?.mode === 'external' ? spec.persistence.redis.urlSecretRef : undefined,
    },
  ];
  return refs.filter((r): r is { path: string; ref: SecretKeyRef } => r.ref !== undefined);
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const KEY_PREFIX = /^[A-Za-z0-9:_\-.{}]{1,64}$/;

/** `forbidden`: Secret names RBAC keeps from the controller (reported as such, not as missing). */
export function specToNodeConfig(spec: KmsNodeSpec, secrets: SecretValues, forbidden: ReadonlySet<string> = new Set()): SpecMappingResult {
  const problems: SpecProblem[] = [];
  const invalid = (path: string, message: string): void => { problems.push({ kind: 'invalid', path, message }); };
  const secret = (path: string, ref: SecretKeyRef | undefined): string | null => {
    if (ref === undefined) return null;
    const value = secrets.get(secretValueKey(ref));
    if (value === undefined || value.trim() === '') {
      const message = forbidden.has(ref.name)
        ? `the controller may not read Secret '${ref.name}' (its Role lists the Secrets it may get by name; add this one)`
        : `Secret '${ref.name}' has no non-empty key '${ref.key}'`;
      problems.push({ kind: 'secret', path, message });
      return null;
    }
    return value.trim();
  };

  if (!ADDRESS.test(spec.operator.address)) invalid('spec.operator.address', `must be 0x followed by 40 hex digits; got '${spec.operator.address}'`);
  const privateKey = secret('spec.operator.keySecretRef', spec.operator.keySecretRef);
  const persistence = mapPersistence(spec, invalid, secret);

  const port = spec.server?.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) invalid('spec.server.port', `must be an integer 1-65535; got ${port}`);
  const { policy: appSign, problems: appSignProblems } = checkAppSignPolicy({ ...spec.appSign, allowlist: spec.appSign?.allowlist ?? null });
  for (const p of appSignProblems) invalid(`spec.appSign.${p.field}`, p.message);

  const { chainId, registryAddress } = spec.chain;
  if (!Number.isInteger(chainId) || chainId <= 0) invalid('spec.chain.chainId', `must be a positive integer; got ${chainId}`);
  if (!ADDRESS.test(registryAddress)) invalid('spec.chain.registryAddress', `must be 0x followed by 40 hex digits; got '${registryAddress}'`);
  const rpcUrl = secret('spec.chain.rpcUrlSecretRef', spec.chain.rpcUrlSecretRef);
  if (rpcUrl !== null && !/^(https?|wss?):\/\//.test(rpcUrl)) {
    // The value is secret (it may embed an API key): name the Secret, never echo it.
    invalid('spec.chain.rpcUrlSecretRef', `Secret '${spec.chain.rpcUrlSecretRef.name}' key '${spec.chain.rpcUrlSecretRef.key}' must hold an http(s):// or ws(s):// URL`);
  }

  if (problems.length > 0 || persistence === null || rpcUrl === null || privateKey === null) return { ok: false, problems };
  return {
    ok: true,
    config: {
      persistence,
      server: { port },
      appSign,
      chain: { rpcUrl, chainId, registryAddress: registryAddress.toLowerCase() },
      operator: { address: spec.operator.address.toLowerCase(), privateKey },
    },
  };
}

function mapPersistence(
  spec: KmsNodeSpec,
  invalid: (path: string, message: string) => void,
  secret: (path: string, ref: SecretKeyRef | undefined) => string | null,
): ControllerPersistenceConfig | null {
  const p = spec.persistence;
  const encryptionSecret = secret('spec.persistence.encryptionKeySecretRef', p.encryptionKeySecretRef);
  if (p.type === 'memory') return { type: 'memory', dataPath: null, redis: null, encryptionSecret };
  if (!isOneOf(p.type, ['redis'])) {
    invalid('spec.persistence.type', `must be one of memory, redis; got ${JSON.stringify(p.type)}`);
    return null;
  }
  const mode = p.redis?.mode ?? 'embedded';
  const appendfsync = p.redis?.appendfsync ?? DEFAULT_APPENDFSYNC;
  const keyPrefix = p.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX;
  let ok = true;
  if (!isOneOf(appendfsync, ['always', 'everysec'])) {
    invalid('spec.persistence.redis.appendfsync', `must be one of always, everysec; got ${JSON.stringify(appendfsync)}`);
    ok = false;
  }
  if (!KEY_PREFIX.test(keyPrefix)) {
    invalid('spec.persistence.redis.keyPrefix', `must be 1-64 characters of letters, digits and ':_-.{}'; got '${keyPrefix}'`);
    ok = false;
  }
  if (mode === 'embedded') {
    const dataPath = p.dataPath;
    if (dataPath === undefined || dataPath === '') {
      invalid('spec.persistence.dataPath', 'is required for embedded Redis (the directory holding the AOF)');
      return null;
    }
    if (!isAbsolute(dataPath) || normalize(dataPath) !== dataPath.replace(/\/+$/, '') || dataPath === '/') {
      invalid('spec.persistence.dataPath', `must be an absolute, normalized directory path other than /; got '${dataPath}'`);
      return null;
    }
    return ok ? { type: 'redis', dataPath: normalize(dataPath), redis: { mode, appendfsync, keyPrefix }, encryptionSecret } : null;
  }
  if (!isOneOf(mode, ['external'])) {
    invalid('spec.persistence.redis.mode', `must be one of embedded, external; got ${JSON.stringify(mode)}`);
    return null;
  }
  if (p.redis?.urlSecretRef === undefined) {
    invalid('spec.persistence.redis.urlSecretRef', 'is required for external Redis (a Secret key holding the redis:// or rediss:// URL)');
    return null;
  }
  const url = secret('spec.persistence.redis.urlSecretRef', p.redis.urlSecretRef);
  if (url === null) return null;
  if (!/^rediss?:\/\/[^/\s]+/.test(url)) {
    // The value is secret: name the Secret, never echo the URL.
    invalid('spec.persistence.redis.urlSecretRef', `Secret '${p.redis.urlSecretRef.name}' key '${p.redis.urlSecretRef.key}' must hold a redis:// or rediss:// URL`);
    return null;
  }
  return ok ? { type: 'redis', dataPath: null, redis: { mode, url, appendfsync, keyPrefix }, encryptionSecret } : null;
}

/**
 * The spec's types say what the CRD allows; a resource written against an older CRD (or
 * with the schema bypassed) may still hold anything, so enums are checked as data.
 */
function isOneOf(value: unknown, allowed: readonly string[]): boolean {
  return typeof value === 'string' && allowed.includes(value);
}
