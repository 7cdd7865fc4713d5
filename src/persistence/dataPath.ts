import { constants } from 'node:fs';
import { access, chmod, mkdir, stat, statfs } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { KmsError } from '../errors.js';
import type { PersistenceHealth } from './types.js';

/**
 * The data path holds the embedded redis-server's AOF, i.e. the node's sealed key
 * shares. It must be private to the node's user: created 0700, and an existing one that
 * its group or others can read, enter or write is refused rather than "fixed", because a
 * widened mode is a sign someone changed it on purpose and the operator must look.
 */

export type DataPathFacts = NonNullable<PersistenceHealth['dataPath']>;

export class DataPathNotAbsoluteError extends KmsError {
  readonly code = 'DATA_PATH_NOT_ABSOLUTE';
  constructor(path: string) {
    super(`data path '${path}' is relative; it would depend on the directory the node was started from`, {
      fix: 'pass an absolute path, e.g. /var/lib/kms/data',
      details: { path },
    });
  }
}

export class DataPathNotDirectoryError extends KmsError {
  readonly code = 'DATA_PATH_NOT_DIRECTORY';
  constructor(path: string) {
    super(`data path ${path} exists but is not a directory`, {
      fix: 'point the data path at a directory, or remove the file that is in its place',
      details: { path },
    });
  }
}

export class DataPathWrongOwnerError extends KmsError {
  readonly code = 'DATA_PATH_WRONG_OWNER';
  constructor(path: string, ownerUid: number, processUid: number) {
    super(`data path ${path} is owned by uid ${ownerUid}, but the node runs as uid ${processUid}`, {
      fix: `chown -R ${processUid} ${path} if this data is the node's, or use another data path`,
      details: { path, ownerUid, processUid },
    });
  }
}

export class DataPathInsecureError extends KmsError {
  readonly code = 'DATA_PATH_INSECURE';
  constructor(path: string, mode: string) {
    super(`data path ${path} has mode ${mode}: its group or others can access it, and it holds the node's key shares`, {
      fix: `chmod 0700 ${path} (and check who changed it), then start the node again`,
      details: { path, mode },
    });
  }
}

export class DataPathNotWritableError extends KmsError {
  readonly code = 'DATA_PATH_NOT_WRITABLE';
  constructor(path: string, cause: unknown) {
    super(`data path ${path} is not writable by the node`, {
      fix: 'check the mount (read-only volume?) and the directory permissions',
      details: { path },
      cause,
    });
  }
}

function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function processUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/**
 * Makes sure `path` is a private directory of this process's user: creates it (and
 * missing parents) with mode 0700, or checks an existing one. Never widens or narrows
 * the mode of an existing directory.
 * @throws DataPathNotAbsoluteError, DataPathNotDirectoryError, DataPathWrongOwnerError,
 *   DataPathInsecureError, DataPathNotWritableError
 */
export async function ensureDataPath(path: string): Promise<void> {
  if (!isAbsolute(path)) throw new DataPathNotAbsoluteError(path);
  const existing = await stat(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  });
  if (existing === null) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    // mkdir's mode passes through the umask; set it exactly.
    await chmod(path, 0o700);
    return;
  }
  if (!existing.isDirectory()) throw new DataPathNotDirectoryError(path);
  const uid = processUid();
  if (uid >= 0 && existing.uid !== uid) throw new DataPathWrongOwnerError(path, existing.uid, uid);
  if ((existing.mode & 0o077) !== 0) throw new DataPathInsecureError(path, formatMode(existing.mode));
  await access(path, constants.W_OK | constants.X_OK).catch((error: unknown) => {
    throw new DataPathNotWritableError(path, error);
  });
}

/** Reads the data path's facts for health reports; never throws for a missing path. */
export async function inspectDataPath(path: string): Promise<DataPathFacts> {
  const st = await stat(path).catch(() => null);
  if (st === null) return { path, exists: false, mode: '', ownerUid: -1, writable: false, freeBytes: null };
  const writable = await access(path, constants.W_OK).then(() => true, () => false);
  const fs = await statfs(path).catch(() => null);
  return {
    path,
    exists: true,
    mode: formatMode(st.mode),
    ownerUid: st.uid,
    writable,
    freeBytes: fs === null ? null : fs.bavail * fs.bsize,
  };
}
