/** Shared benchmark helpers: timing, tables, result files, and the suite contract. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export * from './measure.js';
export * from './report.js';

/** What bench/<suite>/run.ts exports so bench/run.ts can find and run it. */
export interface BenchSuiteModule {
  run(): Promise<void>;
}

/** True when the module at `metaUrl` is the script node was started with (run directly with tsx). */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(resolve(entry)).href === metaUrl;
}
