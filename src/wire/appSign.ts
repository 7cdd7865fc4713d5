/**
 * POST /app/sign, as the Go original defines it.
 *
 * Request `{"AppID": "my-app", "AttestationTime": 0}`. Go's encoding/json binds keys to
 * its struct fields without regard to case (so `appId` binds too, `app_id` does not) and
 * ignores unknown keys; we read the body the same way, except that a field given twice
 * (say `AppID` and `appid`) is refused instead of the last one silently winning.
 * AttestationTime 0, null or absent means the active key version; a positive value the
 * version valid at that Unix second.
 *
 * Response `{"OperatorAddress": "0x…(EIP-55)", "PartialSignature": {"CompressedBytes": b64},
 * "Version": 1795699620}`: `Version`, the key version that signed, is ours (Go ignores
 * it); our client checks the partial under that version's commitments.
 */
import { z } from 'zod';
import { G1_BYTES } from '../crypto/points.js';
import { checksumAddress, wireAddress } from './address.js';
import { bytesToWire, wirePoint, type PointJson } from './pointJson.js';

export interface AppSignRequest {
  readonly appId: string;
  /** null: the active version. */
  readonly attestationTime: number | null;
}

/** The request as our client writes it. */
export function appSignRequestJson(request: { readonly appId: string; readonly attestationTime?: number }): { AppID: string; AttestationTime: number } {
  return { AppID: request.appId, AttestationTime: request.attestationTime ?? 0 };
}

/** Why a request body cannot be read: the field (Go's name) and what is wrong. */
export interface AppSignRequestProblem {
  readonly field: 'AppID' | 'AttestationTime' | 'body';
  readonly message: string;
}

const FIELDS = ['AppID', 'AttestationTime'] as const;

/**
 * Reads a request body the way Go binds it (see module doc). The app id is returned
 * as sent: the app id rule is applied by the caller (crypto/appId.ts).
 */
export function readAppSignRequest(body: unknown): AppSignRequest | AppSignRequestProblem {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { field: 'body', message: 'the body must be a JSON object like {"AppID": "my-app", "AttestationTime": 0}' };
  }
  const found = new Map<(typeof FIELDS)[number], { key: string; value: unknown }>();
  for (const [key, value] of Object.entries(body)) {
    const field = FIELDS.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined) continue;
    const earlier = found.get(field);
    if (earlier !== undefined) {
      return { field, message: `${field} is given twice (as "${earlier.key}" and "${key}"); send it once` };
    }
    found.set(field, { key, value });
  }
  const appId = found.get('AppID')?.value;
  if (appId === undefined || appId === null || appId === '') return { field: 'AppID', message: 'AppID is required' };
  if (typeof appId !== 'string') return { field: 'AppID', message: `AppID must be a string, got ${Array.isArray(appId) ? 'array' : typeof appId}` };
  const time = found.get('AttestationTime')?.value;
  if (time === undefined || time === null || time === 0) return { appId, attestationTime: null };
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
    return { field: 'AttestationTime', message: 'AttestationTime must be a non-negative integer of Unix seconds (0 or absent: the active key version)' };
  }
  return { appId, attestationTime: time };
}

export function isAppSignRequestProblem(value: AppSignRequest | AppSignRequestProblem): value is AppSignRequestProblem {
  return 'field' in value;
}

/** The facts of one partial signature (bytes: its compressed G1 encoding). */
export interface AppSignFacts {
  readonly operatorAddress: string;
  readonly partialSignature: Uint8Array;
  readonly version: number;
}

export interface AppSignJson {
  readonly OperatorAddress: string;
  readonly PartialSignature: PointJson;
  readonly Version: number;
}

export function appSignJson(facts: AppSignFacts): AppSignJson {
  return {
    OperatorAddress: checksumAddress(facts.operatorAddress),
    PartialSignature: bytesToWire(facts.partialSignature),
    Version: facts.version,
  };
}

/** Reads a response: the address lowercase, the signature as 0x-hex of its compressed encoding. */
export const appSignResponseSchema = z.object({
  OperatorAddress: wireAddress,
  PartialSignature: wirePoint(G1_BYTES),
  Version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export type AppSignResponse = z.infer<typeof appSignResponseSchema>;
