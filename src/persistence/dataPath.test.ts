import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataPathInsecureError,
  DataPathNotAbsoluteError,
  DataPathNotDirectoryError,
  DataPathWrongOwnerError,
  ensureDataPath,
  inspectDataPath,
} from './dataPath.js';

let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'kms-datapath-')); });
afterEach(() => { rmSync(root, { recursive: true, force: true }); });

const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('ensureDataPath', () => {
  it('creates a missing path (and parents) with mode 0700 regardless of the umask', async () => {
    const path = join(root, 'a', 'b', 'data');
    const previous = process.umask(0o022);
    try {
      await ensureDataPath(path);
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).isDirectory()).toBe(true);
    expect(modeOf(path)).toBe(0o700);
  });

  it('accepts an existing private directory and leaves its mode alone', async () => {
    const path = join(root, 'data');
    mkdirSync(path, { mode: 0o700 });
    await ensureDataPath(path);
    expect(modeOf(path)).toBe(0o700);
  });

  it.each([0o750, 0o755, 0o701, 0o770, 0o777])('refuses an existing directory with mode %o and does not change it', async (mode) => {
    const path = join(root, 'data');
    mkdirSync(path);
    chmodSync(path, mode);
    const error = await ensureDataPath(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataPathInsecureError);
    expect((error as DataPathInsecureError).code).toBe('DATA_PATH_INSECURE');
    expect((error as Error).message).toBe(
      `data path ${path} has mode 0${mode.toString(8)}: its group or others can access it, and it holds the node's key shares. ` +
      `Fix: chmod 0700 ${path} (and check who changed it), then start the node again`,
    );
    expect(modeOf(path)).toBe(mode);
  });

  it('refuses a path that is a file', async () => {
    const path = join(root, 'file');
    writeFileSync(path, 'x');
    await expect(ensureDataPath(path)).rejects.toThrow(DataPathNotDirectoryError);
    await expect(ensureDataPath(path)).rejects.toThrow(`data path ${path} exists but is not a directory`);
  });

  it('refuses a relative path', async () => {
    await expect(ensureDataPath('data/kms')).rejects.toThrow(DataPathNotAbsoluteError);
  });

  it('refuses a directory owned by another user', async () => {
    // As root we can hand a fresh 0700 dir to "nobody"; otherwise "/" is owned by root, not us.
    let path = '/';
    if (process.getuid?.() === 0) {
      path = join(root, 'foreign');
      mkdirSync(path, { mode: 0o700 });
      chownSync(path, 65534, 65534);
    }
    const error = await ensureDataPath(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataPathWrongOwnerError);
    expect((error as Error).message).toContain('but the node runs as uid');
  });
});

describe('inspectDataPath', () => {
  it('reports mode, owner, writability and free space of an existing path', async () => {
    const path = join(root, 'data');
    await ensureDataPath(path);
    const facts = await inspectDataPath(path);
    expect(facts).toEqual({
      path,
      exists: true,
      mode: '0700',
      ownerUid: statSync(path).uid,
      writable: true,
      freeBytes: expect.any(Number) as number,
    });
    expect(facts.freeBytes).toBeGreaterThan(0);
  });

  it('reports a missing path as not existing', async () => {
    const path = join(root, 'missing');
    expect(await inspectDataPath(path)).toEqual({ path, exists: false, mode: '', ownerUid: -1, writable: false, freeBytes: null });
  });
});
