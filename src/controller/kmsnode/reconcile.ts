import { splitObjectKey, type KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import { ConditionType, findCondition, Reason } from '../../api/v1alpha1/conditions.js';
import type { Logger } from '../../logging/logger.js';
import type { NodeRuntime } from '../../node/runtime.js';
import { describeError } from '../../logging/describeError.js';
import type { ProcessResult, Reconciler } from '../framework/controller.js';
import type { ObjectLister } from '../framework/informerSource.js';
import { evaluate } from './checks.js';
import { decide, type Decision } from './decide.js';
import { ReconcileRetryError } from './errors.js';
import { conditionTransitionEvents, decisionEvent, type EventRecorder } from './events.js';
import { gatherRuntimeStatus, gatherSecrets } from './gather.js';
import type { ReconcileInput } from './input.js';
import type { KmsNodeApi } from './kubeApi.js';
import { specToNodeConfig, type ControllerNodeConfig, type ProcessSettings } from './specMapping.js';
import { changedBeyondHeartbeat, statusTransactions, type StatusWriter } from './status.js';

/**
 * One pass over a KmsNode (the in-process instance manager of CloudNativePG, with
 * cert-manager's gather → check → write shape):
 *   read from the informer → read Secrets → map the spec → decide → act on the runtime →
 *   gather fresh runtime status → evaluate the check chains → write status (only if it
 *   changed) → emit events for flips and actions → ask for a revisit while unhealthy.
 * The status is written before a failed action is retried, so a failure is always
 * visible. Drift (e.g. AOF switched off behind the node's back) is first reported, then
 * repaired on the next pass, so the False condition is never skipped.
 */
export interface KmsNodeReconcilerOptions {
  readonly lister: ObjectLister<KmsNode>;
  readonly api: KmsNodeApi;
  readonly runtime: NodeRuntime<ControllerNodeConfig>;
  readonly statusWriter: StatusWriter;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly now: () => Date;
  /** How soon to look again while not Ready (default 5 s; the resync covers the healthy case). */
  readonly unhealthyRequeueMs?: number;
  readonly minFreeBytes?: number;
  readonly expectedUid?: number;
  /** A heartbeat younger than this is not rewritten by a pass that changes nothing else (default 15 s, half the default resync). */
  readonly heartbeatRefreshMs?: number;
  /** The process-level settings (pod env) every spec is completed with: host, log level, the data volume. */
  readonly processSettings?: ProcessSettings;
}

export const DEFAULT_UNHEALTHY_REQUEUE_MS = 5_000;
export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_REFRESH_MS = 15_000;

export class KmsNodeReconciler implements Reconciler {
  /**
   * The config last applied in place (appendfsync): the runtime's currentConfig is the
   * one it started on, so the controller remembers what it changed since.
   */
  private appliedInPlace: ControllerNodeConfig | null = null;

  constructor(private readonly options: KmsNodeReconcilerOptions) {}

  /** What the node runs on now, including in-place changes; null when stopped. */
  private running(): ControllerNodeConfig | null {
    const started = this.options.runtime.currentConfig();
    if (started === null) {
      this.appliedInPlace = null;
      return null;
    }
    return this.appliedInPlace ?? started;
  }

  async processItem(key: string): Promise<ProcessResult | undefined> {
    const { namespace, name } = splitObjectKey(key);
    const { lister, api, runtime, logger } = this.options;
    const node = lister.get(namespace, name);
    if (node === undefined) {
      await this.onDeleted(namespace, name);
      return undefined;
    }

    const secrets = await gatherSecrets(api, node);
    const desired = specToNodeConfig(node.spec, secrets.values, secrets.forbidden, this.options.processSettings);
    const decision = decide({ desired, running: this.running(), runtime: runtime.status(), lastStatus: node.status });
    const actionError = await this.act(decision);
    if (actionError !== null) logger.warn({ key, action: decision.kind, err: actionError }, 'action on the node failed');

    const input: ReconcileInput = {
      node,
      desired,
      decision,
      actionError,
      runtime: await gatherRuntimeStatus(runtime),
      running: this.running(),
      expectedUid: this.options.expectedUid ?? process.getuid?.() ?? 0,
      minFreeBytes: this.options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES,
    };
    const evaluation = evaluate(input);
    const now = this.options.now();
    const written = await this.options.statusWriter.write(node, statusTransactions(node, evaluation, input.runtime, now, this.options.heartbeatRefreshMs ?? DEFAULT_HEARTBEAT_REFRESH_MS));
    if (written.patched && changedBeyondHeartbeat(written.previous, written.node.status)) logger.info({ key, phase: evaluation.phase }, 'status updated');

    // A refusal stands until the spec changes: record it once, not on every resync.
    const alreadyRefused = findCondition(written.previous?.conditions, ConditionType.Ready)?.reason === Reason.TransitionRefused;
    const actionEvent = decision.kind === 'refuse' && alreadyRefused ? null : decisionEvent(decision, actionError);
    if (actionEvent !== null) await this.options.events.record(written.node, actionEvent);
    for (const event of conditionTransitionEvents(written.previous?.conditions, written.node.status?.conditions)) {
      await this.options.events.record(written.node, event);
    }

    if (actionError !== null) throw new ReconcileRetryError(key, decision.kind, actionError);
    // Health problems are re-checked soon; a spec a person must fix waits for its next
    // change (the watch) or the resync, which also notices Secrets created later.
    const isReady = evaluation.conditions.get(ConditionType.Ready)?.status === 'True';
    return isReady || evaluation.phase === 'NeedsIntervention' ? undefined : { requeueAfterMs: this.options.unhealthyRequeueMs ?? DEFAULT_UNHEALTHY_REQUEUE_MS };
  }

  /** Carries a decision out; returns the failure instead of throwing so status can report it. */
  private async act(decision: Decision): Promise<{ code: string; message: string } | null> {
    const { runtime, logger } = this.options;
    try {
      switch (decision.kind) {
        case 'start':
          logger.info('starting the node');
          this.appliedInPlace = null;
          await runtime.start(decision.config);
          break;
        case 'restart':
          logger.info({ changed: decision.changed }, 'configuration changed: draining and restarting the node');
          this.appliedInPlace = null;
          await runtime.stop();
          await runtime.start(decision.config);
          break;
        case 'applyFsync':
          logger.info({ policy: decision.policy, repair: decision.repair }, 'applying the AOF policy to Redis');
          await runtime.applyAppendFsync(decision.policy);
          this.appliedInPlace = decision.config;
          break;
        case 'refuse':
          logger.warn({ changed: decision.changed }, 'refused a configuration change that would leave key data behind');
          break;
        case 'none': case 'invalid':
          break;
      }
      return null;
    } catch (error) {
      return describeError(error);
    }
  }

  /**
   * The resource is gone: the node has no desired state any more, so it is drained and
   * stopped. Its data stays exactly where it is (the controller never deletes data).
   */
  private async onDeleted(namespace: string, name: string): Promise<void> {
    this.options.statusWriter.forget(namespace, name);
    if (this.options.runtime.currentConfig() === null) return;
    this.options.logger.info({ kmsnode: `${namespace}/${name}` }, 'KmsNode deleted: stopping the node; its data path is left intact');
    await this.options.runtime.stop();
    this.appliedInPlace = null;
  }
}
