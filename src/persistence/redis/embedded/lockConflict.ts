import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../logging/logger.js';
import { DataPathLockedError } from './errors.js';
import { isRedisServerProcess, isSameProcessAlive, readOwner } from './ownership.js';
import { parseInfo, sendCommand } from './respProbe.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

/** The pid of the redis-server answering on the socket, or null when none answers. */
export async function socketServerPid(socketPath: string): Promise<number | null> {
  const info = await sendCommand({ path: socketPath }, ['INFO', 'server'], { timeoutMs: 1_000 }).catch(() => null);
  const pid = info?.kind === 'bulk' ? Number(parseInfo(info.value).get('process_id')) : Number.NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * The data path's lock is held by a redis-server we did not just start. Refuses when
 * its owner node is alive or it cannot be attributed (owner.json missing or stale);
 * shuts it down when it is the orphan of a node that died, or a server an earlier
 * instance in this same process never stopped. Errors name the holder as far as it is
 * known, and never this process as "the other node".
 * @throws DataPathLockedError
 */
export async function resolveLockConflict(dataPath: string, socketPath: string, logger: Logger): Promise<void> {
  const owner = await readOwner(dataPath);
  if (owner === null || !(await isSameProcessAlive(owner.redis)) || !(await isRedisServerProcess(owner.redis.pid))) {
    throw new DataPathLockedError(dataPath, 'a redis-server this node cannot attribute (no matching owner.json)', {
      nodePid: null,
      redisPid: await socketServerPid(socketPath),
    });
  }
  if (await isSameProcessAlive(owner.node)) {
    if (owner.node.pid !== process.pid) {
      throw new DataPathLockedError(dataPath, 'another kms-node process', { nodePid: owner.node.pid, redisPid: owner.redis.pid });
    }
    logger.warn({ pid: owner.redis.pid }, 'taking over an earlier embedded redis-server of this process that was never stopped');
  }
  logger.warn({ orphanPid: owner.redis.pid, deadNodePid: owner.node.pid }, 'orphaned redis-server holds the data path; shutting it down');
  await sendCommand({ path: socketPath }, ['SHUTDOWN'], { expectClose: true, timeoutMs: SHUTDOWN_TIMEOUT_MS }).catch(() => null);
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
  while (await isSameProcessAlive(owner.redis)) {
    if (Date.now() > deadline) {
      throw new DataPathLockedError(dataPath, 'an orphaned redis-server that did not shut down', { nodePid: null, redisPid: owner.redis.pid });
    }
    await sleep(50);
  }
}
