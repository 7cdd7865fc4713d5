/**
 * The stored form of every record (layout 2):
 *
 *   'K' 'R' ‖ layout (2) ‖ kind ‖ sealed body
 *
 * where the sealed body is AES-256-GCM (see ../sealing.ts) over the kind's body, with
 * the 4-byte header and the record's full Redis key as associated data: a record copied
 * under another key, relabelled as another kind, or changed in any bit fails to open.
 *
 * Layout 1 (JSON envelope, base64 blob, JSON body) is still read; see legacyJsonRecord.ts.
 * It cost ~100 µs per key-share version to decode and 6 KB to store; layout 2 exists so a
 * year of versions lists in well under two seconds.
 */

export const RECORD_MAGIC = [0x4b, 0x52] as const; // "KR": cannot be mistaken for JSON's '{'
export const RECORD_LAYOUT = 2;
export const HEADER_BYTES = 4;

export type RecordKind = 'keyshare' | 'nodestate' | 'session' | 'sealing-check';

const KIND_CODES: Readonly<Record<RecordKind, number>> = { keyshare: 1, nodestate: 2, session: 3, 'sealing-check': 4 };
const KINDS_BY_CODE = new Map<number, RecordKind>(Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as RecordKind]));

/** What the first bytes of a stored value say it is. */
export type StoredLayout =
  | { readonly layout: 2; readonly kind: RecordKind; readonly header: Uint8Array; readonly sealed: Uint8Array }
  | { readonly layout: 1 }
  | { readonly layout: 'unknown'; readonly problem: string };

export function recordHeader(kind: RecordKind): Uint8Array {
  return Uint8Array.of(RECORD_MAGIC[0], RECORD_MAGIC[1], RECORD_LAYOUT, KIND_CODES[kind]);
}

/** Header and record key, the associated data a layout-2 body is sealed under. */
export function associatedData(header: Uint8Array, recordKey: string): Uint8Array {
  const data = Buffer.allocUnsafe(header.length + Buffer.byteLength(recordKey, 'utf8'));
  data.set(header, 0);
  data.write(recordKey, header.length, 'utf8');
  return data;
}

/** Classifies a stored value by its header, without opening it. */
export function readLayout(raw: Uint8Array): StoredLayout {
  if (raw[0] === 0x7b /* '{' */) return { layout: 1 };
  if (raw.length < HEADER_BYTES || raw[0] !== RECORD_MAGIC[0] || raw[1] !== RECORD_MAGIC[1]) {
    return { layout: 'unknown', problem: 'is neither a kms-node record nor JSON (unrecognised header)' };
  }
  if (raw[2] !== RECORD_LAYOUT) return { layout: 'unknown', problem: `has record layout ${raw[2] ?? -1}, which this build does not read (it reads 1 and 2)` };
  const kind = KINDS_BY_CODE.get(raw[3] ?? -1);
  if (kind === undefined) return { layout: 'unknown', problem: `has unknown record kind ${raw[3] ?? -1}` };
  return { layout: 2, kind, header: raw.subarray(0, HEADER_BYTES), sealed: raw.subarray(HEADER_BYTES) };
}
