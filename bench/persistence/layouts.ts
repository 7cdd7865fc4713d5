/**
 * Decode cost of the two record layouts in the same run: layout 2 (binary, what the node
 * writes) against layout 1 (the JSON envelope earlier builds wrote, still read). Both are
 * decoded through the same codec, in process, so the ratio is the layout's alone.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRecordCodec } from '../../src/persistence/records/codec.js';
import { LEGACY_RECORD_FORMAT } from '../../src/persistence/records/legacyJsonRecord.js';
import { createRecordSealer, type RecordSealer } from '../../src/persistence/sealing.js';
import type { KeyShareVersion } from '../../src/persistence/types.js';
import { realisticVersion } from './versions.js';

/** A layout-1 record exactly as earlier builds stored it. */
function layout1Record(sealer: RecordSealer, key: string, v: KeyShareVersion): Buffer {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
  const body = {
    epoch: v.epoch, privateShare: `0x${v.privateShare.toString(16)}`, commitments: v.commitments.map(hex),
    masterPublicKey: hex(v.masterPublicKey), threshold: v.threshold, participants: v.participants, createdAt: v.createdAt,
  };
  const sealed = Buffer.from(sealer.seal(key, Buffer.from(JSON.stringify(body)))).toString('base64');
  return Buffer.from(JSON.stringify({ format: LEGACY_RECORD_FORMAT, v: 1, kind: 'keyshare', sealed }));
}

export interface LayoutComparison {
  readonly records: number;
  readonly layout2: { readonly bytes: number; readonly usPerRecord: number };
  readonly layout1: { readonly bytes: number; readonly usPerRecord: number };
  readonly decodeRatio: number;
}

/** Best of `rounds` passes over `records` versions per layout, alternating layouts each round. */
export function compareLayouts(records = 5_000, rounds = 5): LayoutComparison {
  const sealer = createRecordSealer(randomBytes(32));
  const codec = createRecordCodec(sealer);
  const versions = Array.from({ length: records }, (_, i) => realisticVersion(i + 1));
  const keys = versions.map((v) => `kms:keyshare:${v.epoch}`);
  const layout2 = versions.map((v, i) => codec.encodeKeyShare(keys[i]!, v));
  const layout1 = versions.map((v, i) => layout1Record(sealer, keys[i]!, v));
  const pass = (raws: readonly Buffer[]): number => {
    const start = performance.now();
    raws.forEach((raw, i) => codec.decodeKeyShare(keys[i]!, raw, versions[i]!.epoch));
    return ((performance.now() - start) * 1000) / records;
  };
  let best2 = Infinity;
  let best1 = Infinity;
  for (let round = 0; round < rounds; round++) {
    best2 = Math.min(best2, pass(layout2));
    best1 = Math.min(best1, pass(layout1));
  }
  return {
    records,
    layout2: { bytes: layout2[0]!.length, usPerRecord: best2 },
    layout1: { bytes: layout1[0]!.length, usPerRecord: best1 },
    decodeRatio: best2 / best1,
  };
}
