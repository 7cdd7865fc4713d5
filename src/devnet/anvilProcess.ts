import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_CHAIN_ID, DEV_MNEMONIC } from './devAccounts.js';

export interface AnvilProcess {
  readonly rpcUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly output: () => string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; waits for exit. Idempotent. */
  stop(): Promise<void>;
}

export interface AnvilProcessOptions {
  /** Seconds between blocks (anvil --block-time); unset = a block per transaction. */
  readonly blockTime?: number;
  /** false = no mining until asked over RPC (anvil --no-mining); default true. */
  readonly automine?: boolean;
  /** Genesis timestamp (Unix seconds), for reproducible block timestamps. */
  readonly genesisTimestamp?: number;
  readonly accounts?: number;
  readonly startTimeoutMs?: number;
  /** Address to listen on (default 127.0.0.1); a test cluster's bridge address lets its pods reach the chain. */
  readonly host?: string;
}

/** The native anvil binary from @foundry-rs/anvil (so signals reach anvil itself), else the npm wrapper. */
export function anvilBinary(): string {
  const root = fileURLToPath(new URL('../../node_modules', import.meta.url));
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const native = join(root, '@foundry-rs', `anvil-${process.platform}-${arch}`, 'bin', 'anvil');
  try {
    accessSync(native, constants.X_OK);
    return native;
  } catch {
    return join(root, '.bin', 'anvil');
  }
}

function canSetpriv(): boolean {
  try {
    accessSync('/usr/bin/setpriv', constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts anvil on a free loopback port and resolves once it reports where it listens. */
export async function startAnvilProcess(options: AnvilProcessOptions = {}): Promise<AnvilProcess> {
  const host = options.host ?? '127.0.0.1';
  const args = ['--host', host, '--port', '0', '--chain-id', String(DEV_CHAIN_ID), '--mnemonic', DEV_MNEMONIC, '--accounts', String(options.accounts ?? 20)];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  if (options.automine === false) args.push('--no-mining');
  if (options.genesisTimestamp !== undefined) args.push('--timestamp', String(options.genesisTimestamp));
  // Under setpriv --pdeathsig a parent that dies (a killed test worker, a crashed demo)
  // takes anvil with it instead of leaving it running.
  const child: ChildProcess = canSetpriv()
    ? spawn('setpriv', ['--pdeathsig', 'SIGKILL', anvilBinary(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve(); }); });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`anvil did not report its port within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-64_000);
      const match = new RegExp(`Listening on ${host.replaceAll('.', '\\.')}:(\\d+)`).exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited (${code ?? signal ?? 'unknown'}) before listening; output:\n${output}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start anvil (${error.message}): run 'npm ci' to install @foundry-rs/anvil`));
    });
  });
  if (child.pid === undefined) throw new Error('spawned anvil has no pid');
  let stopped: Promise<void> | null = null;
  return {
    rpcUrl: `http://${host}:${port}`,
    port,
    pid: child.pid,
    output: () => output,
    exited,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
