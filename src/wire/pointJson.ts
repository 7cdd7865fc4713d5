/**
 * Curve points on the wire, as the Go original's types.G1Point / types.G2Point marshal:
 * `{"CompressedBytes": "<standard base64 with padding>"}`. We write the 48/96-byte
 * compressed encoding. Reading, the base64 must be canonical (what Go writes and its
 * decoder requires), and the length 48/96 or Go's uncompressed identity (96/192 bytes,
 * 0x40 then zeros), which is normalised here to the compressed identity so every later
 * decoder sees one encoding per point. Whether the identity is acceptable is decided where
 * the point is decoded on the curve (decodeG1/decodeG2 with allowIdentity).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { G1_BYTES, encodeG1, encodeG2, isUncompressedInfinity, type G1Point, type G2Point } from '../crypto/points.js';

export interface PointJson {
  readonly CompressedBytes: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function bytesToWire(bytes: Uint8Array): PointJson {
  return { CompressedBytes: Buffer.from(bytes).toString('base64') };
}

export function g1ToWire(point: G1Point): PointJson {
  return bytesToWire(encodeG1(point));
}

export function g2ToWire(point: G2Point): PointJson {
  return bytesToWire(encodeG2(point));
}

/** The compressed identity: flags 0x80 | 0x40, then zeros. */
function compressedIdentity(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 0xc0;
  return out;
}

/**
 * `{"CompressedBytes": b64}` of a point of `length` compressed bytes, read as 0x-hex of its
 * compressed encoding (lowercase). Not yet checked on the curve.
 */
export function wirePoint(length: 48 | 96) {
  const group = length === G1_BYTES ? 'G1' : 'G2';
  return z.object({ CompressedBytes: z.string() }).transform((value, ctx) => {
    const text = value.CompressedBytes;
    if (!BASE64.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'CompressedBytes is not standard base64 with padding' });
      return z.NEVER;
    }
    let bytes: Uint8Array = new Uint8Array(Buffer.from(text, 'base64'));
    if (isUncompressedInfinity(bytes, length)) bytes = compressedIdentity(length);
    if (bytes.length !== length) {
      ctx.addIssue({ code: 'custom', message: `CompressedBytes holds ${bytes.length} bytes, a compressed ${group} point has ${length}` });
      return z.NEVER;
    }
    const hex: `0x${string}` = `0x${bytesToHex(bytes)}`;
    return hex;
  });
}
