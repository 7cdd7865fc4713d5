import { describeError } from '../logging/describeError.js';
import type { BlockReader, BoundaryEvent } from '../chain/blockSource.js';
import { BlockSource } from '../chain/blockSource.js';
import type { Operator, OperatorSetSource } from '../chain/operatorSet.js';
import type { Logger } from '../logging/logger.js';
import type { NodePersistence } from '../persistence/nodePersistence.js';
import type { KeyShareVersion, NodeState, OperatorAddress, PersistenceHealth } from '../persistence/types.js';
import {
  createDkgSession,
  createReshareSession,
  thresholdFor,
  type CompletionCertificate,
  type DealChecks,
  type FinalizedVersion,
  type PreviousVersion,
  type ProtocolSession,
} from '../protocol/index.js';
import type { PeerClient } from '../transport/httpClient.js';
import { TransportError } from '../transport/errors.js';
import { PeerTransport } from '../transport/peerTransport.js';
import { operatorSignerRecovery, protocolSignerFor } from '../transport/protocolAuth.js';
import { ReplayGuard } from '../transport/replayGuard.js';
import type { OperatorSigner } from '../transport/signer.js';
import { AppSignCache, DEFAULT_APP_SIGN_CACHE_BYTES } from './appSignCache.js';
import { NodeNotReadyError, NoKeyVersionError, OperatorMismatchError } from './errors.js';
import { CERTIFICATE_ROUTES, CertificateExchange } from './certificateExchange.js';
import { CertificateKeeper } from './certificateKeeper.js';
import type { AppSignFacts } from '../wire/appSign.js';
import type { PubkeyFacts } from '../wire/pubkey.js';
import type { AppSignPolicy } from './http/appSignAccess.js';
import { buildHttpServer, type HealthView, type HttpServer, type NodeApi } from './http/server.js';
import { KeyStore } from './keyStore.js';
import type { NodeMetrics } from './metrics.js';
import { NEWCOMER_LOOKUP_MIN_INTERVAL_MS, NewcomerLookup } from './newcomerLookup.js';
import { PeerMessenger, PROTOCOL_ROUTES } from './peerMessenger.js';
import { pubkeyViewOf, storedPubkeyView } from './publicKeyView.js';
import type { NodeRuntimePhase, NodeRuntimeStatus, NodeStatusChangeReason, NodeStatusListener } from './runtime.js';
import { DEFAULT_INBOX_LIMITS, SessionInbox } from './sessionInbox.js';
import { planSession, viewOf } from './sessionPlan.js';
import { roundClockStart, roundTimeouts } from './roundTimeouts.js';
import { SessionRunner } from './sessionRunner.js';
import { StatusListeners } from './statusListeners.js';
import { InProcessCrypto, type CryptoExecutor } from './workers/cryptoExecutor.js';
import { CryptoPoolBusyError } from './workers/errors.js';

export interface KmsNodeOptions {
  readonly self: OperatorAddress;
  readonly host: string;
  readonly port: number;
  readonly boundaryInterval: number;
  readonly pollIntervalMs: number;
  readonly protocolTimeoutMs: number;
  /** Blocks a boundary must be buried under before the node acts on it (reorg safety). */
  readonly confirmations: number;
  /** Largest accepted clock difference between peers, ms (default 60 s). */
  readonly maxSkewMs?: number;
  /** Who may obtain app-key partial signatures and how fast (default: upstream's limits, no allowlist). */
  readonly appSign?: AppSignPolicy;
  /** Byte budget of the cache of partial signatures and hash-to-G1 points (default 32 MiB; 0: none). */
  readonly appSignCacheBytes?: number;
}

/** Everything the node talks to, built by the composition root and injected. */
export interface KmsNodeModules {
  readonly persistence: NodePersistence;
  readonly operatorSet: OperatorSetSource;
  readonly blockReader: BlockReader;
  readonly signer: OperatorSigner;
  /** For protocol messages: retries. */
  readonly peerClient: PeerClient;
  /** For /pubkey probes at a boundary: quick, few retries. */
  readonly probeClient: PeerClient;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** Where partial signing and share verification run (default: in process). The node closes it when it stops. */
  readonly crypto?: CryptoExecutor;
}

/**
 * One KMS node: restores what it must not forget, follows the chain, runs a DKG or a
 * reshare at each boundary, and serves app-key partial signatures over HTTP.
 */
export class KmsNode implements NodeApi {
  readonly metrics;
  readonly protocolRoutes = [...Object.values(PROTOCOL_ROUTES), ...Object.values(CERTIFICATE_ROUTES)];
  private phase: NodeRuntimePhase = 'stopped';
  private lastError: { code: string; message: string } | null = null;
  private keyStore: KeyStore | null = null;
  private state: NodeState | null = null;
  private operators: Operator[] = [];
  private readonly newcomers: NewcomerLookup;
  private runner: SessionRunner | null = null;
  private lastSessionTimestamp = 0;
  private lastHealth: PersistenceHealth | null = null;
  /** The last health check's verdict; a throwing check counts as unhealthy. */
  private lastHealthy: boolean | null = null;
  private readonly listeners = new StatusListeners((error) => { this.log.warn({ err: describeError(error) }, 'a status listener threw; ignored'); });
  private readonly inbox: SessionInbox;
  private readonly messenger: PeerMessenger;
  private readonly certificates: CertificateExchange;
  private readonly keeper: CertificateKeeper;
  private readonly http: HttpServer;
  private readonly appSignCache: AppSignCache;
  private readonly crypto: CryptoExecutor;
  private blockSource: BlockSource | null = null;
  private readonly stopping = new AbortController();
  private readonly log: Logger;

  constructor(
    private readonly options: KmsNodeOptions,
    private readonly m: KmsNodeModules,
  ) {
    this.metrics = m.metrics.registry;
    this.log = m.logger.child({ module: 'node' });
    const maxSkewMs = options.maxSkewMs ?? 60_000;
    this.inbox = new SessionInbox(DEFAULT_INBOX_LIMITS, m.metrics);
    this.newcomers = new NewcomerLookup({
      read: () => m.operatorSet.getOperators(),
      known: () => this.operators,
      adopt: (operators) => { this.operators = operators; },
      clock: () => Date.now(),
      minIntervalMs: NEWCOMER_LOOKUP_MIN_INTERVAL_MS,
      logger: this.log,
    });
    this.crypto = m.crypto ?? new InProcessCrypto();
    this.appSignCache = new AppSignCache({ maxBytes: options.appSignCacheBytes ?? DEFAULT_APP_SIGN_CACHE_BYTES, metrics: m.metrics.appSignCache, crypto: this.crypto });
    const transport = new PeerTransport({
      signer: m.signer,
      self: options.self,
      operators: () => this.operators,
      clock: () => Date.now(),
      client: m.peerClient,
      replayGuard: new ReplayGuard({ maxEntries: 100_000, maxEntriesPerSender: 20_000 }),
      maxSkewMs,
      currentSession: (ts) => this.acceptsSession(ts),
    });
    this.messenger = new PeerMessenger(transport, this.log);
    // Certificates outlive their round, so their routes are not tied to the running session.
    const certificateGuard = new ReplayGuard({ maxEntries: 10_000, maxEntriesPerSender: 1_000 });
    const certificateTransport = (client: PeerClient): PeerTransport => new PeerTransport({
      signer: m.signer,
      self: options.self,
      operators: () => this.operators,
      clock: () => Date.now(),
      client,
      replayGuard: certificateGuard,
      maxSkewMs,
    });
    this.certificates = new CertificateExchange(certificateTransport(m.peerClient), certificateTransport(m.probeClient), options.self, this.log);
    this.keeper = new CertificateKeeper({
      operators: () => this.operators,
      activeVersion: () => this.keyStore?.activeVersion ?? null,
      activate: (version) => this.activate(version),
      logger: this.log,
    });
    this.http = buildHttpServer(this, { logger: m.logger, appSignRequests: m.metrics.appSignRequests, ...(options.appSign === undefined ? {} : { appSign: options.appSign }) });
  }

  /** Health check (fail fast) → restore → HTTP → chain watcher. */
  async start(): Promise<{ url: string }> {
    this.setPhase('starting');
    // Neither needs the restored state, so both overlap the health check and the restore,
    // which wait on Redis: the registry read (chain I/O) and the HTTP server's boot (its
    // routes and schemas compiled; nothing listens before the restore is done).
    const operatorsRead = this.loadOperatorSet();
    const httpBooted = this.http.ready().then(() => null, (error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    try {
      this.lastHealth = await this.m.persistence.healthCheck();
      this.noteHealthVerdict(this.lastHealth.healthy);
      if (!this.lastHealth.healthy) {
        const failed = this.lastHealth.findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.message}`);
        throw new NodeNotReadyError(`persistence is not healthy: ${failed.join('; ')}`, { fix: 'fix the persistence problem above, then start again' });
      }
      this.setPhase('restoring');
      await this.restore();
      await operatorsRead;
      const bootError = await httpBooted;
      if (bootError !== null) throw bootError;
      const url = await this.http.listen({ host: this.options.host, port: this.options.port });
      this.blockSource = new BlockSource({
        client: this.m.blockReader,
        boundaryInterval: this.options.boundaryInterval,
        pollIntervalMs: this.options.pollIntervalMs,
        confirmations: this.options.confirmations,
        lastProcessedBoundary: BigInt(this.state?.lastProcessedBoundary ?? 0),
        onBoundary: (event) => this.onBoundary(event),
        logger: this.m.logger,
      });
      this.blockSource.start();
      this.crypto.warmUp();
      this.setPhase('running');
      this.log.info({ url, activeVersion: this.keyStore?.activeVersion?.epoch ?? null }, 'node running');
      return { url };
    } catch (error) {
      this.lastError = describeError(error);
      this.setPhase('failed');
      await this.closeAll();
      throw error;
    }
  }

  /** Stops taking work, abandons the running round cleanly, closes persistence. Idempotent. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.setPhase('stopping');
    this.stopping.abort();
    await this.closeAll();
    this.setPhase('stopped');
    this.log.info('node stopped');
  }

  private async closeAll(): Promise<void> {
    await this.blockSource?.stop();
    // The pool is closed while HTTP drains: a request waiting for a worker gets a 503 at
    // once, and a wedged worker cannot hold the shutdown.
    const httpClosed = this.http.close();
    await this.crypto.close();
    await httpClosed;
    try {
      await this.m.persistence.close();
    } catch (error) {
      this.log.error({ err: describeError(error) }, 'closing persistence failed');
    }
  }

  /**
   * RestoreState: node state (refusing another operator's data), the key index and the
   * active version, and the removal of sessions a crash left behind.
   */
  private async restore(): Promise<void> {
    const p = this.m.persistence;
    const stored = await p.loadNodeState();
    if (stored !== null && stored.operatorAddress !== this.options.self) {
      throw new OperatorMismatchError(`the data belongs to operator ${stored.operatorAddress}, not ${this.options.self}`, {
        fix: 'point this node at its own data path / key prefix, or start it with the operator key that owns this data',
      });
    }
    this.state = stored ?? { lastProcessedBoundary: 0, nodeStartTime: Date.now(), operatorAddress: this.options.self };
    if (stored === null) await p.saveNodeState(this.state);
    this.keyStore = await KeyStore.restore(p, { onVersionChange: (epoch) => { this.appSignCache.forgetVersion(epoch); } });
    for (const session of await p.listProtocolSessions()) {
      this.log.warn({ session: session.sessionTimestamp, type: session.type, phase: session.phase }, 'deleting a protocol session left incomplete by a previous run; it will be retried at a later boundary');
      await p.deleteProtocolSession(session.sessionTimestamp);
    }
    this.updateKeyMetrics();
    this.log.info(
      { lastProcessedBoundary: this.state.lastProcessedBoundary, versions: this.keyStore.versionCount, activeVersion: this.keyStore.activeVersion?.epoch ?? null },
      'state restored',
    );
  }

  /**
   * The current operator set, before any boundary: peers that already started a round send
   * to a node that has just restarted, and it must know their keys to accept their deals.
   * Boundaries load the set at their own block; a failure here only defers that.
   */
  private async loadOperatorSet(): Promise<void> {
    try {
      this.operators = await this.m.operatorSet.getOperators();
    } catch (error) {
      this.log.warn({ err: describeError(error) }, 'could not read the operator set at start; peers are accepted from the first boundary on');
    }
  }

  private async onBoundary(event: BoundaryEvent): Promise<void> {
    const seenAt = Date.now();
    const boundary = Number(event.blockNumber);
    const state = this.state;
    if (state === null || boundary <= state.lastProcessedBoundary || this.stopping.signal.aborted) return;
    // Recorded before the round: a crash mid-round forfeits this boundary, never repeats it.
    // Adopted only once saved, so /health never reports a boundary whose save failed.
    const next = { ...state, lastProcessedBoundary: boundary };
    await this.m.persistence.saveNodeState(next);
    this.state = next;
    this.m.metrics.lastProcessedBoundary.set(boundary);
    this.notify('boundaryProcessed');
    if (this.runner !== null) {
      this.log.warn({ boundary, running: this.runner.sessionTimestamp }, 'a round is still running; this boundary is skipped');
      return;
    }
    this.operators = await this.m.operatorSet.getOperators(event.blockNumber);
    if (!this.operators.some((o) => o.address === this.options.self)) {
      this.log.warn({ boundary }, 'this operator is not in the operator set at this boundary; not taking part');
      return;
    }
    const others = this.operators.filter((o) => o.address !== this.options.self);
    // Before dealing, hear from enough peers (t with this node) to know the agreed version.
    const answers = await this.certificates.gather(others, event.blockTimestamp, {
      needed: thresholdFor(this.operators.length) - 1,
      withinMs: Math.floor(this.options.protocolTimeoutMs / 4),
      signal: this.stopping.signal,
    });
    const certificates = await this.keeper.consider(answers.flatMap((a) => (a.certificate === null ? [] : [a.certificate])));
    const peerViews = answers.flatMap((a) => (a.uncertifiedActive === null ? [] : [a.uncertifiedActive]));
    let plan = planSession(this.keyStore?.activeVersion ?? null, this.options.self, peerViews, event.blockTimestamp, certificates);
    if (plan.kind === 'dkg' && answers.some((a) => a.certificate !== null)) {
      // Never a fresh secret while peers report versions, even ones this node cannot verify.
      plan = { kind: 'wait', reason: 'peers report certified versions, none of which verifies against the current operator set' };
    }
    if (plan.kind === 'wait') {
      this.log.warn({ boundary, reason: plan.reason }, 'no round at this boundary');
      return;
    }
    await this.runRound(event, seenAt, plan.kind === 'dkg' ? null : plan);
  }

  private async runRound(event: BoundaryEvent, seenAt: number, reshare: { previous: PreviousVersion; previousShare: bigint | null } | null): Promise<void> {
    const ts = event.blockTimestamp;
    const type = reshare === null ? 'dkg' : 'reshare';
    const common = {
      sessionTimestamp: ts,
      operators: this.operators.map((o) => o.address),
      signer: protocolSignerFor(this.m.signer, this.options.self),
      recoverSigner: operatorSignerRecovery(this.operators),
      startTime: Date.now(),
    };
    const started = Date.now();
    let session: ProtocolSession;
    try {
      session = reshare === null
        ? createDkgSession(common)
        : createReshareSession({ ...common, previous: reshare.previous, ...(reshare.previousShare === null ? {} : { previousShare: reshare.previousShare }) });
    } catch (error) {
      this.m.metrics.protocolRounds.inc({ type, outcome: 'failed' });
      this.log.error({ session: ts, err: describeError(error) }, 'cannot start the round');
      return;
    }
    const runner = new SessionRunner({
      session,
      sessionTimestamp: ts,
      messenger: this.messenger,
      persistence: this.m.persistence,
      ...roundTimeouts({ protocolTimeoutMs: this.options.protocolTimeoutMs, operators: common.operators, self: this.options.self, sessionTimestamp: ts }),
      startedAt: roundClockStart(seenAt, ts, this.options.protocolTimeoutMs),
      logger: this.log.child({ session: ts, type }),
      metrics: this.m.metrics,
      signal: this.stopping.signal,
      // In process, the session verifies its deals itself (with its own random source).
      ...(this.crypto.threads === 0 ? {} : { verifyDeals: (checks: DealChecks) => this.crypto.findInvalidDeals(checks) }),
    });
    this.runner = runner;
    for (const message of this.inbox.take(ts)) runner.deliver(message);
    this.inbox.dropThrough(ts);
    this.log.info({ session: ts, type, operators: this.operators.length, role: reshare?.previousShare === null ? 'receiver' : 'dealer' }, 'round started');
    try {
      const result = await runner.run();
      await this.activate(result);
      this.m.metrics.protocolRounds.inc({ type, outcome: 'completed' });
      this.m.metrics.protocolRoundDuration.observe({ type }, (Date.now() - started) / 1000);
      this.log.info(
        { session: ts, type, version: result.epoch, threshold: result.threshold, participants: result.participants.length, dealers: result.dealers.length, dealerSet: session.status().dealerSetDecision },
        'round completed; new key version active',
      );
      // Peers that missed completions finalize the same version from it. Not awaited: a
      // stopped peer keeps a push retrying long enough to hold this node past the next boundary.
      const pushing = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.protocolTimeoutMs)]);
      void this.certificates.broadcast(result.certificate, this.operators.filter((o) => o.address !== this.options.self), pushing);
    } catch (error) {
      this.m.metrics.protocolRounds.inc({ type, outcome: 'failed' });
      const pending = session.pendingCompletion();
      this.keeper.keep(pending);
      this.log.warn(
        { session: ts, type, err: describeError(error), keptCompletion: pending !== null },
        pending === null ? 'round failed; the node retries at a later boundary' : 'round ended without t completions; a certificate from a peer can still finalize it',
      );
    } finally {
      this.runner = null;
      this.lastSessionTimestamp = Math.max(this.lastSessionTimestamp, ts);
      // Finished, failed or abandoned at shutdown: the snapshot has no further use.
      await this.m.persistence.deleteProtocolSession(ts).catch((error: unknown) => {
        this.log.error({ session: ts, err: describeError(error) }, 'could not delete the session snapshot; it is removed at the next start');
      });
    }
  }

  /** Stores a finalized version (with its certificate) and makes it active. */
  private async activate(result: FinalizedVersion): Promise<void> {
    const version: KeyShareVersion = {
      epoch: result.epoch,
      privateShare: result.privateShare,
      commitments: result.commitments,
      masterPublicKey: result.masterPublicKey,
      threshold: result.threshold,
      participants: result.participants,
      createdAt: Date.now(),
      certificate: result.certificate,
    };
    await this.requireKeyStore().commit(version);
    this.updateKeyMetrics();
    this.notify('keyVersionActivated');
  }

  /** A certificate pushed by a peer: into the running round, or it finalizes a kept completion. */
  private async learnCertificate(certificate: CompletionCertificate): Promise<void> {
    const runner = this.runner;
    if (runner === null || runner.sessionTimestamp !== certificate.sessionTimestamp) {
      await this.keeper.consider([certificate]);
      return;
    }
    const [cert] = this.keeper.verified([certificate]);
    if (cert === undefined) return;
    this.keeper.note(cert);
    runner.deliverCertificate(cert);
  }

  private async onCertificateRoute(route: string, body: unknown): Promise<unknown> {
    const inbound = await this.opened(() => this.certificates.receive(route, body));
    if (inbound.kind === 'push') {
      await this.learnCertificate(inbound.certificate);
      return undefined;
    }
    const active = this.keyStore?.activeVersion ?? null;
    return CertificateExchange.answer(this.keeper.latest(), active !== null && active.certificate === undefined ? viewOf(active, this.options.self) : null);
  }

  /** Opens an inbound message; one from an unknown sender first has the node look for newcomers. */
  private async opened<T>(open: () => T): Promise<T> {
    try {
      return open();
    } catch (error) {
      if (!(error instanceof TransportError && error.code === 'UNKNOWN_SENDER') || !(await this.newcomers.lookup())) throw error;
      return open();
    }
  }

  private acceptsSession(ts: number): boolean {
    if (this.runner !== null) return ts >= this.runner.sessionTimestamp;
    // Early messages of a round this node has not started yet are buffered, not refused.
    return ts > this.lastSessionTimestamp && ts * 1000 <= Date.now() + this.options.protocolTimeoutMs;
  }

  // ---- NodeApi -------------------------------------------------------------------

  async receiveProtocolMessage(route: string, body: unknown): Promise<unknown> {
    if (this.phase !== 'running') throw new NodeNotReadyError(`the node is ${this.phase}`);
    // 503, which senders retry: a 403 for an unknown sender would lose a deal for good.
    if (this.operators.length === 0) throw new NodeNotReadyError('the operator set is not loaded yet');
    if (route === CERTIFICATE_ROUTES.push || route === CERTIFICATE_ROUTES.request) return this.onCertificateRoute(route, body);
    const message = await this.opened(() => this.messenger.receive(route, body));
    const runner = this.runner;
    if (runner !== null && runner.sessionTimestamp === message.sessionTimestamp) runner.deliver(message);
    else this.inbox.put(message);
    return undefined;
  }

  publicKey(): PubkeyFacts | null {
    const active = this.keyStore?.activeVersion ?? null;
    return active === null ? null : pubkeyViewOf(active, this.options.self, true);
  }

  publicKeyAt(epoch: number): Promise<PubkeyFacts | null> {
    return storedPubkeyView(this.requireKeyStore(), epoch, this.options.self);
  }

  async signApp(appId: string, attestationTime: number | null): Promise<AppSignFacts> {
    const keyStore = this.requireKeyStore();
    // The epoch comes from memory, so a cached partial is served without reading its version.
    const epoch = attestationTime === null ? keyStore.activeVersion?.epoch ?? null : keyStore.epochAt(attestationTime);
    if (epoch === null) {
      this.m.metrics.appSignRequests.inc({ outcome: 'no_version' });
      throw attestationTime === null
        ? new NodeNotReadyError('this node has no active key version yet', { fix: 'wait for the first DKG to complete' })
        : new NoKeyVersionError(`no key version was valid at ${attestationTime}`, { details: { attestationTime } });
    }
    let partialSignature: Uint8Array;
    try {
      partialSignature = await this.appSignCache.partialSignature(appId, epoch, async () => {
        const version = await keyStore.version(epoch);
        if (version === null) throw new NoKeyVersionError(`key version ${epoch} was deleted while signing`, { details: { epoch } });
        return version.privateShare;
      });
    } catch (error) {
      if (error instanceof CryptoPoolBusyError) this.m.metrics.appSignRequests.inc({ outcome: 'overloaded' });
      throw error;
    }
    this.m.metrics.appSignRequests.inc({ outcome: 'signed' });
    return { operatorAddress: this.options.self, version: epoch, partialSignature };
  }

  async health(): Promise<HealthView> {
    let persistence: PersistenceHealth | null = null;
    try {
      persistence = await this.m.persistence.healthCheck();
      this.lastHealth = persistence;
    } catch (error) {
      this.lastError = describeError(error);
    }
    this.noteHealthVerdict(persistence?.healthy === true);
    const chain = this.blockSource?.health() ?? null;
    const active = this.keyStore?.activeVersion ?? null;
    const unhealthy = this.phase !== 'running' || persistence?.healthy !== true;
    const degraded = active === null || (chain?.consecutiveFailures ?? 0) > 0;
    return {
      status: unhealthy ? 'unhealthy' : degraded ? 'degraded' : 'ok',
      body: {
        phase: this.phase,
        operatorAddress: this.options.self,
        activeVersion: active?.epoch ?? null,
        versionCount: this.keyStore?.versionCount ?? 0,
        lastProcessedBoundary: this.state?.lastProcessedBoundary ?? 0,
        round: this.runner === null ? null : { sessionTimestamp: this.runner.sessionTimestamp },
        persistence,
        chain: chain === null ? null : {
          lastHead: chain.lastHead?.toString() ?? null,
          lastHeadAt: chain.lastHeadAt,
          consecutiveFailures: chain.consecutiveFailures,
          lastError: chain.lastError,
        },
      },
    };
  }

  /** Status for the NodeRuntime seam (controller, CLI). */
  status(): NodeRuntimeStatus {
    return {
      phase: this.phase,
      persistence: this.lastHealth,
      keys: {
        activeVersion: this.keyStore?.activeVersion?.epoch ?? null,
        versionCount: this.keyStore?.versionCount ?? 0,
        lastProcessedBoundary: this.state?.lastProcessedBoundary ?? 0,
      },
      lastError: this.lastError,
    };
  }

  /** See NodeRuntime.onStatusChange: phase, boundary, activated version, health verdict. */
  onStatusChange(listener: NodeStatusListener): () => void {
    return this.listeners.add(listener);
  }

  private notify(reason: NodeStatusChangeReason): void {
    this.listeners.emit(reason, this.status());
  }

  private setPhase(phase: NodeRuntimePhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.notify('phase');
  }

  private noteHealthVerdict(healthy: boolean): void {
    const previous = this.lastHealthy;
    this.lastHealthy = healthy;
    if (previous !== null && previous !== healthy) this.notify('persistenceHealth');
  }

  private requireKeyStore(): KeyStore {
    if (this.keyStore === null) throw new NodeNotReadyError(`the node is ${this.phase}`);
    return this.keyStore;
  }

  private updateKeyMetrics(): void {
    this.m.metrics.keyVersions.set(this.keyStore?.versionCount ?? 0);
    this.m.metrics.activeKeyVersion.set(this.keyStore?.activeVersion?.epoch ?? 0);
    this.m.metrics.lastProcessedBoundary.set(this.state?.lastProcessedBoundary ?? 0);
  }
}


