import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { RedisServerNotFoundError } from './errors.js';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the redis-server binary to an absolute path: a name is looked up on PATH, a
 * path is checked as given. Resolving up front turns "spawn ENOENT" into an error that
 * says how to install it.
 * @throws RedisServerNotFoundError
 */
export async function resolveExecutable(binary: string, pathEnv = process.env.PATH ?? ''): Promise<string> {
  if (binary.includes('/')) {
    const full = isAbsolute(binary) ? binary : join(process.cwd(), binary);
    if (await isExecutableFile(full)) return full;
    throw new RedisServerNotFoundError(binary);
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new RedisServerNotFoundError(binary);
}

/** Like resolveExecutable, but null when absent (for optional helpers such as setpriv). */
export async function findExecutable(name: string): Promise<string | null> {
  return resolveExecutable(name).catch(() => null);
}
