import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Who runs the redis-server of a data path. The hard exclusion is a kernel flock on
 * <dataPath>/redis.lock held by redis-server itself (started through `flock -F`), so no
 * two redis-servers can ever open one AOF. owner.json only explains a conflict: which
 * node started the live server, so we can tell "another node is running" (refuse) from
 * "an orphan of a node that died" (shut it down cleanly, then start our own).
 * Processes are identified by pid plus kernel start time, so a recycled pid (a node
 * restarted as PID 1 in a container) is not mistaken for the old owner.
 */
export const LOCK_FILE = 'redis.lock';
export const OWNER_FILE = 'owner.json';

export interface ProcessIdentity {
  readonly pid: number;
  /** /proc/<pid>/stat starttime (clock ticks since boot); null where /proc is absent. */
  readonly startTicks: number | null;
}

export interface OwnerRecord {
  readonly node: ProcessIdentity;
  readonly redis: ProcessIdentity;
  /** Unix milliseconds. */
  readonly startedAt: number;
}

export async function processStartTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

export async function identify(pid: number): Promise<ProcessIdentity> {
  return { pid, startTicks: await processStartTicks(pid) };
}

function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the identified process still exists (same pid and same start time). */
export async function isSameProcessAlive(who: ProcessIdentity): Promise<boolean> {
  if (!pidAlive(who.pid)) return false;
  if (who.startTicks === null) return true;
  return (await processStartTicks(who.pid)) === who.startTicks;
}

export async function isRedisServerProcess(pid: number): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('redis-server');
  } catch {
    return pidAlive(pid);
  }
}

export async function readOwner(dataPath: string): Promise<OwnerRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dataPath, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    if (typeof parsed.node?.pid !== 'number' || typeof parsed.redis?.pid !== 'number') return null;
    return parsed as OwnerRecord;
  } catch {
    return null;
  }
}

export async function writeOwner(dataPath: string, record: OwnerRecord): Promise<void> {
  const tmp = join(dataPath, `${OWNER_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(tmp, join(dataPath, OWNER_FILE));
}

/** Removes owner.json if it still names this redis pid (a successor may have replaced it). */
export async function removeOwner(dataPath: string, redisPid: number): Promise<void> {
  const current = await readOwner(dataPath);
  if (current?.redis.pid === redisPid) await rm(join(dataPath, OWNER_FILE), { force: true });
}
