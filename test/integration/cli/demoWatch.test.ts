/**
 * `make demo` without --once: after the scripted steps it prints a line per new key
 * version and stays up; Ctrl-C (SIGINT) stops every process it started and exits 0,
 * keeping the data and logs for inspection.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';

jest.setTimeout(900_000);

const ROOT = resolve(import.meta.dirname, '../../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let parent: string;
beforeAll(() => { parent = makeTempDir('kms-demo-watch-'); });
afterAll(() => { removeTempDir(parent); });

test('the demo keeps reporting new versions until SIGINT, then stops everything and exits 0', async () => {
  const dir = join(parent, 'run');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli/devnet.ts'), '--dir', dir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolvePromise) => { child.on('close', (code) => { resolvePromise(code); }); });

  // Wait for the watch phase and one status line in it.
  const watchLine = /^✓ version \d+ on 4\/4 nodes, \d+ versions, boundary \d+$/m;
  const deadline = Date.now() + 800_000;
  while (!(stdout.includes('… watching') && watchLine.test(stdout.slice(stdout.indexOf('… watching'))))) {
    if (child.exitCode !== null) throw new Error(`the demo exited ${child.exitCode} early:\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`no status line in the watch phase:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  child.kill('SIGINT');
  const code = await exited;
  expect(stdout).not.toMatch(/^✗/m);
  expect(stdout).toContain('… stopping (Ctrl-C)');
  expect(stdout).toContain(`✓ network stopped; data and logs kept in ${dir}`);
  expect(code).toBe(0);
  expect(existsSync(join(dir, 'node-1.log'))).toBe(true);
  // Every kms-server it started (and the restarted one) is gone.
  const pids = [
    ...(/processes up \(pids ([\d, ]+)\)/.exec(stdout)?.[1] ?? '').split(', '),
    /restarted \(pid (\d+)\)/.exec(stdout)?.[1] ?? '',
  ].filter((p) => p !== '').map(Number);
  expect(pids).toHaveLength(5);
  expect(pids.filter(alive)).toEqual([]);
});
