import type { NodeRuntimeStatus, NodeStatusChangeReason, NodeStatusListener } from './runtime.js';

/**
 * The subscribers of one status source (a node or a runtime). Listeners run
 * synchronously, in subscription order; one that throws is reported to `onListenerError`
 * and never interrupts the node's own work or the other listeners.
 */
export class StatusListeners {
  // Wrapped, so one function subscribed twice is two subscriptions, each removable on its own.
  private readonly entries = new Set<{ readonly listener: NodeStatusListener }>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** Adds `listener`; the returned function removes it (calling it again does nothing). */
  add(listener: NodeStatusListener): () => void {
    const entry = { listener };
    this.entries.add(entry);
    return () => { this.entries.delete(entry); };
  }

  /** Calls every listener with this change. */
  emit(reason: NodeStatusChangeReason, status: NodeRuntimeStatus): void {
    // A snapshot: a listener that unsubscribes (or subscribes) while being called does
    // not change who hears this change.
    for (const { listener } of [...this.entries]) {
      try {
        listener({ reason, status });
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
