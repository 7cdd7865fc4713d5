import { resolve } from 'node:path';
import type { ServerConfig } from '../config/serverConfig.js';
import type { Logger } from '../logging/logger.js';
import { EmbeddedRedisServer } from '../persistence/redis/embedded/embeddedRedisServer.js';

/** The embedded redis-server being started, and when its process runs. */
export interface EarlyRedis {
  readonly server: Promise<EmbeddedRedisServer>;
  /**
   * Settles once the redis-server process is spawned (true; the data path exists then),
   * or its start failed before that (false): from then on it starts and loads its AOF
   * on its own, whatever this process does.
   */
  readonly spawned: Promise<boolean>;
  /** The absolute data path. */
  readonly dataPath: string;
}

/**
 * Starts the embedded redis-server of a node configuration at once, so that its start
 * and AOF load (a separate process) overlap with loading the node's modules, the bulk of
 * a kms-server start; the caller waits for `spawned` before loading them (loading blocks
 * the event loop, and the spawn must not wait behind it). null for other persistence.
 * The options are those openPersistence would use (see persistenceConfigOf in
 * node/createNode.ts); createNode takes the server promise, awaits it where it would have
 * started the server, and stops the server if the chain checks refuse the configuration.
 * A failed start is reported there, not here.
 */
export function startEmbeddedRedisEarly(config: ServerConfig, logger: Logger): EarlyRedis | null {
  const p = config.persistence;
  if (p.type !== 'redis' || p.mode !== 'embedded') return null;
  let markSpawned: () => void = () => undefined;
  const spawned = new Promise<boolean>((resolve) => { markSpawned = () => { resolve(true); }; });
  const dataPath = resolve(p.dataPath);
  const server = EmbeddedRedisServer.start({
    dataPath,
    redisServerBinary: p.redisServerBinary,
    appendfsync: p.appendfsync,
    logger: logger.child({ module: 'persistence' }),
    onSpawned: () => { markSpawned(); },
  });
  // Handled where it is awaited; without this a failure while modules load would be an unhandled rejection.
  const settled = server.then(() => true, () => false);
  return { server, spawned: Promise.race([spawned, settled]), dataPath };
}
