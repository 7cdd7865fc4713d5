#!/usr/bin/env node
import { readFileSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EXIT_BAD_CONFIG, EXIT_FAILURE } from '../app/signals.js';
import { isControllerMode, parseControllerModeConfig } from '../config/controllerModeConfig.js';
import { ConfigError } from '../config/errors.js';
import { SERVER_OPTIONS, envName, flagName } from '../config/options.js';
import { parseServerConfig, type ConfigSources } from '../config/parseServerConfig.js';
import { describeError } from '../logging/describeError.js';

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

function fileMode(path: string): number | null {
  try {
    return statSync(path).mode;
  } catch {
    return null;
  }
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
  const sources: ConfigSources = { flags: rawFlags(command), env: process.env, readFile: (path) => readFileSync(path, 'utf8'), fileMode };
  // Each mode's modules are loaded only once it is chosen: loading is most of a start.
  if (isControllerMode(sources)) {
    const config = validated(() => parseControllerModeConfig(sources));
    if (config === null) return EXIT_BAD_CONFIG;
    const { runControllerMode } = await import('../app/controllerMode.js');
    return runControllerMode(config);
  }
  const config = validated(() => parseServerConfig(sources));
  if (config === null) return EXIT_BAD_CONFIG;
  const { loadNodeStart } = await import('../app/loadNodeStart.js');
  const { startNode, options } = await loadNodeStart(config);
  return startNode(config, { ...options, nameOption: (option) => `${flagName({ name: option })} (env ${envName({ name: option })})` });
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

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`kms-server: ${describeError(error).message}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
