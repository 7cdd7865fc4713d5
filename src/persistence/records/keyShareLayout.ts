import type { KeyShareVersion, NodeState, OperatorAddress, StoredCompletionCertificate } from '../types.js';
import { G2_COMPRESSED_BYTES } from '../validation.js';
import { ByteReader, ByteWriter, LayoutError, Slab } from './byteLayout.js';

/**
 * Binary bodies of the two fixed-shape records. Key-share versions are the records a
 * node accumulates (six an hour), so their body is a fixed layout that decodes with
 * slices instead of JSON, hex and a schema walk:
 *
 *   epoch u64 ‖ createdAt u64 ‖ threshold u16 ‖ privateShare 32
 *   ‖ masterPublicKey 96 ‖ commitments (u16 count, 96 each) ‖ participants (u16 count, 20 each)
 *   [ ‖ certificate: type u8 (1 dkg, 2 reshare) ‖ dealers (u16 count, 20 each)
 *       ‖ signers (u16 count, 20 each) ‖ signatures (u16 count, 65 each) ]
 *
 * The certificate section is optional and last: bodies written before certificates end
 * after the participants and still decode (without one). Its epoch, threshold,
 * participants and commitments are the version's own, so they are not stored twice.
 *
 * Node state: lastProcessedBoundary u64 ‖ nodeStartTime u64 ‖ operatorAddress 20.
 * Range rules (scalar < r, sorted participants, threshold ≤ n) are the validators' job,
 * run by the codec on every decoded record.
 */

const ADDRESS_BYTES = 20;
const SIGNATURE_BYTES = 65;
const CERTIFICATE_TYPES = { dkg: 1, reshare: 2 } as const;
const addressHex = (address: string): string => address.slice(2);
const toAddress = (hex: string): OperatorAddress => `0x${hex}`;

export function encodeKeyShareBody(v: KeyShareVersion): Uint8Array {
  const cert = v.certificate;
  const certSize = cert === undefined ? 0 : 1 + 2 + cert.dealers.length * ADDRESS_BYTES + 2 + cert.signatures.length * ADDRESS_BYTES + 2 + cert.signatures.length * SIGNATURE_BYTES;
  const size = 8 + 8 + 2 + 32 + G2_COMPRESSED_BYTES + 2 + v.commitments.length * G2_COMPRESSED_BYTES + 2 + v.participants.length * ADDRESS_BYTES + certSize;
  const w = new ByteWriter(size)
    .u64(v.epoch)
    .u64(v.createdAt)
    .u16(v.threshold)
    .u256(v.privateShare)
    .raw(v.masterPublicKey)
    .list(v.commitments, G2_COMPRESSED_BYTES)
    .hexList(v.participants.map(addressHex), ADDRESS_BYTES);
  if (cert !== undefined) {
    w.u8(CERTIFICATE_TYPES[cert.type])
      .hexList(cert.dealers.map(addressHex), ADDRESS_BYTES)
      .hexList(cert.signatures.map((s) => addressHex(s.operator)), ADDRESS_BYTES)
      .hexList(cert.signatures.map((s) => s.signature.slice(2)), SIGNATURE_BYTES);
  }
  return w.finish();
}

function readCertificate(r: ByteReader, version: Omit<KeyShareVersion, 'certificate'>): StoredCompletionCertificate {
  const code = r.u8('certificate.type');
  const type = code === CERTIFICATE_TYPES.dkg ? 'dkg' : code === CERTIFICATE_TYPES.reshare ? 'reshare' : null;
  if (type === null) throw new LayoutError('certificate.type', `unknown type ${code}`);
  const split = (hex: string, width: number): string[] => Array.from({ length: hex.length / (width * 2) }, (_, i) => hex.slice(i * width * 2, (i + 1) * width * 2));
  const dealers = split(r.countedHex('certificate.dealers', ADDRESS_BYTES), ADDRESS_BYTES).map(toAddress);
  const signers = split(r.countedHex('certificate.signers', ADDRESS_BYTES), ADDRESS_BYTES).map(toAddress);
  const signatures = split(r.countedHex('certificate.signatures', SIGNATURE_BYTES), SIGNATURE_BYTES);
  if (signers.length !== signatures.length) throw new LayoutError('certificate.signatures', `${signatures.length} signatures for ${signers.length} signers`);
  return {
    type,
    sessionTimestamp: version.epoch,
    dealers,
    commitments: version.commitments,
    threshold: version.threshold,
    participants: version.participants,
    signatures: signers.map((operator, i) => ({ operator, signature: `0x${signatures[i] ?? ''}` })),
  };
}

/**
 * A decoder that shares one frozen participants array between consecutive versions with
 * the same operator set (nearly all of them: the set changes only when operators join or
 * leave). A year of versions then holds a few arrays of addresses instead of 52,560, which
 * is a fifth of the listing's garbage-collection work. Frozen, so sharing is safe.
 */
export function createKeyShareBodyDecoder(): (body: Uint8Array) => KeyShareVersion {
  let last: { readonly hex: string; readonly participants: readonly OperatorAddress[] } | null = null;
  const slab = new Slab();
  return (body) => {
    const r = new ByteReader(body);
    const epoch = r.u64('epoch');
    const createdAt = r.u64('createdAt');
    const threshold = r.u16('threshold');
    const privateShare = r.u256('privateShare');
    // The public points (MPK, count, commitments) are contiguous: one copy, views into it.
    // A copy, not views into the decrypted body, whose buffer also holds the private share.
    const pointsAt = r.position;
    r.skip('masterPublicKey', G2_COMPRESSED_BYTES);
    const count = r.skipList('commitments', G2_COMPRESSED_BYTES);
    const points = r.copySince(pointsAt, slab);
    const masterPublicKey = points.subarray(0, G2_COMPRESSED_BYTES);
    const commitments = Array.from({ length: count }, (_, i) => points.subarray(G2_COMPRESSED_BYTES + 2 + i * G2_COMPRESSED_BYTES, G2_COMPRESSED_BYTES + 2 + (i + 1) * G2_COMPRESSED_BYTES));
    const hex = r.countedHex('participants', ADDRESS_BYTES);
    if (last?.hex !== hex) {
      const width = ADDRESS_BYTES * 2;
      last = { hex, participants: Object.freeze(Array.from({ length: hex.length / width }, (_, i) => toAddress(hex.slice(i * width, (i + 1) * width)))) };
    }
    const version = { epoch, privateShare, commitments, masterPublicKey, threshold, participants: last.participants, createdAt };
    if (r.remaining === 0) return version;
    const certificate = readCertificate(r, version);
    r.end('key-share body');
    return { ...version, certificate };
  };
}

export function encodeNodeStateBody(s: NodeState): Uint8Array {
  return new ByteWriter(8 + 8 + ADDRESS_BYTES)
    .u64(s.lastProcessedBoundary)
    .u64(s.nodeStartTime)
    .hex(addressHex(s.operatorAddress), ADDRESS_BYTES)
    .finish();
}

export function decodeNodeStateBody(body: Uint8Array): NodeState {
  const r = new ByteReader(body);
  const state: NodeState = {
    lastProcessedBoundary: r.u64('lastProcessedBoundary'),
    nodeStartTime: r.u64('nodeStartTime'),
    operatorAddress: toAddress(r.hex('operatorAddress', ADDRESS_BYTES)),
  };
  r.end('node-state body');
  return state;
}
