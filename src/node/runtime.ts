import type { PersistenceHealth } from '../persistence/types.js';

/**
 * The seam between whoever owns the node's lifecycle (the kms-server CLI, or the in-pod
 * controller reconciling a KmsNode) and the running node. The controller never reaches
 * into the node's internals: it starts, reconfigures and stops it through this, and
 * reads its status.
 */
export type NodeRuntimePhase =
  /** Not started, or stopped cleanly. */
  | 'stopped'
  /** Opening persistence and running its health check. */
  | 'starting'
  /** Reading key versions, the active pointer, node state; cleaning stale sessions. */
  | 'restoring'
  /** Serving and following the chain. */
  | 'running'
  /** Draining: finishing or abandoning the current session, closing persistence. */
  | 'stopping'
  /** Start-up or a running dependency failed; `lastError` says why. */
  | 'failed';

export interface NodeKeyStatus {
  readonly activeVersion: number | null;
  readonly versionCount: number;
  readonly lastProcessedBoundary: number;
}

export interface NodeRuntimeError {
  readonly code: string;
  readonly message: string;
}

export interface NodeRuntimeStatus {
  readonly phase: NodeRuntimePhase;
  /** The persistence health as last read (null before persistence is open). */
  readonly persistence: PersistenceHealth | null;
  readonly keys: NodeKeyStatus;
  readonly lastError: NodeRuntimeError | null;
}

/** Why a status-change listener was called. */
export type NodeStatusChangeReason =
  /** The lifecycle phase moved (starting, restoring, running, stopping, stopped, failed). */
  | 'phase'
  /** A DKG or reshare finished and its key version is now the active one. */
  | 'keyVersionActivated'
  /** A boundary was recorded as processed (before any round it starts). */
  | 'boundaryProcessed'
  /** A persistence health check's verdict differs from the previous check's. */
  | 'persistenceHealth';

export interface NodeStatusChange {
  readonly reason: NodeStatusChangeReason;
  /** The status right after the change, as the node knows it without I/O. */
  readonly status: NodeRuntimeStatus;
}

/** Called synchronously by the runtime; keep it cheap and non-throwing (a throw is logged and ignored). */
export type NodeStatusListener = (change: NodeStatusChange) => void;

/** The subset of a node configuration the controller can set from a KmsNode spec. */
export type AppendFsyncPolicy = 'always' | 'everysec';

export interface NodeRuntime<TConfig> {
  /** Starts the node on `config`; rejects (phase 'failed') when persistence is unhealthy. */
  start(config: TConfig): Promise<void>;
  /** Drains and stops; idempotent. Never deletes data. */
  stop(): Promise<void>;
  /** The configuration it runs on now (null when stopped). */
  currentConfig(): TConfig | null;
  /** Reads fresh persistence health and key status. */
  refreshStatus(): Promise<NodeRuntimeStatus>;
  /** Last known status without I/O. */
  status(): NodeRuntimeStatus;
  /**
   * Subscribes to the changes the node makes to its own status (see
   * NodeStatusChangeReason), so an owner can act on them at once instead of polling.
   * Survives stop/start of the runtime. Returns the unsubscribe function (idempotent).
   */
  onStatusChange(listener: NodeStatusListener): () => void;
  /**
   * Applies an appendfsync policy to the running Redis (CONFIG SET) and verifies it took
   * effect; rejects when the backend has no such setting (memory) or verification fails.
   */
  applyAppendFsync(policy: AppendFsyncPolicy): Promise<void>;
}
