import type { KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import type { NodeRuntime, NodeRuntimeStatus } from '../../node/runtime.js';
import type { KmsNodeApi, SecretRead } from './kubeApi.js';
import { secretRefsOf, secretValueKey, type ControllerNodeConfig, type SecretValues } from './specMapping.js';

/**
 * The I/O half of a pass: read what the spec references and what the node reports.
 * Everything after this is decided from data.
 */

export interface GatheredSecrets {
  readonly values: SecretValues;
  /** Secrets RBAC does not let the controller read. */
  readonly forbidden: ReadonlySet<string>;
}

/** Reads each referenced Secret once; a missing Secret or key is simply absent. */
export async function gatherSecrets(api: KmsNodeApi, node: KmsNode): Promise<GatheredSecrets> {
  const values = new Map<string, string>();
  const forbidden = new Set<string>();
  const byName = new Map<string, SecretRead>();
  for (const { ref } of secretRefsOf(node.spec)) {
    let read = byName.get(ref.name);
    if (read === undefined) {
      read = await api.readSecret(node.metadata.namespace, ref.name);
      byName.set(ref.name, read);
    }
    if (read.status === 'forbidden') forbidden.add(ref.name);
    const value = read.status === 'found' ? read.data[ref.key] : undefined;
    if (value !== undefined) values.set(secretValueKey(ref), value);
  }
  return { values, forbidden };
}

/**
 * Fresh runtime status. A failing refresh is itself a fact about the node: the last
 * known status is returned with the failure as lastError, so it surfaces as a condition.
 */
export async function gatherRuntimeStatus(runtime: NodeRuntime<ControllerNodeConfig>): Promise<NodeRuntimeStatus> {
  try {
    return await runtime.refreshStatus();
  } catch (error) {
    const last = runtime.status();
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'STATUS_REFRESH_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    return { ...last, persistence: null, lastError: { code, message: `reading node status failed: ${message}` } };
  }
}
