import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { chainDefaults } from '../chain/chainDefaults.js';
import type { PublicClient } from 'viem';
import { assertChainId, createChainClient } from '../chain/client.js';
import { ChainRpcError } from '../chain/errors.js';
import { RegistryOperatorSetSource, StaticFileOperatorSetSource, type OperatorSetSource } from '../chain/operatorSet.js';
import type { ServerConfig } from '../config/serverConfig.js';
import type { Logger } from '../logging/logger.js';
import { openPersistence, type PersistenceConfig } from '../persistence/open.js';
import type { NodePersistence } from '../persistence/nodePersistence.js';
import type { EmbeddedRedisServer } from '../persistence/redis/embedded/embeddedRedisServer.js';
import { PeerClient } from '../transport/httpClient.js';
import { OperatorSigner } from '../transport/signer.js';
import { StartupSettingError } from './errors.js';
import { KmsNode } from './kmsNode.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';
import { createCryptoExecutor } from './workers/cryptoExecutor.js';

/** The node's persistence settings in the persistence layer's own terms. */
export function persistenceConfigOf(config: ServerConfig): PersistenceConfig {
  const p = config.persistence;
  if (p.type === 'memory') return { type: 'memory' };
  if (p.mode === 'embedded') {
    return {
      type: 'redis', mode: 'embedded', dataPath: resolve(p.dataPath), redisServerBinary: p.redisServerBinary,
      appendfsync: p.appendfsync, keyPrefix: p.keyPrefix,
    };
  }
  return {
    type: 'redis', mode: 'external', url: p.url, db: p.db, keyPrefix: p.keyPrefix,
    connectTimeoutMs: p.connectTimeoutMs, commandTimeoutMs: p.commandTimeoutMs,
    credentials: { username: p.username, password: p.password },
    durability: p.appendfsync === 'everysec' ? { allowEverysec: true } : 'always',
  };
}

/** The at-rest sealing secret: a dedicated one when configured, else the operator key. */
export function sealingSecretOf(config: ServerConfig): Uint8Array {
  return config.encryptionSecret.source === 'file' ? config.encryptionSecret.secret : hexToBytes(config.operator.privateKey.slice(2));
}

/** Opens the configured persistence, verified, with its metrics attached. */
export async function openNodePersistence(config: ServerConfig, logger: Logger, metrics: NodeMetrics, embeddedServer?: Promise<EmbeddedRedisServer>): Promise<NodePersistence> {
  return openPersistence(persistenceConfigOf(config), {
    logger,
    sealingSecret: sealingSecretOf(config),
    ...(embeddedServer === undefined ? {} : { embeddedServer }),
    observer: {
      observe: (o) => {
        metrics.persistenceDuration.observe({ operation: o.operation }, o.durationSeconds);
        if (o.outcome === 'error') metrics.persistenceErrors.inc({ operation: o.operation, code: o.errorCode ?? 'UNKNOWN' });
      },
    },
  });
}

/**
 * The operator-set source, checked against the world before anything else opens: a
 * registry address must hold contract code on this chain, and an operators file must
 * read as a valid operator set. Either failing is a setting to fix, not a runtime fault.
 */
async function checkedOperatorSet(config: ServerConfig, client: PublicClient): Promise<OperatorSetSource> {
  const set = config.chain.operatorSet;
  if (set.kind === 'registry') {
    let code: string | undefined;
    try {
      code = await client.getCode({ address: set.address });
    } catch (cause) {
      throw new ChainRpcError('eth_getCode', { cause });
    }
    if (code === undefined || code === '0x') {
      throw new StartupSettingError('registry-address', `there is no contract code at ${set.address} on chain ${config.chain.chainId}: it is not an OperatorRegistry`, {
        fix: 'use the address the registry was deployed at, and check that the RPC URL points at that chain',
      });
    }
    return new RegistryOperatorSetSource({ client, registryAddress: set.address });
  }
  const source = new StaticFileOperatorSetSource(set.path);
  try {
    await source.getOperators();
  } catch (cause) {
    // The operator-set error already says what is wrong and how to fix it.
    throw new StartupSettingError('operators-file', cause instanceof Error ? cause.message : String(cause), { cause });
  }
  return source;
}

/**
 * The composition root: builds every module of a node from one validated configuration.
 * Nothing here decides behaviour; it only wires. Persistence is opened (and so verified)
 * here, before the node exists, so a durability problem stops start-up with its reason.
 * `embeddedServer`: the embedded redis-server kms-server started early (startEmbeddedRedisEarly);
 * stopped here if the chain checks refuse the configuration.
 */
export async function createNode(config: ServerConfig, logger: Logger, embeddedServer?: Promise<EmbeddedRedisServer>): Promise<KmsNode> {
  const defaults = chainDefaults(config.chain.chainId);
  const metrics = createNodeMetrics();
  const client = createChainClient({ rpcUrl: config.chain.rpcUrl, chainId: config.chain.chainId });
  let operatorSet: OperatorSetSource;
  try {
    await assertChainId(client, config.chain.chainId);
    operatorSet = await checkedOperatorSet(config, client);
  } catch (error) {
    await embeddedServer?.then((server) => server.stop(), () => undefined);
    throw error;
  }
  const signer = OperatorSigner.fromPrivateKey(config.operator.privateKey);
  const persistence = await openNodePersistence(config, logger, metrics, embeddedServer);
  return new KmsNode(
    {
      self: config.operator.address,
      host: config.server.host,
      port: config.server.port,
      boundaryInterval: config.chain.boundaryInterval ?? defaults.boundaryInterval,
      pollIntervalMs: config.chain.pollIntervalMs ?? defaults.pollIntervalMs,
      protocolTimeoutMs: config.chain.protocolTimeoutMs ?? defaults.protocolTimeoutMs,
      confirmations: defaults.confirmations,
      appSign: config.appSign,
      appSignCacheBytes: config.appSignCacheBytes,
    },
    {
      persistence,
      operatorSet,
      blockReader: client,
      signer,
      peerClient: new PeerClient({ timeoutMs: 5_000, maxAttempts: 4, logger }),
      probeClient: new PeerClient({ timeoutMs: 2_000, maxAttempts: 2, logger }),
      metrics,
      logger,
      crypto: createCryptoExecutor({
        workers: config.cryptoWorkers === 'auto' ? availableParallelism() : config.cryptoWorkers,
        queueLimit: config.cryptoQueueLimit,
        logger,
        metrics: metrics.cryptoPool,
      }),
    },
  );
}
