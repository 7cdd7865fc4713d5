import type { KubeConfig } from '@kubernetes/client-node';
import { objectKey, type KmsNode } from '../api/v1alpha1/kmsnode.types.js';
import type { Logger } from '../logging/logger.js';
import type { NodeRuntime } from '../node/runtime.js';
import { Controller } from './framework/controller.js';
import { generationChanged, InformerSource } from './framework/informerSource.js';
import { systemTimers, type Timers } from './framework/timers.js';
import { createEventRecorder } from './kmsnode/events.js';
import { createKmsNodeApi, kmsNodesPath } from './kmsnode/kubeApi.js';
import { KmsNodeReconciler } from './kmsnode/reconcile.js';
import type { ControllerNodeConfig } from './kmsnode/specMapping.js';
import { StatusWriter } from './kmsnode/status.js';

export type { ControllerNodeConfig } from './kmsnode/specMapping.js';

export interface KmsNodeControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The one KmsNode this process reconciles (its own). */
  readonly name: string;
  readonly runtime: NodeRuntime<ControllerNodeConfig>;
  readonly logger: Logger;
  /** Time and timers; tests pass a manual clock. */
  readonly clock?: Timers;
  /** Default 30 s. */
  readonly resyncPeriodMs?: number;
  /** Revisit delay while not Ready; default 5 s. */
  readonly unhealthyRequeueMs?: number;
  /** Retry/restart backoff start (default 1 s) and cap (default 5 min). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** DataPathReady turns False below this; default 64 MiB. */
  readonly minFreeBytes?: number;
}

export interface KmsNodeControllerHandle {
  /** Stops watching and reconciling. The node runtime keeps running: its owner stops it. */
  stop(): Promise<void>;
}

/**
 * Starts the in-process controller for one KmsNode: an informer on that object
 * (field-selected by name, restarted on error), one worker, and the reconciler. The
 * node's own status changes (a new key version, a boundary, a phase, a health flip)
 * queue the resource too, so its status follows the node at once rather than at the
 * next resync; a health flip found by the controller's own refresh does not.
 */
export function startKmsNodeController(options: KmsNodeControllerOptions): KmsNodeControllerHandle {
  const clock = options.clock ?? systemTimers;
  const logger = options.logger.child({ module: 'controller', kmsnode: objectKey(options.namespace, options.name) });
  const api = createKmsNodeApi(options.kubeConfig);
  const fieldSelector = `metadata.name=${options.name}`;
  const source = new InformerSource<KmsNode>({
    kubeConfig: options.kubeConfig,
    path: kmsNodesPath(options.namespace),
    list: () => api.list(options.namespace, fieldSelector),
    fieldSelector,
    updateTriggers: generationChanged,
  });
  const now = (): Date => new Date(clock.now());
  const reconciler = new KmsNodeReconciler({
    lister: source,
    api,
    runtime: options.runtime,
    statusWriter: new StatusWriter(api),
    events: createEventRecorder(api, logger, now),
    logger,
    now,
    ...(options.unhealthyRequeueMs === undefined ? {} : { unhealthyRequeueMs: options.unhealthyRequeueMs }),
    ...(options.minFreeBytes === undefined ? {} : { minFreeBytes: options.minFreeBytes }),
  });
  // A health flip the pass's own refresh reads is what that pass is about to write:
  // queueing another pass for it would overwrite the unhealthy status (and repair the AOF)
  // within milliseconds instead of after the unhealthy revisit delay, so nobody sees it.
  let passesInFlight = 0;
  const controller = new Controller({
    name: 'kmsnode',
    source,
    reconciler: {
      processItem: async (key) => {
        passesInFlight += 1;
        try {
          return await reconciler.processItem(key);
        } finally {
          passesInFlight -= 1;
        }
      },
    },
    logger,
    timers: clock,
    ...(options.resyncPeriodMs === undefined ? {} : { resyncPeriodMs: options.resyncPeriodMs }),
    ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
    ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
  });
  controller.run();
  const key = objectKey(options.namespace, options.name);
  const unsubscribe = options.runtime.onStatusChange((change) => {
    if (change.reason === 'persistenceHealth' && passesInFlight > 0) return;
    if (controller.enqueueKnown(key)) logger.debug({ reason: change.reason }, 'node status changed; reconciling');
  });
  return {
    stop: async () => {
      unsubscribe();
      await controller.stop();
    },
  };
}
