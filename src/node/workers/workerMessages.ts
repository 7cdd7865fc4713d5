import type { CryptoResult, CryptoTask } from './cryptoTasks.js';

/** Main thread → worker: one task, numbered so its reply finds its caller. */
export interface WorkerRequest {
  readonly id: number;
  readonly task: CryptoTask;
}

/** Worker → main thread. A failed task carries its typed error's code and message, or (code null) only the class name of another error. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: CryptoResult }
  | { readonly id: number; readonly ok: false; readonly code: string | null; readonly message: string };
