import { recoverDigestSigner, type OperatorSigner } from './signer.js';
import type { PeerIdentity } from './types.js';

/**
 * Adapters from the operator key to the protocol core's injected signing interface
 * (`ProtocolSigner` and `RecoverSigner` in src/protocol/types.ts, matched
 * structurally so neither side imports the other).
 *
 * The core names operators by operator address, but a key signs as its signing
 * address, and the two differ when an operator registers a separate signing key.
 * These adapters translate between them through the operator set.
 */

/** Structurally the protocol core's `ProtocolSigner`. */
export interface OperatorProtocolSigner {
  /** The operator address the core knows this node by. */
  readonly address: string;
  sign(digest32: Uint8Array): Uint8Array;
}

/** The node's signer as the protocol core sees it: operator address + sync signing. */
export function protocolSignerFor(signer: OperatorSigner, operatorAddress: string): OperatorProtocolSigner {
  const address = operatorAddress.toLowerCase();
  return { address, sign: (digest32) => signer.signDigest(digest32) };
}

/**
 * A `RecoverSigner` that answers with the operator address whose signing key made
 * the signature. A key outside the set yields its bare signing address, which the
 * core will not find among the operators, so it rejects the message.
 * @throws TransportError BAD_SIGNATURE when the signature is malformed (the core treats a throw as invalid).
 */
export function operatorSignerRecovery(operators: readonly PeerIdentity[]): (digest32: Uint8Array, signature: Uint8Array) => string {
  const bySigningAddress = new Map(operators.map((op) => [op.signingAddress.toLowerCase(), op.address.toLowerCase()]));
  return (digest32, signature) => {
    const signingAddress = recoverDigestSigner(digest32, signature);
    return bySigningAddress.get(signingAddress) ?? signingAddress;
  };
}
