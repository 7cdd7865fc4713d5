import type { ControllerNodeConfig } from '../../src/controller/kmsnode/specMapping.js';
import type { AppendFsyncPolicy, NodeRuntime, NodeRuntimeStatus, NodeStatusChangeReason, NodeStatusListener } from '../../src/node/runtime.js';
import { StatusListeners } from '../../src/node/statusListeners.js';
import { redisHealth, runtimeStatus, withAof, withHealth, withPhase } from './kmsNode.js';

/** A NodeRuntime whose status the test sets; it records every call the controller makes. */
export class FakeRuntime implements NodeRuntime<ControllerNodeConfig> {
  readonly calls: string[] = [];
  config: ControllerNodeConfig | null = null;
  current: NodeRuntimeStatus = runtimeStatus(withPhase('stopped'), withHealth(null));
  /** Status the runtime reports while running. */
  runningStatus: NodeRuntimeStatus = runtimeStatus();
  startError: Error | null = null;
  /** Subscribers; the test announces a change with emit(). */
  readonly listeners = new StatusListeners((error) => { throw error; });

  start(config: ControllerNodeConfig): Promise<void> {
    this.calls.push(`start:${config.persistence.dataPath ?? '-'}`);
    if (this.startError !== null) {
      this.current = { ...this.current, phase: 'failed', lastError: { code: 'FAKE_START_FAILED', message: this.startError.message } };
      return Promise.reject(this.startError);
    }
    this.config = config;
    this.current = this.runningStatus;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.config = null;
    this.current = runtimeStatus(withPhase('stopped'), withHealth(null));
    return Promise.resolve();
  }

  currentConfig(): ControllerNodeConfig | null {
    return this.config;
  }

  /** How many times the controller refreshed; `duringRefresh` runs inside each (e.g. to announce a flip as a node does). */
  refreshes = 0;
  duringRefresh: (() => void) | null = null;

  refreshStatus(): Promise<NodeRuntimeStatus> {
    this.refreshes += 1;
    if (this.config !== null) this.current = this.runningStatus;
    this.duringRefresh?.();
    return Promise.resolve(this.current);
  }

  status(): NodeRuntimeStatus {
    return this.current;
  }

  onStatusChange(listener: NodeStatusListener): () => void {
    return this.listeners.add(listener);
  }

  /** Makes `status` the running status and tells the subscribers, as a node does after a change. */
  emit(reason: NodeStatusChangeReason, status: NodeRuntimeStatus = this.runningStatus): void {
    this.runningStatus = status;
    if (this.config !== null) this.current = status;
    this.listeners.emit(reason, status);
  }

  applyAppendFsync(policy: AppendFsyncPolicy): Promise<void> {
    this.calls.push(`fsync:${policy}`);
    this.runningStatus = { ...this.runningStatus, persistence: redisHealth(withAof({ enabled: true, fsync: policy })) };
    return Promise.resolve();
  }
}
