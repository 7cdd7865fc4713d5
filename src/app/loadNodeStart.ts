import { existsSync } from 'node:fs';
import module from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../config/serverConfig.js';
import { loadWithCodeCache } from './codeCache.js';
import { COMPILE_CACHE_DIR } from './compileCache.js';
import type { NodeStartOptions } from './nodeStart.js';

type StartNode = (config: ServerConfig, options: NodeStartOptions) => Promise<number>;

/**
 * The node mode's start (nodeStart.ts), loaded the fastest way this Node.js allows.
 * Node.js ≥ 22.1 caches compiled ES modules itself (compileCache.ts), and so does tsx's
 * run from the sources nothing: both import the module. On Node.js 20 a build has the
 * node mode as one CommonJS file too, dist/cli/nodeStart.cjs, which is loaded through
 * V8's code cache kept in the data path (codeCache.ts), sparing a restart the parse of
 * the node's ~4 MB of JavaScript. Not with --enable-source-maps: Node.js maps stack traces
 * only of the modules it loads itself, so a run that asks for mapped traces gets them.
 */
export async function loadNodeStart(config: ServerConfig): Promise<{ startNode: StartNode; options: Partial<NodeStartOptions> }> {
  const bundle = fileURLToPath(new URL('./nodeStart.cjs', import.meta.url));
  const p = config.persistence;
  const nodeCaches = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
  if (nodeCaches || process.sourceMapsEnabled || p.type !== 'redis' || p.mode !== 'embedded' || !existsSync(bundle)) {
    return { startNode: (await import('./nodeStart.js')).startNode, options: {} };
  }
  const loaded = loadWithCodeCache<{ startNode: StartNode }>(bundle, join(resolve(p.dataPath), COMPILE_CACHE_DIR));
  return { startNode: loaded.exports.startNode, options: { codeCache: { status: loaded.cacheStatus, save: () => loaded.saveCache() } } };
}
