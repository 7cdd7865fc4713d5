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
  } catch {
    // Renamed or ACL-forbidden CONFIG: the caller falls back to INFO persistence.
    return null;
  }
}

export async function readAofFacts(client: Redis): Promise<AofFacts> {
  // Sent together (one round trip): this runs before every write the node must not lose.
  const [infoText, appendonly, fsyncSetting] = await Promise.all([
    client.info('persistence'), configGet(client, 'appendonly'), configGet(client, 'appendfsync'),
  ]);
  const info = parseInfo(infoText);
  const appendfsync = appendonly === null ? null : fsyncSetting;
  const size = info.get('aof_current_size');
  return {
    enabled: appendonly === null ? info.get('aof_enabled') === '1' : appendonly === 'yes',
    fsync: appendfsync ?? 'unknown',
    lastWriteStatus: info.get('aof_last_write_status') ?? 'unknown',
    rewriteInProgress: info.get('aof_rewrite_in_progress') === '1',
    sizeBytes: size === undefined || !/^\d+$/.test(size) ? null : Number(size),
    source: appendonly === null ? 'info' : 'config',
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

/** Judges AOF facts against the configured durability option (not for 'none-mock'). */
export function evaluateDurability(facts: AofFacts, option: Exclude<DurabilityOption, 'none-mock'>): DurabilityVerdict {
  const allowEverysec = option !== 'always' && option.allowEverysec === true;
  const trustUnverified = option !== 'always' && option.trustUnverifiedFsync === true;
  const findings: HealthFinding[] = [];
  const warnings: string[] = [];
  const problems: string[] = [];

  if (facts.enabled) {
    findings.push({ check: 'aof-enabled', ok: true, message: 'appendonly yes' });
  } else {
    findings.push({ check: 'aof-enabled', ok: false, message: 'appendonly is no: writes are not logged' });
    problems.push('set "appendonly yes" (CONFIG SET appendonly yes, and in redis.conf)');
  }

  if (facts.fsync === 'always') {
    findings.push({ check: 'aof-fsync', ok: true, message: 'appendfsync always' });
  } else if (facts.fsync === 'everysec' && allowEverysec) {
    findings.push({ check: 'aof-fsync', ok: true, message: 'appendfsync everysec (explicitly allowed): up to ~1 s of acknowledged writes can be lost on a crash' });
    warnings.push('appendfsync everysec accepted by configuration: up to ~1 s of acknowledged writes can be lost on a server crash');
  } else if (facts.fsync === 'unknown' && trustUnverified) {
    findings.push({ check: 'aof-fsync', ok: true, message: 'appendfsync not readable (CONFIG unavailable); trusted by configuration' });
    warnings.push('CONFIG GET is unavailable, so appendfsync cannot be verified; trusting the operator that it is "always"');
  } else if (facts.fsync === 'unknown') {
    findings.push({ check: 'aof-fsync', ok: false, message: 'appendfsync cannot be read: CONFIG GET is renamed or forbidden' });
    problems.push('allow CONFIG GET for this Redis user so appendfsync can be verified, or, if you have checked it is "always", set durability { trustUnverifiedFsync: true }');
  } else {
    findings.push({ check: 'aof-fsync', ok: false, message: `appendfsync ${facts.fsync}: acknowledged writes can be lost on a crash` });
    problems.push(facts.fsync === 'everysec'
      ? 'set "appendfsync always", or accept up to ~1 s of loss explicitly with durability { allowEverysec: true }'
      : 'set "appendfsync always" (CONFIG SET appendfsync always, and in redis.conf)');
  }

  if (facts.enabled && facts.lastWriteStatus !== 'ok') {
    findings.push({ check: 'aof-last-write', ok: false, message: `aof_last_write_status is ${facts.lastWriteStatus}` });
    problems.push('fix the AOF write failure on the Redis host (disk full or unwritable data directory) and check the Redis log');
  } else if (facts.enabled) {
    findings.push({ check: 'aof-last-write', ok: true, message: 'aof_last_write_status ok' });
  }

  return { ok: problems.length === 0, findings, warnings, problem: problems.length === 0 ? null : problems.join('; ') };
}

/** Throws DurabilityError when the verdict refuses. */
export function assertDurable(verdict: DurabilityVerdict): void {
  if (verdict.problem !== null) {
    throw new DurabilityError('Refusing to use Redis: it does not guarantee that acknowledged writes survive a crash', {
      fix: verdict.problem,
    });
  }
}

/**
 * The gate in front of every write the node must not lose (a key version, the active
 * pointer, the node state). Durability was verified at open, but it can be weakened at
 * runtime (CONFIG SET appendonly no, a failed AOF write): such a write would land in
 * memory only and be acknowledged all the same. So the server is asked again, and the
 * write is refused with the findings that failed.
 * @throws DurabilityError (code PERSISTENCE_NOT_DURABLE) naming each failed finding
 */
export async function assertDurableNow(client: Redis, option: Exclude<DurabilityOption, 'none-mock'>, operation: string): Promise<void> {
  const verdict = evaluateDurability(await readAofFacts(client), option);
  if (verdict.ok) return;
  const failed = verdict.findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.message}`).join('; ');
  throw new DurabilityError(`Refusing ${operation}: Redis is not durable right now (${failed}); the write was not made`, {
    fix: verdict.problem ?? 'restore appendonly yes with appendfsync always on the Redis server',
    details: { operation, findings: failed },
  });
}

/** [major, minor, patch] from INFO server's redis_version, or null when absent. */
export async function readServerVersion(client: Redis): Promise<readonly [number, number, number] | null> {
  const version = parseInfo(await client.info('server')).get('redis_version');
  const match = version === undefined ? null : /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match === null ? null : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** WAITAOF exists from Redis 7.2. */
export function supportsWaitAof(version: readonly [number, number, number] | null): boolean {
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
