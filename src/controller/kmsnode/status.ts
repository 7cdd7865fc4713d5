import { CONDITION_TYPES, ConditionType, Reason, setCondition, type ConditionResult } from '../../api/v1alpha1/conditions.js';
import type {
  KmsNode,
  KmsNodeDataPathStatus,
  KmsNodeKeysStatus,
  KmsNodePersistenceStatus,
  KmsNodePhase,
  KmsNodeStatus,
} from '../../api/v1alpha1/kmsnode.types.js';
import type { NodeRuntimeStatus } from '../../node/runtime.js';
import type { Evaluation } from './checks.js';
import { isApiStatus, type KmsNodeApi } from './kubeApi.js';

/**
 * Status as data (CloudNativePG's pkg/resources/status): a pass produces a list of pure
 * transactions; the writer applies them to the freshest object it has and sends one
 * JSON merge patch, guarded by resourceVersion, only when the result differs.
 */
export type StatusTransaction = (status: KmsNodeStatus) => KmsNodeStatus;

export function setObservedGeneration(generation: number | undefined): StatusTransaction {
  return (s) => (generation === undefined ? s : { ...s, observedGeneration: generation });
}

export function setPhase(phase: KmsNodePhase, phaseMessage: string): StatusTransaction {
  return (s) => ({ ...s, phase, phaseMessage });
}

export function setConditionTx(type: ConditionType, result: ConditionResult, now: Date, generation: number | undefined): StatusTransaction {
  return (s) => ({ ...s, conditions: setCondition(s.conditions, type, result, now, generation) });
}

/**
 * Stamps the pass: readers tell a live reporter from a stale status by this time. A
 * heartbeat younger than `refreshAfterMs` is left as it is, so passes that change
 * nothing write nothing; the resync (twice as long) always finds it due.
 */
export function setHeartbeat(now: Date, refreshAfterMs = 0): StatusTransaction {
  return (s) => {
    const last = s.lastHeartbeatTime === undefined ? Number.NaN : Date.parse(s.lastHeartbeatTime);
    return now.getTime() - last < refreshAfterMs ? s : { ...s, lastHeartbeatTime: now.toISOString() };
  };
}

/** What the controller writes on SIGTERM, before the node stops: not Ready, and why. */
export function stoppingTransactions(node: KmsNode, message: string, now: Date): StatusTransaction[] {
  const generation = node.metadata.generation;
  return [
    setPhase('Stopping', message),
    setConditionTx(ConditionType.Ready, { status: 'False', reason: Reason.Stopping, message }, now, generation),
    setHeartbeat(now),
  ];
}

/** Free space moves with every write on the volume; report it in steps so status stays quiet. */
export const FREE_BYTES_STEP = 16 * 1024 * 1024;

export function setRuntimeDetails(runtime: NodeRuntimeStatus): StatusTransaction {
  return (s) => {
    const next: { -readonly [K in keyof KmsNodeStatus]: KmsNodeStatus[K] } = { ...s };
    const p = runtime.persistence;
    if (p !== null) {
      const persistence: KmsNodePersistenceStatus = {
        backend: p.backend,
        ...(p.mode === 'embedded' || p.mode === 'external' ? { mode: p.mode } : {}),
        ...(p.aof === undefined
          ? {}
          : {
              aofEnabled: p.aof.enabled,
              fsync: p.aof.fsync,
              lastWriteStatus: p.aof.lastWriteStatus === 'ok' ? 'ok' : 'err',
              ...(p.aof.sizeBytes === null ? {} : { aofSizeBytes: p.aof.sizeBytes }),
            }),
      };
      next.persistence = persistence;
      if (p.dataPath === undefined) {
        delete next.dataPath;
      } else {
        const d = p.dataPath;
        const dataPath: KmsNodeDataPathStatus = {
          path: d.path,
          exists: d.exists,
          // A missing directory has no mode or owner (the facts carry '' and -1).
          ...(d.exists ? { mode: d.mode, ownerUid: d.ownerUid } : {}),
          writable: d.writable,
          ...(d.freeBytes === null ? {} : { freeBytes: Math.floor(d.freeBytes / FREE_BYTES_STEP) * FREE_BYTES_STEP }),
        };
        next.dataPath = dataPath;
      }
    }
    if (runtime.phase === 'running' || runtime.phase === 'restoring') {
      const keys: KmsNodeKeysStatus = {
        versionCount: runtime.keys.versionCount,
        lastBoundary: runtime.keys.lastProcessedBoundary,
        ...(runtime.keys.activeVersion === null ? {} : { activeVersion: runtime.keys.activeVersion }),
      };
      next.keys = keys;
    }
    return next;
  };
}

/** The transactions of one pass, in a fixed order so equal inputs give equal status. */
export function statusTransactions(node: KmsNode, evaluation: Evaluation, runtime: NodeRuntimeStatus, now: Date, heartbeatRefreshMs = 0): StatusTransaction[] {
  const generation = node.metadata.generation;
  const txs: StatusTransaction[] = [setObservedGeneration(generation), setPhase(evaluation.phase, evaluation.phaseMessage)];
  for (const type of CONDITION_TYPES) {
    const result = evaluation.conditions.get(type);
    if (result !== undefined) txs.push(setConditionTx(type, result, now, generation));
  }
  txs.push(setRuntimeDetails(runtime), setHeartbeat(now, heartbeatRefreshMs));
  return txs;
}

export function applyTransactions(status: KmsNodeStatus | undefined, txs: readonly StatusTransaction[]): KmsNodeStatus {
  return txs.reduce<KmsNodeStatus>((s, tx) => tx(s), status ?? {});
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Whether two statuses differ in more than the heartbeat (what is worth an info log line). */
export function changedBeyondHeartbeat(before: KmsNodeStatus | undefined, after: KmsNodeStatus | undefined): boolean {
  return !jsonEqual({ ...before, lastHeartbeatTime: null }, { ...after, lastHeartbeatTime: null });
}

/** Structural equality of JSON data; key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a as Json)) === JSON.stringify(canonical(b as Json));
}

function canonical(value: Json | undefined): Json | undefined {
  if (Array.isArray(value)) return value.map((v) => canonical(v) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical(value[key]);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  return value;
}

/**
 * RFC 7386 merge patch turning `from` into `to`: changed keys only, removed keys as
 * null, arrays replaced whole (the conditions list is small; replacing it is exact).
 */
export function mergePatchFor(from: unknown, to: unknown): Json | undefined {
  if (jsonEqual(from, to)) return undefined;
  if (!isPlainObject(from) || !isPlainObject(to)) return (to as Json | undefined) ?? null;
  const patch: { [key: string]: Json } = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (to[key] === undefined) {
      if (from[key] !== undefined) patch[key] = null;
      continue;
    }
    const sub = mergePatchFor(from[key], to[key]);
    if (sub !== undefined) patch[key] = sub;
  }
  return patch;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface StatusWriteResult {
  readonly patched: boolean;
  readonly node: KmsNode;
  /** Status before this write (as the writer saw it). */
  readonly previous: KmsNodeStatus | undefined;
}

/**
 * Writes status for one object. It remembers the object its last patch returned, so a
 * pass that runs before the informer has seen that patch compares against what was
 * written rather than the stale cache (and sends nothing when nothing changed).
 */
export class StatusWriter {
  private readonly written = new Map<string, { before: string | undefined; after: KmsNode }>();

  constructor(private readonly api: KmsNodeApi, private readonly maxConflictRetries = 5) {}

  async write(cached: KmsNode, txs: readonly StatusTransaction[]): Promise<StatusWriteResult> {
    const { namespace, name } = cached.metadata;
    const key = `${namespace}/${name}`;
    const memo = this.written.get(key);
    let base = memo !== undefined && memo.before === cached.metadata.resourceVersion ? memo.after : cached;
    for (let attempt = 0; ; attempt++) {
      const next = applyTransactions(base.status, txs);
      const patch = mergePatchFor(base.status ?? {}, next);
      if (patch === undefined) return { patched: false, node: base, previous: base.status };
      try {
        const body = { metadata: { resourceVersion: base.metadata.resourceVersion }, status: patch };
        const after = await this.api.patchStatus(namespace, name, body);
        this.written.set(key, { before: cached.metadata.resourceVersion, after });
        return { patched: true, node: after, previous: base.status };
      } catch (error) {
        if (!isApiStatus(error, 409) || attempt >= this.maxConflictRetries) throw error;
        const fresh = await this.api.get(namespace, name);
        if (fresh === null) throw error;
        base = fresh;
      }
    }
  }

  forget(namespace: string, name: string): void {
    this.written.delete(`${namespace}/${name}`);
  }
}
