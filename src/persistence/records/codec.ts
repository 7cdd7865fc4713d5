import type { z } from 'zod';
import { CorruptRecordError, PersistenceValidationError } from '../errors.js';
import { SealOpenFailure, type RecordSealer } from '../sealing.js';
import type { KeyShareVersion, NodeState, ProtocolSessionState } from '../types.js';
import { assertKeyShareInvariants, assertKeyShareVersion, assertNodeState, assertProtocolSession } from '../validation.js';
import { LayoutError } from './byteLayout.js';
import { associatedData, readLayout, recordHeader, type RecordKind } from './envelope.js';
import {
  keyShareFromJson,
  keyShareJson,
  nodeStateFromJson,
  nodeStateJson,
  sessionFromJson,
  sessionJson,
  sessionToJson,
} from './jsonBodies.js';
import { createKeyShareBodyDecoder, decodeNodeStateBody, encodeKeyShareBody, encodeNodeStateBody } from './keyShareLayout.js';
import { openLegacyJsonRecord } from './legacyJsonRecord.js';

/**
 * Turns records into the bytes stored under their key and back. Writes layout 2
 * (envelope.ts); reads layouts 2 and 1. Every record is sealed whole, so any change to
 * any byte fails authentication; decoding is strict, the validators run on every
 * decoded record, and every failure is a CorruptRecordError naming the key.
 */
export interface RecordCodec {
  encodeKeyShare(key: string, version: KeyShareVersion): Buffer;
  decodeKeyShare(key: string, raw: Uint8Array, epoch: number): KeyShareVersion;
  encodeNodeState(key: string, state: NodeState): Buffer;
  decodeNodeState(key: string, raw: Uint8Array): NodeState;
  encodeSession(key: string, session: ProtocolSessionState): Buffer;
  decodeSession(key: string, raw: Uint8Array, sessionTimestamp: number): ProtocolSessionState;
  /** Seals a fixed marker; `openSealingCheck` tells whether the configured secret matches the data's. */
  encodeSealingCheck(key: string): Buffer;
  /** True when the marker opens under this secret; false on authentication failure; throws on malformed. */
  openSealingCheck(key: string, raw: Uint8Array): boolean;
}

const SEALING_CHECK_PLAINTEXT = 'kms-node sealing check v1';
const DECRYPT_FIX =
  'check that the node runs with the sealing secret (operator key) that wrote this data; otherwise restore from a backup or wipe and rejoin through a reshare';

/** A body decoder per kind, for each layout: binary or JSON for layout 2, JSON for layout 1. */
interface BodyReader<T> {
  readonly layout2: (body: Uint8Array) => T;
  readonly layout1: (json: unknown) => T;
}

/** A decoded record and the layout it was stored in. */
interface Opened<T> {
  readonly value: T;
  readonly layout: 1 | 2;
}

export function createRecordCodec(sealer: RecordSealer): RecordCodec {
  const decodeKeyShareBody = createKeyShareBodyDecoder();
  const seal = (key: string, kind: RecordKind, body: Uint8Array): Buffer => {
    const header = recordHeader(kind);
    const sealed = sealer.seal(associatedData(header, key), body, header);
    const record = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    // The plaintext (a key share's body holds the private share) does not outlive its sealing.
    body.fill(0);
    return record;
  };

  /** Opens a stored value of `kind`; lets SealOpenFailure through for the caller to judge. */
  const unseal = <T>(key: string, kind: RecordKind, raw: Uint8Array, reader: BodyReader<T>): Opened<T> => {
    const layout = readLayout(raw);
    if (layout.layout === 1) return { value: reader.layout1(openLegacyJsonRecord(sealer, key, kind, raw)), layout: 1 };
    if (layout.layout === 'unknown') throw new CorruptRecordError(key, layout.problem);
    if (layout.kind !== kind) throw new CorruptRecordError(key, `expected a ${kind} record, found ${layout.kind}`);
    const body = sealer.open(associatedData(layout.header, key), layout.sealed);
    try {
      return { value: reader.layout2(body), layout: 2 };
    } catch (error) {
      if (error instanceof LayoutError) throw new CorruptRecordError(key, `body.${error.field}: ${error.reason}`);
      throw error;
    }
  };

  const open = <T>(key: string, kind: RecordKind, raw: Uint8Array, reader: BodyReader<T>): Opened<T> => {
    try {
      return unseal(key, kind, raw, reader);
    } catch (error) {
      if (!(error instanceof SealOpenFailure)) throw error;
      throw new CorruptRecordError(key, `cannot be decrypted: ${error.reason}`, { fix: DECRYPT_FIX });
    }
  };

  const json = <S extends z.ZodType, T>(key: string, schema: S, build: (body: z.output<S>) => T) => (input: unknown): T =>
    build(parseJsonBody(key, input, schema));
  const jsonBytes = <S extends z.ZodType, T>(key: string, schema: S, build: (body: z.output<S>) => T) => (body: Uint8Array): T =>
    build(parseJsonBody(key, parseJsonText(key, body), schema));

  return {
    encodeKeyShare: (key, v) => seal(key, 'keyshare', encodeKeyShareBody(v)),
    decodeKeyShare(key, raw, epoch) {
      const { value: version, layout } = open(key, 'keyshare', raw, { layout2: decodeKeyShareBody, layout1: json(key, keyShareJson, keyShareFromJson) });
      check(key, () => {
        if (layout === 2) assertKeyShareInvariants(version, 'record');
        else assertKeyShareVersion(version, 'record');
      });
      if (version.epoch !== epoch) throw new CorruptRecordError(key, `holds epoch ${version.epoch}, not ${epoch}`);
      return version;
    },
    encodeNodeState: (key, s) => seal(key, 'nodestate', encodeNodeStateBody(s)),
    decodeNodeState(key, raw) {
      const { value: state } = open(key, 'nodestate', raw, { layout2: decodeNodeStateBody, layout1: json(key, nodeStateJson, nodeStateFromJson) });
      check(key, () => { assertNodeState(state, 'record'); });
      return state;
    },
    encodeSession: (key, s) => seal(key, 'session', Buffer.from(JSON.stringify(sessionToJson(s)), 'utf8')),
    decodeSession(key, raw, sessionTimestamp) {
      const { value: session } = open(key, 'session', raw, { layout2: jsonBytes(key, sessionJson, sessionFromJson), layout1: json(key, sessionJson, sessionFromJson) });
      check(key, () => { assertProtocolSession(session, 'record'); });
      if (session.sessionTimestamp !== sessionTimestamp) {
        throw new CorruptRecordError(key, `holds session ${session.sessionTimestamp}, not ${sessionTimestamp}`);
      }
      return session;
    },
    encodeSealingCheck: (key) => seal(key, 'sealing-check', Buffer.from(SEALING_CHECK_PLAINTEXT, 'utf8')),
    openSealingCheck(key, raw) {
      try {
        return unseal(key, 'sealing-check', raw, {
          layout2: (body) => Buffer.from(body).toString('utf8') === SEALING_CHECK_PLAINTEXT,
          layout1: (value) => value === SEALING_CHECK_PLAINTEXT,
        }).value;
      } catch (error) {
        if (error instanceof SealOpenFailure) return false;
        throw error;
      }
    },
  };
}

function parseJsonText(key: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (cause) {
    throw new CorruptRecordError(key, 'decrypted body is not JSON', { cause });
  }
}

function parseJsonBody<S extends z.ZodType>(key: string, input: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'body' : `body.${issue.path.join('.')}`;
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

