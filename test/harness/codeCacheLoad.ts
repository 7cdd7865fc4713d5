/**
 * One load of a CommonJS file through loadWithCodeCache in a fresh process (V8 keeps
 * compiled scripts in memory too, so only a new process shows what the disk cache did).
 * Prints {status, exports, written, saveError} as one JSON line and exits.
 *
 *   node --import tsx test/harness/codeCacheLoad.ts <file> <cache dir> [save]
 */
import { loadWithCodeCache } from '../../src/app/codeCache.js';

const [file, cacheDir, save] = process.argv.slice(2);
if (file === undefined || cacheDir === undefined) throw new Error('usage: codeCacheLoad.ts <file> <cache dir> [save]');
const loaded = loadWithCodeCache<unknown>(file, cacheDir);
const saved = save === 'save' ? loaded.saveCache() : { written: false, error: null };
process.stdout.write(`${JSON.stringify({ status: loaded.cacheStatus, exports: loaded.exports, written: saved.written, saveError: saved.error?.message ?? null })}\n`);
