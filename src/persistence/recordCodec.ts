import { z } from 'zod';
import { CorruptRecordError, PersistenceValidationError } from './errors.js';
import { SealOpenFailure, type RecordSealer } from './sealing.js';
import type { KeyShareVersion, NodeState, OperatorAddress, ProtocolSessionState, StoredAcknowledgement } from './types.js';
import { assertKeyShareVersion, assertNodeState, assertProtocolSession } from './validation.js';

/**
 * Records as stored: a small JSON envelope `{format, v, kind, sealed}` whose `sealed`
 * field is the base64 AES-GCM blob of the record body. The body is JSON with bytes as
 * lowercase hex and scalars as 0x-hex. Every record is sealed, so any change to any
 * field fails authentication; decoding is strict (unknown fields, wrong types and
 * out-of-range values all fail) and every failure names the record's key.
 */

export const RECORD_FORMAT = 'kms-node/record';
export const RECORD_VERSION = 1;
export type RecordKind = 'keyshare' | 'nodestate' | 'session' | 'sealing-check';

const hexBytes = z.string().regex(/^([0-9a-f]{2})*$/);
const scalarHex = z.string().regex(/^0x[0-9a-f]{1,64}$/);
const address = z.string();
const hex0x = z.string();

const envelopeSchema = z.strictObject({
  format: z.literal(RECORD_FORMAT),
  v: z.literal(RECORD_VERSION),
  kind: z.enum(['keyshare', 'nodestate', 'session', 'sealing-check']),
  // Not pattern-checked: any damage to the blob fails its GCM authentication, named by key,
  // and a regex over ~8 KB per record was the largest single cost of listing versions.
  sealed: z.string().min(1),
});

const keyShareBody = z.strictObject({
  epoch: z.number(),
  privateShare: scalarHex,
  commitments: z.array(hexBytes),
  masterPublicKey: hexBytes,
  threshold: z.number(),
  participants: z.array(address),
  createdAt: z.number(),
});

const nodeStateBody = z.strictObject({
  lastProcessedBoundary: z.number(),
  nodeStartTime: z.number(),
  operatorAddress: address,
});

const ackBody = z.strictObject({
  dealer: address,
  player: address,
  sessionTimestamp: z.number(),
  shareHash: hex0x,
  commitmentHash: hex0x,
  signature: hex0x,
});

const sessionBody = z.strictObject({
  sessionTimestamp: z.number(),
  type: z.enum(['dkg', 'reshare']),
  phase: z.number(),
  startTime: z.number(),
  operatorAddresses: z.array(address),
  shares: z.record(z.string(), scalarHex),
  commitments: z.record(z.string(), z.array(hexBytes)),
  acknowledgements: z.record(z.string(), z.record(z.string(), ackBody)),
});

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const scalarToHex = (value: bigint): string => `0x${value.toString(16)}`;
const mapValues = <A, B>(record: Readonly<Record<string, A>>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));

export interface RecordCodec {
  encodeKeyShare(key: string, version: KeyShareVersion): string;
  decodeKeyShare(key: string, raw: string, epoch: number): KeyShareVersion;
  encodeNodeState(key: string, state: NodeState): string;
  decodeNodeState(key: string, raw: string): NodeState;
  encodeSession(key: string, session: ProtocolSessionState): string;
  decodeSession(key: string, raw: string, sessionTimestamp: number): ProtocolSessionState;
  /** Seals a fixed marker; `openSealingCheck` tells whether the configured secret matches the data's. */
  encodeSealingCheck(key: string): string;
  /** True when the marker opens under this secret; false on authentication failure; throws on malformed. */
  openSealingCheck(key: string, raw: string): boolean;
}

const SEALING_CHECK_PLAINTEXT = 'kms-node sealing check v1';

export function createRecordCodec(sealer: RecordSealer): RecordCodec {
  const seal = (key: string, kind: RecordKind, body: unknown): string => {
    const sealed = sealer.seal(key, Buffer.from(JSON.stringify(body), 'utf8'));
    return JSON.stringify({ format: RECORD_FORMAT, v: RECORD_VERSION, kind, sealed: Buffer.from(sealed).toString('base64') });
  };

  /** Parses the envelope and decrypts; lets SealOpenFailure through for the caller to judge. */
  const unseal = (key: string, kind: RecordKind, raw: string): unknown => {
    const envelope = parse(key, raw, envelopeSchema, 'envelope');
    if (envelope.kind !== kind) throw new CorruptRecordError(key, `expected a ${kind} record, found ${envelope.kind}`);
    const plaintext = sealer.open(key, Buffer.from(envelope.sealed, 'base64'));
    try {
      return JSON.parse(Buffer.from(plaintext).toString('utf8')) as unknown;
    } catch (cause) {
      throw new CorruptRecordError(key, 'decrypted body is not JSON', { cause });
    }
  };

  const open = (key: string, kind: RecordKind, raw: string): unknown => {
    try {
      return unseal(key, kind, raw);
    } catch (error) {
      if (!(error instanceof SealOpenFailure)) throw error;
      throw new CorruptRecordError(key, `cannot be decrypted: ${error.reason}`, {
        fix: 'check that the node runs with the sealing secret (operator key) that wrote this data; otherwise restore from a backup or wipe and rejoin through a reshare',
      });
    }
  };

  return {
    encodeKeyShare(key, v) {
      return seal(key, 'keyshare', {
        epoch: v.epoch,
        privateShare: scalarToHex(v.privateShare),
        commitments: v.commitments.map(toHex),
        masterPublicKey: toHex(v.masterPublicKey),
        threshold: v.threshold,
        participants: [...v.participants],
        createdAt: v.createdAt,
      });
    },
    decodeKeyShare(key, raw, epoch) {
      const body = parse(key, open(key, 'keyshare', raw), keyShareBody, 'body');
      const version: KeyShareVersion = {
        epoch: body.epoch,
        privateShare: BigInt(body.privateShare),
        commitments: body.commitments.map(fromHex),
        masterPublicKey: fromHex(body.masterPublicKey),
        threshold: body.threshold,
        participants: body.participants as OperatorAddress[],
        createdAt: body.createdAt,
      };
      check(key, () => { assertKeyShareVersion(version, 'record'); });
      if (version.epoch !== epoch) throw new CorruptRecordError(key, `holds epoch ${version.epoch}, not ${epoch}`);
      return version;
    },
    encodeNodeState(key, s) {
      return seal(key, 'nodestate', {
        lastProcessedBoundary: s.lastProcessedBoundary,
        nodeStartTime: s.nodeStartTime,
        operatorAddress: s.operatorAddress,
      });
    },
    decodeNodeState(key, raw) {
      const body = parse(key, open(key, 'nodestate', raw), nodeStateBody, 'body');
      const state: NodeState = { ...body, operatorAddress: body.operatorAddress as OperatorAddress };
      check(key, () => { assertNodeState(state, 'record'); });
      return state;
    },
    encodeSession(key, s) {
      return seal(key, 'session', {
        sessionTimestamp: s.sessionTimestamp,
        type: s.type,
        phase: s.phase,
        startTime: s.startTime,
        operatorAddresses: [...s.operatorAddresses],
        shares: mapValues(s.shares, scalarToHex),
        commitments: mapValues(s.commitments, (list) => list.map(toHex)),
        acknowledgements: mapValues(s.acknowledgements, (byPlayer) => mapValues(byPlayer, (ack) => ({ ...ack }))),
      });
    },
    decodeSession(key, raw, sessionTimestamp) {
      const body = parse(key, open(key, 'session', raw), sessionBody, 'body');
      const session = {
        sessionTimestamp: body.sessionTimestamp,
        type: body.type,
        phase: body.phase,
        startTime: body.startTime,
        operatorAddresses: body.operatorAddresses,
        shares: mapValues(body.shares, (hex) => BigInt(hex)),
        commitments: mapValues(body.commitments, (list) => list.map(fromHex)),
        acknowledgements: mapValues(body.acknowledgements, (byPlayer) => mapValues(byPlayer, (ack) => ack as StoredAcknowledgement)),
      };
      check(key, () => { assertProtocolSession(session, 'record'); });
      if (session.sessionTimestamp !== sessionTimestamp) {
        throw new CorruptRecordError(key, `holds session ${session.sessionTimestamp}, not ${sessionTimestamp}`);
      }
      return session as ProtocolSessionState;
    },
    encodeSealingCheck(key) {
      return seal(key, 'sealing-check', SEALING_CHECK_PLAINTEXT);
    },
    openSealingCheck(key, raw) {
      try {
        return unseal(key, 'sealing-check', raw) === SEALING_CHECK_PLAINTEXT;
      } catch (error) {
        if (error instanceof SealOpenFailure) return false;
        throw error;
      }
    },
  };
}

function parse<T>(key: string, input: unknown, schema: z.ZodType<T>, part: string): T {
  let value = input;
  if (typeof input === 'string' && part === 'envelope') {
    try {
      value = JSON.parse(input) as unknown;
    } catch (cause) {
      throw new CorruptRecordError(key, 'is not valid JSON', { cause });
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? part : `${part}.${issue.path.join('.')}`;
    throw new CorruptRecordError(key, `${where}: ${issue?.message ?? 'does not match the record schema'}`);
  }
  return result.data;
}

function check(key: string, validate: () => void): void {
  try {
    validate();
  } catch (error) {
    if (error instanceof PersistenceValidationError) {
      throw new CorruptRecordError(key, `${error.field} is out of range`, { cause: error });
    }
    throw error;
  }
}
