import type { KmsNodeStatus } from '../../api/v1alpha1/kmsnode.types.js';
import type { AppendFsyncPolicy, NodeRuntimeStatus } from '../../node/runtime.js';
import type { ControllerNodeConfig, ControllerPersistenceConfig, SpecMappingResult } from './specMapping.js';

/**
 * What to do to the runtime this pass, decided from data alone. The one rule that is
 * never bent: a change that would move the node away from the store holding its key
 * shares (backend type, data path, Redis mode, server, key prefix or sealing secret) is
 * refused while that store has data; it becomes a condition, and the node keeps
 * running on its previous configuration.
 */
export type Decision =
  | { readonly kind: 'none' }
  /** The spec cannot be applied (problems are in the mapping result). */
  | { readonly kind: 'invalid' }
  | { readonly kind: 'start'; readonly config: ControllerNodeConfig }
  | { readonly kind: 'restart'; readonly config: ControllerNodeConfig; readonly changed: readonly string[] }
  | { readonly kind: 'applyFsync'; readonly config: ControllerNodeConfig; readonly policy: AppendFsyncPolicy; readonly repair: boolean }
  | { readonly kind: 'refuse'; readonly changed: readonly string[]; readonly message: string };

export interface DecideInput {
  readonly desired: SpecMappingResult;
  /** What the runtime runs on now; null when stopped or never started. */
  readonly running: ControllerNodeConfig | null;
  /** Last known runtime status (no I/O). */
  readonly runtime: NodeRuntimeStatus;
  /** The status the controller last wrote: the memory of a previous process. */
  readonly lastStatus: KmsNodeStatus | undefined;
}

export function hasKeyData(runtime: NodeRuntimeStatus): boolean {
  const k = runtime.keys;
  return k.versionCount > 0 || k.activeVersion !== null || k.lastProcessedBoundary > 0;
}

/** Names of the store-identity fields that differ; empty = same store. */
export function storeIdentityChanges(from: ControllerPersistenceConfig, to: ControllerPersistenceConfig): string[] {
  const changed: string[] = [];
  if (from.type !== to.type) changed.push('persistence.type');
  if (from.dataPath !== to.dataPath) changed.push('persistence.dataPath');
  if (from.redis?.mode !== to.redis?.mode) changed.push('persistence.redis.mode');
  if (from.redis?.keyPrefix !== to.redis?.keyPrefix) changed.push('persistence.redis.keyPrefix');
  if (redisServerOf(from.redis?.url) !== redisServerOf(to.redis?.url)) changed.push('persistence.redis.url (server or db)');
  if (from.encryptionSecret !== to.encryptionSecret) changed.push('persistence.encryptionKeySecretRef (value)');
  return changed;
}

/** scheme://host:port/db of a Redis URL, without credentials: rotating a password is not a move. */
function redisServerOf(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '' ? '/' : u.pathname}`;
  } catch {
    return url;
  }
}

/** Every differing field except appendfsync, which is applied in place. */
function restartChanges(from: ControllerNodeConfig, to: ControllerNodeConfig): string[] {
  const changed = storeIdentityChanges(from.persistence, to.persistence);
  if (from.persistence.redis?.url !== to.persistence.redis?.url && !changed.some((c) => c.startsWith('persistence.redis.url'))) {
    changed.push('persistence.redis.url (credentials)');
  }
  if (from.server.port !== to.server.port) changed.push('server.port');
  if (JSON.stringify(from.appSign) !== JSON.stringify(to.appSign)) changed.push('appSign');
  if (JSON.stringify(from.chain) !== JSON.stringify(to.chain)) changed.push('chain');
  if (from.operator.address !== to.operator.address || from.operator.privateKey !== to.operator.privateKey) changed.push('operator');
  return changed;
}

export function decide(input: DecideInput): Decision {
  if (!input.desired.ok) return { kind: 'invalid' };
  const desired = input.desired.config;
  const running = input.running;

  if (running === null) {
    const refusal = refuseMoveFromLastStatus(desired, input.lastStatus);
    return refusal ?? { kind: 'start', config: desired };
  }

  const changed = restartChanges(running, desired);
  if (changed.length > 0) {
    const identity = storeIdentityChanges(running.persistence, desired.persistence);
    if (identity.length > 0 && hasKeyData(input.runtime)) {
      return {
        kind: 'refuse',
        changed: identity,
        message: `changing ${identity.join(', ')} would leave this node's ${input.runtime.keys.versionCount} key share version(s) behind in the current store; revert the change, or migrate the data first`,
      };
    }
    return { kind: 'restart', config: desired, changed };
  }

  const want = desired.persistence.redis?.appendfsync;
  if (want === undefined) return { kind: 'none' };
  if (running.persistence.redis?.appendfsync !== want) return { kind: 'applyFsync', config: desired, policy: want, repair: false };
  // Drift: someone changed Redis behind the node's back (CONFIG SET appendonly no, …). It is
  // repaired only once the written status reports it, so the False condition is never skipped,
  // even when a readiness probe or the node itself read the drift before this pass did.
  const aof = input.runtime.persistence?.aof;
  const drifted = aof !== undefined && (!aof.enabled || aof.fsync !== want);
  const reported = input.lastStatus?.persistence;
  const reportedDrift = reported !== undefined && (reported.aofEnabled === false || (reported.fsync !== undefined && reported.fsync !== want));
  if (drifted && reportedDrift) return { kind: 'applyFsync', config: desired, policy: want, repair: true };
  return { kind: 'none' };
}

/**
 * After a controller restart the runtime is fresh and knows no previous config; the last
 * written status still says where the data was. A different data path while that one
 * held key versions is the same refused move.
 */
function refuseMoveFromLastStatus(desired: ControllerNodeConfig, last: KmsNodeStatus | undefined): Decision | null {
  const lastPath = last?.dataPath?.path;
  const lastVersions = last?.keys?.versionCount ?? 0;
  const lastActive = last?.keys?.activeVersion;
  if (lastPath === undefined || (lastVersions === 0 && lastActive === undefined)) return null;
  if (desired.persistence.dataPath === lastPath) return null;
  return {
    kind: 'refuse',
    changed: ['persistence.dataPath'],
    message: `the last reported data path ${lastPath} held ${lastVersions} key share version(s); starting on ${desired.persistence.dataPath ?? 'a store without a data path'} would leave them behind; revert the change, or migrate the data first`,
  };
}
