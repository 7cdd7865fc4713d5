import { KmsError } from '../../errors.js';

/** Applying or verifying the AOF policy on Redis failed. */
export class AofPolicyError extends KmsError {
  readonly code = 'CONTROLLER_AOF_POLICY_FAILED';
}

/** The runtime was asked for something its current state does not allow. */
export class RuntimeStateError extends KmsError {
  readonly code = 'CONTROLLER_RUNTIME_STATE';
}
