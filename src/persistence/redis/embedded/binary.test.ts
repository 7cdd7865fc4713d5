import { chmodSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServerNotFoundError } from './errors.js';
import { findExecutable, resolveExecutable } from './binary.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kms-bin-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

describe('resolveExecutable', () => {
  it('finds a name on PATH, skipping entries where it is not executable', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, 'redis-server'), '#!/bin/sh\n');
    chmodSync(join(a, 'redis-server'), 0o644);
    writeFileSync(join(b, 'redis-server'), '#!/bin/sh\n');
    chmodSync(join(b, 'redis-server'), 0o755);
    expect(await resolveExecutable('redis-server', `${a}:${b}`)).toBe(join(b, 'redis-server'));
  });

  it('checks a path as given and refuses a directory or a missing file with the install hint', async () => {
    await expect(resolveExecutable(dir)).rejects.toThrow(RedisServerNotFoundError);
    const error = await resolveExecutable(join(dir, 'nope')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisServerNotFoundError);
    expect((error as Error).message).toContain("install it with 'apt-get install redis-server' or set --redis-server-binary");
  });

  it('refuses a name that is on no PATH entry', async () => {
    await expect(resolveExecutable('redis-server', dir)).rejects.toThrow(RedisServerNotFoundError);
  });
});

describe('findExecutable', () => {
  it('returns null instead of throwing', async () => {
    expect(await findExecutable('kms-no-such-binary-on-path')).toBeNull();
  });
});
