import { Redis } from 'ioredis';
import type { Logger } from '../../logging/logger.js';
import { isKmsError } from '../../errors.js';
import {
  ActiveVersionDeleteError,
  ActiveVersionMissingError,
  CorruptRecordError,
  PersistenceClosedError,
  PersistenceConfigError,
  PersistenceUnavailableError,
} from '../errors.js';
import { DEFAULT_KEY_PREFIX, keySchema, type KeySchema } from '../keySchema.js';
import type { NodePersistence, SaveKeyShareOptions } from '../nodePersistence.js';
import { createRecordCodec, type RecordCodec } from '../records/codec.js';
import type { RecordSealer } from '../sealing.js';
import type { HealthFinding, KeyShareVersion, NodeState, PersistenceHealth, ProtocolSessionState } from '../types.js';
import { assertEpoch, assertKeyShareVersion, assertNodeState, assertProtocolSession } from '../validation.js';
import {
  assertDurable,
  evaluateDurability,
  readAofFacts,
  readServerVersion,
  supportsWaitAof,
  waitAof,
  type AofFacts,
  type DurabilityOption,
} from './durability.js';
import type { Migration } from './migrations.js';
import { ensureSchema } from './schema.js';
import { SAVE_KEY_SHARE, SAVE_NODE_STATE, SET_ACTIVE, WriteGate } from './writeGuard.js';

export interface RedisPersistenceOptions {
  readonly logger: Logger;
  readonly sealer: RecordSealer;
  readonly keyPrefix?: string;
  readonly durability?: DurabilityOption;
  /** Reported in health (e.g. 'embedded' | 'external'). */
  readonly mode?: string;
  /** WAITAOF timeout on Redis ≥ 7.2. */
  readonly waitAofTimeoutMs?: number;
  /** Extra health facts from the composition (embedded: data path, supervisor). */
  readonly extraHealth?: () => Promise<{ findings: readonly HealthFinding[]; dataPath?: PersistenceHealth['dataPath'] }>;
  /** Runs after the client is closed (embedded: stop the server). */
  readonly onClose?: () => Promise<void>;
  /** Overrides the migration registry (tests). */
  readonly migrations?: ReadonlyMap<string, Migration>;
}

// Lua keeps check-and-write atomic on the server: the active version can never be
// deleted (and, in writeGuard.ts, the pointer can never name a missing version).
const DELETE_VERSION = `if redis.call('GET', KEYS[2]) == ARGV[1] then return -1 end
redis.call('DEL', KEYS[1]) redis.call('ZREM', KEYS[3], ARGV[1]) return 1`;

const CANONICAL_INT = /^(0|[1-9]\d{0,15})$/;
const JOINED_MEMBERS = `local m = redis.call('ZRANGE', KEYS[1], 0, -1) return {#m, table.concat(m, ',')}`;
const QUIT_TIMEOUT_MS = 2000;


/** Records fetched per MGET when listing, and how many MGETs are in flight at once. */
const LIST_CHUNK = 512;
const LIST_AHEAD = 3;
/**
 * ioredis-mock, recognised by shape: not an ioredis Redis instance, a RedisMock
 * constructor, and no CONFIG answers. All three must hold, so a real server cannot
 * be put into the non-durable mock mode by mistake.
 */
async function isIoredisMock(client: Redis): Promise<boolean> {
  const candidate: unknown = client;
  if (candidate instanceof Redis) return false;
  if (!/RedisMock/.test((client as object).constructor.name)) return false;
  const reply = (await client.config('GET', 'appendonly'));
  return Array.isArray(reply) && reply.length === 0;
}

/** NodePersistence on Redis. Create with `RedisPersistence.open`, which verifies durability and schema first. */
export class RedisPersistence implements NodePersistence {
  readonly backend = 'redis' as const;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /**
   * Key versions, the active pointer and the node state are what the node must not
   * forget: they are only written while the server is durable (see writeGuard.ts).
   * Session snapshots are not gated; they are scratch data a restart deletes anyway.
   */
  private readonly gate: WriteGate;

  private constructor(
    private readonly client: Redis,
    private readonly keys: KeySchema,
    private readonly codec: RecordCodec,
    private readonly options: RedisPersistenceOptions,
    private readonly durable: boolean,
    private readonly useWaitAof: boolean,
  ) {
    const option = options.durability ?? 'always';
    this.gate = new WriteGate(client, { durable, option: option === 'none-mock' ? 'always' : option });
  }

  /**
   * Verifies the server (durability unless 'none-mock'), initialises or migrates the
   * schema, checks the sealing secret, and returns the ready backend. The client is
   * owned from here on: close() quits it. Refuses with DurabilityError,
   * SchemaVersionError or SealingKeyMismatchError; the client is quit on refusal.
   */
  static async open(client: Redis, options: RedisPersistenceOptions): Promise<RedisPersistence> {
    const log = options.logger;
    const durability = options.durability ?? 'always';
    const keys = keySchema(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    try {
      await client.ping();
      let useWaitAof = false;
      if (durability === 'none-mock') {
        if (!(await isIoredisMock(client))) {
          throw new PersistenceConfigError('durability "none-mock" is only accepted with an ioredis-mock client', {
            fix: 'remove the durability option (a real Redis server must run with appendonly yes, appendfsync always)',
          });
        }
        log.warn({ persistence: 'redis', durability }, 'MOCKED REDIS (ioredis-mock): nothing is written to disk; test use only');
      } else {
        const verdict = evaluateDurability(await readAofFacts(client), durability);
        assertDurable(verdict);
        for (const warning of verdict.warnings) log.warn({ persistence: 'redis' }, warning);
        useWaitAof = supportsWaitAof(await readServerVersion(client));
      }
      const codec = createRecordCodec(options.sealer);
      await ensureSchema({ client, keys, codec, logger: log, ...(options.migrations === undefined ? {} : { migrations: options.migrations }) });
      log.info({ prefix: keys.prefix, mode: options.mode ?? 'external', waitAof: useWaitAof }, 'redis persistence open');
      return new RedisPersistence(client, keys, codec, options, durability !== 'none-mock', useWaitAof);
    } catch (error) {
      client.disconnect();
      throw isKmsError(error) ? error : new PersistenceUnavailableError('open', error);
    }
  }

  saveKeyShareVersion(version: KeyShareVersion, options: SaveKeyShareOptions = {}): Promise<void> {
    return this.run('saveKeyShareVersion', async () => {
      await this.gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, () => {
        assertKeyShareVersion(version);
        const key = this.keys.keyShare(version.epoch);
        return {
          keys: [key, this.keys.keyShareIndex, this.keys.activeVersion],
          args: [this.codec.encodeKeyShare(key, version), String(version.epoch), options.activate === true ? '1' : '0'],
        };
      });
      return this.confirmOnDisk();
    });
  }

  loadKeyShareVersion(epoch: number): Promise<KeyShareVersion | null> {
    return this.run('loadKeyShareVersion', async () => {
      assertEpoch(epoch);
      const key = this.keys.keyShare(epoch);
      const raw = await this.client.getBuffer(key);
      return raw === null ? null : this.codec.decodeKeyShare(key, raw, epoch);
    });
  }

  listKeyShareVersions(): Promise<KeyShareVersion[]> {
    return this.run('listKeyShareVersions', async () => {
      const epochs = await this.indexed(this.keys.keyShareIndex);
      return this.loadAll(epochs, (e) => this.keys.keyShare(e), (key, raw, e) => this.codec.decodeKeyShare(key, raw, e));
    });
  }

  listKeyShareEpochs(): Promise<number[]> {
    return this.run('listKeyShareEpochs', () => this.indexed(this.keys.keyShareIndex));
  }

  deleteKeyShareVersion(epoch: number): Promise<void> {
    return this.run('deleteKeyShareVersion', async () => {
      assertEpoch(epoch);
      const result = await this.client.eval(DELETE_VERSION, 3, this.keys.keyShare(epoch), this.keys.activeVersion, this.keys.keyShareIndex, String(epoch));
      if (result === -1) throw new ActiveVersionDeleteError(epoch);
      await this.confirmOnDisk();
    });
  }

  setActiveVersionEpoch(epoch: number): Promise<void> {
    return this.run('setActiveVersionEpoch', async () => {
      const result = await this.gate.write('setActiveVersionEpoch', SET_ACTIVE, () => {
        assertEpoch(epoch);
        return { keys: [this.keys.keyShare(epoch), this.keys.activeVersion], args: [String(epoch)] };
      });
      if (result === 'precondition-failed') throw new ActiveVersionMissingError(epoch);
      await this.confirmOnDisk();
    });
  }

  getActiveVersionEpoch(): Promise<number | null> {
    return this.run('getActiveVersionEpoch', async () => {
      const raw = await this.client.get(this.keys.activeVersion);
      if (raw === null) return null;
      if (!CANONICAL_INT.test(raw) || !Number.isSafeInteger(Number(raw))) {
        throw new CorruptRecordError(this.keys.activeVersion, 'is not a decimal epoch');
      }
      return Number(raw);
    });
  }

  saveNodeState(state: NodeState): Promise<void> {
    return this.run('saveNodeState', async () => {
      await this.gate.write('saveNodeState', SAVE_NODE_STATE, () => {
        assertNodeState(state);
        return { keys: [this.keys.nodeState], args: [this.codec.encodeNodeState(this.keys.nodeState, state)] };
      });
      await this.confirmOnDisk();
    });
  }

  loadNodeState(): Promise<NodeState | null> {
    return this.run('loadNodeState', async () => {
      const raw = await this.client.getBuffer(this.keys.nodeState);
      return raw === null ? null : this.codec.decodeNodeState(this.keys.nodeState, raw);
    });
  }

  saveProtocolSession(session: ProtocolSessionState): Promise<void> {
    return this.run('saveProtocolSession', async () => {
      assertProtocolSession(session);
      const key = this.keys.session(session.sessionTimestamp);
      await this.exec(this.client.multi()
        .set(key, this.codec.encodeSession(key, session))
        .zadd(this.keys.sessionIndex, session.sessionTimestamp, String(session.sessionTimestamp)));
    });
  }

  loadProtocolSession(sessionTimestamp: number): Promise<ProtocolSessionState | null> {
    return this.run('loadProtocolSession', async () => {
      assertEpoch(sessionTimestamp, 'sessionTimestamp');
      const key = this.keys.session(sessionTimestamp);
      const raw = await this.client.getBuffer(key);
      return raw === null ? null : this.codec.decodeSession(key, raw, sessionTimestamp);
    });
  }

  deleteProtocolSession(sessionTimestamp: number): Promise<void> {
    return this.run('deleteProtocolSession', async () => {
      assertEpoch(sessionTimestamp, 'sessionTimestamp');
      await this.exec(this.client.multi()
        .del(this.keys.session(sessionTimestamp))
        .zrem(this.keys.sessionIndex, String(sessionTimestamp)));
    });
  }

  listProtocolSessions(): Promise<ProtocolSessionState[]> {
    return this.run('listProtocolSessions', async () => {
      const stamps = await this.indexed(this.keys.sessionIndex);
      return this.loadAll(stamps, (t) => this.keys.session(t), (key, raw, t) => this.codec.decodeSession(key, raw, t));
    });
  }

  healthCheck(): Promise<PersistenceHealth> {
    return this.run('healthCheck', async () => {
      const mode = this.options.mode ?? 'external';
      const findings: HealthFinding[] = [];
      let aof: AofFacts | undefined;
      try {
        await this.client.ping();
        findings.push({ check: 'reachable', ok: true, message: 'PING ok' });
        if (this.durable) {
          aof = await readAofFacts(this.client);
          const verdict = evaluateDurability(aof, this.options.durability === undefined || this.options.durability === 'none-mock' ? 'always' : this.options.durability);
          findings.push(...verdict.findings);
        } else {
          findings.push({ check: 'durability', ok: false, message: 'ioredis-mock: nothing is written to disk (test use only)' });
        }
      } catch (error) {
        findings.push({ check: 'reachable', ok: false, message: `Redis did not answer: ${error instanceof Error ? error.message.slice(0, 120) : 'unknown error'}` });
      }
      const extra = this.options.extraHealth === undefined ? undefined : await this.options.extraHealth();
      if (extra !== undefined) findings.push(...extra.findings);
      // The mock's missing durability is its configured nature, not a fault.
      const healthy = findings.every((f) => f.ok || (!this.durable && f.check === 'durability'));
      return {
        healthy,
        backend: 'redis',
        mode: this.durable ? mode : 'mock',
        findings,
        ...(aof === undefined ? {} : {
          aof: { enabled: aof.enabled, fsync: aof.fsync, lastWriteStatus: aof.lastWriteStatus, rewriteInProgress: aof.rewriteInProgress, sizeBytes: aof.sizeBytes },
        }),
        ...(extra?.dataPath === undefined ? {} : { dataPath: extra.dataPath }),
      };
    });
  }

  /** Waits for calls in flight, then quits the client; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    // QUIT lets the server flush replies; against a dead server it would wait for a
    // reconnect that may never come, so it gets a bounded time before a hard disconnect.
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => { timer = setTimeout(resolve, QUIT_TIMEOUT_MS); });
    await Promise.race([this.client.quit().catch(() => undefined), bounded]);
    clearTimeout(timer);
    this.client.disconnect();
    if (this.options.onClose !== undefined) await this.options.onClose();
  }

  /**
   * The members of an index, read as their count and one comma-joined string built by
   * Redis: a year of versions as a 52,560-element array reply cost ~100 ms of a cold
   * start in the reply parser, one string and a split a small part of that. The count
   * catches a member that itself holds a comma.
   */
  private async indexed(indexKey: string): Promise<number[]> {
    const reply = await this.client.eval(JOINED_MEMBERS, 1, indexKey) as [number, string];
    const [count, joined] = reply;
    const members = count === 0 ? [] : joined.split(',');
    if (members.length !== count) throw new CorruptRecordError(indexKey, `holds ${count} members that join into ${members.length} comma-separated parts (a member contains a comma)`);
    return members.map((member) => {
      if (!CANONICAL_INT.test(member)) throw new CorruptRecordError(indexKey, `holds a member that is not an integer ("${member.slice(0, 20)}")`);
      return Number(member);
    });
  }

  /**
   * MGET in chunks with LIST_AHEAD chunks in flight while one decodes: one MGET of a year
   * of versions was a ~300 MB reply held at once, and with a single chunk ahead the decoder
   * sat idle a fifth of the time waiting for Redis.
   */
  private async loadAll<T>(ids: readonly number[], keyOf: (id: number) => string, decode: (key: string, raw: Buffer, id: number) => T): Promise<T[]> {
    const out: T[] = [];
    const fetchChunk = (start: number): Promise<(Buffer | null)[]> =>
      this.client.mgetBuffer(...ids.slice(start, start + LIST_CHUNK).map(keyOf));
    const pending: Promise<(Buffer | null)[]>[] = [];
    let nextFetch = 0;
    const fill = (): void => {
      for (; pending.length < LIST_AHEAD && nextFetch < ids.length; nextFetch += LIST_CHUNK) pending.push(fetchChunk(nextFetch));
    };
    fill();
    try {
      for (let start = 0; pending.length > 0; start += LIST_CHUNK) {
        const raws = await (pending.shift() as Promise<(Buffer | null)[]>);
        fill();
        raws.forEach((raw, i) => {
          const id = ids[start + i] as number;
          const key = keyOf(id);
          // A dangling index entry means a record vanished: report it, never skip it.
          if (raw === null) throw new CorruptRecordError(key, 'is listed in the index but missing');
          out.push(decode(key, raw, id));
        });
      }
    } finally {
      // A failure leaves fetches in flight; their results (or errors) are not wanted.
      for (const fetch of pending) fetch.catch(() => undefined);
    }
    return out;
  }

  private async exec(tx: ReturnType<Redis['multi']>): Promise<void> {
    const results = await tx.exec();
    if (results === null) throw new PersistenceUnavailableError('exec', new Error('transaction aborted'));
    for (const [error] of results) if (error !== null) throw new PersistenceUnavailableError('exec', error);
    await this.confirmOnDisk();
  }

  /** Nothing to wait for (no promise) where the server has no WAITAOF: a durable write's path stays one await shorter. */
  private confirmOnDisk(): Promise<void> | undefined {
    return this.useWaitAof ? waitAof(this.client, this.options.waitAofTimeoutMs ?? 5000) : undefined;
  }

  /** Closed check, in-flight tracking, and mapping of non-KmsError failures to PersistenceUnavailableError. */
  private run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new PersistenceClosedError(operation));
    // Bodies are async functions, so they report failures by rejecting. One derived
    // promise per call: every durable write passes here.
    const promise = body().then(undefined, (error: unknown) => {
      throw isKmsError(error) ? error : new PersistenceUnavailableError(operation, error);
    });
    this.inFlight.add(promise);
    const settled = (): void => { this.inFlight.delete(promise); };
    void promise.then(settled, settled);
    return promise;
  }
}
