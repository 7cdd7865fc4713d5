import type { Redis } from 'ioredis';
import { DurabilityError } from '../errors.js';
import type { HealthFinding, PersistenceHealth } from '../types.js';

/**
 * Reading and judging a Redis server's durability. A write acknowledged by the node
 * must survive a crash of the server, which takes `appendonly yes` with
 * `appendfsync always` and a healthy AOF; anything weaker is refused unless the
 * operator opted in explicitly.
 */

/**
 * - 'always': require appendonly yes + appendfsync always (the default).
 * - { allowEverysec: true }: also accept everysec (up to ~1 s of acknowledged writes can be lost), with a warning.
 * - { trustUnverifiedFsync: true }: where CONFIG is renamed/forbidden the fsync policy cannot be read; accept the
 *   AOF facts from INFO alone, with a warning.
 * - 'none-mock': only for an ioredis-mock client (no AOF at all); see RedisPersistence.
 */
export type DurabilityOption =
  | 'always'
  | { readonly allowEverysec?: boolean; readonly trustUnverifiedFsync?: boolean }
  | 'none-mock';

export type AofFacts = NonNullable<PersistenceHealth['aof']> & {
  /** Where appendonly/appendfsync were read: CONFIG GET, or INFO when CONFIG is unavailable. */
  readonly source: 'config' | 'info';
};

/** Parses INFO's `key:value` lines into a map (section headers and blanks dropped). */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon < 0) continue;
    out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

async function configGet(client: Redis, name: string): Promise<string | null> {
  try {
    const reply: unknown = await client.config('GET', name);
    if (Array.isArray(reply) && reply.length >= 2 && typeof reply[1] === 'string') return reply[1];
    return null;
  } catch (error) {
    // Renamed or ACL-forbidden CONFIG (the server's ERR / NOPERM reply): the caller falls
    // back to INFO persistence. A lost connection is not that, and must surface as such.
    if (error instanceof Error && /^(ERR|NOPERM)\b/.test(error.message)) return null;
    throw error;
  }
}

export async function readAofFacts(client: Redis): Promise<AofFacts> {
  // Sent together (one round trip).
  const [infoText, appendonly, fsyncSetting] = await Promise.all([
    client.info('persistence'), configGet(client, 'appendonly'), configGet(client, 'appendfsync'),
  ]);
  const policy = { appendonly, appendfsync: appendonly === null ? null : fsyncSetting };
  const info = parseInfo(infoText);
  const size = info.get('aof_current_size');
  return {
    enabled: policy.appendonly === null ? info.get('aof_enabled') === '1' : policy.appendonly === 'yes',
    fsync: policy.appendfsync ?? 'unknown',
    lastWriteStatus: info.get('aof_last_write_status') ?? 'unknown',
    rewriteInProgress: info.get('aof_rewrite_in_progress') === '1',
    sizeBytes: size === undefined || !/^\d+$/.test(size) ? null : Number(size),
    source: policy.appendonly === null ? 'info' : 'config',
  };
}

export interface DurabilityVerdict {
  readonly ok: boolean;
  readonly findings: readonly HealthFinding[];
  /** Accepted but weaker than the default; the caller logs these as warnings. */
  readonly warnings: readonly string[];
  /** When not ok: what is wrong and what to change, for the refusal message. */
  readonly problem: string | null;
}

interface Judgement {
  readonly finding: HealthFinding;
  /** What to change, when the finding fails. */
  readonly problem?: string;
  readonly warning?: string;
}

function judgeEnabled(enabled: boolean): Judgement {
  return enabled
    ? { finding: { check: 'aof-enabled', ok: true, message: 'appendonly yes' } }
    : { finding: { check: 'aof-enabled', ok: false, message: 'appendonly is no: writes are not logged' }, problem: 'set "appendonly yes" (CONFIG SET appendonly yes, and in redis.conf)' };
}

function judgeFsync(fsync: string, option: Exclude<DurabilityOption, 'none-mock'>): Judgement {
  const allowEverysec = option !== 'always' && option.allowEverysec === true;
  const trustUnverified = option !== 'always' && option.trustUnverifiedFsync === true;
  if (fsync === 'always') return { finding: { check: 'aof-fsync', ok: true, message: 'appendfsync always' } };
  if (fsync === 'everysec' && allowEverysec) {
    return {
      finding: { check: 'aof-fsync', ok: true, message: 'appendfsync everysec (explicitly allowed): up to ~1 s of acknowledged writes can be lost on a crash' },
      warning: 'appendfsync everysec accepted by configuration: up to ~1 s of acknowledged writes can be lost on a server crash',
    };
  }
  if (fsync === 'unknown' && trustUnverified) {
    return {
      finding: { check: 'aof-fsync', ok: true, message: 'appendfsync not readable (CONFIG unavailable); trusted by configuration' },
      warning: 'CONFIG GET is unavailable, so appendfsync cannot be verified; trusting the operator that it is "always"',
    };
  }
  if (fsync === 'unknown') {
    return {
      finding: { check: 'aof-fsync', ok: false, message: 'appendfsync cannot be read: CONFIG GET is renamed or forbidden' },
      problem: 'allow CONFIG GET for this Redis user so appendfsync can be verified, or, if you have checked it is "always", set durability { trustUnverifiedFsync: true }',
    };
  }
  return {
    finding: { check: 'aof-fsync', ok: false, message: `appendfsync ${fsync}: acknowledged writes can be lost on a crash` },
    problem: fsync === 'everysec'
      ? 'set "appendfsync always", or accept up to ~1 s of loss explicitly with durability { allowEverysec: true }'
      : 'set "appendfsync always" (CONFIG SET appendfsync always, and in redis.conf)',
  };
}

function judgeLastWrite(lastWriteStatus: string): Judgement {
  return lastWriteStatus === 'ok'
    ? { finding: { check: 'aof-last-write', ok: true, message: 'aof_last_write_status ok' } }
    : { finding: { check: 'aof-last-write', ok: false, message: `aof_last_write_status is ${lastWriteStatus}` }, problem: 'fix the AOF write failure on the Redis host (disk full or unwritable data directory) and check the Redis log' };
}

function verdictOf(judgements: readonly Judgement[]): DurabilityVerdict {
  const problems = judgements.flatMap((j) => (j.problem === undefined ? [] : [j.problem]));
  return {
    ok: problems.length === 0,
    findings: judgements.map((j) => j.finding),
    warnings: judgements.flatMap((j) => (j.warning === undefined ? [] : [j.warning])),
    problem: problems.length === 0 ? null : problems.join('; '),
  };
}

/** Judges AOF facts against the configured durability option (not for 'none-mock'). */
export function evaluateDurability(facts: AofFacts, option: Exclude<DurabilityOption, 'none-mock'>): DurabilityVerdict {
  return verdictOf([
    judgeEnabled(facts.enabled),
    judgeFsync(facts.fsync, option),
    // A failed write only matters, and is only reported, while the AOF is on.
    ...(facts.enabled ? [judgeLastWrite(facts.lastWriteStatus)] : []),
  ]);
}

/** Throws DurabilityError when the verdict refuses. */
export function assertDurable(verdict: DurabilityVerdict): void {
  if (verdict.problem !== null) {
    throw new DurabilityError('Refusing to use Redis: it does not guarantee that acknowledged writes survive a crash', {
      fix: verdict.problem,
    });
  }
}

/** appendfsync as CONFIG GET reports it; null where CONFIG is unavailable. */
export function readFsyncPolicy(client: Redis): Promise<string | null> {
  return configGet(client, 'appendfsync');
}

/**
 * Judges the one fact only CONFIG tells: the fsync policy. It is half of the gate in front
 * of every write the node must not lose; the other half (AOF on, last write ok) is checked
 * by the write's own script, atomically with the write (see writeGuard.ts).
 */
export function evaluateFsyncPolicy(appendfsync: string | null, option: Exclude<DurabilityOption, 'none-mock'>): DurabilityVerdict {
  return verdictOf([judgeFsync(appendfsync ?? 'unknown', option)]);
}

/** The refusal of a write the node must not lose, naming each failed finding. */
export function notDurableError(operation: string, verdict: DurabilityVerdict): DurabilityError {
  const failed = verdict.findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.message}`).join('; ');
  return new DurabilityError(`Refusing ${operation}: Redis is not durable right now (${failed}); the write was not made`, {
    fix: verdict.problem ?? 'restore appendonly yes with appendfsync always on the Redis server',
    details: { operation, findings: failed },
  });
}

/**
 * Asks the server for every durability fact and refuses unless all hold. Durability was
 * verified at open, but it can be weakened at runtime (CONFIG SET appendonly no, a failed
 * AOF write).
 * @throws DurabilityError (code PERSISTENCE_NOT_DURABLE) naming each failed finding
 */
export async function assertDurableNow(client: Redis, option: Exclude<DurabilityOption, 'none-mock'>, operation: string): Promise<void> {
  const verdict = evaluateDurability(await readAofFacts(client), option);
  if (!verdict.ok) throw notDurableError(operation, verdict);
}

export type ServerVersion = readonly [major: number, minor: number, patch: number];

/** [major, minor, patch] from INFO server's redis_version, or null when absent. */
export function parseServerVersion(serverInfo: Map<string, string>): ServerVersion | null {
  const version = serverInfo.get('redis_version');
  const match = version === undefined ? null : /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match === null ? null : [Number(match[1]), Number(match[2]), Number(match[3])];
}

export async function readServerVersion(client: Redis): Promise<ServerVersion | null> {
  return parseServerVersion(parseInfo(await client.info('server')));
}

/** WAITAOF exists from Redis 7.2. */
export function supportsWaitAof(version: ServerVersion | null): boolean {
  if (version === null) return false;
  const [major, minor] = version;
  return major > 7 || (major === 7 && minor >= 2);
}

/**
 * Blocks until this connection's writes are fsynced locally (WAITAOF 1 0 timeout) and
 * checks the local count: with appendfsync always this returns at once; with everysec
 * it is what turns "acknowledged" into "on disk".
 */
export async function waitAof(client: Redis, timeoutMs: number): Promise<void> {
  const reply = (await client.call('WAITAOF', '1', '0', String(timeoutMs)));
  const local = Array.isArray(reply) ? Number(reply[0]) : Number.NaN;
  if (!(local >= 1)) {
    throw new DurabilityError(`WAITAOF did not confirm the write reached the local AOF within ${timeoutMs} ms`, {
      fix: 'check the Redis host\'s disk (latency, space) and aof_last_write_status; the write may not be durable',
    });
  }
}
