import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** A debug-level logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) { chunks.push(chunk.toString('utf8')); callback(); },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines: () => chunks.join('').split('\n').filter((l) => l !== '') };
}
