import {
  ApiException,
  CoreV1Api,
  CoreV1Event,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import { KMSNODE_GROUP, KMSNODE_PLURAL, KMSNODE_VERSION, type KmsNode } from '../../api/v1alpha1/kmsnode.types.js';

/**
 * The API calls the KmsNode controller makes, and nothing else: that list is also the
 * RBAC the chart grants (get/list/watch kmsnodes, patch kmsnodes/status, get the named
 * Secrets, create events).
 */
export interface KmsNodeApi {
  list(namespace: string, fieldSelector: string): Promise<KubernetesListObject<KmsNode>>;
  /** null when the object does not exist. */
  get(namespace: string, name: string): Promise<KmsNode | null>;
  /** A JSON merge patch on the status subresource. */
  patchStatus(namespace: string, name: string, patch: object): Promise<KmsNode>;
  /** The Secret's data decoded to UTF-8 strings, or why it could not be read. */
  readSecret(namespace: string, name: string): Promise<SecretRead>;
  createEvent(namespace: string, event: EventBody): Promise<void>;
  /** A repeat of an event already recorded: its count and last time (a JSON merge patch). */
  patchEvent(namespace: string, name: string, repeat: { readonly count: number; readonly lastTimestamp: Date }): Promise<void>;
}

/** 'forbidden': RBAC does not let the controller read it (the chart lists Secrets by name). */
export type SecretRead =
  | { readonly status: 'found'; readonly data: Readonly<Record<string, string>> }
  | { readonly status: 'missing' }
  | { readonly status: 'forbidden' };

/** A core/v1 Event as plain data (the fields the controller sets). */
export interface EventBody {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly involvedObject: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
  };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  readonly firstTimestamp: Date;
  readonly lastTimestamp: Date;
  readonly source: { readonly component: string };
  readonly reportingComponent: string;
  readonly reportingInstance: string;
}

/** The collection path the informer watches. */
export function kmsNodesPath(namespace: string): string {
  return `/apis/${KMSNODE_GROUP}/${KMSNODE_VERSION}/namespaces/${namespace}/${KMSNODE_PLURAL}`;
}

export function isApiStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function createKmsNodeApi(kubeConfig: KubeConfig): KmsNodeApi {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const base = { group: KMSNODE_GROUP, version: KMSNODE_VERSION, plural: KMSNODE_PLURAL };
  return {
    async list(namespace, fieldSelector) {
      return (await custom.listNamespacedCustomObject({ ...base, namespace, fieldSelector })) as KubernetesListObject<KmsNode>;
    },
    async get(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ ...base, namespace, name })) as KmsNode;
      } catch (error) {
        if (isApiStatus(error, 404)) return null;
        throw error;
      }
    },
    async patchStatus(namespace, name, patch) {
      return (await custom.patchNamespacedCustomObjectStatus({ ...base, namespace, name, body: patch }, mergePatch)) as KmsNode;
    },
    async readSecret(namespace, name) {
      try {
        const secret = await core.readNamespacedSecret({ namespace, name });
        const out: Record<string, string> = {};
        for (const [key, value] of Object.entries(secret.data ?? {})) out[key] = Buffer.from(value, 'base64').toString('utf8');
        return { status: 'found', data: out };
      } catch (error) {
        if (isApiStatus(error, 404)) return { status: 'missing' };
        if (isApiStatus(error, 403)) return { status: 'forbidden' };
        throw error;
      }
    },
    async createEvent(namespace, event) {
      // The generated serializer reads fields by name; a plain object with the same
      // fields serializes exactly like the model class.
      await core.createNamespacedEvent({ namespace, body: Object.assign(new CoreV1Event(), event) });
    },
    async patchEvent(namespace, name, repeat) {
      await core.patchNamespacedEvent({ namespace, name, body: { count: repeat.count, lastTimestamp: repeat.lastTimestamp.toISOString() } }, mergePatch);
    },
  };
}
