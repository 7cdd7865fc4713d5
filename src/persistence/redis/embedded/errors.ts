import { KmsError, type KmsErrorOptions } from '../../../errors.js';

/**
 * Errors of the embedded redis-server supervisor. Each names the data path or binary
 * involved and the fix; none carries record contents (redis log lines quoted here are
 * about files and offsets, never values).
 */

export class RedisServerNotFoundError extends KmsError {
  readonly code = 'REDIS_SERVER_NOT_FOUND';
  constructor(binary: string, options: KmsErrorOptions = {}) {
    super(`redis-server not found: '${binary}' is not an executable file on this machine`, {
      fix: "install it with 'apt-get install redis-server' or set --redis-server-binary to its path",
      details: { binary },
      ...options,
    });
  }
}

export type AofDamage = 'truncated' | 'corrupt';

/**
 * The AOF in the data path cannot be loaded. Redis refused to start (we run it with
 * aof-load-truncated no), nothing was changed on disk, and nothing is fixed for the
 * operator: repairing drops the damaged tail, which is a decision for a human with a backup.
 */
export class RedisAofCorruptError extends KmsError {
  readonly code = 'REDIS_AOF_CORRUPT';
  readonly damage: AofDamage;
  constructor(dataPath: string, damage: AofDamage, redisReport: string) {
    const what = damage === 'truncated' ? 'ends in a truncated (partly written) command' : 'is corrupt in the middle';
    super(`the append-only file under ${dataPath}/appendonlydir ${what}; redis-server refused to load it and nothing was changed. Redis said: ${redisReport}`, {
      fix: `stop the node, back up ${dataPath} (cp -a), inspect with 'redis-check-aof ${dataPath}/appendonlydir/appendonly.aof.manifest' and only then repair with 'redis-check-aof --fix' on the copy you will use; every write after the damage point is lost by the repair`,
      details: { dataPath, damage, redisReport },
    });
    this.damage = damage;
  }
}

export class RedisStartFailedError extends KmsError {
  readonly code = 'REDIS_START_FAILED';
  constructor(dataPath: string, reason: string, logTail: string, options: KmsErrorOptions = {}) {
    super(`embedded redis-server for ${dataPath} failed to start: ${reason}`, {
      fix: 'read the redis-server output in details.logTail (the node log has all of it) and correct the cause',
      details: { dataPath, reason, logTail },
      ...options,
    });
  }
}

export class RedisStartTimeoutError extends KmsError {
  readonly code = 'REDIS_START_TIMEOUT';
  constructor(target: string, timeoutMs: number, lastState: string) {
    super(`redis-server at ${target} made no start-up progress for ${timeoutMs} ms (last state: ${lastState})`, {
      fix: 'read the redis-server output in the node log; raise the start timeout if the disk is slow',
      details: { target, timeoutMs, lastState },
    });
  }
}

/** Who holds a data path's lock, as far as it can be told; null where unknown. */
export interface LockHolder {
  /** The kms-node process that started the holding redis-server. */
  readonly nodePid: number | null;
  /** The redis-server process holding the lock. */
  readonly redisPid: number | null;
}

export class DataPathLockedError extends KmsError {
  readonly code = 'DATA_PATH_LOCKED';
  /**
   * `holder.nodePid` is never reported when it is this process: "stop the other node
   * process (pid <our own>)" would send the operator after the wrong process.
   */
  constructor(dataPath: string, what: string, holder: LockHolder) {
    const nodePid = holder.nodePid === process.pid ? null : holder.nodePid;
    const pids = [
      ...(nodePid === null ? [] : [`pid ${nodePid}`]),
      ...(holder.redisPid === null ? [] : [`redis-server pid ${holder.redisPid}`]),
    ];
    const lock = `${dataPath}/redis.lock`;
    const fix = nodePid !== null
      ? `stop the other node process (pid ${nodePid}) or point this node at a different data path`
      : holder.redisPid !== null
        ? `stop redis-server pid ${holder.redisPid}, which holds ${lock}, or point this node at a different data path`
        : `find the process holding ${lock} ('fuser -v ${lock}') and stop it, or point this node at a different data path`;
    super(`data path ${dataPath} is in use by ${what}${pids.length === 0 ? '' : ` (${pids.join(', ')})`}; two redis-servers on one AOF would corrupt it`, {
      fix,
      details: { dataPath, holderNodePid: nodePid, holderRedisPid: holder.redisPid },
    });
  }
}

/**
 * redis-server failed maxRestarts times in a row (died, or could not be started). The
 * supervisor has not stopped: it keeps retrying on its capped backoff and the node
 * recovers by itself once the cause is gone; this error is what status() reports meanwhile.
 */
export class RedisSupervisorGaveUpError extends KmsError {
  readonly code = 'REDIS_SUPERVISOR_GAVE_UP';
  constructor(dataPath: string, failures: number, retryEveryMs: number, lastFailure: string, options: KmsErrorOptions = {}) {
    super(`embedded redis-server for ${dataPath} failed ${failures} times in a row; quick restarts stopped, and it is retried at least every ${retryEveryMs / 1000} s until it starts. Last failure: ${lastFailure}`, {
      fix: 'read the redis-server output in the node log for why it fails (disk space, an immutable or unwritable AOF, memory, signals) and fix that; the node recovers by itself, no restart needed',
      details: { dataPath, failures, retryEveryMs, lastFailure },
      ...options,
    });
  }
}

export class RedisConfigRefusedError extends KmsError {
  readonly code = 'REDIS_CONFIG_REFUSED';
  constructor(key: string) {
    super(`redis setting '${key}' cannot be overridden: the embedded server's durability and isolation depend on it`, {
      fix: `remove '${key}' from the extra redis settings`,
      details: { key },
    });
  }
}

/** redis-server could not append to its AOF (disk full, I/O error) and exited, as it must under appendfsync always. */
export class RedisAofWriteFailedError extends KmsError {
  readonly code = 'REDIS_AOF_WRITE_FAILED';
  constructor(dataPath: string, redisReport: string) {
    super(`redis-server could not write the append-only file under ${dataPath} and exited; the writes in flight were not acknowledged. Redis said: ${redisReport}`, {
      fix: `free space on the volume of ${dataPath} (or repair its I/O errors); the supervisor restarts redis-server, which reloads the AOF`,
      details: { dataPath, redisReport },
    });
  }
}

/** redis-server exited while it was serving, for a reason other than an AOF write failure. */
export class RedisDiedError extends KmsError {
  readonly code = 'REDIS_DIED';
  constructor(dataPath: string, how: string, lastWarning: string | null) {
    super(`embedded redis-server for ${dataPath} exited unexpectedly (${how})${lastWarning === null ? '' : `: ${lastWarning}`}`, {
      fix: 'read the redis-server output in the node log; the supervisor restarts it within its budget',
      details: { dataPath, how, lastWarning },
    });
  }
}
