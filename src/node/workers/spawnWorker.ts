/**
 * Starts the crypto worker thread. Run from dist/ (what ships), the worker is the
 * compiled cryptoWorker.js next to this file. Run from the TypeScript source (jest,
 * tsx benches, a checkout mid-edit), there is no .js sibling: the thread registers tsx's
 * loader first, as src/devnet/nodeProcess.ts does for whole processes.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function spawnCryptoWorker(): Worker {
  const compiled = !import.meta.url.endsWith('.ts');
  if (compiled) return new Worker(new URL('./cryptoWorker.js', import.meta.url));
  const entry = new URL('./cryptoWorker.ts', import.meta.url).href;
  // tsx/esm/api resolves to its CommonJS build under require(); the thread imports the ES module build.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true });
}
