import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../config/serverConfig.js';
import { loadWithCodeCache } from './codeCache.js';
import { COMPILE_CACHE_DIR } from './compileCache.js';
import type { NodeStartOptions } from './nodeStart.js';

type StartNode = (config: ServerConfig, options: NodeStartOptions) => Promise<number>;

/**
 * The node mode's start (nodeStart.ts), loaded the fastest way there is. A build has the
 * node mode as one CommonJS file too, dist/cli/nodeStart.cjs, which a node with a data
 * path loads through V8's code cache kept there (codeCache.ts), sparing a restart the
 * parse of the node's ~3 MB of JavaScript. Node.js 20 has no cache of its own; Node.js 22's
 * compile cache of the ES modules (compileCache.ts) was measured ~80 ms slower at it (see
 * docs/performance.md). Otherwise the module is imported: in a run from the sources (tsx),
 * without a data path (external Redis, memory), and with --enable-source-maps, since
 * Node.js maps stack traces only of the modules it loads itself.
 */
export async function loadNodeStart(config: ServerConfig): Promise<{ startNode: StartNode; options: Partial<NodeStartOptions> }> {
  const bundle = fileURLToPath(new URL('./nodeStart.cjs', import.meta.url));
  const p = config.persistence;
  if (process.sourceMapsEnabled || p.type !== 'redis' || p.mode !== 'embedded' || !existsSync(bundle)) {
    return { startNode: (await import('./nodeStart.js')).startNode, options: {} };
  }
  const loaded = loadWithCodeCache<{ startNode: StartNode }>(bundle, join(resolve(p.dataPath), COMPILE_CACHE_DIR));
  return { startNode: loaded.exports.startNode, options: { codeCache: { status: loaded.cacheStatus, save: () => loaded.saveCache() } } };
}
