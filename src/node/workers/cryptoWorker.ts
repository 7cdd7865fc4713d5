/**
 * Entry of a crypto worker thread: runs each task it is sent (cryptoTasks.ts) and answers
 * with the result or the error's code and message. It logs nothing and keeps nothing
 * between tasks: a share it is sent lives in this thread's heap only while its task runs.
 */
import { parentPort } from 'node:worker_threads';
import { isKmsError } from '../../errors.js';
import { runCryptoTask } from './cryptoTasks.js';
import type { WorkerReply, WorkerRequest } from './workerMessages.js';

const port = parentPort;
if (port === null) throw new Error('cryptoWorker.ts runs as a worker thread (see cryptoPool.ts), not as a program');

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, ok: true, result: runCryptoTask(request.task) };
  } catch (error) {
    // Crypto errors name inputs and rules, never values (crypto/errors.ts). Anything else
    // (a library's own message may quote its input) is reduced to its class name.
    reply = isKmsError(error)
      ? { id: request.id, ok: false, code: error.code, message: error.message }
      : { id: request.id, ok: false, code: null, message: error instanceof Error ? error.name : typeof error };
  }
  port.postMessage(reply);
});
