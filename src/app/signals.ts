import type { Logger } from '../logging/logger.js';
import { describeError } from '../logging/describeError.js';

/** Exit codes of kms-server: 0 clean stop, 1 runtime failure, 2 bad configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_CONFIG = 2;

/**
 * Resolves with the exit code once SIGTERM or SIGINT has run `stop`: 0 when it finished,
 * 1 when it failed or a second signal cut it short.
 */
export function stopOnSignal(stop: (signal: NodeJS.Signals) => Promise<void>, logger: Logger): Promise<number> {
  return new Promise((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        resolveExit(EXIT_FAILURE);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'stopping: no new work, ending the current round, closing persistence');
      stop(signal).then(
        () => { resolveExit(EXIT_OK); },
        (error: unknown) => {
          logger.error({ err: describeError(error) }, 'stop failed');
          resolveExit(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
