/**
 * KmsNode conditions: the standard metav1.Condition shape, the four condition types,
 * their CamelCase reasons, and the one rule that matters for readers watching them:
 * lastTransitionTime moves only when the status flips.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  /** RFC 3339, seconds precision (what the API server stores for metav1.Time). */
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export const ConditionType = {
  Ready: 'Ready',
  PersistenceHealthy: 'PersistenceHealthy',
  DataPathReady: 'DataPathReady',
  KeyShareActive: 'KeyShareActive',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Every condition the controller maintains, in the order they are written. */
export const CONDITION_TYPES: readonly ConditionType[] = [
  ConditionType.Ready,
  ConditionType.PersistenceHealthy,
  ConditionType.DataPathReady,
  ConditionType.KeyShareActive,
];

/** Reasons, stable strings: dashboards and alerts match on them. */
export const Reason = {
  // Ready
  NodeRunning: 'NodeRunning',
  NodeStarting: 'NodeStarting',
  NodeRestoring: 'NodeRestoring',
  NodeNotStarted: 'NodeNotStarted',
  NodeFailed: 'NodeFailed',
  InvalidSpec: 'InvalidSpec',
  SecretUnavailable: 'SecretUnavailable',
  TransitionRefused: 'TransitionRefused',
  PersistenceUnhealthy: 'PersistenceUnhealthy',
  DataPathNotReady: 'DataPathNotReady',
  /** kms-server received SIGTERM: the node is draining and will stop. */
  Stopping: 'Stopping',
  // PersistenceHealthy
  AofHealthy: 'AofHealthy',
  MemoryBackend: 'MemoryBackend',
  PersistenceNotOpen: 'PersistenceNotOpen',
  AofDisabled: 'AofDisabled',
  FsyncPolicyMismatch: 'FsyncPolicyMismatch',
  AofWriteFailing: 'AofWriteFailing',
  AofFactsMissing: 'AofFactsMissing',
  HealthCheckFailed: 'HealthCheckFailed',
  // DataPathReady
  DataPathHealthy: 'DataPathHealthy',
  DataPathNotUsed: 'DataPathNotUsed',
  DataPathUnknown: 'DataPathUnknown',
  DataPathMissing: 'DataPathMissing',
  DataPathPermissive: 'DataPathPermissive',
  DataPathWrongOwner: 'DataPathWrongOwner',
  DataPathNotWritable: 'DataPathNotWritable',
  DataPathLowSpace: 'DataPathLowSpace',
  // KeyShareActive
  KeyShareActive: 'KeyShareActive',
  NoKeyShareYet: 'NoKeyShareYet',
  KeysUnknown: 'KeysUnknown',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** What a check decided, before it is stamped with times and generations. */
export interface ConditionResult {
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** metav1.Time as the API server stores it: RFC 3339 without fractional seconds. */
export function formatConditionTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/**
 * Returns a new list with `type` set to `result`. The previous lastTransitionTime is
 * kept unless the status flips (reason or message changes alone are not transitions),
 * so watchers can tell how long a node has been in its state.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
  result: ConditionResult,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const list = conditions === undefined ? [] : [...conditions];
  const index = list.findIndex((c) => c.type === type);
  const previous = index < 0 ? undefined : list[index];
  const lastTransitionTime =
    previous !== undefined && previous.status === result.status ? previous.lastTransitionTime : formatConditionTime(now);
  const next: Condition = {
    type,
    status: result.status,
    reason: result.reason,
    message: result.message,
    lastTransitionTime,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (index < 0) list.push(next);
  else list[index] = next;
  return list;
}
