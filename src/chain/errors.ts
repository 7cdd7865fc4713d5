/**
 * Errors of the chain layer: RPC access, boundary configuration, operator sets and the
 * registry contract. Messages name what was wrong and the fix; they never carry RPC
 * URLs (which often embed API keys) or key material beyond public keys' lengths.
 */
import { KmsError, type KmsErrorOptions } from '../errors.js';

/** An interval, timeout or count that must be a positive integer was not. */
export class ChainConfigError extends KmsError {
  readonly code = 'CHAIN_INVALID_CONFIG';
  constructor(field: string, value: number | bigint, rule: string) {
    super(`chain config "${field}" is ${String(value)}, expected ${rule}`, {
      fix: `pass a ${rule} for "${field}"`,
      details: { field, value: String(value) },
    });
  }
}

/** The RPC endpoint serves another chain than the one configured. */
export class ChainIdMismatchError extends KmsError {
  readonly code = 'CHAIN_ID_MISMATCH';
  constructor(expected: number, actual: number) {
    super(`the RPC endpoint serves chain id ${actual}, but chain id ${expected} is configured`, {
      fix: 'point the RPC URL at the configured chain, or configure the chain id the endpoint serves',
      details: { expected, actual },
    });
  }
}

/** The RPC endpoint failed (down, timed out, or answered something unusable). */
export class ChainRpcError extends KmsError {
  readonly code = 'CHAIN_RPC_FAILED';
  constructor(operation: string, options: KmsErrorOptions = {}) {
    super(`chain RPC call ${operation} failed`, {
      fix: 'check that the RPC endpoint is reachable and serves the configured chain; the source retries with backoff',
      ...options,
      details: { operation, ...options.details },
    });
  }
}

/** Two operators in one set share an address or a signing address. */
export class OperatorSetDuplicateError extends KmsError {
  readonly code = 'OPERATOR_SET_DUPLICATE';
  constructor(field: 'address' | 'signingAddress', value: string, source: string) {
    super(`operator set from ${source} lists ${field} ${value} twice`, {
      fix: `remove the duplicate entry from ${source}; each operator and signing key may appear once`,
      details: { field, value, source },
    });
  }
}

/** An operator entry is malformed (bad address, key, URL, or a signing address not matching its key). */
export class OperatorSetInvalidError extends KmsError {
  readonly code = 'OPERATOR_SET_INVALID';
  constructor(source: string, field: string, problem: string) {
    super(`operator set from ${source}: ${field} ${problem}`, {
      fix: `correct ${field} in ${source}`,
      details: { source, field, problem },
    });
  }
}

/** The static operator file could not be read or parsed. */
export class OperatorFileError extends KmsError {
  readonly code = 'OPERATOR_FILE_UNREADABLE';
  constructor(file: string, problem: string, cause?: unknown) {
    super(`operator file ${file} ${problem}`, {
      fix: `make ${file} a readable JSON file of the form {"operators": [{"address", "socketUrl", "signingPublicKey"}]}`,
      details: { file },
      cause,
    });
  }
}

/** No registry code answers at the configured address (at the block read). */
export class RegistryNotFoundError extends KmsError {
  readonly code = 'REGISTRY_NOT_FOUND';
  constructor(registry: string, block: string, cause?: unknown) {
    super(`no OperatorRegistry answers at ${registry} at block ${block}`, {
      fix: 'check the registry address and the chain id; the registry must be deployed before the first boundary it serves',
      details: { registry, block },
      cause,
    });
  }
}

/** A registry deployment or transaction did not succeed. */
export class RegistryTransactionError extends KmsError {
  readonly code = 'REGISTRY_TX_FAILED';
  constructor(action: string, problem: string, options: KmsErrorOptions = {}) {
    super(`operator registry ${action} failed: ${problem}`, {
      fix: 'check the sender is funded and allowlisted, and the inputs (64-byte on-curve key, URL of 1-256 bytes)',
      ...options,
      details: { action, ...options.details },
    });
  }
}
