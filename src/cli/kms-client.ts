#!/usr/bin/env node
/**
 * kms-client: the KMS client library on the command line.
 *
 *   kms-client --nodes http://a:8000,http://b:8000,http://c:8000 pubkey [--json]
 *   kms-client --registry-address 0x… --rpc-url http://… app-key <appId> [--attestation-time N] [--json]
 *   kms-client … encrypt <appId> [--in file|-] [--out file|-]
 *   kms-client … decrypt <appId> [--in file|-] [--out file|-] [--attestation-time N]
 *
 * Exit codes: 0 success, 1 failure (nodes, crypto, I/O), 2 usage error. Data goes to
 * stdout (binary-safe), everything else to stderr. `app-key` prints the app key: that
 * is its purpose; `--json` adds how it was verified.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { g1ToHex } from '../crypto/index.js';
import { isKmsError } from '../errors.js';
import { assertAppId, assertAttestationTime, createKmsClient, DEFAULT_CLIENT_TIMEOUT_MS, type KmsClient } from '../client/index.js';
import { isMainModule } from './isMainModule.js';

/** Where the CLI reads and writes; process streams in production, buffers in tests. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A flag or argument problem: exit 2 with the message and a pointer to --help. */
class UsageError extends Error {}

interface GlobalOptions {
  nodes?: string;
  registryAddress?: string;
  rpcUrl?: string;
  timeoutMs?: string;
}

function positiveInt(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
    throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  }
  return Number(raw);
}

function attestationTime(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--attestation-time must be Unix seconds (a non-negative integer), got "${raw}"`);
  try {
    return assertAttestationTime(Number(raw));
  } catch {
    throw new UsageError(`--attestation-time is out of range: "${raw}"`);
  }
}

function appIdArg(raw: string): string {
  try {
    return assertAppId(raw);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('. Fix:')[0] ?? 'invalid app id' : 'invalid app id');
  }
}

/** Builds the client from the global options; every problem here is a usage error. */
async function clientFrom(options: GlobalOptions): Promise<KmsClient> {
  const timeoutMs = positiveInt(options.timeoutMs, '--timeout-ms', DEFAULT_CLIENT_TIMEOUT_MS);
  const hasNodes = options.nodes !== undefined && options.nodes.trim() !== '';
  const hasRegistry = options.registryAddress !== undefined && options.registryAddress.trim() !== '';
  if (hasNodes === hasRegistry) {
    throw new UsageError(
      hasNodes
        ? 'give either --nodes or --registry-address, not both'
        : 'say which nodes to ask: --nodes http://a:8000,http://b:8000,… (or KMS_CLIENT_NODES), or --registry-address with --rpc-url',
    );
  }
  try {
    if (hasNodes) {
      const urls = (options.nodes ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
      return createKmsClient({ nodes: urls, timeoutMs });
    }
    const registryAddress = (options.registryAddress ?? '').trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(registryAddress)) throw new UsageError(`--registry-address must be a 0x-prefixed 20-byte address, got "${registryAddress}"`);
    if (options.rpcUrl === undefined || options.rpcUrl.trim() === '') throw new UsageError('--registry-address needs --rpc-url (or KMS_CLIENT_RPC_URL)');
    const rpcUrl = options.rpcUrl.trim();
    if (!/^https?:\/\//.test(rpcUrl)) throw new UsageError('--rpc-url must be an http(s) URL');
    // viem is large: load it only in registry mode, so --nodes invocations start faster.
    const [{ createPublicClient, http }, { RegistryOperatorSetSource }] = await Promise.all([import('viem'), import('../chain/operatorSet.js')]);
    const client = createPublicClient({ transport: http(rpcUrl, { timeout: timeoutMs, retryCount: 1 }) });
    return createKmsClient({ nodes: new RegistryOperatorSetSource({ client, registryAddress: registryAddress as `0x${string}` }), timeoutMs });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (isKmsError(error) && error.code === 'CLIENT_BAD_INPUT') throw new UsageError(error.message);
    throw error;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function readInput(path: string, io: CliIo): Promise<Uint8Array> {
  if (path === '-') return readAll(io.stdin);
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --in ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function writeTo(stream: NodeJS.WritableStream, data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

async function writeOutput(path: string, data: Uint8Array, io: CliIo, secret: boolean): Promise<void> {
  if (path === '-') return writeTo(io.stdout, data);
  // Plaintext is secret: owner-only from the first byte (mode applies when the file is created).
  const file = createWriteStream(path, { mode: secret ? 0o600 : 0o644 });
  await new Promise<void>((resolve, reject) => {
    file.on('error', reject);
    file.end(Buffer.from(data), () => {
      resolve();
    });
  });
}

function warnRejected(io: CliIo, rejected: readonly { url: string; outcome: string }[]): Promise<void> {
  return writeTo(io.stderr, rejected.map((r) => `kms-client: warning: node ${r.url}: ${r.outcome}\n`).join(''));
}

function buildProgram(io: CliIo): Command {
  const program = new Command('kms-client')
    .description('Client for a kms-node network: master public key, app keys, IBE encrypt/decrypt')
    .addOption(new Option('--nodes <urls>', 'comma-separated node base URLs').env('KMS_CLIENT_NODES'))
    .addOption(new Option('--registry-address <address>', 'OperatorRegistry contract to list nodes from').env('KMS_CLIENT_REGISTRY_ADDRESS'))
    .addOption(new Option('--rpc-url <url>', 'JSON-RPC endpoint for --registry-address').env('KMS_CLIENT_RPC_URL'))
    .addOption(new Option('--timeout-ms <ms>', `per-request timeout (default ${DEFAULT_CLIENT_TIMEOUT_MS})`).env('KMS_CLIENT_TIMEOUT_MS'))
    .exitOverride()
    .showHelpAfterError('(run kms-client --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  const global = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('pubkey')
    .description('print the master public key the nodes agree on')
    .option('--json', 'print the agreed view, supporters and dissenters as JSON')
    .action(async (opts: { json?: boolean }) => {
      const agreed = await (await clientFrom(global())).getMasterPublicKey();
      if (opts.json === true) {
        const { version, threshold, masterPublicKeyHex, participants, required, supporters, dissenters } = agreed;
        await writeTo(io.stdout, `${JSON.stringify({ masterPublicKey: masterPublicKeyHex, version, threshold, participants, required, supporters, dissenters }, null, 2)}\n`);
      } else {
        await warnRejected(io, agreed.dissenters);
        await writeTo(io.stdout, `${agreed.masterPublicKeyHex}\n`);
      }
    });

  program
    .command('app-key <appId>')
    .description('derive the app key from verified partial signatures and print it (hex, 48-byte G1)')
    .option('--attestation-time <unixSeconds>', 'sign with the key version valid at this time')
    .option('--json', 'print the key with its version, contributors and the verification done')
    .action(async (rawAppId: string, opts: { attestationTime?: string; json?: boolean }) => {
      const appId = appIdArg(rawAppId);
      const time = attestationTime(opts.attestationTime);
      const derived = await (await clientFrom(global())).deriveAppKey(appId, time === undefined ? {} : { attestationTime: time });
      const appKey = g1ToHex(derived.appKey);
      if (opts.json === true) {
        const { version, threshold, masterPublicKeyHex, contributors, spare, rejected } = derived;
        const verification = {
          partials: 'each partial checked against its operator public share under the agreed commitments',
          appKey: 'e(appKey, G2) == e(H1(appId), masterPublicKey)',
          verified: true,
        };
        await writeTo(io.stdout, `${JSON.stringify({ appId, appKey, version, threshold, masterPublicKey: masterPublicKeyHex, verification, contributors, spare, rejected }, null, 2)}\n`);
      } else {
        await warnRejected(io, derived.rejected);
        await writeTo(io.stdout, `${appKey}\n`);
      }
    });

  program
    .command('encrypt <appId>')
    .description('encrypt to an app id under the agreed master public key')
    .option('--in <path>', 'plaintext file, or - for stdin', '-')
    .option('--out <path>', 'ciphertext file, or - for stdout', '-')
    .action(async (rawAppId: string, opts: { in: string; out: string }) => {
      const appId = appIdArg(rawAppId);
      const client = await clientFrom(global());
      const plaintext = await readInput(opts.in, io);
      await writeOutput(opts.out, await client.encrypt(appId, plaintext), io, false);
    });

  program
    .command('decrypt <appId>')
    .description('derive the app key and decrypt an IBE ciphertext')
    .option('--in <path>', 'ciphertext file, or - for stdin', '-')
    .option('--out <path>', 'plaintext file (created 0600), or - for stdout', '-')
    .option('--attestation-time <unixSeconds>', 'sign with the key version valid at this time')
    .action(async (rawAppId: string, opts: { in: string; out: string; attestationTime?: string }) => {
      const appId = appIdArg(rawAppId);
      const time = attestationTime(opts.attestationTime);
      const client = await clientFrom(global());
      const ciphertext = await readInput(opts.in, io);
      const plaintext = await client.decrypt(appId, ciphertext, time === undefined ? {} : { attestationTime: time });
      await writeOutput(opts.out, plaintext, io, true);
    });

  return program;
}

/** Runs the CLI on argv (as process.argv: node, script, args…) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; every other commander error is about the flags.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    if (error instanceof UsageError) {
      await writeTo(io.stderr, `kms-client: usage: ${error.message}\n(run kms-client --help for usage)\n`);
      return 2;
    }
    const text = isKmsError(error) ? `error [${error.code}]: ${error.message}` : `error: ${error instanceof Error ? error.message : String(error)}`;
    await writeTo(io.stderr, `kms-client: ${text}\n`);
    return 1;
  }
}


if (isMainModule(import.meta.url)) {
  void main(process.argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
    process.exitCode = code;
  });
}
