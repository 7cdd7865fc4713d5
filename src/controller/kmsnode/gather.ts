import type { KmsNode } from '../../api/v1alpha1/kmsnode.types.js';
import type { NodeRuntime, NodeRuntimeStatus } from '../../node/runtime.js';
import type { KmsNodeApi } from './kubeApi.js';
import { secretRefsOf, secretValueKey, type ControllerNodeConfig, type SecretValues } from './specMapping.js';

/**
 * The I/O half of a pass: read what the spec references and what the node reports.
 * Everything after this is decided from data.
 */

/** Reads each referenced Secret once; a missing Secret or key is simply absent. */
export async function gatherSecrets(api: KmsNodeApi, node: KmsNode): Promise<SecretValues> {
  const values = new Map<string, string>();
  const byName = new Map<string, Readonly<Record<string, string>> | null>();
  for (const { ref } of secretRefsOf(node.spec)) {
    if (!byName.has(ref.name)) byName.set(ref.name, await api.readSecret(node.metadata.namespace, ref.name));
    const value = byName.get(ref.name)?.[ref.key];
    if (value !== undefined) values.set(secretValueKey(ref), value);
  }
  return values;
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
