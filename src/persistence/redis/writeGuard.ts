import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DurabilityError, PersistenceUnavailableError } from '../errors.js';
import { assertDurableNow, evaluateFsyncPolicy, notDurableError, readFsyncPolicy, type DurabilityOption } from './durability.js';

/**
 * The gate in front of every write the node must not lose (a key version, the active
 * pointer, the node state), in two halves:
 * - before the write, CONFIG GET appendfsync: a Lua script cannot call CONFIG, so the
 *   fsync policy is read in its own round trip;
 * - in the write's own Lua script, INFO persistence: `aof_enabled:1` and
 *   `aof_last_write_status:ok` are checked atomically with the write, so no AOF switch-off
 *   or failed AOF write between check and write can slip through.
 * A refused write changes nothing. This replaces a full check (INFO + CONFIG) followed by
 * a MULTI: the same facts, fewer commands per write, and two of the three facts now
 * checked without a gap between check and write.
 */

/** Script replies: [WRITTEN] | [NOT_DURABLE, "<INFO field>:<value>"] | [PRECONDITION_FAILED]. */
const WRITTEN = 1;
const NOT_DURABLE = 0;
const PRECONDITION_FAILED = -1;

const GUARD = `local info = redis.call('INFO', 'persistence')
local enabled = string.match(info, 'aof_enabled:(%d+)')
if enabled ~= '1' then return {${NOT_DURABLE}, 'aof_enabled:' .. tostring(enabled)} end
local last = string.match(info, 'aof_last_write_status:(%a+)')
if last ~= 'ok' then return {${NOT_DURABLE}, 'aof_last_write_status:' .. tostring(last)} end
`;

/** A write script; `body` sees KEYS/ARGV and returns {WRITTEN} or {PRECONDITION_FAILED}. */
export interface WriteScript {
  readonly guarded: { readonly source: string; readonly sha: string };
  /** Without the INFO guard: only for ioredis-mock, which has no AOF to check. */
  readonly unguarded: { readonly source: string; readonly sha: string };
}

function compiled(source: string): { source: string; sha: string } {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

function writeScript(body: string): WriteScript {
  return { guarded: compiled(GUARD + body), unguarded: compiled(body) };
}

/** KEYS: record, index, active pointer. ARGV: record bytes, epoch, '1' to also activate. */
export const SAVE_KEY_SHARE = writeScript(`redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
if ARGV[3] == '1' then redis.call('SET', KEYS[3], ARGV[2]) end
return {${WRITTEN}}`);

/** KEYS: the version's record, active pointer. ARGV: epoch. The pointer never names a missing version. */
export const SET_ACTIVE = writeScript(`if redis.call('EXISTS', KEYS[1]) == 0 then return {${PRECONDITION_FAILED}} end
redis.call('SET', KEYS[2], ARGV[1])
return {${WRITTEN}}`);

/** KEYS: node state. ARGV: record bytes. */
export const SAVE_NODE_STATE = writeScript(`redis.call('SET', KEYS[1], ARGV[1])
return {${WRITTEN}}`);

export type GuardedWriteResult = 'written' | 'precondition-failed';

export interface WriteGuardOptions {
  /** false only for ioredis-mock (durability 'none-mock'): no gate at all. */
  readonly durable: boolean;
  readonly option: Exclude<DurabilityOption, 'none-mock'>;
}

async function evalScript(client: Redis, script: { source: string; sha: string }, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    // First use on this server (or after SCRIPT FLUSH / a restart): send the source once.
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script.source, keys.length, ...keys, ...args);
    throw error;
  }
}

/**
 * Runs `script` behind the gate. `prepare` (validation, encoding, sealing) runs while the
 * CONFIG read is in flight; the write is sent only when both are done and the policy holds.
 * @throws DurabilityError (PERSISTENCE_NOT_DURABLE) naming what failed; nothing was written
 */
export async function guardedWrite(
  client: Redis,
  guard: WriteGuardOptions,
  operation: string,
  script: WriteScript,
  prepare: () => { readonly keys: readonly string[]; readonly args: readonly (string | Buffer)[] },
): Promise<GuardedWriteResult> {
  const policy = guard.durable ? readFsyncPolicy(client) : null;
  let prepared: ReturnType<typeof prepare>;
  try {
    prepared = prepare();
  } catch (error) {
    policy?.catch(() => undefined);
    throw error;
  }
  if (policy !== null) {
    const verdict = evaluateFsyncPolicy(await policy, guard.option);
    if (!verdict.ok) throw notDurableError(operation, verdict);
  }
  const reply = await evalScript(client, guard.durable ? script.guarded : script.unguarded, prepared.keys, prepared.args);
  const [code, detail] = Array.isArray(reply) ? reply as unknown[] : [];
  if (code === WRITTEN) return 'written';
  if (code === PRECONDITION_FAILED) return 'precondition-failed';
  if (code === NOT_DURABLE) {
    // The full check names every failed fact with its fix; if the state changed back in
    // between, the script's own finding is the reason.
    await assertDurableNow(client, guard.option, operation);
    throw new DurabilityError(`Refusing ${operation}: Redis reported ${String(detail)} at the moment of the write; the write was not made`, {
      fix: 'check the Redis server\'s AOF (appendonly yes, a writable data directory) and its log',
      details: { operation, findings: String(detail) },
    });
  }
  throw new PersistenceUnavailableError(operation, new Error('unexpected reply from the write script'));
}
