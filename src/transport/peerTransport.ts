import { openEnvelope, sealEnvelope, DEFAULT_MAX_PAYLOAD_BYTES, type OpenedEnvelope } from './envelope.js';
import { TransportError } from './errors.js';
import type { PeerRequestOptions, PeerResponse, PeerTarget } from './httpClient.js';
import { openPayloadSecret, sealPayloadSecret } from './payloadSecrets.js';
import type { ReplayGuard } from './replayGuard.js';
import type { OperatorSigner } from './signer.js';
import type { PeerIdentity, SignedEnvelope, TransportPayload } from './types.js';

/**
 * One node's end of the node-to-node channel: `send` encrypts a message's secret
 * field to its recipient, seals it and posts it; `receive` authenticates an inbound
 * body and decrypts the secret. The operator set and the clock are read per call,
 * so a new set at a boundary takes effect without rebuilding the transport.
 */

/** What `send` needs from an HTTP client; {@link PeerClient} fits. */
export interface EnvelopePoster {
  post(peer: PeerTarget, route: string, envelope: SignedEnvelope, options?: PeerRequestOptions): Promise<PeerResponse>;
}

/** Dependencies and policy of a {@link PeerTransport}. */
export interface PeerTransportOptions {
  readonly signer: OperatorSigner;
  /** This node's operator address (lowercase). */
  readonly self: string;
  /** The current operator set. */
  readonly operators: () => readonly PeerIdentity[];
  /** Unix ms. */
  readonly clock: () => number;
  readonly client: EnvelopePoster;
  readonly replayGuard: ReplayGuard;
  /** Freshness window, ms. */
  readonly maxSkewMs: number;
  /** Which sessions inbound messages may belong to; absent ⇒ any. */
  readonly currentSession?: (sessionTimestamp: number) => boolean;
  /**
   * Message type → field holding a secret that must travel encrypted. Defaults to
   * `{ deal: 'share' }` (the protocol core's DealMessage).
   */
  readonly secretFields?: Readonly<Record<string, string>>;
  readonly maxPayloadBytes?: number;
  /** Randomness for share encryption; node:crypto by default. */
  readonly rng?: (bytes: number) => Uint8Array;
}

const DEFAULT_SECRET_FIELDS: Readonly<Record<string, string>> = { deal: 'share' };

/** Sends and receives authenticated, share-encrypted protocol messages. */
export class PeerTransport {
  readonly #o: PeerTransportOptions;
  readonly #secretFields: Readonly<Record<string, string>>;

  constructor(options: PeerTransportOptions) {
    if (options.self !== options.self.toLowerCase()) {
      throw new TransportError('INVALID_TRANSPORT_CONFIG', `self address ${options.self} is not lowercase`, {
        fix: 'pass operator addresses lowercase, as the operator set reports them',
      });
    }
    this.#o = options;
    this.#secretFields = options.secretFields ?? DEFAULT_SECRET_FIELDS;
  }

  /**
   * Delivers `payload` to the operator named in `payload.to`, on `route`.
   * @throws TransportError UNKNOWN_RECIPIENT | INVALID_TRANSPORT_CONFIG; PeerRequestError from the client.
   */
  async send(payload: TransportPayload, route: string, options: PeerRequestOptions = {}): Promise<PeerResponse> {
    if (payload.from !== this.#o.self) {
      throw new TransportError('INVALID_TRANSPORT_CONFIG', `message from ${payload.from} cannot be sent by ${this.#o.self}`, {
        fix: 'send only messages this node authored',
        details: { from: payload.from, self: this.#o.self },
      });
    }
    const recipient = this.#o.operators().find((op) => op.address === payload.to);
    if (recipient === undefined) {
      throw new TransportError('UNKNOWN_RECIPIENT', `no operator ${payload.to ?? '(absent to)'} in the current set`, {
        fix: 'address messages to an operator of the current set; broadcasts are sent as one copy per recipient',
        details: { to: payload.to ?? null },
      });
    }
    const field = this.#secretFields[payload.type];
    const wire = field === undefined ? payload : sealPayloadSecret(payload, recipient, { field, rng: this.#o.rng });
    const envelope = sealEnvelope(wire, this.#o.signer, { route, now: this.#o.clock() });
    return this.#o.client.post(recipient, route, envelope, options);
  }

  /**
   * Authenticates a body that arrived on `route` and returns its payload with any
   * secret field decrypted (0x hex), plus the sending operator.
   * @throws TransportError (see {@link openEnvelope} and {@link openPayloadSecret}).
   */
  receive(route: string, body: unknown): OpenedEnvelope {
    const opened = openEnvelope(body, {
      route,
      self: this.#o.self,
      operators: this.#o.operators(),
      now: this.#o.clock(),
      maxSkewMs: this.#o.maxSkewMs,
      replayGuard: this.#o.replayGuard,
      currentSession: this.#o.currentSession,
      maxPayloadBytes: this.#o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    });
    const field = this.#secretFields[opened.payload.type];
    if (field === undefined) return opened;
    return { sender: opened.sender, payload: openPayloadSecret(opened.payload, this.#o.signer, { field }) };
  }
}
