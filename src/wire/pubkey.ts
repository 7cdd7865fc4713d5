/**
 * GET /pubkey: the one schema, the Go original's, plus two keys of ours.
 *
 *   { "operatorAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",   EIP-55 checksum
 *     "commitments": [{"CompressedBytes": b64}, …],                       G2, compressed
 *     "masterPublicKey": {"CompressedBytes": b64} | null,
 *     "version": 1795699620,                                              epoch (Unix s)
 *     "isActive": true,
 *     "threshold": 3,                                                     ours
 *     "participants": ["0x…", …] }                                        ours, lowercase
 *
 * Go's client reads the first five keys and ignores the rest. Our readers (the client's
 * MPK agreement, a node planning its round from its peers' views) need `threshold` and
 * `participants` too, so they require them.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { G2_BYTES } from '../crypto/points.js';
import { checksumAddress, wireAddress } from './address.js';
import { bytesToWire, wirePoint, type PointJson } from './pointJson.js';

/** The public data of one key version as a node reports it (bytes are compressed G2 encodings). */
export interface PubkeyFacts {
  readonly operatorAddress: string;
  readonly version: number;
  readonly isActive: boolean;
  readonly threshold: number;
  readonly masterPublicKey: Uint8Array;
  readonly commitments: readonly Uint8Array[];
  readonly participants: readonly string[];
}

/** The JSON body of GET /pubkey, exactly as written. */
export interface PubkeyJson {
  readonly operatorAddress: string;
  readonly commitments: readonly PointJson[];
  readonly masterPublicKey: PointJson | null;
  readonly version: number;
  readonly isActive: boolean;
  readonly threshold: number;
  readonly participants: readonly string[];
}

export function pubkeyJson(facts: PubkeyFacts): PubkeyJson {
  return {
    operatorAddress: checksumAddress(facts.operatorAddress),
    commitments: facts.commitments.map(bytesToWire),
    masterPublicKey: bytesToWire(facts.masterPublicKey),
    version: facts.version,
    isActive: facts.isActive,
    threshold: facts.threshold,
    participants: facts.participants.map((p) => p.toLowerCase()),
  };
}

const LIST_MAX = 10_000;

/**
 * Reads a /pubkey body: addresses lowercase, points as 0x-hex of their compressed
 * encoding (Go's uncompressed identity normalised; not yet checked on the curve).
 */
export const pubkeyResponseSchema = z.object({
  operatorAddress: wireAddress,
  commitments: z.array(wirePoint(G2_BYTES)).max(LIST_MAX),
  masterPublicKey: wirePoint(G2_BYTES).nullable(),
  version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  isActive: z.boolean(),
  threshold: z.number().int().min(1).max(LIST_MAX),
  participants: z.array(wireAddress).min(1).max(LIST_MAX),
});

export type PubkeyResponse = z.infer<typeof pubkeyResponseSchema>;

/** Bytes of a 0x-hex string a schema above produced. */
export function wireHexToBytes(hex: `0x${string}`): Uint8Array {
  return hexToBytes(hex.slice(2));
}
