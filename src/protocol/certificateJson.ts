/**
 * The JSON form of a completion certificate (bytes as 0x hex), for the peer routes and
 * anything else that carries one as text. parseCertificateJson checks shape only;
 * verifyCertificate (certificate.ts) checks the points and signatures.
 */
import { z } from 'zod';
import { fromHex, toHex } from './digests.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { CompletionCertificate, Hex, OperatorAddress } from './types.js';

const MAX_OPERATORS = 1024;
const address = z.string().regex(/^0x[0-9a-f]{40}$/, 'expected a lowercase 0x 20-byte address').transform((s) => s as OperatorAddress);
const hexOf = (bytes: number): z.ZodType<Hex> =>
  z.string().regex(new RegExp(`^0x[0-9a-f]{${bytes * 2}}$`), `expected 0x followed by ${bytes * 2} lowercase hex digits`).transform((s) => s as Hex);

export const certificateJsonSchema = z.strictObject({
  type: z.enum(['dkg', 'reshare']),
  sessionTimestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  dealers: z.array(address).min(1).max(MAX_OPERATORS),
  commitments: z.array(hexOf(96)).min(1).max(MAX_OPERATORS),
  threshold: z.number().int().positive().max(MAX_OPERATORS),
  participants: z.array(address).min(1).max(MAX_OPERATORS),
  signatures: z.array(z.strictObject({ operator: address, signature: hexOf(65) })).min(1).max(MAX_OPERATORS),
});

export type CertificateJson = z.input<typeof certificateJsonSchema>;

export function certificateToJson(cert: CompletionCertificate): CertificateJson {
  return {
    type: cert.type,
    sessionTimestamp: cert.sessionTimestamp,
    dealers: [...cert.dealers],
    commitments: cert.commitments.map(toHex),
    threshold: cert.threshold,
    participants: [...cert.participants],
    signatures: cert.signatures.map((s) => ({ operator: s.operator, signature: s.signature })),
  };
}

/** @throws ProtocolError MALFORMED_MESSAGE naming the first bad field. */
export function parseCertificateJson(value: unknown): CompletionCertificate {
  const parsed = certificateJsonSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '(certificate)' : issue.path.map(String).join('.');
    throw new ProtocolError(ProtocolErrorCode.MALFORMED_MESSAGE, `malformed completion certificate: field "${field}": ${issue?.message ?? 'invalid'}`, {
      details: { field },
      fix: 'send a certificate built by a kms-node of a compatible version',
    });
  }
  const c = parsed.data;
  return { ...c, commitments: c.commitments.map(fromHex) };
}
