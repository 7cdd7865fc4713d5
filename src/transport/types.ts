/**
 * The transport's view of an operator. Structurally the same as the chain
 * layer's `Operator`, declared here so the transport does not depend on it.
 */
export interface PeerIdentity {
  /** Operator address, lowercase 0x-prefixed 20-byte hex. Protocol messages name operators by it. */
  readonly address: string;
  /** Base URL of the peer's HTTP server, e.g. `http://127.0.0.1:7001`. */
  readonly socketUrl: string;
  /** 64-byte uncompressed secp256k1 public key (x ‖ y, no 0x04 prefix). */
  readonly signingPublicKey: Uint8Array;
  /** keccak256(signingPublicKey)[12:], lowercase 0x-prefixed. */
  readonly signingAddress: string;
}

/**
 * What every protocol message carries; the transport is generic over the rest.
 * `to` is set on point-to-point messages (shares) and absent on broadcasts.
 */
export type TransportPayload = {
  readonly type: string;
  readonly sessionTimestamp: number;
  readonly from: string;
  readonly to?: string;
} & Readonly<Record<string, unknown>>;

/**
 * The signed wire form of one message. `payload` is canonical JSON (see
 * {@link canonicalJson}); the signature covers the route, the payload bytes,
 * `sentAt` and `nonce`, so none of them can be changed or moved to another route.
 */
export interface SignedEnvelope {
  readonly v: 1;
  readonly payload: string;
  /** Sender's clock, unix milliseconds. */
  readonly sentAt: number;
  /** 16 random bytes, 0x-prefixed lowercase hex; with the sender it identifies the message. */
  readonly nonce: string;
  /** 65-byte secp256k1 signature r ‖ s ‖ v (v = 27/28), 0x-prefixed lowercase hex. */
  readonly signature: string;
}

/** Lowercase 0x-prefixed 20-byte address. */
export const ADDRESS_PATTERN = /^0x[0-9a-f]{40}$/;
