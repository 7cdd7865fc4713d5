import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DurabilityError, PersistenceUnavailableError } from '../errors.js';
import { readConfigGeneration, type ConfigGeneration } from './configGeneration.js';
import { assertDurableNow, evaluateDurability, evaluateFsyncPolicy, notDurableError, readAofFacts, readFsyncPolicy, type DurabilityOption } from './durability.js';

/**
 * The gate in front of every write the node must not lose (a key version, the active
 * pointer, the node state). Each write is one Lua script that checks, atomically with the
 * write, what INFO can tell: `aof_enabled:1` and `aof_last_write_status:ok`. The fsync
 * policy only CONFIG can tell, and a script cannot call CONFIG, so:
 * - normally the script also checks the server's configuration generation
 *   (configGeneration.ts): the same server process, and no CONFIG SET since the policy
 *   was last read and judged. Any change makes the script refuse without writing; the
 *   gate then reads and judges everything again and retries. One round trip per write,
 *   with no gap between check and write for any of the three facts;
 * - where the generation cannot be tracked (CONFIG renamed, CONFIG RESETSTAT seen), the
 *   policy is read with CONFIG GET just before the script, in its own round trip.
 * A refused write changes nothing.
 */

/** Script replies: [WRITTEN] | [NOT_DURABLE, "<INFO field>:<value>"] | [PRECONDITION_FAILED] | [STALE_GENERATION]. */
const WRITTEN = 1;
const NOT_DURABLE = 0;
const PRECONDITION_FAILED = -1;
const STALE_GENERATION = 2;

/**
 * The normal path's guard, prepended to the body: the run_id and `config|set` call count
 * last judged are ARGV[#ARGV - 1] and ARGV[#ARGV]. One INFO call reads all three sections
 * (Redis >= 7.0, which configGeneration.ts requires), and each fact is a plain substring
 * search, anchored on the CR LF around INFO's lines; a pattern match runs only to name a
 * failed AOF fact. A server that never ran CONFIG SET lists no `config|set` line, or one
 * with calls=0 after a rejected attempt.
 */
const GENERATION_GUARD = `local info = redis.call('INFO', 'server', 'persistence', 'commandstats')
if not string.find(info, '\\nrun_id:' .. ARGV[#ARGV - 1] .. '\\r', 1, true) then return {${STALE_GENERATION}} end
local calls = ARGV[#ARGV]
if not string.find(info, 'cmdstat_config|set:calls=' .. calls .. ',', 1, true) and (calls ~= '0' or string.find(info, 'cmdstat_config|set:calls=', 1, true)) then return {${STALE_GENERATION}} end
if string.find(info, 'cmdstat_config|resetstat:', 1, true) then return {${STALE_GENERATION}} end
if not string.find(info, '\\naof_enabled:1\\r', 1, true) then return {${NOT_DURABLE}, 'aof_enabled:' .. tostring(string.match(info, 'aof_enabled:(%d+)'))} end
if not string.find(info, '\\naof_last_write_status:ok\\r', 1, true) then return {${NOT_DURABLE}, 'aof_last_write_status:' .. tostring(string.match(info, 'aof_last_write_status:(%a+)'))} end
`;

/** The fallback path's guard (any Redis version): INFO persistence only, after a CONFIG GET of the policy. */
const GUARD = `local info = redis.call('INFO', 'persistence')
local enabled = string.match(info, 'aof_enabled:(%d+)')
if enabled ~= '1' then return {${NOT_DURABLE}, 'aof_enabled:' .. tostring(enabled)} end
local last = string.match(info, 'aof_last_write_status:(%a+)')
if last ~= 'ok' then return {${NOT_DURABLE}, 'aof_last_write_status:' .. tostring(last)} end
`;

interface CompiledScript {
  readonly source: string;
  readonly sha: string;
}

/** A write script; `body` sees KEYS/ARGV and returns {WRITTEN} or {PRECONDITION_FAILED}. */
export interface WriteScript {
  /** Configuration generation + INFO guard: the normal path. */
  readonly generationGuarded: CompiledScript;
  /** INFO guard only, after a CONFIG GET of the fsync policy. */
  readonly guarded: CompiledScript;
  /** No guard: only for ioredis-mock, which has no AOF to check. */
  readonly unguarded: CompiledScript;
}

function compiled(source: string): CompiledScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

function writeScript(body: string): WriteScript {
  return { generationGuarded: compiled(GENERATION_GUARD + body), guarded: compiled(GUARD + body), unguarded: compiled(body) };
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

export interface PreparedWrite {
  readonly keys: readonly string[];
  readonly args: readonly (string | Buffer)[];
}

async function evalScript(client: Redis, script: CompiledScript, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    // First use on this server (or after SCRIPT FLUSH / a restart): send the source once.
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script.source, keys.length, ...keys, ...args);
    throw error;
  }
}

/** One gate per connection: it remembers the configuration generation it last judged. */
export class WriteGate {
  /** undefined: not judged yet; null: the generation cannot be tracked on this server. */
  #generation: ConfigGeneration | null | undefined;

  constructor(private readonly client: Redis, private readonly guard: WriteGuardOptions) {}

  /**
   * Runs `script` behind the gate; `prepare` (validation, encoding, sealing) runs first.
   * @throws DurabilityError (PERSISTENCE_NOT_DURABLE) naming what failed; nothing was written
   */
  async write(operation: string, script: WriteScript, prepare: () => PreparedWrite): Promise<GuardedWriteResult> {
    if (!this.guard.durable) {
      const prepared = prepare();
      return this.outcome(operation, await evalScript(this.client, script.unguarded, prepared.keys, prepared.args));
    }
    if (this.#generation === null) return this.writeAfterPolicyRead(operation, script, prepare);
    const prepared = prepare();
    // A change seen by the script is judged again and retried once; a server whose
    // configuration keeps changing is served by the slower path instead.
    for (let attempt = 0; attempt < 2; attempt++) {
      const generation: ConfigGeneration | null = this.#generation ?? await this.judge(operation);
      if (generation === null) break;
      const reply = await evalScript(this.client, script.generationGuarded, prepared.keys, [...prepared.args, generation.runId, generation.configSetCalls]);
      if (!isStale(reply)) return this.outcome(operation, reply);
      if (this.#generation === generation) this.#generation = undefined;
    }
    return this.writeAfterPolicyRead(operation, script, () => prepared);
  }

  /**
   * Reads the generation first, then every durability fact, in one pipeline: a CONFIG SET
   * landing between the two shows up as a newer generation than the one recorded, never
   * the reverse. Refuses when the facts fail.
   */
  private async judge(operation: string): Promise<ConfigGeneration | null> {
    const [generation, facts] = await Promise.all([readConfigGeneration(this.client), readAofFacts(this.client)]);
    const verdict = evaluateDurability(facts, this.guard.option);
    if (!verdict.ok) throw notDurableError(operation, verdict);
    // With CONFIG renamed, its calls may be counted under another name.
    this.#generation = facts.source === 'config' ? generation : null;
    return this.#generation;
  }

  /** The policy is read just before the write; `prepare` runs while that read is in flight. */
  private async writeAfterPolicyRead(operation: string, script: WriteScript, prepare: () => PreparedWrite): Promise<GuardedWriteResult> {
    const policy = readFsyncPolicy(this.client);
    let prepared: PreparedWrite;
    try {
      prepared = prepare();
    } catch (error) {
      policy.catch(() => undefined);
      throw error;
    }
    const verdict = evaluateFsyncPolicy(await policy, this.guard.option);
    if (!verdict.ok) throw notDurableError(operation, verdict);
    return this.outcome(operation, await evalScript(this.client, script.guarded, prepared.keys, prepared.args));
  }

  /** Success settles without another await: this is every durable write's path. */
  private outcome(operation: string, reply: unknown): GuardedWriteResult | Promise<GuardedWriteResult> {
    const code: unknown = Array.isArray(reply) ? reply[0] : undefined;
    if (code === WRITTEN) return 'written';
    if (code === PRECONDITION_FAILED) return 'precondition-failed';
    return this.refused(operation, reply);
  }

  private async refused(operation: string, reply: unknown): Promise<never> {
    const [code, detail] = Array.isArray(reply) ? reply as unknown[] : [];
    if (code === NOT_DURABLE) {
      this.#generation = undefined;
      // The full check names every failed fact with its fix; if the state changed back in
      // between, the script's own finding is the reason.
      await assertDurableNow(this.client, this.guard.option, operation);
      throw new DurabilityError(`Refusing ${operation}: Redis reported ${String(detail)} at the moment of the write; the write was not made`, {
        fix: 'check the Redis server\'s AOF (appendonly yes, a writable data directory) and its log',
        details: { operation, findings: String(detail) },
      });
    }
    throw new PersistenceUnavailableError(operation, new Error('unexpected reply from the write script'));
  }
}

function isStale(reply: unknown): boolean {
  return Array.isArray(reply) && reply[0] === STALE_GENERATION;
}
