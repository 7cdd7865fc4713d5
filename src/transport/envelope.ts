import { randomBytes } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { canonicalJson } from './canonicalJson.js';
import { TransportError } from './errors.js';
import type { ReplayGuard } from './replayGuard.js';
import { recoverDigestSigner, type OperatorSigner } from './signer.js';
import { ADDRESS_PATTERN, type PeerIdentity, type SignedEnvelope, type TransportPayload } from './types.js';

/**
 * Signed envelopes for node-to-node messages.
 *
 * Unlike the upstream Go node (signature over the payload only, no freshness, no
 * route binding), the digest here is
 *   keccak256("kms-node/envelope/v1" ‖ u32be(|route|) ‖ route ‖ u32be(|payload|) ‖ payload
 *             ‖ u64be(sentAt) ‖ nonce(16))
 * so a captured message cannot be re-sent later (freshness + nonce memory) or on a
 * different route (a share body posted to the ack route). Lengths are prefixed so
 * no two (route, payload) pairs share an encoding.
 */

const DOMAIN = utf8ToBytes('kms-node/envelope/v1');
const NONCE_BYTES = 16;
/** Default cap on the payload of one envelope (UTF-8 bytes). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
const ROUTE_PATTERN = /^\/[A-Za-z0-9/_.-]*$/;

const envelopeSchema = z.strictObject({
  v: z.literal(1),
  payload: z.string().min(2),
  sentAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  nonce: z.string().regex(/^0x[0-9a-f]{32}$/, 'expected 0x + 32 lowercase hex digits (16 bytes)'),
  signature: z.string().regex(/^0x[0-9a-f]{130}$/, 'expected 0x + 130 lowercase hex digits (65 bytes)'),
});

const address = z.string().regex(ADDRESS_PATTERN, 'expected a lowercase 0x-prefixed 20-byte address');
const payloadSchema = z.looseObject({
  type: z.string().min(1),
  sessionTimestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  from: address,
  to: address.optional(),
});

/** Options of {@link sealEnvelope}. */
export interface SealOptions {
  /** HTTP path the envelope will be posted to, e.g. `/dkg/share`. */
  readonly route: string;
  /** Sender clock, unix ms. */
  readonly now: number;
  /** 16 bytes; random by default. Tests inject it for reproducible envelopes. */
  readonly nonce?: Uint8Array;
}

/**
 * Signs `payload` for delivery on `route`.
 * @throws TypeError for a payload JSON cannot carry, a bad route or nonce.
 */
export function sealEnvelope(payload: TransportPayload, signer: OperatorSigner, options: SealOptions): SignedEnvelope {
  assertRoute(options.route);
  if (!Number.isSafeInteger(options.now) || options.now < 0) throw new TypeError(`sealEnvelope: now=${options.now} is not unix ms`);
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw new TypeError(`sealEnvelope: nonce is ${nonce.length} bytes, expected 16`);
  const body = canonicalJson(payload);
  const digest = envelopeDigest(options.route, body, options.now, nonce);
  return {
    v: 1,
    payload: body,
    sentAt: options.now,
    nonce: `0x${bytesToHex(nonce)}`,
    signature: `0x${bytesToHex(signer.signDigest(digest))}`,
  };
}

/** The 32-byte digest an envelope's signature covers (see the module comment). */
export function envelopeDigest(route: string, payload: string, sentAt: number, nonce: Uint8Array): Uint8Array {
  const routeBytes = utf8ToBytes(route);
  const payloadBytes = utf8ToBytes(payload);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, routeBytes.length);
  const payloadLength = new Uint8Array(4);
  new DataView(payloadLength.buffer).setUint32(0, payloadBytes.length);
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, BigInt(sentAt));
  return keccak_256(concatBytes(DOMAIN, header, routeBytes, payloadLength, payloadBytes, time, nonce));
}

/** Options of {@link openEnvelope}. */
export interface OpenOptions {
  /** The path this request arrived on; must equal the route the sender signed. */
  readonly route: string;
  /** This node's operator address (lowercase). */
  readonly self: string;
  /** The current operator set; only its members may send. */
  readonly operators: readonly PeerIdentity[];
  /** Receiver clock, unix ms. */
  readonly now: number;
  /** Largest accepted |now − sentAt|, ms. Replay memory lasts this long past sentAt. */
  readonly maxSkewMs: number;
  readonly replayGuard: ReplayGuard;
  /** Whether the message's session is one this node is running; false ⇒ WRONG_SESSION. */
  readonly currentSession?: (sessionTimestamp: number) => boolean;
  /** Cap on the payload's UTF-8 size; defaults to {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
  readonly maxPayloadBytes?: number;
}

/** What {@link openEnvelope} returns: the payload and the operator that sent it. */
export interface OpenedEnvelope {
  readonly payload: TransportPayload;
  readonly sender: PeerIdentity;
}

/**
 * Validates and authenticates an inbound envelope (any parsed JSON body). Checks, in
 * order: shape, size, payload shape, sender in the operator set, signature by that
 * sender's key over this route, recipient, freshness, session, and finally the
 * replay memory, which only records messages that passed everything else (so
 * forged traffic cannot fill it).
 * @throws TransportError MALFORMED_ENVELOPE | BODY_TOO_LARGE | UNKNOWN_SENDER | BAD_SIGNATURE |
 *   SENDER_MISMATCH | WRONG_RECIPIENT | STALE_MESSAGE | WRONG_SESSION | REPLAYED_MESSAGE | REPLAY_GUARD_FULL
 */
export function openEnvelope(body: unknown, options: OpenOptions): OpenedEnvelope {
  if (!(options.maxSkewMs > 0) || !Number.isFinite(options.maxSkewMs)) {
    throw new TransportError('INVALID_TRANSPORT_CONFIG', `maxSkewMs=${options.maxSkewMs} must be a positive number`, {
      fix: 'configure a freshness window such as 60000 ms',
    });
  }
  const envelope = decodeEnvelope(body);
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const payloadBytes = Buffer.byteLength(envelope.payload, 'utf8');
  if (payloadBytes > maxPayloadBytes) {
    throw new TransportError('BODY_TOO_LARGE', `envelope payload is ${payloadBytes} bytes, limit ${maxPayloadBytes}`, {
      fix: 'split the message or raise the payload limit on the receiving node',
      details: { payloadBytes, maxPayloadBytes },
    });
  }
  const payload = decodePayload(envelope.payload);

  const sender = options.operators.find((op) => op.address === payload.from);
  if (sender === undefined) {
    throw new TransportError('UNKNOWN_SENDER', `sender ${payload.from} is not in the current operator set`, {
      fix: 'only operators of the current set may send; check that both nodes read the same operator set',
      details: { from: payload.from },
    });
  }
  const digest = envelopeDigest(options.route, envelope.payload, envelope.sentAt, hexToBytes(envelope.nonce.slice(2)));
  const signer = recoverDigestSigner(digest, hexToBytes(envelope.signature.slice(2)));
  if (signer !== sender.signingAddress) {
    const other = options.operators.find((op) => op.signingAddress === signer);
    if (other !== undefined) {
      throw new TransportError('SENDER_MISMATCH', `message claims to be from ${payload.from} but is signed by operator ${other.address}`, {
        fix: 'an operator may only send messages in its own name',
        details: { from: payload.from, signedBy: other.address },
      });
    }
    throw new TransportError('BAD_SIGNATURE', `signature does not match ${payload.from}'s signing key for route ${options.route}`, {
      fix: 'the envelope was altered, posted to a different route than it was sealed for, or signed with another key',
      details: { from: payload.from, route: options.route },
    });
  }
  if (payload.to !== undefined && payload.to !== options.self) {
    throw new TransportError('WRONG_RECIPIENT', `message for ${payload.to} was delivered to ${options.self}`, {
      fix: "the sender used the wrong peer's socket URL; check the operator set's socket addresses",
      details: { to: payload.to, self: options.self },
    });
  }
  const skew = options.now - envelope.sentAt;
  if (Math.abs(skew) > options.maxSkewMs) {
    throw new TransportError('STALE_MESSAGE', `message sent at ${envelope.sentAt} is ${skew} ms from this node's clock (limit ±${options.maxSkewMs} ms)`, {
      fix: 'synchronise the operators\' clocks (NTP); a replayed old message is also rejected this way',
      details: { sentAt: envelope.sentAt, now: options.now, maxSkewMs: options.maxSkewMs },
    });
  }
  if (options.currentSession !== undefined && !options.currentSession(payload.sessionTimestamp)) {
    throw new TransportError('WRONG_SESSION', `message for session ${payload.sessionTimestamp} does not belong to a session this node is running`, {
      fix: 'the sender and receiver disagree about the boundary; check both follow the same chain head',
      details: { sessionTimestamp: payload.sessionTimestamp, type: payload.type },
    });
  }
  options.replayGuard.observe(sender.address, envelope.nonce, envelope.sentAt + options.maxSkewMs, options.now);
  return { payload, sender };
}

/**
 * Checks the envelope's shape (strict: unknown fields are rejected).
 * @throws TransportError MALFORMED_ENVELOPE naming the first bad field.
 */
export function decodeEnvelope(body: unknown): SignedEnvelope {
  const parsed = envelopeSchema.safeParse(body);
  if (!parsed.success) throw malformed('envelope', parsed.error);
  return parsed.data;
}

function decodePayload(text: string): TransportPayload {
  let json: unknown;
  try {
    // A "__proto__" member would not survive schema parsing as a field (assigning it sets the
    // object's prototype), so the signed bytes and the parsed payload would differ: refuse it.
    json = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new ProtoMemberError();
      return value;
    });
  } catch (error) {
    if (error instanceof ProtoMemberError) {
      throw new TransportError('MALFORMED_ENVELOPE', 'envelope.payload has a "__proto__" member, which is not allowed', {
        fix: 'seal payloads with sealEnvelope, which refuses such members',
        details: { field: 'envelope.payload' },
      });
    }
    throw new TransportError('MALFORMED_ENVELOPE', 'envelope.payload is not valid JSON', {
      fix: 'seal payloads with sealEnvelope, which writes canonical JSON',
      details: { field: 'envelope.payload' },
      cause: error,
    });
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) throw malformed('payload', parsed.error);
  return parsed.data;
}

class ProtoMemberError extends Error {}

function malformed(root: string, error: z.ZodError): TransportError {
  const issue = error.issues[0];
  const field = [root, ...(issue?.path ?? []).map(String)].join('.');
  return new TransportError('MALFORMED_ENVELOPE', `${field}: ${issue?.message ?? 'invalid'}`, {
    fix: 'send a {v, payload, sentAt, nonce, signature} envelope built by sealEnvelope',
    details: { field },
  });
}

function assertRoute(route: string): void {
  if (!ROUTE_PATTERN.test(route)) {
    throw new TypeError(`route "${route}" must be an absolute path without query, e.g. /dkg/share`);
  }
}
