import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { chainFor } from '../chain/client.js';
import { deployRegistry, registerOperator, setOperatorAllowed, deregisterOperator } from '../chain/deploy.js';
import { OperatorSigner } from '../transport/signer.js';
import { startAnvilProcess, type AnvilProcess } from './anvilProcess.js';
import { DEV_CHAIN_ID, devAccount, type DevAccount } from './devAccounts.js';
import { NodeProcess } from './nodeProcess.js';

export interface DevnetOptions {
  /** Working directory: one data dir and one log per node live under it. */
  readonly baseDir: string;
  readonly nodes: number;
  /**
   * Seconds per block (default 1), or 'manual': a block per registry transaction and
   * otherwise only when mine() is called, so a test decides when each boundary comes.
   */
  readonly blockTime?: number | 'manual';
  /** Blocks between boundaries (default 10). */
  readonly boundaryInterval?: number;
  readonly protocolTimeoutMs?: number;
  readonly persistenceType?: 'redis' | 'memory';
  readonly logLevel?: string;
  /** Extra env for every node. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface DevnetOperator {
  readonly index: number;
  readonly account: DevAccount;
  readonly process: NodeProcess;
  readonly dataDir: string;
}

/** Dev account 0 deploys the registry; operators use accounts 1, 2, … */
const DEPLOYER = 0;

/**
 * A local network for demos and tests: anvil, the OperatorRegistry, and kms-server
 * processes (each with its own embedded Redis-AOF data dir) that register themselves.
 * Every node is a real OS process, so stops and kills are real.
 */
export class Devnet {
  readonly operators: DevnetOperator[] = [];
  registryAddress: `0x${string}` = '0x0000000000000000000000000000000000000000';

  private constructor(
    readonly options: DevnetOptions,
    readonly anvil: AnvilProcess,
  ) {}

  static async start(options: DevnetOptions): Promise<Devnet> {
    mkdirSync(options.baseDir, { recursive: true, mode: 0o700 });
    const anvil = await startAnvilProcess(options.blockTime === 'manual' ? {} : { blockTime: options.blockTime ?? 1 });
    const devnet = new Devnet(options, anvil);
    try {
      const deployed = await deployRegistry(devnet.wallet(DEPLOYER));
      devnet.registryAddress = deployed.address.toLowerCase() as `0x${string}`;
      for (let i = 0; i < options.nodes; i++) await devnet.addOperator();
      await Promise.all(devnet.operators.map((o) => o.process.start()));
    } catch (error) {
      await devnet.stop();
      throw error;
    }
    return devnet;
  }

  get rpcUrl(): string {
    return this.anvil.rpcUrl;
  }

  nodeUrls(): string[] {
    return this.operators.map((o) => o.process.url);
  }

  /** The chain head's block number. */
  async blockNumber(): Promise<number> {
    return Number(BigInt(await this.rpc<string>('eth_blockNumber', [])));
  }

  /**
   * Mines `blocks` blocks at once (anvil_mine), all stamped with the current time, so
   * boundary timestamps stay on the wall clock however many blocks are mined.
   */
  async mine(blocks: number): Promise<number> {
    if (!Number.isSafeInteger(blocks) || blocks < 1) throw new Error(`mine: blocks must be a positive integer, got ${blocks}`);
    await this.rpc('anvil_mine', [`0x${blocks.toString(16)}`, '0x0']);
    return this.blockNumber();
  }

  /** Mines up to the next multiple of `interval` (the next boundary); returns its number and timestamp. */
  async mineToNextBoundary(interval: number): Promise<{ blockNumber: number; timestamp: number }> {
    const head = await this.blockNumber();
    const boundary = (Math.floor(head / interval) + 1) * interval;
    await this.mine(boundary - head);
    return { blockNumber: boundary, timestamp: await this.blockTimestamp(boundary) };
  }

  /** The timestamp (Unix seconds) of block `blockNumber`. */
  async blockTimestamp(blockNumber: number): Promise<number> {
    const block = await this.rpc<{ timestamp: string } | null>('eth_getBlockByNumber', [`0x${blockNumber.toString(16)}`, false]);
    if (block === null) throw new Error(`anvil has no block ${blockNumber}`);
    return Number(BigInt(block.timestamp));
  }

  private async rpc<T>(method: string, params: unknown[]): Promise<T> {
    const response = await fetch(this.anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { result?: T; error?: { message?: string } };
    if (body.error !== undefined) throw new Error(`anvil ${method} failed: ${body.error.message ?? 'unknown error'}`);
    return body.result as T;
  }

  /** Allowlists and registers one more operator (not started); returns it. */
  async addOperator(): Promise<DevnetOperator> {
    const index = this.operators.length + 1;
    const account = devAccount(index);
    const port = await freePort();
    const dataDir = join(this.options.baseDir, `node-${index}`);
    await setOperatorAllowed(this.wallet(DEPLOYER), this.registryAddress, account.address, true);
    await registerOperator(this.wallet(index), {
      registryAddress: this.registryAddress,
      socketUrl: `http://127.0.0.1:${port}`,
      signingPublicKey: OperatorSigner.fromPrivateKey(account.privateKey).publicKey,
    });
    const process = new NodeProcess({
      name: `node-${index}`,
      port,
      logFile: join(this.options.baseDir, `node-${index}.log`),
      env: {
        KMS_OPERATOR_ADDRESS: account.address,
        KMS_OPERATOR_KEY: account.privateKey,
        KMS_CHAIN_ID: String(DEV_CHAIN_ID),
        KMS_CHAIN_RPC_URL: this.anvil.rpcUrl,
        KMS_REGISTRY_ADDRESS: this.registryAddress,
        KMS_PORT: String(port),
        KMS_HOST: '127.0.0.1',
        KMS_PERSISTENCE_TYPE: this.options.persistenceType ?? 'redis',
        KMS_PERSISTENCE_DATA_PATH: dataDir,
        KMS_BOUNDARY_INTERVAL: String(this.options.boundaryInterval ?? 10),
        KMS_POLL_INTERVAL_MS: '500',
        KMS_PROTOCOL_TIMEOUT_MS: String(this.options.protocolTimeoutMs ?? 20_000),
        KMS_LOG_LEVEL: this.options.logLevel ?? 'info',
        ...this.options.env,
      },
    });
    const operator = { index, account, process, dataDir };
    this.operators.push(operator);
    return operator;
  }

  /** Removes an operator from the registry (its process keeps running until stopped). */
  async deregister(operator: DevnetOperator): Promise<void> {
    await deregisterOperator(this.wallet(operator.index), this.registryAddress);
  }

  /** Stops every node (SIGTERM) and anvil. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.operators.map((o) => o.process.stop()));
    await this.anvil.stop();
  }

  private wallet(index: number) {
    const account = devAccount(index);
    return createWalletClient({
      account: privateKeyToAccount(account.privateKey),
      chain: chainFor(DEV_CHAIN_ID, this.anvil.rpcUrl),
      transport: http(this.anvil.rpcUrl, { timeout: 10_000 }),
      pollingInterval: 100,
    });
  }
}

/** A free loopback TCP port (the OS picks; a tiny race with other binders is acceptable here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => { resolve(port); });
    });
  });
}
