import { isKmsError } from '../errors.js';
import { redactUrls } from './redactUrls.js';

/** What a log line, a status condition or an HTTP body says about an error. */
export interface ErrorSummary {
  /** The KmsError code, else the error's own string code (e.g. ENOENT), else INTERNAL. */
  readonly code: string;
  /** The message with any URL's credentials and query removed; no stack, no cause payloads. */
  readonly message: string;
}

/** The one error-to-log conversion of kms-node. */
export function describeError(error: unknown): ErrorSummary {
  if (isKmsError(error)) return { code: error.code, message: redactUrls(error.message) };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'INTERNAL', message: redactUrls(error.message) };
  }
  return { code: 'INTERNAL', message: redactUrls(String(error)) };
}
