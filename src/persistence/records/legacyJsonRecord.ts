import { z } from 'zod';
import { CorruptRecordError } from '../errors.js';
import type { RecordSealer } from '../sealing.js';
import type { RecordKind } from './envelope.js';

/**
 * Layout 1, written by kms-node before layout 2: a JSON envelope
 * `{"format":"kms-node/record","v":1,"kind":…,"sealed":<base64>}` whose blob is sealed
 * with the record key alone as associated data, over a JSON body. Still read, so data
 * written by an earlier build opens; never written. Saving a record rewrites it in
 * layout 2.
 */

export const LEGACY_RECORD_FORMAT = 'kms-node/record';

const legacyEnvelope = z.strictObject({
  format: z.literal(LEGACY_RECORD_FORMAT),
  v: z.literal(1),
  kind: z.enum(['keyshare', 'nodestate', 'session', 'sealing-check']),
  // Not pattern-checked: any damage fails GCM authentication, named by key.
  sealed: z.string().min(1),
});

/** The decrypted JSON body of a layout-1 record of `kind`; SealOpenFailure passes through. */
export function openLegacyJsonRecord(sealer: RecordSealer, key: string, kind: RecordKind, raw: Uint8Array): unknown {
  const parsed = legacyEnvelope.safeParse(parseJson(key, raw, 'is not valid JSON'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'envelope' : `envelope.${issue.path.join('.')}`;
    throw new CorruptRecordError(key, `${where}: ${issue?.message ?? 'is not a kms-node record envelope'}`);
  }
  if (parsed.data.kind !== kind) throw new CorruptRecordError(key, `expected a ${kind} record, found ${parsed.data.kind}`);
  return parseJson(key, sealer.open(key, Buffer.from(parsed.data.sealed, 'base64')), 'decrypted body is not JSON');
}

function parseJson(key: string, bytes: Uint8Array, problem: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  } catch (cause) {
    throw new CorruptRecordError(key, problem, { cause });
  }
}
