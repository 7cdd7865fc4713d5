import { z } from 'zod';
import type { KeyShareVersion, NodeState, OperatorAddress, ProtocolSessionState, StoredAcknowledgement } from '../types.js';

/**
 * JSON bodies: the session record in layout 2 (nested maps of shares, commitments and
 * acks; a node holds a handful), and every kind in layout 1. Bytes are lowercase hex,
 * scalars 0x-hex. Parsing is strict: unknown fields, wrong types and malformed hex fail.
 * Results still go through the validators (ranges, ordering) in the codec.
 */

const hexBytes = z.string().regex(/^([0-9a-f]{2})*$/);
const scalarHex = z.string().regex(/^0x[0-9a-f]{1,64}$/);
const address = z.string();
const hex0x = z.string();

export const keyShareJson = z.strictObject({
  epoch: z.number(),
  privateShare: scalarHex,
  commitments: z.array(hexBytes),
  masterPublicKey: hexBytes,
  threshold: z.number(),
  participants: z.array(address),
  createdAt: z.number(),
});

export const nodeStateJson = z.strictObject({
  lastProcessedBoundary: z.number(),
  nodeStartTime: z.number(),
  operatorAddress: address,
});

const ackJson = z.strictObject({
  dealer: address,
  player: address,
  sessionTimestamp: z.number(),
  shareHash: hex0x,
  commitmentHash: hex0x,
  signature: hex0x,
});

export const sessionJson = z.strictObject({
  sessionTimestamp: z.number(),
  type: z.enum(['dkg', 'reshare']),
  phase: z.number(),
  startTime: z.number(),
  operatorAddresses: z.array(address),
  shares: z.record(z.string(), scalarHex),
  commitments: z.record(z.string(), z.array(hexBytes)),
  acknowledgements: z.record(z.string(), z.record(z.string(), ackJson)),
});

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const scalarToHex = (value: bigint): string => `0x${value.toString(16)}`;
const mapValues = <A, B>(record: Readonly<Record<string, A>>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));

export function sessionToJson(s: ProtocolSessionState): z.input<typeof sessionJson> {
  return {
    sessionTimestamp: s.sessionTimestamp,
    type: s.type,
    phase: s.phase,
    startTime: s.startTime,
    operatorAddresses: [...s.operatorAddresses],
    shares: mapValues(s.shares, scalarToHex),
    commitments: mapValues(s.commitments, (list) => list.map(toHex)),
    acknowledgements: mapValues(s.acknowledgements, (byPlayer) => mapValues(byPlayer, (ack) => ({ ...ack }))),
  };
}

/** Shape only; the codec validates the result (phase range, addresses, ack hashes). */
export function sessionFromJson(body: z.output<typeof sessionJson>): ProtocolSessionState {
  return {
    sessionTimestamp: body.sessionTimestamp,
    type: body.type,
    phase: body.phase,
    startTime: body.startTime,
    operatorAddresses: body.operatorAddresses,
    shares: mapValues(body.shares, (hex) => BigInt(hex)),
    commitments: mapValues(body.commitments, (list) => list.map(fromHex)),
    acknowledgements: mapValues(body.acknowledgements, (byPlayer) => mapValues(byPlayer, (ack) => ack as StoredAcknowledgement)),
  } as ProtocolSessionState;
}

export function keyShareFromJson(body: z.output<typeof keyShareJson>): KeyShareVersion {
  return {
    epoch: body.epoch,
    privateShare: BigInt(body.privateShare),
    commitments: body.commitments.map(fromHex),
    masterPublicKey: fromHex(body.masterPublicKey),
    threshold: body.threshold,
    participants: body.participants as OperatorAddress[],
    createdAt: body.createdAt,
  };
}

export function nodeStateFromJson(body: z.output<typeof nodeStateJson>): NodeState {
  return { ...body, operatorAddress: body.operatorAddress as OperatorAddress };
}
