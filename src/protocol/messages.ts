/**
 * Wire messages of the DKG / reshare cores: plain JSON-safe objects (bytes as 0x hex,
 * scalars as 0x 64-hex), each with {type, protocol, sessionTimestamp, from, to}.
 * Broadcasts are emitted as one copy per recipient; signatures never cover `to`.
 *
 * parseProtocolMessage validates untrusted input (HTTP bodies) and throws a
 * MALFORMED_MESSAGE ProtocolError naming the first bad field. It checks shape only;
 * curve and signature checks happen in the session.
 */
import { z } from 'zod';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { Hex, OperatorAddress, ProtocolType } from './types.js';

interface MessageBase {
  readonly protocol: ProtocolType;
  readonly sessionTimestamp: number;
  readonly from: OperatorAddress;
  readonly to: OperatorAddress;
  /** Reshare only: sourceDigest of the version the sender reshares (digests.ts). */
  readonly source?: Hex;
}

/** Dealer → one player: the dealer's commitments and that player's share (transport must encrypt). */
export interface DealMessage extends MessageBase {
  readonly type: 'deal';
  /** C_0 … C_{t−1}, 96-byte compressed G2 as hex. */
  readonly commitments: readonly Hex[];
  /** s_ij = f_i(id_j), 32-byte big-endian hex. Secret. */
  readonly share: Hex;
}

/** Player → all: "I hold a valid share from `dealer` under commitments `commitmentHash`". */
export interface AckMessage extends MessageBase {
  readonly type: 'ack';
  readonly dealer: OperatorAddress;
  readonly player: OperatorAddress;
  readonly shareHash: Hex;
  readonly commitmentHash: Hex;
  /** 65-byte r ‖ s ‖ v over the ack digest. */
  readonly signature: Hex;
}

/** Player → all: "`dealer`'s deal to me was invalid; I will not acknowledge it". */
export interface ComplaintMessage extends MessageBase {
  readonly type: 'complaint';
  readonly dealer: OperatorAddress;
  readonly player: OperatorAddress;
  /** The ProtocolErrorCode of the rejection (INVALID_SHARE or INVALID_COMMITMENT). */
  readonly reason: string;
  readonly signature: Hex;
}

/** Operator → all: "I finalized over dealer set `dealers` with aggregated commitments `commitmentsHash`". */
export interface CompleteMessage extends MessageBase {
  readonly type: 'complete';
  /** The agreed dealer set D, ascending. */
  readonly dealers: readonly OperatorAddress[];
  readonly commitmentsHash: Hex;
  readonly signature: Hex;
}

export type ProtocolMessage = DealMessage | AckMessage | ComplaintMessage | CompleteMessage;
export type ProtocolMessageType = ProtocolMessage['type'];

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected 0x followed by 40 hex digits')
  .transform((s) => s.toLowerCase() as OperatorAddress);
const hexOf = (bytes: number): z.ZodType<Hex> =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `expected 0x followed by ${bytes * 2} hex digits`)
    .transform((s) => s.toLowerCase() as Hex);

const MAX_THRESHOLD = 1024;

const base = {
  protocol: z.enum(['dkg', 'reshare']),
  sessionTimestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  from: address,
  to: address,
  source: hexOf(32).optional(),
};

const schema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('deal'), ...base, commitments: z.array(hexOf(96)).min(1).max(MAX_THRESHOLD), share: hexOf(32) }),
  z.strictObject({
    type: z.literal('ack'),
    ...base,
    dealer: address,
    player: address,
    shareHash: hexOf(32),
    commitmentHash: hexOf(32),
    signature: hexOf(65),
  }),
  z.strictObject({
    type: z.literal('complaint'),
    ...base,
    dealer: address,
    player: address,
    reason: z.string().regex(/^[A-Z_]{1,64}$/, 'expected an error code'),
    signature: hexOf(65),
  }),
  z.strictObject({
    type: z.literal('complete'),
    ...base,
    dealers: z.array(address).min(1).max(MAX_THRESHOLD),
    commitmentsHash: hexOf(32),
    signature: hexOf(65),
  }),
]);

/** Validates an untrusted value as a ProtocolMessage (addresses and hex lowercased). */
export function parseProtocolMessage(value: unknown): ProtocolMessage {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '(message)' : issue.path.map(String).join('.');
    throw new ProtocolError(
      ProtocolErrorCode.MALFORMED_MESSAGE,
      `malformed protocol message: field "${field}": ${issue?.message ?? 'invalid'}`,
      { details: { field }, fix: 'send a message built by the kms-node protocol core of a compatible version' },
    );
  }
  return parsed.data;
}
