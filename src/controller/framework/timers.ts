/**
 * Time as a parameter: the queue and the controller take a Timers object instead of
 * reaching for the globals, so tests drive backoff and resync with a manual clock.
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque to callers; the system implementation wraps node's Timeout. */
export interface TimerHandle {
  readonly id: number;
}

let nextId = 1;

/** The real clock. Timers are unref'd so a forgotten controller never holds the process open. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timeout = setTimeout(fn, ms);
    timeout.unref();
    const handle: TimerHandle & { timeout: NodeJS.Timeout } = { id: nextId++, timeout };
    return handle;
  },
  clearTimeout(handle) {
    const timeout = (handle as TimerHandle & { timeout?: NodeJS.Timeout }).timeout;
    if (timeout !== undefined) clearTimeout(timeout);
  },
};
