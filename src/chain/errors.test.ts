import { isKmsError } from '../errors.js';
import {
  ChainConfigError,
  ChainIdMismatchError,
  ChainRpcError,
  OperatorFileError,
  OperatorSetDuplicateError,
  OperatorSetInvalidError,
  RegistryNotFoundError,
  RegistryTransactionError,
} from './errors.js';

describe('chain errors', () => {
  test.each([
    [new ChainConfigError('boundaryInterval', 0, 'positive integer'), 'CHAIN_INVALID_CONFIG',
      'chain config "boundaryInterval" is 0, expected positive integer. Fix: pass a positive integer for "boundaryInterval"'],
    [new ChainIdMismatchError(1, 5), 'CHAIN_ID_MISMATCH',
      'the RPC endpoint serves chain id 5, but chain id 1 is configured. Fix: point the RPC URL at the configured chain, or configure the chain id the endpoint serves'],
    [new ChainRpcError('eth_blockNumber'), 'CHAIN_RPC_FAILED',
      'chain RPC call eth_blockNumber failed. Fix: check that the RPC endpoint is reachable and serves the configured chain; the source retries with backoff'],
    [new OperatorSetDuplicateError('address', '0xab', 'file ops.json'), 'OPERATOR_SET_DUPLICATE',
      'operator set from file ops.json lists address 0xab twice. Fix: remove the duplicate entry from file ops.json; each operator and signing key may appear once'],
    [new OperatorSetInvalidError('file ops.json', 'operators[1].socketUrl', 'is not an absolute URL'), 'OPERATOR_SET_INVALID',
      'operator set from file ops.json: operators[1].socketUrl is not an absolute URL. Fix: correct operators[1].socketUrl in file ops.json'],
    [new OperatorFileError('ops.json', 'cannot be read'), 'OPERATOR_FILE_UNREADABLE',
      'operator file ops.json cannot be read. Fix: make ops.json a readable JSON file of the form {"operators": [{"address", "socketUrl", "signingPublicKey"}]}'],
    [new RegistryTransactionError('register', 'reverted with NotAllowed(0x01)'), 'REGISTRY_TX_FAILED',
      'operator registry register failed: reverted with NotAllowed(0x01). Fix: check the sender is funded and allowlisted, and the inputs (64-byte on-curve key, URL of 1-256 bytes)'],
    [new RegistryNotFoundError('0x01', '7'), 'REGISTRY_NOT_FOUND',
      'no OperatorRegistry answers at 0x01 at block 7. Fix: check the registry address and the chain id; the registry must be deployed before the first boundary it serves'],
  ])('%#: code and message', (error, code, message) => {
    expect(isKmsError(error)).toBe(true);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(error.name).toBe(error.constructor.name);
  });

  test('details carry the operation and caller context', () => {
    expect(new ChainRpcError('eth_call', { details: { block: '7' } }).details).toEqual({ operation: 'eth_call', block: '7' });
  });
});
