import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppSignCacheMetrics } from './appSignCache.js';
import type { CryptoPoolMetrics } from './workers/cryptoPool.js';

/**
 * The node's Prometheus metrics, one registry per node (several nodes may share a test
 * process). Components receive the typed object, never the registry, so every metric
 * name is defined here once.
 */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly persistenceDuration: Histogram<'operation'>;
  readonly persistenceErrors: Counter<'operation' | 'code'>;
  readonly protocolRounds: Counter<'type' | 'outcome'>;
  readonly protocolRoundDuration: Histogram<'type'>;
  readonly protocolMessagesRejected: Counter<'code'>;
  readonly keyVersions: Gauge;
  readonly activeKeyVersion: Gauge;
  readonly lastProcessedBoundary: Gauge;
  readonly appSignRequests: Counter<'outcome'>;
  readonly earlyMessagesRefused: Counter<'reason'>;
  readonly earlyMessageBytes: Gauge;
  readonly appSignCache: AppSignCacheMetrics;
  readonly cryptoPool: CryptoPoolMetrics;
}

export function createNodeMetrics(options: { defaultMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'kms_' });
  const registers = [registry];
  return {
    registry,
    persistenceDuration: new Histogram({
      name: 'kms_persistence_operation_duration_seconds',
      help: 'Latency of NodePersistence operations (includes the AOF fsync for writes)',
      labelNames: ['operation'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    persistenceErrors: new Counter({
      name: 'kms_persistence_errors_total',
      help: 'NodePersistence operations that failed, by error code',
      labelNames: ['operation', 'code'],
      registers,
    }),
    protocolRounds: new Counter({
      name: 'kms_protocol_rounds_total',
      help: 'DKG and reshare rounds by outcome (completed, failed, timeout)',
      labelNames: ['type', 'outcome'],
      registers,
    }),
    protocolRoundDuration: new Histogram({
      name: 'kms_protocol_round_duration_seconds',
      help: 'Wall time of completed DKG and reshare rounds',
      labelNames: ['type'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    protocolMessagesRejected: new Counter({
      name: 'kms_protocol_messages_rejected_total',
      help: 'Inbound protocol messages rejected, by error code',
      labelNames: ['code'],
      registers,
    }),
    keyVersions: new Gauge({ name: 'kms_key_versions', help: 'Key share versions stored', registers }),
    activeKeyVersion: new Gauge({ name: 'kms_active_key_version', help: 'Epoch of the active key version (0 = none)', registers }),
    lastProcessedBoundary: new Gauge({ name: 'kms_last_processed_boundary', help: 'Last block boundary acted on', registers }),
    appSignRequests: new Counter({
      name: 'kms_app_sign_requests_total',
      help: 'POST /app/sign requests by outcome: signed, no_version (allowed), refused (not on the allowlist), invalid, rate_limited, busy (concurrency ceiling), overloaded (crypto queue full: 503)',
      labelNames: ['outcome'],
      registers,
    }),
    earlyMessagesRefused: new Counter({
      name: 'kms_early_messages_refused_total',
      help: 'Protocol messages for a round not started yet that the inbox refused, by reason (INBOX_SENDER_QUOTA, INBOX_FULL, EARLY_MESSAGE_TOO_LARGE)',
      labelNames: ['reason'],
      registers,
    }),
    earlyMessageBytes: new Gauge({ name: 'kms_early_message_bytes', help: 'Estimated bytes of early protocol messages buffered', registers }),
    appSignCache: {
      hits: new Counter({ name: 'kms_app_sign_cache_hits_total', help: 'App-sign cache lookups answered from the cache, by cache (partial_signature, hash_to_g1)', labelNames: ['cache'], registers }),
      misses: new Counter({ name: 'kms_app_sign_cache_misses_total', help: 'App-sign cache lookups that computed the value, by cache (partial_signature, hash_to_g1)', labelNames: ['cache'], registers }),
      evictions: new Counter({
        name: 'kms_app_sign_cache_evictions_total',
        help: 'Entries that left an app-sign cache, by cache and reason (capacity: the byte budget; invalidated: their key version was replaced or deleted)',
        labelNames: ['cache', 'reason'],
        registers,
      }),
      bytes: new Gauge({ name: 'kms_app_sign_cache_bytes', help: 'Estimated bytes held by each app-sign cache', labelNames: ['cache'], registers }),
      entries: new Gauge({ name: 'kms_app_sign_cache_entries', help: 'Entries held by each app-sign cache', labelNames: ['cache'], registers }),
    },
    cryptoPool: {
      queueDepth: new Gauge({ name: 'kms_crypto_pool_queue_depth', help: 'Crypto tasks (partial signatures, share verifications) waiting for a worker thread', registers }),
      busyWorkers: new Gauge({ name: 'kms_crypto_pool_busy_workers', help: 'Crypto worker threads running a task', registers }),
      workers: new Gauge({ name: 'kms_crypto_pool_workers', help: 'Crypto worker threads alive (0 with --crypto-workers 0: crypto runs on the event loop)', registers }),
      rejections: new Counter({ name: 'kms_crypto_pool_rejections_total', help: 'Serving tasks refused because the crypto queue was full (answered 503 with Retry-After)', registers }),
      crashes: new Counter({ name: 'kms_crypto_pool_worker_crashes_total', help: 'Crypto worker threads that exited unexpectedly (each is replaced; a task it held failed with CRYPTO_WORKER_CRASHED)', registers }),
    },
  };
}
