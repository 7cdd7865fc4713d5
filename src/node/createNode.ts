import { resolve } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { chainDefaults } from '../chain/chainDefaults.js';
import { assertChainId, createChainClient } from '../chain/client.js';
import { RegistryOperatorSetSource, StaticFileOperatorSetSource, type OperatorSetSource } from '../chain/operatorSet.js';
import type { ServerConfig } from '../config/serverConfig.js';
import type { Logger } from '../logging/logger.js';
import { openPersistence, type PersistenceConfig } from '../persistence/open.js';
import type { NodePersistence } from '../persistence/nodePersistence.js';
import { PeerClient } from '../transport/httpClient.js';
import { OperatorSigner } from '../transport/signer.js';
import { KmsNode } from './kmsNode.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';

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
    durability: p.appendfsync === 'everysec' ? { allowEverysec: true } : 'always',
  };
}

/** The at-rest sealing secret: a dedicated one when configured, else the operator key. */
export function sealingSecretOf(config: ServerConfig): Uint8Array {
  return config.encryptionSecret.source === 'file' ? config.encryptionSecret.secret : hexToBytes(config.operator.privateKey.slice(2));
}

/** Opens the configured persistence, verified, with its metrics attached. */
export async function openNodePersistence(config: ServerConfig, logger: Logger, metrics: NodeMetrics): Promise<NodePersistence> {
  const p = config.persistence;
  const env = p.type === 'redis' && p.mode === 'external'
    ? { ...process.env, KMS_REDIS_USERNAME: p.username ?? undefined, KMS_REDIS_PASSWORD: p.password ?? undefined }
    : process.env;
  return openPersistence(persistenceConfigOf(config), {
    logger,
    sealingSecret: sealingSecretOf(config),
    env,
    observer: {
      observe: (o) => {
        metrics.persistenceDuration.observe({ operation: o.operation }, o.durationSeconds);
        if (o.outcome === 'error') metrics.persistenceErrors.inc({ operation: o.operation, code: o.errorCode ?? 'UNKNOWN' });
      },
    },
  });
}

/**
 * The composition root: builds every module of a node from one validated configuration.
 * Nothing here decides behaviour; it only wires. Persistence is opened (and so verified)
 * here, before the node exists, so a durability problem stops start-up with its reason.
 */
export async function createNode(config: ServerConfig, logger: Logger): Promise<KmsNode> {
  const defaults = chainDefaults(config.chain.chainId);
  const metrics = createNodeMetrics();
  const client = createChainClient({ rpcUrl: config.chain.rpcUrl, chainId: config.chain.chainId });
  await assertChainId(client, config.chain.chainId);
  const operatorSet: OperatorSetSource = config.chain.operatorSet.kind === 'registry'
    ? new RegistryOperatorSetSource({ client, registryAddress: config.chain.operatorSet.address })
    : new StaticFileOperatorSetSource(config.chain.operatorSet.path);
  const signer = OperatorSigner.fromPrivateKey(config.operator.privateKey);
  const persistence = await openNodePersistence(config, logger, metrics);
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
    },
  );
}
