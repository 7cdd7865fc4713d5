import { redactConfig, type ServerConfig } from '../config/serverConfig.js';
import { describeError } from '../logging/describeError.js';
import type { Logger } from '../logging/logger.js';
import { createNode } from '../node/createNode.js';
import { StartupSettingError } from '../node/errors.js';
import type { KmsNode } from '../node/kmsNode.js';
import type { EmbeddedRedisServer } from '../persistence/redis/embedded/embeddedRedisServer.js';
import { EXIT_BAD_CONFIG, EXIT_FAILURE, stopOnSignal } from './signals.js';

/**
 * The composition root of the plain CLI mode: one node from one validated configuration.
 * `nameOption` says how a start-up setting problem names the option (flag and env var);
 * `embeddedServer` is the embedded redis-server kms-server started early, if it did;
 * `onRunning` is called once the node runs.
 */
export async function runNodeMode(
  config: ServerConfig,
  logger: Logger,
  nameOption: (option: string) => string,
  embeddedServer?: Promise<EmbeddedRedisServer>,
  onRunning?: () => void,
): Promise<number> {
  logger.info({ config: redactConfig(config) }, 'configuration');
  if (config.persistence.type === 'memory') {
    logger.warn('PERSISTENCE IS IN MEMORY: every key share is lost when this process exits. Use it for tests only; production nodes use --persistence-type redis.');
  }
  let node: KmsNode;
  try {
    node = await createNode(config, logger, embeddedServer);
    await node.start();
  } catch (error) {
    const summary = describeError(error);
    logger.fatal({ err: summary }, 'start-up failed');
    if (error instanceof StartupSettingError) {
      process.stderr.write(`kms-server: invalid configuration:\n  ${nameOption(error.option)}: ${summary.message}\n`);
      return EXIT_BAD_CONFIG;
    }
    process.stderr.write(`kms-server: start-up failed: ${summary.message}\n`);
    return EXIT_FAILURE;
  }
  onRunning?.();
  return stopOnSignal(() => node.stop(), logger);
}
