#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError } from '../config/errors.js';
import { SERVER_OPTIONS, envName } from '../config/options.js';
import { isControllerMode, parseControllerModeConfig, parseServerConfig, type ConfigSources } from '../config/parseServerConfig.js';
import { redactConfig } from '../config/serverConfig.js';
import { isKmsError } from '../errors.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createNode } from '../node/createNode.js';
import type { KmsNode } from '../node/kmsNode.js';
import { KmsNodeRuntime } from '../node/kmsNodeRuntime.js';

/** Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration. */
const EXIT_FAILURE = 1;
const EXIT_BAD_CONFIG = 2;

function buildCommand(): Command {
  const command = new Command('kms-server')
    .description('A threshold KMS node: DKG and reshare at chain boundaries, key shares kept in Redis with an fsync-always AOF')
    .allowExcessArguments(false)
    .showHelpAfterError(false);
  for (const spec of SERVER_OPTIONS) {
    if ('envOnly' in spec) continue;
    const flag = 'isSwitch' in spec ? `--${spec.name}` : `--${spec.name} <value>`;
    const description = `${spec.description} [env ${envName(spec)}]${'defaultValue' in spec ? ` (default: ${spec.defaultValue})` : ''}`;
    command.addOption(new Option(flag, description));
  }
  return command;
}

/** Commander's camelCase option values back to the table's flag names, as strings. */
function rawFlags(command: Command): Record<string, string> {
  const values = command.opts<Record<string, string | boolean | undefined>>();
  const flags: Record<string, string> = {};
  for (const spec of SERVER_OPTIONS) {
    const key = spec.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const value = values[key];
    if (value !== undefined) flags[spec.name] = String(value);
  }
  return flags;
}

async function main(argv: readonly string[]): Promise<number> {
  const command = buildCommand();
  command.exitOverride();
  try {
    command.parse(argv);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : EXIT_BAD_CONFIG;
  }

  const sources: ConfigSources = { flags: rawFlags(command), env: process.env, readFile: (path) => readFileSync(path, 'utf8') };
  if (isControllerMode(sources)) return runControllerMode(sources);
  const config = validated(() => parseServerConfig(sources));
  if (config === null) return EXIT_BAD_CONFIG;

  const logger = createLogger({ level: config.logLevel });
  logger.info({ config: redactConfig(config) }, 'configuration');
  if (config.persistence.type === 'memory') {
    logger.warn('PERSISTENCE IS IN MEMORY: every key share is lost when this process exits. Use it for tests only; production nodes use --persistence-type redis.');
  }

  let node: KmsNode;
  try {
    node = await createNode(config, logger);
    await node.start();
  } catch (error) {
    logger.fatal({ err: describe(error) }, 'start-up failed');
    process.stderr.write(`kms-server: start-up failed: ${describe(error).message}\n`);
    return EXIT_FAILURE;
  }
  return waitForSignal(() => node.stop(), logger);
}

/**
 * The in-pod mode: the KmsNode resource configures the node. The controller starts,
 * reconfigures and stops the node runtime; kms-server only supplies the process-level
 * settings (listen host, log level, redis-server binary, chain timing overrides).
 */
async function runControllerMode(sources: ConfigSources): Promise<number> {
  const config = validated(() => parseControllerModeConfig(sources));
  if (config === null) return EXIT_BAD_CONFIG;
  const logger = createLogger({ level: config.logLevel });
  // Loaded lazily: the Kubernetes client is needed only in this mode.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { startKmsNodeController } = await import('../controller/index.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const runtime = new KmsNodeRuntime(config, logger);
  const controller = startKmsNodeController({
    kubeConfig, namespace: config.namespace, name: config.kmsNodeName, runtime, logger, resyncPeriodMs: config.resyncPeriodMs,
  });
  logger.info({ kmsnode: `${config.namespace}/${config.kmsNodeName}`, resyncPeriodMs: config.resyncPeriodMs }, 'controller started; the KmsNode resource configures this node');
  return waitForSignal(async () => {
    await controller.stop();
    await runtime.stop();
  }, logger);
}

/** The parsed configuration, or null after printing every problem of a bad one. */
function validated<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`kms-server: ${error.message}\n`);
    return null;
  }
}

function waitForSignal(stop: () => Promise<void>, logger: Logger): Promise<number> {
  return new Promise((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        resolveExit(EXIT_FAILURE);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'stopping: no new work, ending the current round, closing persistence');
      stop().then(
        () => { resolveExit(0); },
        (error: unknown) => {
          logger.error({ err: describe(error) }, 'stop failed');
          resolveExit(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function describe(error: unknown): { code: string; message: string } {
  if (isKmsError(error)) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`kms-server: ${describe(error).message}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
