import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverEntry } from './nodeProcess.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * How to run one of our CLIs (kms-server, kms-client) as a child process: the compiled
 * dist/ when it is fresh (serverEntry decides freshness for the whole build, which
 * compiles every CLI at once), else the TypeScript source through tsx.
 */
export function cliEntry(name: 'kms-server' | 'kms-client'): { command: string; args: string[] } {
  const server = serverEntry();
  const usesDist = server.args[0]?.endsWith(join('dist', 'cli', 'kms-server.js')) === true;
  return usesDist
    ? { command: process.execPath, args: [join(ROOT, 'dist', 'cli', `${name}.js`)] }
    : { command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'src', 'cli', `${name}.ts`)] };
}

/** The repository root (where `make demo` runs). */
export const REPO_ROOT = ROOT;
