import type {
  KeyShareVersion,
  NodeState,
  PersistenceBackend,
  PersistenceHealth,
  ProtocolSessionState,
} from './types.js';

export interface SaveKeyShareOptions {
  /** Also make this version the active one, in the same atomic write. */
  readonly activate?: boolean;
}

/**
 * Everything a node must not forget goes through this interface. Contract, for every
 * backend:
 * - a missing record reads as null; lists are ascending by epoch/timestamp;
 * - deletes are idempotent;
 * - invalid input (negative or non-integer epoch, malformed fields) rejects with a
 *   typed error and writes nothing;
 * - a stored record that cannot be read back (bad JSON, wrong types, failed decryption)
 *   rejects with a typed error naming its key: never skipped, never defaulted;
 * - the active pointer never names a missing version: setActiveVersionEpoch on a
 *   missing epoch and deleting the active version both reject;
 * - when a promise resolves, the write is durable under the backend's guarantee;
 * - after close() every call rejects with PersistenceClosedError (close is idempotent).
 */
export interface NodePersistence {
  readonly backend: PersistenceBackend;

  saveKeyShareVersion(version: KeyShareVersion, options?: SaveKeyShareOptions): Promise<void>;
  loadKeyShareVersion(epoch: number): Promise<KeyShareVersion | null>;
  listKeyShareVersions(): Promise<KeyShareVersion[]>;
  /** The stored epochs, ascending, without reading or decrypting the versions. */
  listKeyShareEpochs(): Promise<number[]>;
  deleteKeyShareVersion(epoch: number): Promise<void>;

  setActiveVersionEpoch(epoch: number): Promise<void>;
  getActiveVersionEpoch(): Promise<number | null>;

  saveNodeState(state: NodeState): Promise<void>;
  loadNodeState(): Promise<NodeState | null>;

  saveProtocolSession(session: ProtocolSessionState): Promise<void>;
  loadProtocolSession(sessionTimestamp: number): Promise<ProtocolSessionState | null>;
  deleteProtocolSession(sessionTimestamp: number): Promise<void>;
  listProtocolSessions(): Promise<ProtocolSessionState[]>;

  /** Reads durability and data-path facts; rejects only when closed. */
  healthCheck(): Promise<PersistenceHealth>;
  close(): Promise<void>;
}
