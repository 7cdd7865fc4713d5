import { CONDITION_TYPES, findCondition, type Condition } from '../../api/v1alpha1/conditions.js';
import { KMSNODE_API_VERSION, KMSNODE_KIND, type KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import type { Logger } from '../../logging/logger.js';
import { describeError } from '../../logging/describeError.js';
import type { Decision } from './decide.js';
import { isApiStatus, type EventBody, type KmsNodeApi } from './kubeApi.js';

/**
 * Kubernetes Events for what a person watching `kubectl describe kmsnode` wants to see:
 * each condition flip, and each action the controller took on the node. Emitting is best
 * effort: a failed event is logged, never a failed reconcile.
 */
export interface EventSpec {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** One event per condition whose status flipped (or appeared), in condition order. */
export function conditionTransitionEvents(before: readonly Condition[] | undefined, after: readonly Condition[] | undefined): EventSpec[] {
  const events: EventSpec[] = [];
  for (const type of CONDITION_TYPES) {
    const old = findCondition(before, type);
    const now = findCondition(after, type);
    if (now === undefined || old?.status === now.status) continue;
    events.push({
      type: now.status === 'True' ? 'Normal' : 'Warning',
      reason: now.reason,
      message: `${type} ${old?.status ?? 'unset'} → ${now.status}: ${now.message}`,
    });
  }
  return events;
}

/** The event for an action this pass carried out (or refused); none for 'none'/'invalid'. */
export function decisionEvent(decision: Decision, error: { readonly message: string } | null): EventSpec | null {
  if (error !== null && decision.kind !== 'none' && decision.kind !== 'invalid' && decision.kind !== 'refuse') {
    return { type: 'Warning', reason: 'ActionFailed', message: `${decision.kind} failed: ${error.message}` };
  }
  switch (decision.kind) {
    case 'start': return { type: 'Normal', reason: 'NodeStarted', message: 'started the node on the resource\'s configuration' };
    case 'restart': return { type: 'Normal', reason: 'NodeRestarted', message: `drained and restarted the node: changed ${decision.changed.join(', ')}` };
    case 'applyFsync': return decision.repair
      ? { type: 'Warning', reason: 'AofPolicyRepaired', message: `Redis had drifted from the resource's AOF policy; re-applied appendonly yes, appendfsync ${decision.policy}` }
      : { type: 'Normal', reason: 'AofPolicyApplied', message: `applied appendfsync ${decision.policy} to Redis and verified it` };
    case 'refuse': return { type: 'Warning', reason: 'TransitionRefused', message: decision.message };
    case 'none': case 'invalid': return null;
  }
}

export interface EventRecorder {
  record(node: KmsNode, event: EventSpec): Promise<void>;
}

export const EVENT_SOURCE = 'kms-node-controller';

/** Repeats of one event within this window update it (count, lastTimestamp), as client-go's correlator does. */
export const EVENT_AGGREGATION_WINDOW_MS = 10 * 60_000;
/** Distinct events remembered for aggregation; the oldest is forgotten first. */
const MAX_REMEMBERED_EVENTS = 256;

/**
 * Records events with deduplication: an event equal to one recorded within the window
 * (same object, type, reason and message) bumps that event's count and lastTimestamp
 * instead of creating another, so a flapping check cannot flood the namespace.
 */
export function createEventRecorder(api: KmsNodeApi, logger: Logger, now: () => Date): EventRecorder {
  let sequence = 0;
  const recent = new Map<string, { name: string; count: number; last: number }>();
  return {
    async record(node, event) {
      const time = now();
      const { namespace, name } = node.metadata;
      const key = JSON.stringify([namespace, name, node.metadata.uid ?? '', event.type, event.reason, event.message]);
      const prior = recent.get(key);
      try {
        if (prior !== undefined && time.getTime() - prior.last < EVENT_AGGREGATION_WINDOW_MS) {
          try {
            await api.patchEvent(namespace, prior.name, { count: prior.count + 1, lastTimestamp: time });
            recent.delete(key);
            recent.set(key, { name: prior.name, count: prior.count + 1, last: time.getTime() });
            return;
          } catch (error) {
            // Expired (events live about an hour) or deleted: record it afresh.
            if (!isApiStatus(error, 404)) throw error;
          }
        }
        sequence = (sequence + 1) % 1_000_000;
        const eventName = `${name}.${time.getTime().toString(16)}${sequence.toString(16)}`;
        await api.createEvent(namespace, eventBody(node, event, eventName, time));
        recent.delete(key);
        recent.set(key, { name: eventName, count: 1, last: time.getTime() });
        if (recent.size > MAX_REMEMBERED_EVENTS) recent.delete(recent.keys().next().value as string);
      } catch (error) {
        logger.warn({ err: describeError(error), reason: event.reason }, 'could not record an event');
      }
    },
  };
}

function eventBody(node: KmsNode, event: EventSpec, eventName: string, time: Date): EventBody {
  const { namespace, name } = node.metadata;
  return {
    metadata: { name: eventName, namespace },
    involvedObject: {
      apiVersion: KMSNODE_API_VERSION,
      kind: KMSNODE_KIND,
      name,
      namespace,
      ...(node.metadata.uid === undefined ? {} : { uid: node.metadata.uid }),
      ...(node.metadata.resourceVersion === undefined ? {} : { resourceVersion: node.metadata.resourceVersion }),
    },
    type: event.type,
    reason: event.reason,
    // The API server caps event messages at 1 KiB.
    message: event.message.slice(0, 1_000),
    count: 1,
    firstTimestamp: time,
    lastTimestamp: time,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: EVENT_SOURCE,
  };
}
