import type { KubeConfig } from '@kubernetes/client-node';
import { objectKey, type KmsNode } from '../api/v1alpha1/kmsnode.types.js';
import type { Logger } from '../logging/logger.js';
import type { NodeRuntime } from '../node/runtime.js';
import { describeError } from '../logging/describeError.js';
import { Controller } from './framework/controller.js';
import { generationChanged, InformerSource } from './framework/informerSource.js';
import { systemTimers, type Timers } from './framework/timers.js';
import { createEventRecorder } from './kmsnode/events.js';
import { createKmsNodeApi, kmsNodesPath } from './kmsnode/kubeApi.js';
import { KmsNodeReconciler } from './kmsnode/reconcile.js';
import type { ControllerNodeConfig, ProcessSettings } from './kmsnode/specMapping.js';
import { StatusWriter, stoppingTransactions } from './kmsnode/status.js';

export type { ControllerNodeConfig, ProcessSettings } from './kmsnode/specMapping.js';

export const DEFAULT_RESYNC_PERIOD_MS = 30_000;

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
  /** The pod's process-level settings each spec is completed with (host, log level, data volume). */
  readonly processSettings?: ProcessSettings;
}

export interface KmsNodeControllerHandle {
  /** Stops watching and reconciling. The node runtime keeps running: its owner stops it. */
  stop(): Promise<void>;
  /**
   * Writes Ready=False (reason Stopping) and phase Stopping on the resource, so status
   * says the truth while the node drains; call after stop() and before the node stops.
   * Best effort: an API server that cannot be reached is logged, not thrown.
   */
  reportStopping(message: string): Promise<void>;
  /** Whether a pass over the resource has completed (it starts the node and restores its key shares). */
  hasReconciled(): boolean;
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
  const statusWriter = new StatusWriter(api);
  const reconciler = new KmsNodeReconciler({
    lister: source,
    api,
    runtime: options.runtime,
    statusWriter,
    events: createEventRecorder(api, logger, now),
    logger,
    now,
    ...(options.unhealthyRequeueMs === undefined ? {} : { unhealthyRequeueMs: options.unhealthyRequeueMs }),
    ...(options.minFreeBytes === undefined ? {} : { minFreeBytes: options.minFreeBytes }),
    ...(options.processSettings === undefined ? {} : { processSettings: options.processSettings }),
    // Refreshed by every resync at the latest: due at half the period, whatever the timer jitter.
    heartbeatRefreshMs: (options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS) / 2,
  });
  // A health flip the pass's own refresh reads is what that pass is about to write:
  // queueing another pass for it would overwrite the unhealthy status (and repair the AOF)
  // within milliseconds instead of after the unhealthy revisit delay, so nobody sees it.
  let passesInFlight = 0;
  let passesDone = 0;
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
          passesDone += 1;
        }
      },
    },
    logger,
    timers: clock,
    resyncPeriodMs: options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS,
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
    hasReconciled: () => passesDone > 0,
    reportStopping: async (message) => {
      try {
        // The freshest object: the informer is stopped, and a stale resourceVersion only costs a retry.
        const node = await api.get(options.namespace, options.name);
        if (node === null) return;
        await statusWriter.write(node, stoppingTransactions(node, message, now()));
        logger.info('status: Ready=False (Stopping)');
      } catch (error) {
        logger.warn({ err: describeError(error) }, 'could not write the Stopping status');
      }
    },
  };
}
