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

/**
 * Why an early protocol message (one for a round this node has not started) was
 * refused: INBOX_SENDER_QUOTA (the sender's buffered bytes are at their cap),
 * INBOX_FULL (all senders' bytes, or the session or message count, are at the cap),
 * EARLY_MESSAGE_TOO_LARGE (larger than a sender may ever have buffered).
 */
export type EarlyMessageRefusal = 'INBOX_SENDER_QUOTA' | 'INBOX_FULL' | 'EARLY_MESSAGE_TOO_LARGE';

export class EarlyMessageRefusedError extends KmsError {
  readonly code: EarlyMessageRefusal;
  constructor(code: EarlyMessageRefusal, message: string, details: Readonly<Record<string, string | number>>) {
    super(message, {
      fix: code === 'EARLY_MESSAGE_TOO_LARGE'
        ? 'send messages of a size a round can use (a deal carries threshold commitments)'
        : 'retry once this node has started the round (it takes the buffered messages then)',
      details,
    });
    this.code = code;
  }
}

/**
 * A setting that parsed but does not hold against the world at start-up (a registry
 * address with no contract code, an operators file that cannot be used). `option` names
 * the kms-server option, so each entry point can name it its own way (flag or spec field).
 */
export class StartupSettingError extends KmsError {
  readonly code = 'NODE_SETTING_REJECTED';
  constructor(readonly option: 'registry-address' | 'operators-file', message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, options);
  }
}
