import module from 'node:module';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';

/** Inside the data path: the node's own 0700 directory, so no one else can plant cached code. */
export const COMPILE_CACHE_DIR = 'node-compile-cache';

type EnableCompileCache = (directory: string) => { status: number; message?: string; directory?: string };

/**
 * Turns on V8's on-disk compile cache (Node.js ≥ 22.1) for the modules loaded from here
 * on, so a restart reuses the compiled code of the last start instead of parsing the
 * node's JavaScript again. Used when the node mode is imported as ES modules (see
 * loadNodeStart.ts: a build's node loads one script with its own code cache instead,
 * codeCache.ts). Node.js 20 has no such cache and this does nothing there. The
 * cache lives in the data path (not /tmp, which may be shared or read-only), which must
 * exist already; Node.js checks every entry against its source, and writes the cache
 * when the process exits.
 */
export function enableCompileCache(dataPath: string, logger: Logger): void {
  const enable = (module as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (enable === undefined) return;
  const result = enable(join(dataPath, COMPILE_CACHE_DIR));
  logger.debug({ status: result.status, directory: result.directory ?? null, message: result.message ?? null }, 'compile cache');
}
