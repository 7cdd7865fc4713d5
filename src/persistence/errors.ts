import { KmsError, type KmsErrorOptions } from '../errors.js';

/**
 * Errors of the persistence layer. Codes are stable; messages name the record key or
 * field at fault and never carry share material.
 */

/** Any call after close(). */
export class PersistenceClosedError extends KmsError {
  readonly code = 'PERSISTENCE_CLOSED';
  constructor(operation: string) {
    super(`Persistence is closed; ${operation} was called after close()`, {
      fix: 'open a new persistence instance; a closed one cannot be reused',
      details: { operation },
    });
  }
}

/** Input rejected before anything was written. */
export class PersistenceValidationError extends KmsError {
  readonly code = 'PERSISTENCE_INVALID_INPUT';
  readonly field: string;
  constructor(field: string, rule: string) {
    super(`Invalid ${field}: ${rule}`, { details: { field, rule } });
    this.field = field;
  }
}

/** A stored record that cannot be read back: bad JSON, wrong types, failed decryption, missing. */
export class CorruptRecordError extends KmsError {
  readonly code = 'PERSISTENCE_CORRUPT_RECORD';
  readonly key: string;
  constructor(key: string, problem: string, options: KmsErrorOptions = {}) {
    super(`Stored record ${key} is corrupt: ${problem}`, {
      fix: options.fix ?? 'restore the data from a backup, or wipe this node\'s data and rejoin the cluster through a reshare',
      details: { key, problem, ...options.details },
      cause: options.cause,
    });
    this.key = key;
  }
}

/** The store does not guarantee that an acknowledged write survives a crash. */
export class DurabilityError extends KmsError {
  readonly code = 'PERSISTENCE_NOT_DURABLE';
  constructor(message: string, options: KmsErrorOptions = {}) {
    super(message, options);
  }
}

/** The stored schema version is one this build cannot use. */
export class SchemaVersionError extends KmsError {
  readonly code = 'PERSISTENCE_SCHEMA_VERSION';
  constructor(message: string, options: KmsErrorOptions = {}) {
    super(message, options);
  }
}

/** A migration from an older schema failed; nothing was changed. */
export class MigrationError extends KmsError {
  readonly code = 'PERSISTENCE_MIGRATION_FAILED';
  constructor(message: string, options: KmsErrorOptions = {}) {
    super(message, options);
  }
}

/** setActiveVersionEpoch named a version that is not stored. */
export class ActiveVersionMissingError extends KmsError {
  readonly code = 'PERSISTENCE_ACTIVE_VERSION_MISSING';
  constructor(epoch: number) {
    super(`Cannot make epoch ${epoch} active: no key-share version is stored for it`, {
      fix: 'save the version first (or save it with { activate: true })',
      details: { epoch },
    });
  }
}

/** deleteKeyShareVersion on the active version. */
export class ActiveVersionDeleteError extends KmsError {
  readonly code = 'PERSISTENCE_ACTIVE_VERSION_DELETE';
  constructor(epoch: number) {
    super(`Cannot delete key-share version ${epoch}: it is the active version`, {
      fix: 'activate another version first',
      details: { epoch },
    });
  }
}

/** The records were sealed under another secret than the one configured. */
export class SealingKeyMismatchError extends KmsError {
  readonly code = 'PERSISTENCE_SEALING_KEY_MISMATCH';
  constructor(key: string) {
    super(`The configured sealing secret does not open ${key}: this data was sealed under a different secret`, {
      fix: 'start the node with the operator key (or sealing secret) that wrote this data, or wipe the data and rejoin through a reshare',
      details: { key },
    });
  }
}

/** Configuration rejected before any connection was made. */
export class PersistenceConfigError extends KmsError {
  readonly code = 'PERSISTENCE_CONFIG_INVALID';
  constructor(message: string, options: KmsErrorOptions = {}) {
    super(message, options);
  }
}

/** The store could not be reached or a command failed for a non-data reason. */
export class PersistenceUnavailableError extends KmsError {
  readonly code = 'PERSISTENCE_UNAVAILABLE';
  constructor(operation: string, cause: unknown) {
    super(`Persistence operation ${operation} failed: the store is unavailable (${describeCause(cause)})`, {
      fix: 'check that the Redis server is running and reachable, and the node\'s logs for the cause',
      details: { operation },
      cause,
    });
  }
}

function describeCause(cause: unknown): string {
  // Redis errors can echo a URL; strip anything that looks like credentials.
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200);
}
