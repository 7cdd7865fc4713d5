import { KmsError } from '../errors.js';

/** The stored state does not fit together (e.g. the active pointer names no stored version). */
export class InconsistentStateError extends KmsError {
  readonly code = 'NODE_INCONSISTENT_STATE';
}

/** The data on disk belongs to another operator: refusing to use it. */
export class OperatorMismatchError extends KmsError {
  readonly code = 'NODE_OPERATOR_MISMATCH';
}

/** The node has no key version (yet) for what was asked. */
export class NoKeyVersionError extends KmsError {
  readonly code = 'NODE_NO_KEY_VERSION';
}

/** The node is not in a state to do this (not started, draining, stopped). */
export class NodeNotReadyError extends KmsError {
  readonly code = 'NODE_NOT_READY';
}
