import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redactUrls } from './redactUrls.js';

export type { Logger } from 'pino';

/**
 * Field names whose values are secret wherever they appear in a log object. pino
 * compiles these once at construction, so redaction costs nothing per call.
 */
export const REDACTED_PATHS: readonly string[] = [
  'privateShare', '*.privateShare', 'share', '*.share', 'shares', '*.shares',
  'privateKey', '*.privateKey', 'operatorKey', '*.operatorKey', 'password', '*.password',
  'encryptionKey', '*.encryptionKey', 'secret', '*.secret', 'redisUrl', '*.redisUrl',
  'authorization', '*.authorization', 'req.headers.authorization',
];

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to assert on output. */
  readonly destination?: NodeJS.WritableStream;
}

/** The root logger. Components take `logger.child({ module })` from it. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pinoOptions = {
    level: options.level ?? 'info',
    name: options.name ?? 'kms-node',
    redact: { paths: [...REDACTED_PATHS], censor: '[Redacted]' },
    base: { pid: process.pid },
    // Field names cannot catch a URL inside a message or an error: every line is scanned.
    hooks: { streamWrite: redactUrls },
  };
  return options.destination === undefined
    ? pino(pinoOptions)
    : pino(pinoOptions, options.destination as pino.DestinationStream);
}

/** A logger that writes nothing, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
