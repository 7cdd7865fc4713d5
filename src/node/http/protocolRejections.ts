import { isKmsError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { RateLimitedLog, type RateLimitedLogOptions } from '../../logging/rateLimitedLog.js';

/**
 * Codes raised before the envelope's signature is checked (or by it failing): the
 * sender they name is only what the message claims.
 */
const UNVERIFIED_SENDER_CODES: ReadonlySet<string> = new Set([
  'MALFORMED_ENVELOPE', 'BODY_TOO_LARGE', 'FST_ERR_CTP_BODY_TOO_LARGE', 'BAD_SIGNATURE', 'UNKNOWN_SENDER', 'SENDER_MISMATCH',
]);

const FROM_FIELD = /"from":"(0x[0-9a-fA-F]{40})"/;

/**
 * The operator a rejected protocol request came from, as far as it can be told: the
 * error's own `from` detail, else the `from` of the envelope's payload (a string of
 * canonical JSON; read by a pattern, not parsed, since a rejected body may be large or
 * hostile). Never any other part of the body.
 */
export function claimedSender(error: unknown, body: unknown): string | null {
  const fromDetail = isKmsError(error) ? error.details.from : undefined;
  if (typeof fromDetail === 'string') return fromDetail.toLowerCase();
  const payload = typeof body === 'object' && body !== null ? (body as { payload?: unknown }).payload : undefined;
  if (typeof payload !== 'string') return null;
  return FROM_FIELD.exec(payload)?.[1]?.toLowerCase() ?? null;
}

export interface ProtocolRejection {
  readonly route: string;
  readonly status: number;
  readonly code: string;
  readonly body: unknown;
  readonly error: unknown;
}

/**
 * One warn line per refused protocol request (401/403/409, a share that does not
 * decrypt, a full inbox, …): code, status, route and sender, never the body or any
 * secret in it. Rate-limited per code and sender (see RateLimitedLog), so a flood of
 * bad requests costs a bounded number of lines.
 */
export class ProtocolRejectionLog {
  private readonly lines: RateLimitedLog;

  constructor(logger: Logger, options: RateLimitedLogOptions = {}) {
    this.lines = new RateLimitedLog(logger, 'protocol request rejected', options);
  }

  record(rejection: ProtocolRejection): void {
    const sender = claimedSender(rejection.error, rejection.body);
    this.lines.warn(`${rejection.code}|${sender ?? '?'}`, {
      code: rejection.code,
      status: rejection.status,
      route: rejection.route,
      sender,
      senderVerified: sender !== null && !UNVERIFIED_SENDER_CODES.has(rejection.code),
    });
  }
}
