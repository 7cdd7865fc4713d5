import { KmsError } from '../../errors.js';
import { CryptoError, CryptoErrorCode } from '../../crypto/errors.js';

/**
 * The pool's queue is full: the node is signing as fast as its cores allow. Answered
 * 503 with Retry-After (details.retryAfterSeconds), never buffered without bound.
 */
export class CryptoPoolBusyError extends KmsError {
  readonly code = 'CRYPTO_POOL_BUSY';
  constructor(queued: number, workers: number, readonly retryAfterSeconds: number) {
    super(`this node's ${workers} crypto worker(s) are busy and ${queued} requests are already queued`, {
      fix: `retry after ${retryAfterSeconds} s (the Retry-After header), or ask another operator`,
      details: { queued, workers, retryAfterSeconds },
    });
  }
}

/** A worker thread died while it held this task; the task was not done (the worker is replaced). */
export class CryptoWorkerCrashedError extends KmsError {
  readonly code = 'CRYPTO_WORKER_CRASHED';
  constructor(readonly retryAfterSeconds: number, exitCode: number) {
    super(`the crypto worker running this request stopped (exit code ${exitCode}) before it finished`, {
      fix: `retry after ${retryAfterSeconds} s; a replacement worker is starting (see kms_crypto_pool_worker_crashes_total and the node log)`,
      details: { exitCode, retryAfterSeconds },
    });
  }
}

/** A task failed inside a worker with an error that is not one of src/crypto's. */
export class CryptoTaskError extends KmsError {
  readonly code = 'CRYPTO_TASK_FAILED';
}

/** Rebuilds a worker's error on this side: src/crypto's own errors keep their class and code. */
export function errorFromWorker(code: string | null, message: string): KmsError {
  const cryptoCodes: readonly string[] = Object.values(CryptoErrorCode);
  if (code !== null && cryptoCodes.includes(code)) return new CryptoError(code as CryptoErrorCode, message);
  return new CryptoTaskError(`a crypto task failed in its worker with ${message} (its message is not passed on: it may quote the task's input)`);
}
