import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { objectKey } from '../../api/v1alpha1/kmsnode.types.js';
import type { KeySource, SourceHandlers } from './controller.js';

/** Read access to the objects an informer holds, without I/O. */
export interface ObjectLister<T> {
  get(namespace: string, name: string): T | undefined;
}

export interface InformerSourceOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The collection's API path, e.g. /apis/kms.eigenx.dev/v1alpha1/namespaces/ns/kmsnodes. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  /**
   * Whether an update is worth a reconcile (a predicate, as in controller-runtime). The
   * cache is updated either way. Default: every update.
   */
  readonly updateTriggers?: (old: T | undefined, next: T) => boolean;
}

/**
 * Reconcile on spec changes (generation) and deletion only: a status-only update is
 * usually the controller's own write coming back, and reacting to it would cut short the
 * requeue delay that keeps a just-reported problem visible.
 */
export function generationChanged(old: KubernetesObject | undefined, next: KubernetesObject): boolean {
  return old?.metadata?.generation !== next.metadata?.generation || next.metadata?.deletionTimestamp !== undefined;
}

/**
 * A KeySource over client-node's ListWatch. Each start uses a fresh ListWatch so a late
 * abort from the previous one can never touch the new connection; the objects live in
 * this source's own map, which survives restarts (the lister keeps answering while the
 * watch is down) and is reconciled against each fresh list, so an object deleted
 * during an outage is still reported as gone.
 */
export class InformerSource<T extends KubernetesObject> implements KeySource, ObjectLister<T> {
  private readonly objects = new Map<string, T>();
  private current: ListWatch<T> | null = null;
  private generation = 0;

  constructor(private readonly options: InformerSourceOptions<T>) {}

  async start(handlers: SourceHandlers): Promise<void> {
    const generation = ++this.generation;
    const live = (): boolean => generation === this.generation;
    const informer = new ListWatch<T>(
      this.options.path,
      new Watch(this.options.kubeConfig),
      this.options.list,
      false,
      this.options.labelSelector,
      this.options.fieldSelector,
    );
    this.current = informer;
    const state = { failed: false };
    // After a restart the fresh list reports every object as added; one this source
    // already holds is an update to it.
    const old = (obj: T): T | undefined => this.objects.get(keyOf(obj));
    const upsert = (obj: T, isUpdate: boolean): void => {
      if (!live()) return;
      const key = keyOf(obj);
      const old = this.objects.get(key);
      this.objects.set(key, obj);
      const trigger = this.options.updateTriggers;
      if (!isUpdate || old === undefined || trigger === undefined || trigger(old, obj)) handlers.enqueue(key);
    };
    informer.on('add', (obj) => { upsert(obj, old(obj) !== undefined); });
    informer.on('update', (obj) => { upsert(obj, true); });
    informer.on('delete', (obj) => {
      if (!live()) return;
      const key = keyOf(obj);
      this.objects.delete(key);
      handlers.enqueue(key);
    });
    informer.on('error', (error: unknown) => {
      if (!live()) return;
      state.failed = true;
      handlers.onError(error);
    });
    await informer.start();
    if (state.failed || !live()) return;
    // The fresh list is complete here: anything this source still holds that the list
    // lacks was deleted while the watch was down.
    const listed = new Set(informer.list().map(keyOf));
    for (const key of [...this.objects.keys()]) {
      if (!listed.has(key)) {
        this.objects.delete(key);
        handlers.enqueue(key);
      }
    }
    handlers.onConnect();
  }

  async stop(): Promise<void> {
    this.generation++;
    const informer = this.current;
    this.current = null;
    if (informer !== null) await informer.stop();
  }

  keys(): readonly string[] {
    return [...this.objects.keys()];
  }

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(objectKey(namespace, name));
  }
}

function keyOf(obj: KubernetesObject): string {
  return objectKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
}
