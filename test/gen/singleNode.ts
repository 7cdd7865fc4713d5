/**
 * One operator's whole KmsNode in process, for unit tests of the node's behaviour: the
 * in-memory persistence, a chain whose head the test moves, and an operator set of just
 * this operator (threshold 1, the smallest network). A boundary the test mines runs a
 * real DKG, the next one a real reshare, with no peer to talk to.
 */
import type { Hash } from 'viem';
import type { BlockReader } from '../../src/chain/blockSource.js';
import { normalizeOperatorSet, type Operator, type OperatorSetSource } from '../../src/chain/operatorSet.js';
import { devAccount } from '../../src/devnet/devAccounts.js';
import type { Logger } from '../../src/logging/logger.js';
import { silentLogger } from '../../src/logging/logger.js';
import { KmsNode } from '../../src/node/kmsNode.js';
import { createNodeMetrics, type NodeMetrics } from '../../src/node/metrics.js';
import type { CryptoExecutor } from '../../src/node/workers/cryptoExecutor.js';
import { MemoryPersistence } from '../../src/persistence/memory/memoryPersistence.js';
import type { NodePersistence } from '../../src/persistence/nodePersistence.js';
import type { OperatorAddress, PersistenceHealth } from '../../src/persistence/types.js';
import { PeerClient } from '../../src/transport/httpClient.js';
import { OperatorSigner } from '../../src/transport/signer.js';

export const SINGLE_NODE_BOUNDARY_INTERVAL = 5;

/** A chain the test mines by hand; every block is stamped with the wall clock when read. */
export class ManualChain {
  head = 1n;
  readonly client = {
    getBlockNumber: (): Promise<bigint> => Promise.resolve(this.head),
    getBlock: ({ blockNumber }: { blockNumber: bigint }): Promise<{ timestamp: bigint; hash: Hash }> =>
      Promise.resolve({ timestamp: this.timestampOf(blockNumber), hash: `0x${blockNumber.toString(16).padStart(64, '0')}` }),
  } as unknown as BlockReader;
  private readonly stamps = new Map<bigint, bigint>();

  /** Moves the head to the next boundary above it and returns that boundary. */
  mineToNextBoundary(interval = SINGLE_NODE_BOUNDARY_INTERVAL): number {
    const boundary = (this.head / BigInt(interval) + 1n) * BigInt(interval);
    this.head = boundary;
    return Number(boundary);
  }

  // A session id is its boundary's timestamp and must grow: stamp once, never below the last.
  private timestampOf(block: bigint): bigint {
    const known = this.stamps.get(block);
    if (known !== undefined) return known;
    const last = [...this.stamps.values()].reduce((a, b) => (b > a ? b : a), 0n);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const stamp = now > last ? now : last + 1n;
    this.stamps.set(block, stamp);
    return stamp;
  }
}

/** MemoryPersistence whose health checks the test can turn unhealthy and back. */
export class SwitchableHealthPersistence extends MemoryPersistence {
  /** A finding to report as failed; null = the memory backend's own verdict. */
  failing: string | null = null;

  override async healthCheck(): Promise<PersistenceHealth> {
    const health = await super.healthCheck();
    if (this.failing === null) return health;
    return { ...health, healthy: false, findings: [...health.findings, { check: 'test', ok: false, message: this.failing }] };
  }
}

export interface SingleNode<P extends NodePersistence = SwitchableHealthPersistence> {
  readonly node: KmsNode;
  readonly chain: ManualChain;
  readonly persistence: P;
  readonly self: OperatorAddress;
}

/**
 * A node on loopback (an OS-chosen port) that has not been started; on a switchable
 * in-memory persistence unless the test brings its own (e.g. Redis on a real server).
 */
interface SingleNodeOptions {
  logger?: Logger;
  chain?: ManualChain;
  crypto?: CryptoExecutor;
  metrics?: NodeMetrics;
  /** The chain's operator set as a function of this node's own entry (default: just it). */
  operatorSet?: (self: Operator) => OperatorSetSource;
}
export function singleNode(options?: SingleNodeOptions): SingleNode;
export function singleNode<P extends NodePersistence>(options: SingleNodeOptions & { persistence: P }): SingleNode<P>;
export function singleNode(options: SingleNodeOptions & { persistence?: NodePersistence } = {}): SingleNode<NodePersistence> {
  const logger = options.logger ?? silentLogger();
  const account = devAccount(1);
  const signer = OperatorSigner.fromPrivateKey(account.privateKey);
  const operators = normalizeOperatorSet([{ address: account.address, socketUrl: 'http://127.0.0.1:1', signingPublicKey: signer.publicKey }], 'test');
  const operatorSet: OperatorSetSource = options.operatorSet?.(operators[0]!) ?? { getOperators: () => Promise.resolve(operators) };
  const chain = options.chain ?? new ManualChain();
  const persistence = options.persistence ?? new SwitchableHealthPersistence({ logger });
  const self = account.address.toLowerCase() as OperatorAddress;
  const node = new KmsNode(
    { self, host: '127.0.0.1', port: 0, boundaryInterval: SINGLE_NODE_BOUNDARY_INTERVAL, pollIntervalMs: 20, protocolTimeoutMs: 20_000, confirmations: 0 },
    {
      persistence,
      operatorSet,
      blockReader: chain.client,
      signer,
      peerClient: new PeerClient({ timeoutMs: 1_000, maxAttempts: 1, logger }),
      probeClient: new PeerClient({ timeoutMs: 1_000, maxAttempts: 1, logger }),
      metrics: options.metrics ?? createNodeMetrics({ defaultMetrics: false }),
      logger,
      ...(options.crypto === undefined ? {} : { crypto: options.crypto }),
    },
  );
  return { node, chain, persistence, self };
}
