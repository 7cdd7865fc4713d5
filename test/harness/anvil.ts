import { createServer, Socket, type Server } from 'node:net';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type TestClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { anvil as anvilChain } from 'viem/chains';
import type { RegistryWalletClient } from '../../src/chain/deploy.js';
import { startAnvilProcess } from '../../src/devnet/anvilProcess.js';
import { DEV_CHAIN_ID, DEV_MNEMONIC, devAccount } from '../../src/devnet/devAccounts.js';

/**
 * A real anvil for integration tests, started by the same launcher as the devnet
 * (src/devnet/anvilProcess.ts: loopback, `--port 0` read back from the banner, under
 * `setpriv --pdeathsig`), plus the viem clients tests use. Every anvil started here is
 * stopped after the test file.
 */

/** anvil's default mnemonic; its accounts are public knowledge and hold only test ether. */
export const ANVIL_MNEMONIC = DEV_MNEMONIC;
export const ANVIL_CHAIN_ID = DEV_CHAIN_ID;

/** The dev accounts anvil funds, derived from ANVIL_MNEMONIC (m/44'/60'/0'/0/i). */
export const devAccounts: readonly { readonly address: Address; readonly privateKey: Hex }[] = Array.from({ length: 10 }, (_, index) => {
  const account = devAccount(index);
  return { address: getAddress(account.address), privateKey: account.privateKey };
});

export interface StartAnvilOptions {
  /** Mine a block every N seconds (anvil `--block-time`). */
  readonly blockTime?: number;
  /** false = no mining until mine() (anvil `--no-mining`); default true (a block per transaction). */
  readonly automine?: boolean;
  /** Genesis timestamp (Unix seconds), for reproducible block timestamps. */
  readonly genesisTimestamp?: number;
  readonly startTimeoutMs?: number;
  /** Listen address (default 127.0.0.1). */
  readonly host?: string;
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

if (typeof afterAll === 'function') {
  afterAll(async () => { await Promise.all([...live].map((handle) => handle.stop())); });
}

/** Starts anvil and resolves once it answers eth_chainId. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilHandle> {
  const anvil = await startAnvilProcess({
    accounts: devAccounts.length,
    ...(options.blockTime === undefined ? {} : { blockTime: options.blockTime }),
    ...(options.automine === undefined ? {} : { automine: options.automine }),
    ...(options.genesisTimestamp === undefined ? {} : { genesisTimestamp: options.genesisTimestamp }),
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    ...(options.host === undefined ? {} : { host: options.host }),
  });
  const rpcUrl = anvil.rpcUrl;
  const transport = http(rpcUrl, { timeout: 5_000, retryCount: 0 });
  const publicClient = createPublicClient({ chain: anvilChain, transport, pollingInterval: 50, cacheTime: 0 });
  const testClient = createTestClient({ chain: anvilChain, mode: 'anvil', transport, pollingInterval: 50 });

  for (let attempt = 0; ; attempt++) {
    try {
      if ((await publicClient.getChainId()) === ANVIL_CHAIN_ID) break;
    } catch (error: unknown) {
      if (attempt >= 100) {
        await anvil.stop();
        throw new Error(`anvil on ${rpcUrl} never answered eth_chainId; output:\n${anvil.output()}`, { cause: error });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const handle: AnvilHandle = {
    rpcUrl,
    port: anvil.port,
    chainId: ANVIL_CHAIN_ID,
    pid: anvil.pid,
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
    log: anvil.output,
    async stop() {
      await anvil.stop();
      live.delete(handle);
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
