import type { Redis } from 'ioredis';
import type { Logger } from '../../logging/logger.js';
import { SchemaVersionError, SealingKeyMismatchError } from '../errors.js';
import { SCHEMA_VERSION, type KeySchema } from '../keySchema.js';
import type { RecordCodec } from '../records/codec.js';
import { MIGRATIONS, legacyKeys, type Migration } from './migrations.js';

/**
 * Schema handling at open: a fresh keyspace gets the current schema marker and a
 * sealing check; a known older layout is migrated in one atomic step; anything else
 * is refused with a message saying what was found.
 */

export interface EnsureSchemaOptions {
  readonly client: Redis;
  readonly keys: KeySchema;
  readonly codec: RecordCodec;
  readonly logger: Logger;
  /** Defaults to the built-in registry; tests pass their own to exercise the hook. */
  readonly migrations?: ReadonlyMap<string, Migration>;
}

/** What the stored keyspace looks like before anything is written. */
export async function detectSchemaVersion(client: Redis, keys: KeySchema): Promise<string | null> {
  const stored = await client.get(keys.schemaVersion);
  const legacy = legacyKeys(keys.prefix);
  const [ourIndexes, legacyIndexes] = await Promise.all([
    client.exists(keys.keyShareIndex, keys.sessionIndex),
    client.exists(legacy.keyShareIndex, legacy.sessionIndex),
  ]);
  // The Go original writes "v1" too, but with SET indexes and plain JSON: its layout
  // is recognised by the legacy index names, whatever its marker says.
  if (legacyIndexes > 0 && ourIndexes === 0) return 'v0';
  if (stored !== null) return stored;
  // Our own indexes without a marker: someone removed it; refuse rather than guess.
  if (ourIndexes > 0) return 'missing';
  // Go data written before its first version was saved: state and pointer only.
  const data = await client.exists(keys.nodeState, keys.activeVersion, legacy.activeVersion);
  return data > 0 ? 'v0' : null;
}

export async function ensureSchema(options: EnsureSchemaOptions): Promise<void> {
  const { client, keys, codec, logger } = options;
  const migrations = options.migrations ?? MIGRATIONS;
  let version = await detectSchemaVersion(client, keys);

  if (version === null) {
    // Fresh keyspace. NX: two nodes opening the same prefix at once write it once.
    const tx = await client.multi()
      .set(keys.schemaVersion, SCHEMA_VERSION, 'NX')
      .set(keys.sealingCheck, codec.encodeSealingCheck(keys.sealingCheck), 'NX')
      .exec();
    if (tx === null) throw new SchemaVersionError('Could not initialise the schema marker (transaction aborted)');
    logger.info({ prefix: keys.prefix, schemaVersion: SCHEMA_VERSION }, 'initialised a new persistence keyspace');
    version = SCHEMA_VERSION;
  }

  for (let steps = 0; version !== SCHEMA_VERSION; steps++) {
    const migration = migrations.get(version);
    if (migration === undefined || steps > migrations.size) {
      throw new SchemaVersionError(`Stored schema version "${version.slice(0, 40)}" under prefix "${keys.prefix}" is not supported by this build (it reads ${SCHEMA_VERSION})`, {
        fix: 'run a kms-node version that supports this schema, point the node at another key prefix, or restore a backup of this data',
        details: { found: version.slice(0, 40), expected: SCHEMA_VERSION, prefix: keys.prefix },
      });
    }
    logger.warn({ from: migration.from, to: migration.to, prefix: keys.prefix }, `migrating persistence schema: ${migration.description}`);
    await migration.run({ client, keys, codec, logger });
    version = (await client.get(keys.schemaVersion)) ?? 'missing';
    if (version !== migration.to) {
      throw new SchemaVersionError(`Migration ${migration.from}→${migration.to} finished but the marker reads "${version.slice(0, 40)}"`);
    }
  }

  const check = await client.getBuffer(keys.sealingCheck);
  if (check === null) {
    // Written by a build before the sealing check existed; add it now.
    await client.set(keys.sealingCheck, codec.encodeSealingCheck(keys.sealingCheck), 'NX');
  } else if (!codec.openSealingCheck(keys.sealingCheck, check)) {
    throw new SealingKeyMismatchError(keys.sealingCheck);
  }
}
