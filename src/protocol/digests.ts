/**
 * Domain-separated keccak256 digests that operators sign or compare. Every digest
 * binds the protocol type and session timestamp, so a signature from one session or
 * protocol can never be replayed into another.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Hex, ProtocolType } from './types.js';

const enc = (s: string): Uint8Array => utf8ToBytes(s);

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function protocolByte(p: ProtocolType): Uint8Array {
  return new Uint8Array([p === 'dkg' ? 1 : 2]);
}

export function addressBytes(address: string): Uint8Array {
  return hexToBytes(address.slice(2));
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

export function fromHex(hex: string): Uint8Array {
  return hexToBytes(hex.slice(2));
}

/** keccak256("kms-node/share/v1" ‖ protocol ‖ u64be(session) ‖ dealer ‖ player ‖ share(32)). */
export function shareHash(protocol: ProtocolType, session: number, dealer: string, player: string, share32: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(enc('kms-node/share/v1'), protocolByte(protocol), u64be(session), addressBytes(dealer), addressBytes(player), share32));
}

/** keccak256("kms-node/commitments/v1" ‖ C_0 ‖ … ‖ C_{t−1}) over compressed G2 bytes. */
export function commitmentsHash(commitments: readonly Uint8Array[]): Uint8Array {
  return keccak_256(concatBytes(enc('kms-node/commitments/v1'), ...commitments));
}

/** keccak256("kms-node/dealers/v1" ‖ addresses ascending). */
export function dealerSetHash(dealers: readonly string[]): Uint8Array {
  return keccak_256(concatBytes(enc('kms-node/dealers/v1'), ...dealers.map(addressBytes)));
}

/** What a player signs to acknowledge a deal. */
export function ackDigest(
  protocol: ProtocolType,
  session: number,
  dealer: string,
  player: string,
  shareHash32: Uint8Array,
  commitmentHash32: Uint8Array,
): Uint8Array {
  return keccak_256(
    concatBytes(enc('kms-node/ack/v1'), protocolByte(protocol), addressBytes(dealer), addressBytes(player), u64be(session), shareHash32, commitmentHash32),
  );
}

/** What a player signs to complain about a deal. */
export function complaintDigest(protocol: ProtocolType, session: number, dealer: string, player: string, reason: string): Uint8Array {
  return keccak_256(
    concatBytes(enc('kms-node/complaint/v1'), protocolByte(protocol), addressBytes(dealer), addressBytes(player), u64be(session), keccak_256(enc(reason))),
  );
}

/** What an operator signs when it completes. */
export function completionDigest(
  protocol: ProtocolType,
  session: number,
  operator: string,
  dealerSetHash32: Uint8Array,
  commitmentsHash32: Uint8Array,
): Uint8Array {
  return keccak_256(
    concatBytes(enc('kms-node/complete/v1'), protocolByte(protocol), addressBytes(operator), u64be(session), dealerSetHash32, commitmentsHash32),
  );
}

/**
 * keccak256("kms-node/source/v1" ‖ u64be(epoch) ‖ commitmentsHash(C)): names the version a
 * reshare starts from. Every reshare message carries it, so a node resharing another
 * version (it lagged or restarted) is recognised and left out the same way everywhere.
 */
export function sourceDigest(epoch: number, commitments: readonly Uint8Array[]): Uint8Array {
  return keccak_256(concatBytes(enc('kms-node/source/v1'), u64be(epoch), commitmentsHash(commitments)));
}
