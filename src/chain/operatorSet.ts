/**
 * The operator set: who holds shares, where to reach them, and which key signs their
 * messages. Every node must derive the same set for a session, so the registry source
 * reads at the boundary block and both sources return the set sorted by address.
 */
import { readFile } from 'node:fs/promises';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { BaseError, bytesToHex, ContractFunctionZeroDataError, hexToBytes, type Address, type PublicClient } from 'viem';
import { z } from 'zod';
import type { OperatorAddress } from '../persistence/types.js';
import {
  ChainRpcError,
  OperatorFileError,
  OperatorSetDuplicateError,
  OperatorSetInvalidError,
  RegistryNotFoundError,
} from './errors.js';
import { operatorRegistryAbi } from './registryAbi.js';

/** One member of the operator set. */
export interface Operator {
  /** The operator's own address, lowercase 0x hex. */
  readonly address: OperatorAddress;
  /** Base URL peers send protocol messages to, e.g. `http://10.0.0.5:8000`. */
  readonly socketUrl: string;
  /** Uncompressed secp256k1 message-signing key, x‖y (64 bytes, no 0x04 prefix). */
  readonly signingPublicKey: Uint8Array;
  /** keccak256(signingPublicKey)[12..32], lowercase: what ecrecover on a message yields. */
  readonly signingAddress: OperatorAddress;
}

/** Where the operator set comes from. */
export interface OperatorSetSource {
  /**
   * The set as of block `atBlock` (the latest block when omitted), ascending by address.
   * Sources that have no history (a static file) ignore `atBlock`.
   */
  getOperators(atBlock?: bigint): Promise<Operator[]>;
}

/** An operator entry before validation: hex strings or bytes, any address case. */
export interface OperatorEntry {
  readonly address: string;
  readonly socketUrl: string;
  readonly signingPublicKey: string | Uint8Array;
  /** If present it must match the key; registries report it, files may omit it. */
  readonly signingAddress?: string;
}

const MAX_SOCKET_URL_BYTES = 256;
const ADDRESS_PATTERN = /^0x[0-9a-fA-F]{40}$/;

/** The address a secp256k1 key signs as (keccak256 of x‖y, last 20 bytes), lowercase. */
export function signingAddressOf(signingPublicKey: Uint8Array): OperatorAddress {
  return bytesToHex(keccak_256(signingPublicKey).subarray(12));
}

/**
 * Validates entries and returns the set sorted ascending by address. Throws
 * OperatorSetInvalidError naming the field, or OperatorSetDuplicateError.
 * `source` names where the entries came from, for the error message.
 */
export function normalizeOperatorSet(entries: readonly OperatorEntry[], source: string): Operator[] {
  const operators = entries.map((entry, index) => normalizeEntry(entry, `operators[${index}]`, source));
  operators.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const signers = new Set<string>();
  let previous: Operator | undefined;
  for (const current of operators) {
    if (previous?.address === current.address) {
      throw new OperatorSetDuplicateError('address', current.address, source);
    }
    previous = current;
    if (signers.has(current.signingAddress)) {
      throw new OperatorSetDuplicateError('signingAddress', current.signingAddress, source);
    }
    signers.add(current.signingAddress);
  }
  return operators;
}

function normalizeEntry(entry: OperatorEntry, path: string, source: string): Operator {
  if (!ADDRESS_PATTERN.test(entry.address)) {
    throw new OperatorSetInvalidError(source, `${path}.address`, 'is not a 0x-prefixed 20-byte hex address');
  }
  checkSocketUrl(entry.socketUrl, `${path}.socketUrl`, source);
  const key = keyBytes(entry.signingPublicKey, `${path}.signingPublicKey`, source);
  const signingAddress = signingAddressOf(key);
  if (entry.signingAddress !== undefined && entry.signingAddress.toLowerCase() !== signingAddress) {
    throw new OperatorSetInvalidError(
      source,
      `${path}.signingAddress`,
      `is ${entry.signingAddress} but the signing key hashes to ${signingAddress}`,
    );
  }
  return {
    address: entry.address.toLowerCase() as OperatorAddress,
    socketUrl: entry.socketUrl,
    signingPublicKey: key,
    signingAddress,
  };
}

function checkSocketUrl(value: string, field: string, source: string): void {
  const length = Buffer.byteLength(value, 'utf8');
  if (length === 0 || length > MAX_SOCKET_URL_BYTES) {
    throw new OperatorSetInvalidError(source, field, `is ${length} bytes, expected 1-${MAX_SOCKET_URL_BYTES}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OperatorSetInvalidError(source, field, 'is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OperatorSetInvalidError(source, field, `has scheme ${url.protocol}, expected http: or https:`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new OperatorSetInvalidError(source, field, 'carries credentials; peers must not see them');
  }
}

function keyBytes(value: string | Uint8Array, field: string, source: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') {
    const hex = value.startsWith('0x') ? value : `0x${value}`;
    if (!/^0x[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) {
      throw new OperatorSetInvalidError(source, field, 'is not hex');
    }
    bytes = hexToBytes(hex as `0x${string}`);
  } else {
    bytes = Uint8Array.from(value);
  }
  if (bytes.length !== 64) {
    throw new OperatorSetInvalidError(source, field, `is ${bytes.length} bytes, expected 64 (x‖y without the 0x04 prefix)`);
  }
  const uncompressed = new Uint8Array(65);
  uncompressed[0] = 4;
  uncompressed.set(bytes, 1);
  try {
    secp256k1.Point.fromBytes(uncompressed);
  } catch {
    throw new OperatorSetInvalidError(source, field, 'is not a point on secp256k1');
  }
  return bytes;
}

/** Reads the set from an OperatorRegistry contract through viem. */
export class RegistryOperatorSetSource implements OperatorSetSource {
  private readonly client: Pick<PublicClient, 'readContract'>;
  private readonly address: Address;

  constructor(options: { readonly client: Pick<PublicClient, 'readContract'>; readonly registryAddress: Address }) {
    this.client = options.client;
    this.address = options.registryAddress;
  }

  /** Pass the boundary block, so every node reads the same set for a session. */
  async getOperators(atBlock?: bigint): Promise<Operator[]> {
    let raw: readonly { operator: Address; socketUrl: string; signingPublicKey: `0x${string}`; signingAddress: Address }[];
    try {
      raw = await this.client.readContract({
        address: this.address,
        abi: operatorRegistryAbi,
        functionName: 'getOperators',
        ...(atBlock === undefined ? { blockTag: 'latest' as const } : { blockNumber: atBlock }),
      });
    } catch (error: unknown) {
      const block = atBlock === undefined ? 'latest' : atBlock.toString();
      // "0x" back from eth_call: no code at the address (wrong address, or not yet deployed at that block).
      if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionZeroDataError) !== null) {
        throw new RegistryNotFoundError(this.address, block, error);
      }
      throw new ChainRpcError('OperatorRegistry.getOperators', { cause: error, details: { registry: this.address, block } });
    }
    const source = `registry ${this.address} at block ${atBlock === undefined ? 'latest' : atBlock.toString()}`;
    return normalizeOperatorSet(
      raw.map((entry) => ({
        address: entry.operator,
        socketUrl: entry.socketUrl,
        signingPublicKey: entry.signingPublicKey,
        signingAddress: entry.signingAddress,
      })),
      source,
    );
  }
}

const hexAddress = z.string().regex(ADDRESS_PATTERN, 'expected a 0x-prefixed 20-byte hex address');
const staticFileSchema = z.strictObject({
  operators: z
    .array(
      z.strictObject({
        address: hexAddress,
        socketUrl: z.string().min(1).max(MAX_SOCKET_URL_BYTES),
        signingPublicKey: z.string().regex(/^(0x)?[0-9a-fA-F]{128}$/, 'expected 64 bytes of hex (x‖y, no 0x04 prefix)'),
        signingAddress: hexAddress.optional(),
      }),
    )
    .min(1, 'expected at least one operator'),
});

/** The JSON shape of a static operator file. */
export type StaticOperatorFile = z.infer<typeof staticFileSchema>;

/**
 * Reads the set from a JSON file (local devnets, tests): `{"operators": [{"address",
 * "socketUrl", "signingPublicKey", "signingAddress"?}]}`. Re-read on every call so an
 * edit takes effect at the next boundary; `atBlock` is ignored.
 */
export class StaticFileOperatorSetSource implements OperatorSetSource {
  constructor(private readonly filePath: string) {}

  async getOperators(_atBlock?: bigint): Promise<Operator[]> {
    let text: string;
    try {
      text = await readFile(this.filePath, 'utf8');
    } catch (error: unknown) {
      throw new OperatorFileError(this.filePath, 'cannot be read', error);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error: unknown) {
      throw new OperatorFileError(this.filePath, 'is not valid JSON', error);
    }
    const parsed = staticFileSchema.safeParse(json);
    if (!parsed.success) {
      const [first, ...others] = parsed.error.issues;
      const rest = others.length > 0 ? ` (also: ${others.map((i) => formatPath(i.path)).join(', ')})` : '';
      throw new OperatorSetInvalidError(
        `file ${this.filePath}`,
        first === undefined ? '(root)' : formatPath(first.path),
        `${first?.message ?? 'is invalid'}${rest}`,
      );
    }
    return normalizeOperatorSet(parsed.data.operators, `file ${this.filePath}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}
