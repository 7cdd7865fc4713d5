import { jest } from '@jest/globals';
import { chmodSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildNode, waitForExit } from '../../test/harness/childNode.js';
import { makeTempDir, removeTempDir } from '../../test/harness/tempDir.js';
import type { CodeCacheStatus } from './codeCache.js';

interface Sample { readonly answer: number; readonly joined: string; readonly file: string }
interface Load { readonly status: CodeCacheStatus; readonly exports: Sample; readonly written: boolean; readonly saveError: string | null }

/** Each load in its own process: V8 also caches compiled scripts in memory, which would hide the disk cache. */
async function load(file: string, cacheDir: string, save: boolean): Promise<Load> {
  const child = await startChildNode('codeCacheLoad.ts', [file, cacheDir, ...(save ? ['save'] : [])]);
  await waitForExit(child.process);
  return child.hello as unknown as Load;
}

jest.setTimeout(60_000);

describe('loading a CommonJS file with a V8 code cache', () => {
  let dir: string;
  let file: string;
  let cacheDir: string;
  beforeEach(() => {
    dir = makeTempDir('kms-code-cache-');
    file = join(dir, 'sample.cjs');
    cacheDir = join(dir, 'data', 'node-compile-cache');
    writeSample(41);
  });
  afterEach(() => { removeTempDir(dir); });

  function writeSample(base: number): void {
    // require and __filename are the module's own, as under require().
    writeFileSync(file, `const { join } = require('node:path');\nfunction plusOne(n) { return n + 1; }\nmodule.exports = { answer: plusOne(${base}), joined: join('a', 'b'), file: __filename };\n`);
  }

  const cacheFiles = (): string[] => readdirSync(cacheDir);

  it('runs the file like require() and, once saved, the next process uses the cache', async () => {
    const first = await load(file, cacheDir, true);
    expect(first).toEqual({ status: 'absent', exports: { answer: 42, joined: join('a', 'b'), file }, written: true, saveError: null });
    expect(cacheFiles()).toHaveLength(1);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir, cacheFiles()[0]!)).mode & 0o777).toBe(0o600);

    const second = await load(file, cacheDir, true);
    expect(second.status).toBe('used');
    expect(second.exports.answer).toBe(42);
    // Nothing is written when the cache was used.
    expect(second.written).toBe(false);
    expect(cacheFiles()).toHaveLength(1);
  });

  it('never uses the cache of other bytes of the same length, and drops it once the new one is written', async () => {
    await load(file, cacheDir, true);
    const old = cacheFiles();
    // Another Node.js version's cache of the same script is not this one's to remove.
    const otherRuntime = old[0]!.replace(`.${process.version}-`, '.v0.0.0-');
    writeFileSync(join(cacheDir, otherRuntime), 'another runtime', { mode: 0o600 });
    writeSample(51); // same length, other code: V8, which checks only the length, would take the old cache
    const rebuilt = await load(file, cacheDir, true);
    expect(rebuilt.status).toBe('absent');
    expect(rebuilt.exports.answer).toBe(52);
    expect(cacheFiles()).toHaveLength(2);
    expect(cacheFiles()).toContain(otherRuntime);
    expect(cacheFiles()).not.toContain(old[0]);
  });

  it('compiles from source when V8 refuses the cache, and replaces it', async () => {
    await load(file, cacheDir, true);
    writeFileSync(join(cacheDir, cacheFiles()[0]!), Buffer.from('not a code cache'), { mode: 0o600 });
    const refused = await load(file, cacheDir, true);
    expect(refused.status).toBe('rejected');
    expect(refused.exports.answer).toBe(42);
    expect((await load(file, cacheDir, false)).status).toBe('used');
  });

  it('does not read a cache file others could have written, nor one behind a symbolic link', async () => {
    await load(file, cacheDir, true);
    const cached = join(cacheDir, cacheFiles()[0]!);
    chmodSync(cached, 0o666);
    const writable = await load(file, cacheDir, false);
    expect(writable.status).toBe('untrusted');
    expect(writable.exports.answer).toBe(42);

    chmodSync(cached, 0o600);
    const elsewhere = join(dir, 'elsewhere.v8cache');
    renameSync(cached, elsewhere);
    symlinkSync(elsewhere, cached);
    const linked = await load(file, cacheDir, false);
    expect(linked.status).toBe('untrusted');
    expect(linked.exports.answer).toBe(42);
  });

  it('reports a cache it cannot write instead of throwing', async () => {
    writeFileSync(join(dir, 'data'), 'a file where the cache directory would be');
    const loaded = await load(file, cacheDir, true);
    expect(loaded.exports.answer).toBe(42);
    expect(loaded.written).toBe(false);
    expect(loaded.saveError).toMatch(/EEXIST|ENOTDIR/);
  });
});
