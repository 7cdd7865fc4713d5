import type { KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import type { NodeRuntimeStatus } from '../../node/runtime.js';
import type { Decision } from './decide.js';
import type { ControllerNodeConfig, SpecMappingResult } from './specMapping.js';

/**
 * Everything one reconcile pass knows, gathered once (cert-manager's Input): the checks
 * are pure functions of it, so every condition can be table-tested without I/O.
 */
export interface ReconcileInput {
  readonly node: KmsNode;
  /** The spec mapped to a node configuration, or its problems. */
  readonly desired: SpecMappingResult;
  /** What this pass decided to do to the runtime. */
  readonly decision: Decision;
  /** The error of carrying the decision out, if it failed. */
  readonly actionError: { readonly code: string; readonly message: string } | null;
  /** Fresh runtime status, read after the action. */
  readonly runtime: NodeRuntimeStatus;
  /** The configuration the runtime runs on now (null when stopped). */
  readonly running: ControllerNodeConfig | null;
  /** The uid the data path must be owned by (this process's). */
  readonly expectedUid: number;
  /** Below this, DataPathReady is False. */
  readonly minFreeBytes: number;
}
