import { z } from 'zod';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../logging/logger.js';
import { certificateToJson, parseCertificateJson, type CompletionCertificate } from '../protocol/index.js';
import { TransportError } from '../transport/errors.js';
import type { PeerTransport } from '../transport/peerTransport.js';
import type { PeerIdentity } from '../transport/types.js';
import { describeError } from '../logging/describeError.js';
import { peerKeyViewSchema, type PeerKeyView } from './sessionPlan.js';

/**
 * Completion certificates between nodes, on two signed peer routes (same envelope and
 * authentication as the protocol routes, but not tied to the running session: a
 * certificate is useful after its round ended):
 *  - push: a node that finalized a version sends its certificate to every other operator,
 *    so one that missed completions finalizes the same version;
 *  - request: before planning a round a node asks each peer for its latest certificate
 *    (and, for versions stored before certificates, its active version's public data).
 * Certificates verify on their own (protocol/certificate.ts): a forwarder is not trusted.
 */
export const CERTIFICATE_ROUTES = {
  push: '/protocol/certificate',
  request: '/protocol/certificate-request',
} as const;

/** What a peer answers to a request. */
export interface PeerCertificateAnswer {
  readonly from: string;
  readonly certificate: CompletionCertificate | null;
  /** The peer's active version without a certificate (stored by an earlier build), else null. */
  readonly uncertifiedActive: PeerKeyView | null;
}

/** What arrived on a certificate route. */
export type InboundCertificateMessage =
  | { readonly kind: 'push'; readonly from: string; readonly certificate: CompletionCertificate }
  | { readonly kind: 'request'; readonly from: string };

export interface GatherOptions {
  /** Answers to wait for (t − 1: with this node, a threshold). */
  readonly needed: number;
  /** Longest time to keep asking, ms. */
  readonly withinMs: number;
  readonly signal?: AbortSignal;
}

const GATHER_BACKOFF = { initialMs: 250, maxMs: 2_000, jitter: true } as const;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const answerSchema = z.object({
  certificate: z.unknown(),
  uncertifiedActive: peerKeyViewSchema.nullable(),
});

export class CertificateExchange {
  /**
   * @param push  transport for pushes (retrying client);
   * @param probe transport for requests at a boundary (quick client, few retries).
   */
  constructor(
    private readonly push: PeerTransport,
    private readonly probe: PeerTransport,
    private readonly self: string,
    private readonly logger: Logger,
  ) {}

  /** Sends `certificate` to each of `peers`; failures are logged, never thrown. */
  async broadcast(certificate: CompletionCertificate, peers: readonly PeerIdentity[], signal?: AbortSignal): Promise<void> {
    const json = certificateToJson(certificate);
    await Promise.all(peers.map(async (peer) => {
      try {
        await this.push.send(
          { type: 'certificate', sessionTimestamp: certificate.sessionTimestamp, from: this.self, to: peer.address, certificate: json },
          CERTIFICATE_ROUTES.push,
          signal === undefined ? {} : { signal },
        );
      } catch (error) {
        this.logger.warn({ to: peer.address, session: certificate.sessionTimestamp, err: describeError(error) }, 'completion certificate not delivered');
      }
    }));
  }

  /**
   * Asks the peers for their latest certificate, again and again (the backoff rule) for
   * those that did not answer, until `needed` answered or `withinMs` passed: at a boundary
   * peers are busy with heavy verification and miss quick deadlines, and a node that plans
   * without hearing them could deal from a stale share. Bad answers are left out.
   */
  async gather(peers: readonly PeerIdentity[], sessionTimestamp: number, options: GatherOptions): Promise<PeerCertificateAnswer[]> {
    const deadline = Date.now() + options.withinMs;
    const answered = new Map<string, PeerCertificateAnswer>();
    for (let attempt = 0; ; attempt++) {
      const missing = peers.filter((p) => !answered.has(p.address));
      for (const answer of await this.#ask(missing, sessionTimestamp, options.signal)) answered.set(answer.from, answer);
      if (answered.size >= Math.min(options.needed, peers.length) || options.signal?.aborted === true) break;
      const wait = backoffDelay(GATHER_BACKOFF, attempt + 1);
      if (Date.now() + wait >= deadline) {
        this.logger.warn({ session: sessionTimestamp, answered: answered.size, needed: options.needed }, 'too few peers answered the certificate request; planning from what arrived');
        break;
      }
      await sleep(wait, options.signal);
    }
    return [...answered.values()];
  }

  async #ask(peers: readonly PeerIdentity[], sessionTimestamp: number, signal: AbortSignal | undefined): Promise<PeerCertificateAnswer[]> {
    const answers = await Promise.all(peers.map(async (peer): Promise<PeerCertificateAnswer | null> => {
      try {
        const response = await this.probe.send(
          { type: 'certificateRequest', sessionTimestamp, from: this.self, to: peer.address },
          CERTIFICATE_ROUTES.request,
          signal === undefined ? {} : { signal },
        );
        const parsed = answerSchema.safeParse(response.body);
        if (!parsed.success) throw new TransportError('MALFORMED_ENVELOPE', 'the certificate answer does not have the expected shape');
        const active = parsed.data.uncertifiedActive;
        return {
          from: peer.address,
          certificate: parsed.data.certificate === null || parsed.data.certificate === undefined ? null : parseCertificateJson(parsed.data.certificate),
          uncertifiedActive: active !== null && active.operatorAddress === peer.address ? active : null,
        };
      } catch (error) {
        this.logger.debug({ peer: peer.address, err: describeError(error) }, 'no certificate answer from peer');
        return null;
      }
    }));
    return answers.flatMap((a) => (a === null ? [] : [a]));
  }

  /** Authenticates what arrived on a certificate route (the certificate itself is verified by the caller). */
  receive(route: string, body: unknown): InboundCertificateMessage {
    const { payload, sender } = this.push.receive(route, body);
    if (route === CERTIFICATE_ROUTES.push && payload.type === 'certificate') {
      return { kind: 'push', from: sender.address, certificate: parseCertificateJson(payload.certificate) };
    }
    if (route === CERTIFICATE_ROUTES.request && payload.type === 'certificateRequest') return { kind: 'request', from: sender.address };
    throw new TransportError('MALFORMED_ENVELOPE', `a '${payload.type}' message does not belong on ${route}`, { details: { route, type: payload.type } });
  }

  /** The body a node answers a request with. */
  static answer(certificate: CompletionCertificate | null, uncertifiedActive: PeerKeyView | null): { certificate: unknown; uncertifiedActive: PeerKeyView | null } {
    return { certificate: certificate === null ? null : certificateToJson(certificate), uncertifiedActive };
  }
}
