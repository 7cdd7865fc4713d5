import { join } from 'node:path';
import { RedisConfigRefusedError } from './errors.js';

/**
 * The redis.conf the node writes into its data path. Everything that matters for
 * durability is stated here, never left to a distribution default:
 * - appendonly yes + appendfsync always: a write is acknowledged only after fsync;
 * - save "": no RDB snapshots (the AOF is the one source of truth, no second copy to leak);
 * - aof-load-truncated no: Redis' default silently drops a half-written tail; our rule is
 *   "broken data is reported, never skipped", so Redis must refuse to start and the
 *   supervisor reports it (see startFailure.ts);
 * - aof-use-rdb-preamble yes: the base file after a rewrite is RDB, which carries a CRC64
 *   (so base corruption is detected) and loads in about half the time of replaying the
 *   same data as commands;
 * - auto-aof-rewrite-min-size 4mb, auto-aof-rewrite-percentage 10: Redis rewrites the AOF
 *   in the background once the command log grows past 10% of the base (and past 4 MB,
 *   ~7,000 versions), so a start loads an RDB base plus a short tail. Redis' default
 *   (64 MB) never rewrote a node's AOF: a year of versions (52,560, ~30 MB) was replayed
 *   command by command on every start. A rewrite writes a new base and switches the
 *   manifest atomically (multi-part AOF, Redis 7); writes meanwhile go to a new
 *   increment file, fsynced as always, so it never weakens durability;
 * - port 0 + a 0700 unix socket inside the data path: nothing listens on the network;
 * - maxmemory-policy noeviction: eviction would silently delete key shares.
 */
export interface RedisConfigInput {
  readonly dataPath: string;
  readonly appendfsync: 'always' | 'everysec';
  /** Further settings (tuning, test hooks such as key-load-delay); durability keys are refused. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Settings the node owns: overriding any of them would break durability or isolation. */
const PROTECTED_KEYS: ReadonlySet<string> = new Set([
  'port', 'bind', 'unixsocket', 'unixsocketperm', 'protected-mode', 'daemonize', 'supervised', 'logfile', 'dir',
  'appendonly', 'appendfsync', 'appendfilename', 'appenddirname', 'aof-load-truncated', 'aof-use-rdb-preamble',
  'no-appendfsync-on-rewrite', 'save', 'maxmemory-policy', 'databases', 'include', 'rename-command', 'pidfile',
]);

export const REDIS_CONF_FILE = 'redis.conf';
export const REDIS_SOCKET_FILE = 'redis.sock';
export const AOF_DIR_NAME = 'appendonlydir';
/** Linux sun_path is 108 bytes including the NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Quotes a value for redis.conf (double quotes, backslash escapes). */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function socketPathFor(dataPath: string): string {
  return join(dataPath, REDIS_SOCKET_FILE);
}

/** @throws RedisConfigRefusedError when `extra` names a setting the node owns */
export function renderRedisConfig(input: RedisConfigInput): string {
  const extra = Object.entries(input.extra ?? {}).map(([key, value]): [string, string] => {
    const name = key.toLowerCase();
    if (PROTECTED_KEYS.has(name) || !/^[a-z0-9-]+$/.test(name)) throw new RedisConfigRefusedError(key);
    return [name, quote(value)];
  });
  const lines: [string, string][] = [
    ['port', '0'],
    ['unixsocket', quote(socketPathFor(input.dataPath))],
    ['unixsocketperm', '700'],
    ['protected-mode', 'yes'],
    ['daemonize', 'no'],
    ['supervised', 'no'],
    ['logfile', '""'],
    ['dir', quote(input.dataPath)],
    ['appendonly', 'yes'],
    ['appendfsync', input.appendfsync],
    ['appendfilename', '"appendonly.aof"'],
    ['appenddirname', quote(AOF_DIR_NAME)],
    ['aof-load-truncated', 'no'],
    ['aof-use-rdb-preamble', 'yes'],
    ['no-appendfsync-on-rewrite', 'no'],
    ['auto-aof-rewrite-min-size', '4mb'],
    ['auto-aof-rewrite-percentage', '10'],
    ['save', '""'],
    ['maxmemory-policy', 'noeviction'],
    ['databases', '1'],
    ...extra,
  ];
  return `# Written by kms-node on every start; edits are overwritten.\n${lines.map(([k, v]) => `${k} ${v}`).join('\n')}\n`;
}
