import type { ServerConfig } from '../config/serverConfig.js';
import { describeError } from '../logging/describeError.js';
import { createLogger } from '../logging/logger.js';
import type { CodeCacheStatus } from './codeCache.js';
import { enableCompileCache } from './compileCache.js';
import { startEmbeddedRedisEarly } from './earlyRedis.js';

export interface NodeStartOptions {
  /** How a start-up setting problem names an option (its flag and env var). */
  readonly nameOption: (option: string) => string;
  /** The code cache this module was loaded with, if it was: logged, and saved once the node runs. */
  readonly codeCache?: { readonly status: CodeCacheStatus; save(): { readonly written: boolean; readonly error: Error | null } };
}

/** After the node runs, so writing the code cache (tens of ms on the event loop) never delays serving. */
const SAVE_CODE_CACHE_AFTER_MS = 1_000;

/**
 * The node mode from a validated configuration: the logger, the embedded redis-server
 * started at once (its start and AOF load, a separate process, overlap with loading the
 * node's modules, the bulk of a start), then the node's modules, then the node. From a
 * build, kms-server loads this module from dist/cli/nodeStart.cjs with a code cache (see
 * loadNodeStart.ts); the node's modules are inside it then, evaluated only here.
 */
export async function startNode(config: ServerConfig, options: NodeStartOptions): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const codeCache = options.codeCache;
  if (codeCache !== undefined) logger.debug({ status: codeCache.status }, 'code cache');
  const early = startEmbeddedRedisEarly(config, logger);
  // The spawn must not wait behind the module loading below, which blocks the event loop.
  const spawned = early !== null && (await early.spawned);
  // Loaded with a code cache, the node's code is compiled already; else Node.js ≥ 22.1 can
  // cache the ES modules imported from here on.
  if (spawned && codeCache === undefined) enableCompileCache(early.dataPath, logger);
  const { runNodeMode } = await import('./nodeMode.js');
  // Saved once the start-up code has run, so the cache holds the functions it compiled too:
  // a moment after the node runs, or when it stops before that (each save happens once).
  let saveTimer: NodeJS.Timeout | undefined;
  const save = (): void => {
    const { written, error } = codeCache?.save() ?? { written: false, error: null };
    if (written) logger.debug('code cache written');
    if (error !== null) logger.warn({ err: describeError(error) }, 'could not write the code cache; the next start parses the node\'s code again');
  };
  const onRunning = codeCache === undefined ? undefined : (): void => { saveTimer = setTimeout(save, SAVE_CODE_CACHE_AFTER_MS).unref(); };
  const code = await runNodeMode(config, logger, options.nameOption, early?.server, onRunning);
  if (saveTimer !== undefined) {
    clearTimeout(saveTimer);
    save();
  }
  return code;
}
