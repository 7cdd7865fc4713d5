import { resolve } from 'node:path';
import type { ServerConfig } from '../config/serverConfig.js';
import type { Logger } from '../logging/logger.js';
import { EmbeddedRedisServer } from '../persistence/redis/embedded/embeddedRedisServer.js';

/**
 * Starts the embedded redis-server of a node configuration at once, so that its start
 * and AOF load (a separate process) overlap with loading the node's modules, the bulk of
 * a kms-server start. null for other persistence. The options are those openPersistence
 * would use (see persistenceConfigOf in node/createNode.ts); createNode takes the promise,
 * awaits it where it would have started the server, and stops the server if the chain
 * checks refuse the configuration. A failed start is reported there, not here.
 */
export function startEmbeddedRedisEarly(config: ServerConfig, logger: Logger): Promise<EmbeddedRedisServer> | null {
  const p = config.persistence;
  if (p.type !== 'redis' || p.mode !== 'embedded') return null;
  const started = EmbeddedRedisServer.start({
    dataPath: resolve(p.dataPath),
    redisServerBinary: p.redisServerBinary,
    appendfsync: p.appendfsync,
    logger: logger.child({ module: 'persistence' }),
  });
  // Handled where it is awaited; without this a failure while modules load would be an unhandled rejection.
  void started.catch(() => undefined);
  return started;
}
