/** Validation shared by createDkgSession and createReshareSession. */
import { normalizeAddress, operatorId } from '../crypto/operatorId.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { OperatorAddress, SessionConfigBase } from './types.js';

export function invalidConfig(message: string, field: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.INVALID_CONFIG, message, { details: { field } });
}

/** Lowercased, distinct, ascending addresses; throws INVALID_CONFIG naming the field. */
export function normalizeOperatorList(list: readonly string[], field: string): OperatorAddress[] {
  const raw: unknown = list;
  if (!Array.isArray(raw) || list.length === 0) throw invalidConfig(`"${field}" must be a non-empty list of addresses`, field);
  const out = list.map((a, i) => {
    try {
      return normalizeAddress(a, `${field}[${i}]`);
    } catch (cause) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_CONFIG, `"${field}[${i}]" is not a 0x 20-byte address`, { cause, details: { field } });
    }
  });
  const sorted = [...new Set(out)].sort();
  if (sorted.length !== out.length) throw invalidConfig(`"${field}" lists an operator twice`, field);
  return sorted;
}

export interface CommonInit {
  readonly operators: OperatorAddress[];
  readonly ids: Map<OperatorAddress, bigint>;
  readonly self: OperatorAddress;
}

export function validateBase(config: SessionConfigBase): CommonInit {
  if (typeof config !== 'object') throw invalidConfig('session config must be an object', '(config)');
  if (!Number.isSafeInteger(config.sessionTimestamp) || config.sessionTimestamp < 0) {
    throw invalidConfig('"sessionTimestamp" must be a non-negative integer (the boundary block timestamp)', 'sessionTimestamp');
  }
  if (typeof config.signer.sign !== 'function' || typeof config.recoverSigner !== 'function') {
    throw invalidConfig('"signer.sign" and "recoverSigner" must be functions', 'signer');
  }
  if (config.startTime !== undefined && !Number.isSafeInteger(config.startTime)) {
    throw invalidConfig('"startTime" must be an integer (Unix ms)', 'startTime');
  }
  const operators = normalizeOperatorList(config.operators, 'operators');
  let self: OperatorAddress;
  try {
    self = normalizeAddress(config.signer.address, 'signer.address');
  } catch (cause) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_CONFIG, '"signer.address" is not a 0x 20-byte address', { cause, details: { field: 'signer.address' } });
  }
  if (!operators.includes(self)) {
    throw new ProtocolError(ProtocolErrorCode.NOT_A_PARTICIPANT, `${self} is not in the session's operator set`, {
      details: { field: 'operators' },
      fix: 'only operators of the new set run the session; a leaving operator takes no part',
    });
  }
  const ids = new Map<OperatorAddress, bigint>();
  for (const a of operators) ids.set(a, operatorId(a));
  return { operators, ids, self };
}
