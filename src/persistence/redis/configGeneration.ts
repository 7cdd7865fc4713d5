import type { Redis } from 'ioredis';
import { parseInfo, parseServerVersion } from './durability.js';

/**
 * Which configuration a Redis server runs, as far as a Lua script can tell: the server
 * process (`run_id`) and how many CONFIG SETs it has executed (`INFO commandstats`).
 * Every runtime change of the AOF policy is a CONFIG SET (also from MULTI, scripts or
 * modules: all are counted); a restart changes the run_id. CONFIG RESETSTAT zeroes the
 * count, so a server where it ran cannot be tracked this way. Nor can Redis before 7.0:
 * it counts every CONFIG subcommand under one `cmdstat_config` line (our own CONFIG GETs
 * included) and its INFO takes one section, where the write script asks for three.
 */
export interface ConfigGeneration {
  readonly runId: string;
  /** Decimal, as INFO prints it; compared as text by the write script. */
  readonly configSetCalls: string;
}

const CONFIG_SET_CALLS = /cmdstat_config\|set:calls=(\d+)/;
const RESETSTAT_SEEN = 'cmdstat_config|resetstat:';
/** Redis 7.0 counts subcommands apart (`cmdstat_config|set`) and takes several INFO sections. */
const FIRST_TRACKABLE_MAJOR = 7;

/** The generation from INFO server and INFO commandstats; null when it cannot be tracked. */
export function parseConfigGeneration(serverInfo: string, commandStats: string): ConfigGeneration | null {
  const server = parseInfo(serverInfo);
  const runId = server.get('run_id');
  const version = parseServerVersion(server);
  if (version === null || version[0] < FIRST_TRACKABLE_MAJOR) return null;
  if (runId === undefined || !/^[0-9a-f]{40}$/.test(runId) || commandStats.includes(RESETSTAT_SEEN)) return null;
  return { runId, configSetCalls: CONFIG_SET_CALLS.exec(commandStats)?.[1] ?? '0' };
}

export async function readConfigGeneration(client: Redis): Promise<ConfigGeneration | null> {
  const [serverInfo, commandStats] = await Promise.all([client.info('server'), client.info('commandstats')]);
  return parseConfigGeneration(serverInfo, commandStats);
}
