/**
 * Operator ids: x = keccak256(20-byte address) mod r, as in the Go original
 * (bls.AddressToFr), so shares interoperate with ids computed by any node.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { CryptoError, CryptoErrorCode } from './errors.js';
import { CURVE_ORDER } from './scalar.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Lowercases and checks a 0x-prefixed 20-byte hex address; throws CRYPTO_INVALID_ARGUMENT. */
export function normalizeAddress(address: string, title = 'address'): `0x${string}` {
  if (typeof address !== 'string' || !ADDRESS.test(address)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${title}" expected 0x followed by 40 hex digits`, {
      details: { field: title },
    });
  }
  return address.toLowerCase() as `0x${string}`;
}

/** The operator's interpolation id keccak256(address) mod r. */
export function operatorId(address: string): bigint {
  const bytes = hexToBytes(normalizeAddress(address).slice(2));
  let acc = 0n;
  for (const b of keccak_256(bytes)) acc = (acc << 8n) | BigInt(b);
  const id = acc % CURVE_ORDER;
  if (id === 0n) {
    // Needs a keccak preimage of a multiple of r: unreachable in practice, but id 0 would be the secret itself.
    throw new CryptoError(CryptoErrorCode.INVALID_SCALAR, `operator id of ${address} is zero and cannot hold a share`);
  }
  return id;
}
