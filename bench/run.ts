/**
 * `make bench`: runs every suite bench/<name>/run.ts (each exports `run()`), or only
 * the suites named on the command line: `tsx bench/run.ts crypto persistence`.
 * Each suite prints its tables and writes bench/results/<name>.json.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuiteModule } from './lib/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_SUITES = new Set(['lib', 'results']);

function discoverSuites(): string[] {
  return readdirSync(here)
    .filter((name) => !NOT_SUITES.has(name) && statSync(join(here, name)).isDirectory() && existsSync(join(here, name, 'run.ts')))
    .sort();
}

async function main(): Promise<void> {
  const available = discoverSuites();
  const requested = process.argv.slice(2);
  const unknown = requested.filter((n) => !available.includes(n));
  if (unknown.length > 0) {
    console.error(`bench: unknown suite(s) ${unknown.join(', ')}; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const suites = requested.length > 0 ? requested : available;
  for (const name of suites) {
    console.log(`\n=== bench suite: ${name}`);
    const mod = (await import(pathToFileURL(join(here, name, 'run.ts')).href)) as Partial<BenchSuiteModule>;
    if (typeof mod.run !== 'function') throw new Error(`bench/${name}/run.ts does not export run()`);
    await mod.run();
  }
}

await main();
