import { isKmsError } from '../errors.js';
import type { NodePersistence, SaveKeyShareOptions } from './nodePersistence.js';
import type { KeyShareVersion, NodeState, PersistenceHealth, ProtocolSessionState } from './types.js';

/** The NodePersistence methods that are measured (close is not). */
export type PersistenceOperation = Exclude<keyof NodePersistence, 'backend' | 'close'>;

/**
 * Receives one observation per call. The node adapts this to prom-client (a
 * histogram by operation and outcome, a counter by error code); persistence itself
 * stays free of any metrics library.
 */
export interface PersistenceObserver {
  observe(observation: PersistenceObservation): void;
}

export interface PersistenceObservation {
  readonly backend: NodePersistence['backend'];
  readonly operation: PersistenceOperation;
  readonly durationSeconds: number;
  readonly outcome: 'ok' | 'error';
  /** The KmsError code, or 'UNKNOWN' for anything else; absent on success. */
  readonly errorCode?: string;
}

/** A clock in seconds; injectable so tests can assert exact durations. */
export type MonotonicSeconds = () => number;
const defaultClock: MonotonicSeconds = () => performance.now() / 1000;

/**
 * Wraps a persistence so every call reports its latency and outcome. Observer
 * failures are swallowed: metrics must never fail a write.
 */
export function instrumentPersistence(inner: NodePersistence, observer: PersistenceObserver, clock: MonotonicSeconds = defaultClock): NodePersistence {
  const measure = async <T>(operation: PersistenceOperation, call: () => Promise<T>): Promise<T> => {
    const start = clock();
    const report = (outcome: 'ok' | 'error', errorCode?: string): void => {
      try {
        observer.observe({
          backend: inner.backend, operation, durationSeconds: clock() - start, outcome,
          ...(errorCode === undefined ? {} : { errorCode }),
        });
      } catch {
        // A broken metrics sink is not a persistence failure.
      }
    };
    try {
      const result = await call();
      report('ok');
      return result;
    } catch (error) {
      report('error', isKmsError(error) ? error.code : 'UNKNOWN');
      throw error;
    }
  };

  return {
    backend: inner.backend,
    saveKeyShareVersion: (v: KeyShareVersion, o?: SaveKeyShareOptions) => measure('saveKeyShareVersion', () => inner.saveKeyShareVersion(v, o)),
    loadKeyShareVersion: (e: number) => measure('loadKeyShareVersion', () => inner.loadKeyShareVersion(e)),
    listKeyShareVersions: () => measure('listKeyShareVersions', () => inner.listKeyShareVersions()),
    listKeyShareEpochs: () => measure('listKeyShareEpochs', () => inner.listKeyShareEpochs()),
    deleteKeyShareVersion: (e: number) => measure('deleteKeyShareVersion', () => inner.deleteKeyShareVersion(e)),
    setActiveVersionEpoch: (e: number) => measure('setActiveVersionEpoch', () => inner.setActiveVersionEpoch(e)),
    getActiveVersionEpoch: () => measure('getActiveVersionEpoch', () => inner.getActiveVersionEpoch()),
    saveNodeState: (s: NodeState) => measure('saveNodeState', () => inner.saveNodeState(s)),
    loadNodeState: () => measure('loadNodeState', () => inner.loadNodeState()),
    saveProtocolSession: (s: ProtocolSessionState) => measure('saveProtocolSession', () => inner.saveProtocolSession(s)),
    loadProtocolSession: (t: number) => measure('loadProtocolSession', () => inner.loadProtocolSession(t)),
    deleteProtocolSession: (t: number) => measure('deleteProtocolSession', () => inner.deleteProtocolSession(t)),
    listProtocolSessions: () => measure('listProtocolSessions', () => inner.listProtocolSessions()),
    healthCheck: (): Promise<PersistenceHealth> => measure('healthCheck', () => inner.healthCheck()),
    close: () => inner.close(),
  };
}
