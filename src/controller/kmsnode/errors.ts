import { KmsError } from '../../errors.js';

/** A pass wrote its status but must be retried with backoff (the action on the node failed). */
export class ReconcileRetryError extends KmsError {
  readonly code = 'CONTROLLER_RECONCILE_RETRY';

  constructor(key: string, action: string, cause: { readonly code: string; readonly message: string }) {
    super(`${action} of ${key} failed (${cause.code}): ${cause.message}`, {
      fix: 'see the KmsNode conditions and the node log; the controller retries with backoff',
      details: { key, action, causeCode: cause.code },
    });
  }
}

/** The runtime rejected a call without a KmsError of its own. */
export class RuntimeActionError extends KmsError {
  readonly code = 'CONTROLLER_RUNTIME_ACTION_FAILED';
}
