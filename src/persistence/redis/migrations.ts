import type { Redis } from 'ioredis';
import { G2, G2_BYTES, encodeG2, isUncompressedInfinity } from '../../crypto/points.js';
import type { Logger } from '../../logging/logger.js';
import { MigrationError, PersistenceValidationError } from '../errors.js';
import { SCHEMA_VERSION, type KeySchema } from '../keySchema.js';
import type { RecordCodec } from '../records/codec.js';
import type { KeyShareVersion, NodeState, OperatorAddress } from '../types.js';
import { assertKeyShareVersion, assertNodeState } from '../validation.js';

/**
 * Schema migrations, keyed by the version they start from. Each reads the old layout
 * completely, converts and validates everything in memory, then replaces it in one
 * MULTI/EXEC, so a failure at any point leaves the old data untouched.
 */

export interface MigrationContext {
  readonly client: Redis;
  readonly keys: KeySchema;
  readonly codec: RecordCodec;
  readonly logger: Logger;
}

export interface Migration {
  readonly from: string;
  readonly to: string;
  readonly description: string;
  run(context: MigrationContext): Promise<void>;
}

/**
 * Key names of the Go original (eigenx-kms-go redis backend). Its keys are
 * `<its prefix>kms:<name>`, so our prefix `<its prefix>kms:` lines the two up.
 */
export function legacyKeys(prefix: string) {
  return {
    keyShare: (epoch: string) => `${prefix}keyshare:${epoch}`,
    session: (ts: string) => `${prefix}session:${ts}`,
    keyShareIndex: `${prefix}keyshares:index`,
    sessionIndex: `${prefix}sessions:index`,
    activeVersion: `${prefix}active:version`,
    nodeState: `${prefix}nodestate:main`,
    poisoned: `${prefix}poisoned`,
  };
}

function fail(key: string, problem: string, cause?: unknown): never {
  throw new MigrationError(`Cannot migrate ${key} from the v0 (Go) layout: ${problem}; nothing was changed`, {
    fix: 'repair or remove that record by hand (keep a backup), or wipe this node\'s data and rejoin through a reshare',
    details: { key },
    cause,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(key: string, raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    fail(key, 'not valid JSON', cause);
  }
  if (!isRecord(value)) fail(key, 'not a JSON object');
  return value;
}

/** Go's Fr JSON: a bare number up to 15 digits, otherwise a decimal string; 0x hex accepted too. */
function parseGoScalar(key: string, value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(\d{1,80}|0x[0-9a-fA-F]{1,64})$/.test(value)) return BigInt(value);
  return fail(key, 'PrivateShare is not a decimal or hex scalar');
}

/**
 * A Go G2Point. Go writes the identity uncompressed (its ZeroG2Point, 192 bytes): read as
 * the compressed identity where it can be legitimate (a commitment), refused for the MPK.
 */
function parseGoPoint(key: string, value: unknown, field: string, allowIdentity: boolean): Uint8Array {
  if (!isRecord(value) || typeof value.CompressedBytes !== 'string') fail(key, `${field} is not {"CompressedBytes": base64}`);
  const bytes = new Uint8Array(Buffer.from(value.CompressedBytes, 'base64'));
  if (!isUncompressedInfinity(bytes, G2_BYTES)) return bytes;
  if (!allowIdentity) fail(key, `${field} is the identity point`);
  return encodeG2(G2.ZERO);
}

function parseGoAddress(key: string, value: unknown, field: string): OperatorAddress {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail(key, `${field} is not a 20-byte hex address`);
  return value.toLowerCase() as OperatorAddress;
}

/** Converts one Go KeyShareVersion record. Threshold and creation time are not stored by Go, so they are derived. */
export function convertGoKeyShare(key: string, raw: string): KeyShareVersion {
  const go = parseJson(key, raw);
  if (typeof go.Version !== 'number' || !Number.isSafeInteger(go.Version)) fail(key, 'Version is not an integer');
  if (go.MasterPublicKey === null || go.MasterPublicKey === undefined) {
    fail(key, 'the version has no master public key (a join that never learned it); such a version cannot be used');
  }
  if (!Array.isArray(go.Commitments)) fail(key, 'Commitments is not an array');
  if (!Array.isArray(go.ParticipantIDs)) fail(key, 'ParticipantIDs is not an array');
  const participants = go.ParticipantIDs.map((a, i) => parseGoAddress(key, a, `ParticipantIDs[${i}]`)).sort();
  const version: KeyShareVersion = {
    epoch: go.Version,
    privateShare: parseGoScalar(key, go.PrivateShare),
    commitments: go.Commitments.map((c, i) => parseGoPoint(key, c, `Commitments[${i}]`, true)),
    masterPublicKey: parseGoPoint(key, go.MasterPublicKey, 'MasterPublicKey', false),
    // Go computes every version's threshold as ceil(2n/3) over its holders.
    threshold: Math.ceil((2 * participants.length) / 3),
    participants,
    // Go keeps no finalisation time; the boundary timestamp (seconds) is the closest fact.
    createdAt: go.Version * 1000,
  };
  try {
    assertKeyShareVersion(version, 'record');
  } catch (error) {
    if (error instanceof PersistenceValidationError) fail(key, `${error.field} is invalid`, error);
    throw error;
  }
  return version;
}

/** Converts Go's NodeState; its extra auto-heal fields have no place in v1 and are dropped (logged). */
export function convertGoNodeState(key: string, raw: string): NodeState {
  const go = parseJson(key, raw);
  const start = go.nodeStartTime;
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) fail(key, 'nodeStartTime is not an integer');
  const state: NodeState = {
    lastProcessedBoundary: typeof go.lastProcessedBoundary === 'number' ? go.lastProcessedBoundary : -1,
    // Go writes Unix seconds; v1 keeps milliseconds. Values below 1e12 cannot be milliseconds after 2001.
    nodeStartTime: start < 1e12 ? start * 1000 : start,
    operatorAddress: parseGoAddress(key, go.operatorAddress, 'operatorAddress'),
  };
  try {
    assertNodeState(state, 'record');
  } catch (error) {
    if (error instanceof PersistenceValidationError) fail(key, `${error.field} is invalid`, error);
    throw error;
  }
  return state;
}

/** Go's active pointer: an 8-byte big-endian int64. */
function parseGoActive(key: string, raw: Buffer): number {
  if (raw.length !== 8) fail(key, `expected 8 bytes, found ${raw.length}`);
  const value = raw.readBigInt64BE(0);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) fail(key, 'epoch out of range');
  return Number(value);
}

/** v0 = the Go original's Redis layout: plain JSON, SET indexes, binary active pointer, plaintext shares. */
export const migrateV0ToV1: Migration = {
  from: 'v0',
  to: SCHEMA_VERSION,
  description: 'Go-original layout (plaintext JSON, SET indexes) to sealed v1 records with sorted-set indexes',
  async run({ client, keys, codec, logger }) {
    const legacy = legacyKeys(keys.prefix);
    const epochs = (await client.smembers(legacy.keyShareIndex)).sort((a, b) => Number(a) - Number(b));
    const versions: KeyShareVersion[] = [];
    for (const member of epochs) {
      const key = legacy.keyShare(member);
      if (!/^\d{1,15}$/.test(member)) fail(legacy.keyShareIndex, `index member "${member.slice(0, 20)}" is not an epoch`);
      const raw = await client.get(key);
      if (raw === null) fail(key, 'listed in the index but missing');
      const version = convertGoKeyShare(key, raw);
      if (version.epoch !== Number(member)) fail(key, `holds Version ${version.epoch}, not ${member}`);
      versions.push(version);
    }

    const activeRaw = await client.getBuffer(legacy.activeVersion);
    const active = activeRaw === null ? null : parseGoActive(legacy.activeVersion, activeRaw);
    if (active !== null && active !== 0 && !versions.some((v) => v.epoch === active)) {
      fail(legacy.activeVersion, `names version ${active}, which is not stored`);
    }
    const stateRaw = await client.get(legacy.nodeState);
    const state = stateRaw === null ? null : convertGoNodeState(legacy.nodeState, stateRaw);
    const sessionKeys = (await client.smembers(legacy.sessionIndex)).map(legacy.session);

    const tx = client.multi();
    for (const version of versions) {
      const key = keys.keyShare(version.epoch);
      tx.set(key, codec.encodeKeyShare(key, version)).zadd(keys.keyShareIndex, version.epoch, String(version.epoch));
    }
    // Go uses 0 for "no active version".
    if (active === null || active === 0) tx.del(keys.activeVersion);
    else tx.set(keys.activeVersion, String(active));
    if (state !== null) tx.set(keys.nodeState, codec.encodeNodeState(keys.nodeState, state));
    // Go never resumes sessions (it deletes them at start); they hold plaintext shares.
    if (sessionKeys.length > 0) tx.del(...sessionKeys);
    tx.del(legacy.keyShareIndex, legacy.sessionIndex)
      .set(keys.schemaVersion, SCHEMA_VERSION)
      .set(keys.sealingCheck, codec.encodeSealingCheck(keys.sealingCheck));
    const results = await tx.exec();
    const failed = results?.find(([error]) => error !== null);
    if (results === null || failed !== undefined) {
      throw new MigrationError('The v0→v1 migration transaction did not apply', { cause: failed?.[0] });
    }

    const poisoned = await client.scard(legacy.poisoned);
    logger.warn(
      { versions: versions.length, active, sessionsDropped: sessionKeys.length, poisonedLeftInPlace: poisoned },
      'migrated the v0 (Go) keyspace to v1; Go-only keys (poisoned set, block records) were left untouched',
    );
    await purgePlaintextFromAof(client, logger);
  },
};

/** The old records were plaintext; an AOF rewrite drops them from the log on disk. */
async function purgePlaintextFromAof(client: Redis, logger: Logger): Promise<void> {
  try {
    await client.bgrewriteaof();
    logger.info('requested BGREWRITEAOF so the pre-migration plaintext records leave the AOF');
  } catch (error) {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'BGREWRITEAOF after migration failed: the AOF still holds the old plaintext records until the next rewrite');
  }
}

export const MIGRATIONS: ReadonlyMap<string, Migration> = new Map([[migrateV0ToV1.from, migrateV0ToV1]]);
