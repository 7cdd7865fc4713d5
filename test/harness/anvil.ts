import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bytesToHex,
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type TestClient,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { anvil as anvilChain } from 'viem/chains';
import type { RegistryWalletClient } from '../../src/chain/deploy.js';

/**
 * A real anvil for integration tests: loopback only, a free port picked by anvil itself
 * (`--port 0`, read back from its banner, so no port race), chain id 31337 and the
 * well-known dev accounts. Every anvil started here is stopped after the test file and
 * killed at process exit; under `setpriv --pdeathsig` a killed jest worker leaves none.
 */

/** anvil's default mnemonic; its accounts are public knowledge and hold only test ether. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_CHAIN_ID = 31_337;

/** The dev accounts anvil funds, derived from ANVIL_MNEMONIC (m/44'/60'/0'/0/i). */
export const devAccounts: readonly { readonly address: Address; readonly privateKey: Hex }[] = Array.from(
  { length: 10 },
  (_, addressIndex) => {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex });
    const privateKey = account.getHdKey().privateKey;
    if (privateKey === null) throw new Error(`anvil harness: no private key derived for account ${addressIndex}`);
    return { address: account.address, privateKey: bytesToHex(privateKey) };
  },
);

export interface StartAnvilOptions {
  /** Mine a block every N seconds (anvil `--block-time`). */
  readonly blockTime?: number;
  /** false = no mining until mine() (anvil `--no-mining`); default true (a block per transaction). */
  readonly automine?: boolean;
  /** Genesis timestamp (Unix seconds), for reproducible block timestamps. */
  readonly genesisTimestamp?: number;
  readonly startTimeoutMs?: number;
}

export interface AnvilHandle {
  readonly rpcUrl: string;
  readonly port: number;
  readonly chainId: number;
  readonly pid: number;
  /** A public client that polls fast (50 ms) and caches nothing. */
  readonly publicClient: PublicClient;
  readonly testClient: TestClient<'anvil'>;
  /** A wallet client for dev account `index` (0 deploys, by convention). */
  wallet(index: number): RegistryWalletClient;
  /** Mines `blocks` blocks, `intervalSeconds` apart (default 12, like L1), and returns the new head. */
  mine(blocks: number, intervalSeconds?: number): Promise<bigint>;
  blockNumber(): Promise<bigint>;
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s; waits for exit. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<AnvilHandle>();

process.on('exit', () => {
  for (const handle of live) {
    try { process.kill(handle.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});
if (typeof afterAll === 'function') {
  afterAll(async () => { await Promise.all([...live].map((handle) => handle.stop())); });
}

/** The native binary (signals reach anvil itself), else the npm wrapper node_modules/.bin/anvil. */
function anvilBinary(): string {
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

/** Starts anvil and resolves once it answers eth_chainId. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilHandle> {
  const args = [
    '--host', '127.0.0.1', '--port', '0', '--chain-id', String(ANVIL_CHAIN_ID),
    '--mnemonic', ANVIL_MNEMONIC, '--accounts', String(devAccounts.length),
  ];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  if (options.automine === false) args.push('--no-mining');
  if (options.genesisTimestamp !== undefined) args.push('--timestamp', String(options.genesisTimestamp));

  const binary = anvilBinary();
  const child: ChildProcess = canSetpriv()
    ? spawn('setpriv', ['--pdeathsig', 'SIGKILL', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve(); }); });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`anvil did not report its port within ${options.startTimeoutMs ?? 30_000} ms; output:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
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
      reject(error);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('anvil harness: spawned anvil has no pid');

  const rpcUrl = `http://127.0.0.1:${port}`;
  const transport = http(rpcUrl, { timeout: 5_000, retryCount: 0 });
  const publicClient = createPublicClient({ chain: anvilChain, transport, pollingInterval: 50, cacheTime: 0 });
  const testClient = createTestClient({ chain: anvilChain, mode: 'anvil', transport, pollingInterval: 50 });

  for (let attempt = 0; ; attempt++) {
    try {
      if ((await publicClient.getChainId()) === ANVIL_CHAIN_ID) break;
    } catch (error: unknown) {
      if (attempt >= 100) throw new Error(`anvil on ${rpcUrl} never answered eth_chainId; output:\n${output}`, { cause: error });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let stopped: Promise<void> | null = null;
  const handle: AnvilHandle = {
    rpcUrl,
    port,
    chainId: ANVIL_CHAIN_ID,
    pid,
    publicClient,
    testClient,
    wallet(index) {
      const account = devAccounts[index];
      if (account === undefined) throw new Error(`anvil harness: no dev account ${index} (0-${devAccounts.length - 1})`);
      return createWalletClient({ account: privateKeyToAccount(account.privateKey), chain: anvilChain, transport, pollingInterval: 50 });
    },
    async mine(blocks, intervalSeconds = 12) {
      await testClient.mine({ blocks, interval: intervalSeconds });
      return publicClient.getBlockNumber({ cacheTime: 0 });
    },
    blockNumber: () => publicClient.getBlockNumber({ cacheTime: 0 }),
    log: () => output,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        live.delete(handle);
      })();
      return stopped;
    },
  };
  live.add(handle);
  return handle;
}

export interface RpcProxyHandle {
  readonly url: string;
  /** While down, every connection is reset at once, as a crashed or unreachable RPC would. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of an RPC endpoint that tests can take down and bring
 * back, to exercise RPC-failure handling without losing the chain's state.
 */
export async function startRpcProxy(target: { readonly port: number }): Promise<RpcProxyHandle> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(target.port, '127.0.0.1', () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('rpc proxy: no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}
