import { Redis } from 'ioredis';
import { externalClientOptions } from '../../persistence/open.js';
import { socketPathFor } from '../../persistence/redis/embedded/redisConfig.js';
import { parseInfo, sendCommand, type RespReply } from '../../persistence/redis/embedded/respProbe.js';
import { AofPolicyError } from './errors.js';

/**
 * The controller's own line to Redis for what NodePersistence deliberately does not
 * offer: CONFIG SET of the AOF policy, and the server's run_id (which changes when the
 * server restarts). Embedded: one-shot RESP over the data path's unix socket. External:
 * a separate small ioredis client.
 */
export interface RedisAdmin {
  /** CONFIG GET one parameter; null when CONFIG is unavailable. */
  configGet(name: string): Promise<string | null>;
  configSet(name: string, value: string): Promise<void>;
  /** INFO section as fields. */
  info(section: string): Promise<Map<string, string>>;
  close(): Promise<void>;
}

function bulk(reply: RespReply | null, what: string): string {
  if (reply === null) throw new AofPolicyError(`${what}: no reply`);
  if (reply.kind === 'error') throw new AofPolicyError(`${what}: ${reply.value}`);
  if (reply.kind === 'bulk' || reply.kind === 'simple') return reply.value;
  throw new AofPolicyError(`${what}: unexpected ${reply.kind} reply`);
}

export function embeddedRedisAdmin(dataPath: string): RedisAdmin {
  const target = { path: socketPathFor(dataPath) };
  return {
    async configGet(name) {
      const reply = await sendCommand(target, ['CONFIG', 'GET', name]);
      if (reply?.kind !== 'array') return null;
      const value = reply.items[1];
      return value !== undefined && value.kind === 'bulk' ? value.value : null;
    },
    async configSet(name, value) {
      bulk(await sendCommand(target, ['CONFIG', 'SET', name, value]), `CONFIG SET ${name}`);
    },
    async info(section) {
      return parseInfo(bulk(await sendCommand(target, ['INFO', section]), `INFO ${section}`));
    },
    close: () => Promise.resolve(),
  };
}

/** The external Redis as the validated node configuration names it; the credentials go to the client, never to a message. */
export interface ExternalRedisTarget {
  readonly url: string;
  readonly db: number;
  readonly username: string | null;
  readonly password: string | null;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

export async function externalRedisAdmin(target: ExternalRedisTarget): Promise<RedisAdmin> {
  const options = await externalClientOptions({
    type: 'redis', mode: 'external', url: target.url, db: target.db,
    credentials: { username: target.username, password: target.password },
    connectTimeoutMs: target.connectTimeoutMs, commandTimeoutMs: target.commandTimeoutMs,
  }, {});
  const client = new Redis({ ...options, lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => { /* reported through the calls that fail */ });
  return {
    async configGet(name) {
      const reply = await client.call('CONFIG', 'GET', name);
      return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : null;
    },
    async configSet(name, value) {
      await client.call('CONFIG', 'SET', name, value);
    },
    async info(section) {
      return parseInfo(await client.info(section));
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
