import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script, constants as vmConstants } from 'node:vm';

/** What became of the code cache when a script was loaded. */
export type CodeCacheStatus =
  /** V8 took the cached code: the script was not parsed again. */
  | 'used'
  /** There was none for this script's bytes (first start, or a new build). */
  | 'absent'
  /** V8 refused it (another Node.js or V8 flags); the script was compiled from source. */
  | 'rejected'
  /** The file is not a regular file of this user that only this user can write: not read. */
  | 'untrusted';

export interface LoadedScript<T> {
  readonly exports: T;
  readonly cacheStatus: CodeCacheStatus;
  /**
   * Writes the compiled code of the script as it is now (every function compiled so far,
   * so call it once the work to be sped up has run), once, and only if the cache was not
   * used. Reports an error instead of throwing: a cache that cannot be written only costs
   * the next start its parse.
   */
  saveCache(): { readonly written: boolean; readonly error: Error | null };
}

/**
 * Loads a CommonJS file the way require() would, but through vm.Script with V8's code
 * cache kept in `cacheDir`: what Node.js ≥ 22.1 offers for modules with
 * module.enableCompileCache, for Node.js 20 too, which lacks it, and faster (one script,
 * saved once the start-up code has run). Parsing the node mode's JavaScript was a third of
 * a Node.js 20 start (see docs/performance.md).
 *
 * The cache is as trusted as the directory it is in (the node's own data path, 0700): a
 * file another user could have written is not read. V8 itself refuses a cache made by
 * another V8 version or with other flags, but checks only the source's length, so the
 * cache file is named after a hash of the script's bytes and the Node.js version: a new
 * build gets its own (the previous builds' are removed when it is written), and two
 * Node.js versions run on one data path keep one each.
 */
export function loadWithCodeCache<T>(file: string, cacheDir: string): LoadedScript<T> {
  const bytes = readFileSync(file);
  // esbuild writes ASCII (non-ASCII characters escaped), which decodes ~4× faster as latin1.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const prefix = `${basename(file)}.`;
  const suffix = `.${process.version}-${process.arch}.v8cache`;
  // The Node.js version too: V8 refuses another's cache, and two runtimes must not take turns overwriting one.
  const cacheFile = join(cacheDir, `${prefix}${digest}${suffix}`);
  const read = readTrusted(cacheFile);
  const script = new Script(module.wrap(source), {
    filename: file,
    ...(read.data === undefined ? {} : { cachedData: read.data }),
    // The bundle's own import() calls (none on the start-up path) resolve like a module's.
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cacheStatus: CodeCacheStatus = read.status !== 'found' ? read.status : script.cachedDataRejected === true ? 'rejected' : 'used';
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  const cjs = { exports: {} as T };
  wrapper.call(cjs.exports, cjs.exports, module.createRequire(file), cjs, file, dirname(file));
  let saved = cacheStatus === 'used';
  return {
    exports: cjs.exports,
    cacheStatus,
    saveCache: () => {
      if (saved) return { written: false, error: null };
      saved = true;
      try {
        writeCache(cacheDir, cacheFile, (name) => name.startsWith(prefix) && name.endsWith(suffix), script.createCachedData());
        return { written: true, error: null };
      } catch (error) {
        return { written: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
    },
  };
}

/** The file's bytes if it is a regular file of this user that no one else can write; checked on the open file, so it cannot be swapped in between. */
function readTrusted(file: string): { status: 'found' | 'absent' | 'untrusted'; data?: Buffer } {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (error) {
    // ELOOP: a symbolic link, which O_NOFOLLOW refuses to open.
    return { status: (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'untrusted' : 'absent' };
  }
  try {
    const stats = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stats.isFile() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o022) !== 0) return { status: 'untrusted' };
    return { status: 'found', data: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** Written whole or not at all (temporary file, then rename), 0600; older builds' caches for this Node.js (`sameKind`) are removed. */
function writeCache(cacheDir: string, cacheFile: string, sameKind: (name: string) => boolean, data: Buffer): void {
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o600 });
  renameSync(temporary, cacheFile);
  for (const name of readdirSync(cacheDir)) {
    if (sameKind(name) && join(cacheDir, name) !== cacheFile) rmSync(join(cacheDir, name), { force: true });
  }
}
