import { ConditionType, Reason, type ConditionResult } from '../../api/v1alpha1/conditions.js';
import type { KmsNodePhase } from '../../api/v1alpha1/kmsnode.types.js';
import type { ReconcileInput } from './input.js';

/**
 * Pure check chains over the gathered input. A check returns a failing result or null;
 * a chain's result is the first failure, or its healthy result. Each condition's
 * reason and message come from exactly one place here.
 */
export type Check = (input: ReconcileInput) => ConditionResult | null;

export function evaluateChain(input: ReconcileInput, checks: readonly Check[], healthy: (input: ReconcileInput) => ConditionResult): ConditionResult {
  for (const check of checks) {
    const failure = check(input);
    if (failure !== null) return failure;
  }
  return healthy(input);
}

const fail = (reason: string, message: string): ConditionResult => ({ status: 'False', reason, message });
const unknown = (reason: string, message: string): ConditionResult => ({ status: 'Unknown', reason, message });

function desiredFsync(input: ReconcileInput): string | null {
  const config = input.desired.ok ? input.desired.config : input.running;
  return config?.persistence.redis?.appendfsync ?? null;
}

export const persistenceChecks: readonly Check[] = [
  (i) => {
    if (i.runtime.persistence !== null) return null;
    return i.runtime.lastError !== null
      ? fail(Reason.HealthCheckFailed, `persistence is not available: ${i.runtime.lastError.message}`)
      : unknown(Reason.PersistenceNotOpen, `persistence is not open (node ${i.runtime.phase})`);
  },
  (i) => (i.runtime.persistence?.backend === 'redis' && i.runtime.persistence.aof === undefined
    ? fail(Reason.AofFactsMissing, 'the Redis backend reported no AOF facts; durability cannot be verified')
    : null),
  (i) => (i.runtime.persistence?.aof?.enabled === false
    ? fail(Reason.AofDisabled, 'Redis reports appendonly no: acknowledged writes are not logged; the controller re-applies appendonly yes')
    : null),
  (i) => {
    const status = i.runtime.persistence?.aof?.lastWriteStatus;
    return status !== undefined && status !== 'ok'
      ? fail(Reason.AofWriteFailing, `Redis reports aof_last_write_status ${status}: writes to the AOF are failing (disk full or read-only?)`)
      : null;
  },
  (i) => {
    const want = desiredFsync(i);
    const have = i.runtime.persistence?.aof?.fsync;
    return want !== null && have !== undefined && have !== want
      ? fail(Reason.FsyncPolicyMismatch, `Redis runs appendfsync ${have} but the resource asks for ${want}; the controller re-applies it`)
      : null;
  },
  (i) => {
    const bad = (i.runtime.persistence?.findings ?? []).filter((f) => !f.ok && !isFsyncFinding(f.check, i));
    return bad.length > 0 ? fail(Reason.HealthCheckFailed, bad.map((f) => `${f.check}: ${f.message}`).join('; ')) : null;
  },
];

/**
 * The persistence layer flags any policy weaker than always; when the resource itself
 * asks for everysec and Redis runs it, that finding is the operator's explicit choice,
 * reported by the fsync fields, not a fault.
 */
function isFsyncFinding(check: string, input: ReconcileInput): boolean {
  const want = desiredFsync(input);
  return /fsync/i.test(check) && want !== null && input.runtime.persistence?.aof?.fsync === want;
}

export function persistenceHealthy(i: ReconcileInput): ConditionResult {
  const p = i.runtime.persistence;
  if (p === null || p.backend === 'memory' || p.aof === undefined) {
    return { status: 'True', reason: Reason.MemoryBackend, message: 'memory backend: healthy, but nothing survives a restart (tests only)' };
  }
  const size = p.aof.sizeBytes === null ? 'size unknown' : `${p.aof.sizeBytes} bytes`;
  return {
    status: 'True',
    reason: Reason.AofHealthy,
    message: `AOF on, appendfsync ${p.aof.fsync}, last write ok, ${size} (${p.mode} Redis)`,
  };
}

export const dataPathChecks: readonly Check[] = [
  (i) => {
    if (i.running === null && !i.desired.ok) return unknown(Reason.DataPathUnknown, 'no valid configuration yet');
    return null;
  },
  (i) => (usesDataPath(i) && i.runtime.persistence?.dataPath === undefined
    ? unknown(Reason.DataPathUnknown, 'the data path has not been inspected yet (persistence not open)')
    : null),
  (i) => {
    const d = i.runtime.persistence?.dataPath;
    return d !== undefined && !d.exists ? fail(Reason.DataPathMissing, `${d.path} does not exist`) : null;
  },
  (i) => {
    const d = i.runtime.persistence?.dataPath;
    if (d === undefined) return null;
    const mode = Number.parseInt(d.mode, 8);
    return Number.isNaN(mode) || (mode & 0o077) !== 0
      ? fail(Reason.DataPathPermissive, `${d.path} has mode ${d.mode}; it holds key shares and must be 0700`)
      : null;
  },
  (i) => {
    const d = i.runtime.persistence?.dataPath;
    return d !== undefined && d.ownerUid !== i.expectedUid
      ? fail(Reason.DataPathWrongOwner, `${d.path} is owned by uid ${d.ownerUid}, the node runs as uid ${i.expectedUid}`)
      : null;
  },
  (i) => {
    const d = i.runtime.persistence?.dataPath;
    return d !== undefined && !d.writable ? fail(Reason.DataPathNotWritable, `${d.path} is not writable by the node`) : null;
  },
  (i) => {
    const d = i.runtime.persistence?.dataPath;
    return d !== undefined && d.freeBytes !== null && d.freeBytes < i.minFreeBytes
      ? fail(Reason.DataPathLowSpace, `${d.path} has ${formatBytes(d.freeBytes)} free, below the ${formatBytes(i.minFreeBytes)} minimum; AOF writes will fail when it fills`)
      : null;
  },
];

function usesDataPath(i: ReconcileInput): boolean {
  const config = i.running ?? (i.desired.ok ? i.desired.config : null);
  return config?.persistence.dataPath !== null && config?.persistence.dataPath !== undefined;
}

export function dataPathReady(i: ReconcileInput): ConditionResult {
  const d = i.runtime.persistence?.dataPath;
  if (!usesDataPath(i) || d === undefined) {
    return { status: 'True', reason: Reason.DataPathNotUsed, message: 'this backend keeps no data on a local path' };
  }
  const free = d.freeBytes === null ? 'free space unknown' : `${formatBytes(d.freeBytes)} free`;
  const aof = i.runtime.persistence?.aof?.sizeBytes;
  const aofText = aof === undefined || aof === null ? '' : `, AOF ${formatBytes(aof)}`;
  return { status: 'True', reason: Reason.DataPathHealthy, message: `${d.path}: mode ${d.mode}, owner uid ${d.ownerUid}, writable, ${free}${aofText}` };
}

export const keyShareChecks: readonly Check[] = [
  (i) => (i.runtime.phase === 'running' || i.runtime.phase === 'restoring'
    ? null
    : unknown(Reason.KeysUnknown, `key versions are read once the node runs (node ${i.runtime.phase})`)),
  (i) => (i.runtime.keys.activeVersion === null
    ? fail(Reason.NoKeyShareYet, `no active key share version yet (${i.runtime.keys.versionCount} stored, last boundary ${i.runtime.keys.lastProcessedBoundary}); the first DKG creates one`)
    : null),
];

export function keyShareActive(i: ReconcileInput): ConditionResult {
  const k = i.runtime.keys;
  return {
    status: 'True',
    reason: Reason.KeyShareActive,
    message: `active version ${k.activeVersion ?? 'none'} of ${k.versionCount} stored, last boundary ${k.lastProcessedBoundary}`,
  };
}

/** Ready needs the spec applied, the node running, and healthy persistence and data path. */
export function readyChecks(persistence: ConditionResult, dataPath: ConditionResult): readonly Check[] {
  return [
    (i) => {
      if (i.desired.ok) return null;
      const invalid = i.desired.problems.filter((p) => p.kind === 'invalid');
      const list = (invalid.length > 0 ? invalid : i.desired.problems).map((p) => `${p.path}: ${p.message}`).join('; ');
      return fail(invalid.length > 0 ? Reason.InvalidSpec : Reason.SecretUnavailable, `${applied(i)}${list}`);
    },
    (i) => (i.decision.kind === 'refuse' ? fail(Reason.TransitionRefused, `${applied(i)}${i.decision.message}`) : null),
    (i) => (i.actionError !== null ? fail(Reason.NodeFailed, `${i.decision.kind} failed: ${i.actionError.message}`) : null),
    (i) => {
      switch (i.runtime.phase) {
        case 'running': return null;
        case 'restoring': return fail(Reason.NodeRestoring, 'restoring key versions and node state');
        case 'starting': case 'stopping': return fail(Reason.NodeStarting, `node is ${i.runtime.phase}`);
        case 'failed': return fail(Reason.NodeFailed, i.runtime.lastError?.message ?? 'the node failed without an error');
        case 'stopped': return fail(Reason.NodeNotStarted, 'the node is not running');
      }
    },
    () => (persistence.status !== 'True' ? fail(Reason.PersistenceUnhealthy, `persistence: ${persistence.message}`) : null),
    () => (dataPath.status !== 'True' ? fail(Reason.DataPathNotReady, `data path: ${dataPath.message}`) : null),
  ];
}

function applied(i: ReconcileInput): string {
  return i.running === null ? 'not started: ' : 'not applied (the node keeps its previous configuration): ';
}

export function ready(): ConditionResult {
  return { status: 'True', reason: Reason.NodeRunning, message: 'the node runs the resource\'s configuration with healthy persistence' };
}

export interface Evaluation {
  readonly conditions: ReadonlyMap<ConditionType, ConditionResult>;
  readonly phase: KmsNodePhase;
  readonly phaseMessage: string;
}

/**
 * Error codes (src/persistence, its embedded supervisor) that retrying cannot heal: a
 * person must act (repair an AOF, fix a mode or owner, install redis-server, …).
 */
export const INTERVENTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'DATA_PATH_INSECURE', 'DATA_PATH_NOT_ABSOLUTE', 'DATA_PATH_NOT_DIRECTORY', 'DATA_PATH_NOT_WRITABLE', 'DATA_PATH_WRONG_OWNER',
  'PERSISTENCE_CORRUPT_RECORD', 'PERSISTENCE_SCHEMA_VERSION', 'PERSISTENCE_MIGRATION_FAILED', 'PERSISTENCE_SEALING_KEY_MISMATCH',
  'PERSISTENCE_NOT_DURABLE', 'PERSISTENCE_CONFIG_INVALID', 'PERSISTENCE_ACTIVE_VERSION_MISSING',
  'REDIS_AOF_CORRUPT', 'REDIS_SERVER_NOT_FOUND', 'REDIS_CONFIG_REFUSED', 'REDIS_SUPERVISOR_GAVE_UP',
]);

/** All four conditions plus the phase, from the input alone. */
export function evaluate(input: ReconcileInput): Evaluation {
  const persistence = evaluateChain(input, persistenceChecks, persistenceHealthy);
  const dataPath = evaluateChain(input, dataPathChecks, dataPathReady);
  const keys = evaluateChain(input, keyShareChecks, keyShareActive);
  const readiness = evaluateChain(input, readyChecks(persistence, dataPath), ready);
  const conditions = new Map<ConditionType, ConditionResult>([
    [ConditionType.Ready, readiness],
    [ConditionType.PersistenceHealthy, persistence],
    [ConditionType.DataPathReady, dataPath],
    [ConditionType.KeyShareActive, keys],
  ]);
  return { conditions, ...phaseOf(input, readiness, dataPath) };
}

function phaseOf(input: ReconcileInput, readiness: ConditionResult, dataPath: ConditionResult): { phase: KmsNodePhase; phaseMessage: string } {
  const needsPerson =
    readiness.reason === Reason.InvalidSpec ||
    readiness.reason === Reason.SecretUnavailable ||
    readiness.reason === Reason.TransitionRefused ||
    (dataPath.status === 'False' && dataPath.reason !== Reason.DataPathLowSpace) ||
    INTERVENTION_ERROR_CODES.has(input.actionError?.code ?? input.runtime.lastError?.code ?? '');
  if (needsPerson) return { phase: 'NeedsIntervention', phaseMessage: `Waiting for user action: ${readiness.status === 'True' ? dataPath.message : readiness.message}` };
  if (readiness.status === 'True') return { phase: 'Running', phaseMessage: 'Node in healthy state' };
  switch (input.runtime.phase) {
    case 'stopped': return { phase: 'Pending', phaseMessage: `Waiting for the node to start: ${readiness.message}` };
    case 'starting': case 'restoring': case 'stopping': return { phase: 'Restoring', phaseMessage: `Starting and restoring state: ${readiness.message}` };
    case 'failed': case 'running': return { phase: 'Degraded', phaseMessage: `Node degraded: ${readiness.message}` };
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}
