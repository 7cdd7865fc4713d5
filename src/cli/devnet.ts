#!/usr/bin/env node
/**
 * devnet: the one-command demo (`make demo`, `make demo-once`).
 *
 *   devnet [--once] [--nodes 4] [--dir .devnet/run-…] [--app-id demo-app] [--boundary-interval 10]
 *
 * Starts anvil, deploys the registry, registers and starts the nodes, and walks through
 * DKG, a reshare, an app key, encrypt/decrypt, a SIGKILL and a restored restart, one
 * line per step. With --once it exits 0 only when every step succeeded (and removes its
 * data dir), else 1 naming the failed step; without it, it keeps printing a line per new
 * key version until Ctrl-C. Exit 2 for bad flags.
 */
import { appIdProblem } from '../crypto/appId.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { REPO_ROOT } from '../devnet/cliEntry.js';
import { runDemo, watch } from '../devnet/demoScenario.js';
import { DemoStepError, Progress } from '../devnet/progress.js';

interface Flags {
  once?: boolean;
  nodes: string;
  dir?: string;
  appId: string;
  boundaryInterval: string;
}

function whole(raw: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}; got '${raw}'`);
  return Number(raw);
}

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('devnet')
    .description('Local kms-node network demo: DKG, reshare, app key, encrypt/decrypt, crash and restore')
    .addOption(new Option('--once', 'run the scripted steps, then stop; exit 0 only if every step succeeded'))
    .addOption(new Option('--nodes <n>', 'number of kms-server processes (4 or more; the demo kills one)').default('4'))
    .addOption(new Option('--dir <path>', 'data and logs directory (default .devnet/run-<time>)'))
    .addOption(new Option('--app-id <id>', 'app id for the app key and encryption').default('demo-app'))
    .addOption(new Option('--boundary-interval <blocks>', 'blocks (1 s each) between DKG/reshare boundaries').default('10'))
    .allowExcessArguments(false)
    .exitOverride();
  let flags: Flags;
  let nodes: number;
  let boundaryInterval: number;
  try {
    program.parse([...argv]);
    flags = program.opts<Flags>();
    nodes = whole(flags.nodes, '--nodes', 4, 10);
    boundaryInterval = whole(flags.boundaryInterval, '--boundary-interval', 5, 100);
    const appIdWrong = appIdProblem(flags.appId);
    if (appIdWrong !== null) throw new UsageError(`--app-id: ${appIdWrong}; got '${flags.appId}'`);
  } catch (error) {
    if (error instanceof CommanderError) return error.code === 'commander.helpDisplayed' ? 0 : 2;
    if (error instanceof UsageError) {
      process.stderr.write(`devnet: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const baseDir = flags.dir ?? join(REPO_ROOT, '.devnet', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const once = flags.once === true;
  const interrupted = new AbortController();
  const onSignal = (): void => {
    if (interrupted.signal.aborted) return;
    process.stdout.write('… stopping (Ctrl-C)\n');
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = new Progress(process.stdout);
  const started = Date.now();
  let result;
  try {
    result = await runDemo({ baseDir, nodes, appId: flags.appId, boundaryInterval, out: process.stdout, signal: interrupted.signal });
  } catch (error) {
    const step = error instanceof DemoStepError ? error.step : 'demo';
    const reason = error instanceof DemoStepError ? error.reason : error instanceof Error ? error.message : String(error);
    progress.fail(`demo failed at step "${step}": ${reason}`);
    progress.info(`data and logs kept in ${baseDir}`);
    return 1;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (once) {
    await result.devnet.stop();
    rmSync(baseDir, { recursive: true, force: true });
    progress.ok(`every step succeeded in ${seconds} s; network stopped, ${baseDir} removed`);
    return 0;
  }
  progress.ok(`every step succeeded in ${seconds} s`);
  progress.info(`nodes: ${result.devnet.nodeUrls().join(' ')}`);
  progress.info(`try: node_modules/.bin/tsx src/cli/kms-client.ts --nodes ${result.devnet.nodeUrls().join(',')} pubkey`);
  progress.wait('watching: one line per new key version; Ctrl-C stops everything');
  await watch(result.devnet, result.agreement, process.stdout, interrupted.signal);
  await result.devnet.stop();
  progress.ok(`network stopped; data and logs kept in ${baseDir}`);
  return 0;
}

main(process.argv).then(
  (code) => { process.exit(code); },
  (error: unknown) => {
    process.stderr.write(`devnet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
