import { setMaxListeners } from 'node:events';
import type { Logger } from '../logging/logger.js';
import { DurabilityError } from '../persistence/errors.js';
import { RateLimitedLog } from '../logging/rateLimitedLog.js';
import type { NodePersistence } from '../persistence/nodePersistence.js';
import { describeError } from '../logging/describeError.js';
import { isProtocolError, ProtocolError, type CompletionCertificate, type DealChecks, type FinalizedVersion, type ProtocolMessage, type ProtocolSession } from '../protocol/index.js';
import type { NodeMetrics } from './metrics.js';
import type { PeerMessenger } from './peerMessenger.js';

export interface SessionRunnerOptions {
  readonly session: ProtocolSession;
  readonly sessionTimestamp: number;
  readonly messenger: PeerMessenger;
  readonly persistence: NodePersistence;
  /** After this long in the acknowledgement phase, decide the dealer set from what arrived. */
  readonly ackPhaseTimeoutMs: number;
  /** After this long in all, give up (the node retries at a later boundary). */
  readonly totalTimeoutMs: number;
  /** When both timeouts started counting (epoch ms; the node passes when it saw the boundary). Default: run(). */
  readonly startedAt?: number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Aborts the round (node shutdown). */
  readonly signal: AbortSignal;
  /**
   * Verifies a batch's deals off the event loop (a worker of the crypto pool): indices of
   * the invalid ones, as findInvalidDeals. Unset, or when it fails, the session verifies them itself.
   */
  readonly verifyDeals?: (checks: DealChecks) => Promise<readonly number[]>;
}

/**
 * Drives one protocol session: feeds it the messages that arrive, sends what it emits,
 * snapshots it to persistence at every phase change, and applies the timeouts the pure
 * core leaves to its caller. Messages are applied one batch at a time (handleAll, so
 * deals are verified together) in arrival order.
 */
export class SessionRunner {
  private readonly queue: ProtocolMessage[] = [];
  private readonly certificates: CompletionCertificate[] = [];
  private wake: (() => void) | null = null;
  private readonly sends = new Set<Promise<boolean>>();
  /** Aborts this round's sends still retrying: at the round's deadline, or when the node stops. */
  private readonly sendsAbort = new AbortController();
  private readonly sendSignal: AbortSignal;
  private lastSavedPhase = 0;
  /** An authenticated peer can send invalid messages at will: their lines are rate-limited (the metric counts all). */
  private readonly rejections: RateLimitedLog;

  constructor(private readonly o: SessionRunnerOptions) {
    this.rejections = new RateLimitedLog(o.logger, 'protocol message rejected');
    this.sendSignal = AbortSignal.any([o.signal, this.sendsAbort.signal]);
    // Every send in flight listens on it (n² acks per round), and lets go when it settles:
    // the default limit of 10 only printed MaxListenersExceededWarning at n = 7.
    setMaxListeners(0, this.sendSignal);
  }

  get sessionTimestamp(): number {
    return this.o.sessionTimestamp;
  }

  /** Queues an authenticated inbound message for this session. */
  deliver(message: ProtocolMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  /** Queues a verified completion certificate of this session (forwarded by a peer that finalized). */
  deliverCertificate(certificate: CompletionCertificate): void {
    this.certificates.push(certificate);
    this.wake?.();
  }

  /**
   * Runs to a finalized version, or rejects with the ProtocolError that ended it, or a
   * DurabilityError when persistence could not commit the version this node completed.
   */
  async run(): Promise<FinalizedVersion> {
    const { session, logger } = this.o;
    const startedAt = this.o.startedAt ?? Date.now();
    const ackDeadline = startedAt + this.o.ackPhaseTimeoutMs;
    const deadline = startedAt + this.o.totalTimeoutMs;
    let proceededAck = false;
    try {
      await this.send(session.start());
      await this.snapshot();
      for (;;) {
        this.throwIfAborted();
        const result = session.result();
        if (result !== null) return result;
        if (session.phase === 'failed') throw this.failure();
        const now = Date.now();
        if (now >= deadline) {
          await this.applySafely(() => {
            session.giveUp();
            return [];
          });
          if (session.result() === null) throw this.failure();
          continue;
        }
        if (!proceededAck && now >= ackDeadline && session.phase === 'acknowledging') {
          proceededAck = true;
          logger.info({ status: session.status() }, 'acknowledgement phase timed out; deciding the dealer set from what arrived');
          await this.applySafely(() => session.proceed());
          await this.snapshot();
          continue;
        }
        if (this.certificates.length > 0) {
          for (const cert of this.certificates.splice(0, this.certificates.length)) {
            logger.info({ signers: cert.signatures.length }, 'applying a completion certificate forwarded by a peer');
            await this.applySafely(() => session.handleCertificate(cert));
          }
          continue;
        }
        if (this.queue.length === 0) {
          await this.waitForWork(Math.min(proceededAck ? deadline : ackDeadline, deadline) - now);
          continue;
        }
        const batch = this.queue.splice(0, this.queue.length);
        const prepared = session.prepareBatch(batch);
        const invalidDeals = prepared.dealChecks === null ? null : await this.verifyDeals(prepared.dealChecks, deadline);
        await this.applySafely(() => {
          const { outbound, rejected } = session.applyBatch(prepared, invalidDeals);
          for (const { index, error } of rejected) {
            this.o.metrics.protocolMessagesRejected.inc({ code: error.code });
            const message = batch[index];
            this.rejections.warn(`${error.code}|${message?.from ?? '?'}`, { code: error.code, from: message?.from, type: message?.type, reason: error.message });
          }
          return outbound;
        });
        await this.snapshot();
      }
    } finally {
      this.releaseSends(deadline);
    }
  }

  /**
   * The batch's invalid deals from the injected verifier, or null to let the session
   * verify them: when there is none, when it fails, or when it has not answered within a
   * quarter of the ack phase (a pool whose workers keep dying must not hold the round).
   */
  private async verifyDeals(checks: DealChecks, deadline: number): Promise<readonly number[] | null> {
    if (this.o.verifyDeals === undefined) return null;
    let timer: NodeJS.Timeout | undefined;
    const patienceMs = Math.max(0, Math.min(this.o.ackPhaseTimeoutMs / 4, deadline - Date.now()));
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => { resolve('late'); }, patienceMs); });
    try {
      const answer = await Promise.race([this.o.verifyDeals(checks), late]);
      if (answer !== 'late') return answer;
      this.o.logger.warn({ deals: checks.deals.length, waitedMs: patienceMs }, 'verifying deals off the event loop took too long; verifying them here');
    } catch (error) {
      this.o.logger.warn({ err: describeError(error), deals: checks.deals.length }, 'verifying deals off the event loop failed; verifying them here');
    } finally {
      clearTimeout(timer);
    }
    return null;
  }

  private async applySafely(step: () => ProtocolMessage[]): Promise<void> {
    let out: readonly ProtocolMessage[];
    try {
      out = step();
    } catch (error) {
      // A ProtocolError thrown by the session itself (not by one message) ends the round;
      // the loop sees phase 'failed' and reports it. Its outbound still goes out.
      if (!isProtocolError(error)) throw error;
      out = error.outbound;
    }
    await this.send(out);
  }

  private async send(messages: readonly ProtocolMessage[]): Promise<void> {
    if (messages.some((m) => m.type === 'complete')) await this.requireDurable();
    for (const message of messages) {
      const send = this.o.messenger.send(message, this.sendSignal);
      this.sends.add(send);
      void send.finally(() => this.sends.delete(send));
    }
  }

  /**
   * A completion vouches that this node will hold the version: peers count it towards the
   * t that finalize. None goes out while persistence could not commit that version (AOF
   * off, fsync weaker than configured, last write failed, server unreachable).
   */
  private async requireDurable(): Promise<void> {
    const health = await this.o.persistence.healthCheck();
    if (health.healthy) return;
    const failed = health.findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.message}`);
    throw new DurabilityError(`session ${this.o.sessionTimestamp}: this node's completion was not sent, persistence could not commit the version (${failed.join('; ') || 'unhealthy'})`, {
      fix: 'restore durable persistence (see /health); the node takes part again at the next boundary',
      details: { sessionTimestamp: this.o.sessionTimestamp, findings: failed.join('; ') },
    });
  }

  /**
   * The round's result does not wait for its sends: a peer that is stopped or partitioned
   * keeps a send retrying for tens of seconds, and waiting held the version back from
   * activation and the node from the next boundary. Sends still in flight may finish (a
   * late completion still helps a peer reach t) until the round's deadline, never after.
   */
  private releaseSends(deadline: number): void {
    if (this.sends.size === 0) return;
    const timer = setTimeout(() => { this.sendsAbort.abort(); }, Math.max(0, deadline - Date.now()));
    timer.unref();
    void Promise.allSettled([...this.sends]).then(() => { clearTimeout(timer); });
  }

  private async snapshot(): Promise<void> {
    const snapshot = this.o.session.snapshot();
    if (snapshot.phase === this.lastSavedPhase) return;
    await this.o.persistence.saveProtocolSession(snapshot);
    this.lastSavedPhase = snapshot.phase;
  }

  private waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.o.signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.o.signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private failure(): ProtocolError {
    const status = this.o.session.status();
    const error = status.error;
    return new ProtocolError(
      (error?.code ?? 'NO_QUORUM') as ProtocolError['code'],
      error?.message ?? `session ${this.o.sessionTimestamp} ended without a result`,
    );
  }

  private throwIfAborted(): void {
    if (this.o.signal.aborted) {
      throw new ProtocolError('INVALID_STATE', `session ${this.o.sessionTimestamp} was abandoned: the node is stopping`);
    }
  }
}
