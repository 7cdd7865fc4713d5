/**
 * The one error base of kms-node. Every error the project throws on purpose is a
 * KmsError subclass with a stable `code` (safe to match on, never reworded) and a
 * message that says what was wrong and what to do about it.
 *
 * Messages and `details` must never carry secret material (shares, keys, passwords):
 * callers pass names, lengths and public values only.
 */
export interface KmsErrorOptions {
  /** What to do about it, appended to the message as "Fix: …". */
  readonly fix?: string;
  /** Structured, non-secret context for logs and JSON error bodies. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
  readonly cause?: unknown;
}

export abstract class KmsError extends Error {
  abstract readonly code: string;
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  readonly fix: string | undefined;

  constructor(message: string, options: KmsErrorOptions = {}) {
    super(options.fix === undefined ? message : `${message}. Fix: ${options.fix}`, {
      cause: options.cause,
    });
    this.name = new.target.name;
    this.details = options.details ?? {};
    this.fix = options.fix;
  }

  /** A JSON-safe view for logs and HTTP error bodies (no stack, no cause chain). */
  toJSON(): { code: string; message: string; details: Record<string, string | number | boolean | null> } {
    return { code: this.code, message: this.message, details: { ...this.details } };
  }
}

export function isKmsError(value: unknown): value is KmsError {
  return value instanceof KmsError;
}
