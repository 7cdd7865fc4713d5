/**
 * Operator addresses on the wire. The Go original writes them with go-ethereum's
 * `Address.Hex()`, the EIP-55 mixed-case checksum form; readers compare them without
 * regard to case (the Go client uses strings.EqualFold), so we read any case and keep
 * addresses lowercase inside.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** EIP-55 checksum form of a 20-byte hex address (any case in). */
export function checksumAddress(address: string): `0x${string}` {
  if (!HEX_ADDRESS.test(address)) throw new TypeError('checksumAddress: expected 0x followed by 40 hex digits');
  const lower = address.slice(2).toLowerCase();
  const hash = keccak_256(utf8ToBytes(lower));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = lower[i] ?? '';
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out as `0x${string}`;
}

/** A 20-byte hex address in any case, read as lowercase. */
export const wireAddress = z
  .string()
  .regex(HEX_ADDRESS, 'expected a 0x-prefixed 20-byte hex address')
  .transform((a) => a.toLowerCase() as `0x${string}`);
