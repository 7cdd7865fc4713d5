import type { Logger } from '../../logging/logger.js';
import { ActiveVersionDeleteError, ActiveVersionMissingError, PersistenceClosedError } from '../errors.js';
import type { NodePersistence, SaveKeyShareOptions } from '../nodePersistence.js';
import type { KeyShareVersion, NodeState, PersistenceHealth, ProtocolSessionState } from '../types.js';
import { assertEpoch, assertKeyShareVersion, assertNodeState, assertProtocolSession } from '../validation.js';

export interface MemoryPersistenceOptions {
  readonly logger: Logger;
}

/**
 * NodePersistence in process memory, for tests and local experiments: everything is
 * lost when the process exits. Each operation runs to completion without awaiting, so
 * concurrent async callers can never observe or produce a half-applied change; values
 * are deep-copied on the way in and out so callers cannot alias stored state.
 */
export class MemoryPersistence implements NodePersistence {
  readonly backend = 'memory' as const;
  private readonly versions = new Map<number, KeyShareVersion>();
  private readonly sessions = new Map<number, ProtocolSessionState>();
  private activeEpoch: number | null = null;
  private nodeState: NodeState | null = null;
  private closed = false;

  constructor(options: MemoryPersistenceOptions) {
    options.logger.warn(
      { persistence: 'memory' },
      'IN-MEMORY PERSISTENCE: key shares, the active version and node state are NOT saved and are lost on restart. Use only for tests; configure persistence type "redis" for a real node.',
    );
  }

  saveKeyShareVersion(version: KeyShareVersion, options: SaveKeyShareOptions = {}): Promise<void> {
    return this.run('saveKeyShareVersion', () => {
      assertKeyShareVersion(version);
      this.versions.set(version.epoch, structuredClone(version));
      if (options.activate === true) this.activeEpoch = version.epoch;
    });
  }

  loadKeyShareVersion(epoch: number): Promise<KeyShareVersion | null> {
    return this.run('loadKeyShareVersion', () => {
      assertEpoch(epoch);
      const found = this.versions.get(epoch);
      return found === undefined ? null : structuredClone(found);
    });
  }

  listKeyShareVersions(): Promise<KeyShareVersion[]> {
    return this.run('listKeyShareVersions', () => this.sortedEpochs(this.versions).map((e) => structuredClone(this.versions.get(e) as KeyShareVersion)));
  }

  listKeyShareEpochs(): Promise<number[]> {
    return this.run('listKeyShareEpochs', () => this.sortedEpochs(this.versions));
  }

  deleteKeyShareVersion(epoch: number): Promise<void> {
    return this.run('deleteKeyShareVersion', () => {
      assertEpoch(epoch);
      if (this.activeEpoch === epoch) throw new ActiveVersionDeleteError(epoch);
      this.versions.delete(epoch);
    });
  }

  setActiveVersionEpoch(epoch: number): Promise<void> {
    return this.run('setActiveVersionEpoch', () => {
      assertEpoch(epoch);
      if (!this.versions.has(epoch)) throw new ActiveVersionMissingError(epoch);
      this.activeEpoch = epoch;
    });
  }

  getActiveVersionEpoch(): Promise<number | null> {
    return this.run('getActiveVersionEpoch', () => this.activeEpoch);
  }

  saveNodeState(state: NodeState): Promise<void> {
    return this.run('saveNodeState', () => {
      assertNodeState(state);
      this.nodeState = structuredClone(state);
    });
  }

  loadNodeState(): Promise<NodeState | null> {
    return this.run('loadNodeState', () => (this.nodeState === null ? null : structuredClone(this.nodeState)));
  }

  saveProtocolSession(session: ProtocolSessionState): Promise<void> {
    return this.run('saveProtocolSession', () => {
      assertProtocolSession(session);
      this.sessions.set(session.sessionTimestamp, structuredClone(session));
    });
  }

  loadProtocolSession(sessionTimestamp: number): Promise<ProtocolSessionState | null> {
    return this.run('loadProtocolSession', () => {
      assertEpoch(sessionTimestamp, 'sessionTimestamp');
      const found = this.sessions.get(sessionTimestamp);
      return found === undefined ? null : structuredClone(found);
    });
  }

  deleteProtocolSession(sessionTimestamp: number): Promise<void> {
    return this.run('deleteProtocolSession', () => {
      assertEpoch(sessionTimestamp, 'sessionTimestamp');
      this.sessions.delete(sessionTimestamp);
    });
  }

  listProtocolSessions(): Promise<ProtocolSessionState[]> {
    return this.run('listProtocolSessions', () => this.sortedEpochs(this.sessions).map((t) => structuredClone(this.sessions.get(t) as ProtocolSessionState)));
  }

  healthCheck(): Promise<PersistenceHealth> {
    return this.run('healthCheck', () => ({
      healthy: true,
      backend: 'memory',
      mode: 'memory',
      findings: [{ check: 'durability', ok: false, message: 'in-memory persistence: nothing survives a restart (test use only)' }],
    }));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private sortedEpochs(map: ReadonlyMap<number, unknown>): number[] {
    return [...map.keys()].sort((a, b) => a - b);
  }

  /** Runs a synchronous body as a promise, so validation errors reject instead of throwing. */
  private run<T>(operation: string, body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new PersistenceClosedError(operation));
    // The executor turns a thrown validation error into a rejection.
    return new Promise<T>((resolve) => { resolve(body()); });
  }
}
