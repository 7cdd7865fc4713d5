import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStartTimeoutError } from './errors.js';
import { parseInfo, RespProbeError, sendCommand, type RespTarget } from './respProbe.js';

export interface WaitReadyOptions {
  /** How long the server may make no visible progress before we give up. */
  readonly startTimeoutMs: number;
  /** Checked between probes: a server that exited will never become ready. */
  readonly hasExited?: () => boolean;
  /** Called on each LOADING probe with the bytes loaded so far (for logs). */
  readonly onLoading?: (loadedBytes: number, totalBytes: number) => void;
  /**
   * The pid of the server we started. Another server may already listen on the same
   * socket (that is exactly a lock conflict), so a PONG counts only from this process.
   */
  readonly expectedPid?: number;
  /**
   * Resolves when the server says it is ready (its "ready to accept connections" line):
   * the wait between probes ends then instead of running its course, once.
   */
  readonly readySignal?: Promise<void>;
}

export type ReadyResult = 'ready' | 'exited';

function describe(target: RespTarget): string {
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

/**
 * Waits until the server answers PING. A server that answers -LOADING is making
 * progress through its AOF, which can take minutes for a large file: the timeout counts
 * from the last progress (INFO loading_loaded_bytes growing), not from the start, so a
 * slow load is waited for and a stuck one is not.
 */
export async function waitUntilReady(target: RespTarget, options: WaitReadyOptions): Promise<ReadyResult> {
  let deadline = Date.now() + options.startTimeoutMs;
  let lastLoaded = -1;
  let lastState = 'not listening';
  let delay = 10;
  let signal = options.readySignal ?? null;
  for (;;) {
    if (options.hasExited?.() === true) return 'exited';
    try {
      const reply = await sendCommand(target, ['PING'], { timeoutMs: 1_000 });
      if (reply?.kind === 'simple' && reply.value === 'PONG') {
        if (options.expectedPid === undefined) return 'ready';
        const info = await sendCommand(target, ['INFO', 'server'], { timeoutMs: 1_000 });
        const pid = info?.kind === 'bulk' ? Number(parseInfo(info.value).get('process_id')) : NaN;
        if (pid === options.expectedPid) return 'ready';
        lastState = `answered by another redis-server (pid ${pid})`;
      }
      if (reply?.kind === 'error' && reply.value.startsWith('LOADING')) {
        lastState = 'loading';
        const info = await sendCommand(target, ['INFO', 'persistence'], { timeoutMs: 1_000 }).catch(() => null);
        if (info?.kind === 'bulk') {
          const fields = parseInfo(info.value);
          const loaded = Number(fields.get('loading_loaded_bytes') ?? '0');
          const total = Number(fields.get('loading_total_bytes') ?? '0');
          options.onLoading?.(loaded, total);
          if (loaded !== lastLoaded) {
            lastLoaded = loaded;
            deadline = Date.now() + options.startTimeoutMs;
          }
        }
      } else if (reply?.kind !== 'simple') {
        lastState = reply === null ? 'closed' : `${reply.kind} reply to PING`;
      }
    } catch (error) {
      if (!(error instanceof RespProbeError)) throw error;
      lastState = error.errno === 'ETIMEDOUT' ? 'not answering' : 'not listening';
    }
    if (Date.now() > deadline) throw new RedisStartTimeoutError(describe(target), options.startTimeoutMs, lastState);
    if (signal === null) await sleep(delay);
    else {
      const pause = new AbortController();
      const woken = await Promise.race([sleep(delay, false, { signal: pause.signal }).catch(() => false), signal.then(() => true)]);
      pause.abort();
      if (woken) signal = null;
    }
    delay = Math.min(delay * 2, 100);
  }
}
