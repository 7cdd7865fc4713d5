/**
 * `make demo-once` as a user runs it (the make target itself, so the target is what is
 * tested): the devnet CLI with --once, a real 4-node network
 * (anvil, registry, kms-server processes with embedded redis-server), end to end. The
 * test passes only if the CLI exits 0 and printed every step's success line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';

jest.setTimeout(900_000);

const ROOT = resolve(import.meta.dirname, '../../..');

function runDemoOnce(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    delete env.MAKEFLAGS;
    delete env.MAKELEVEL;
    // -o setup: `make test` has just run setup; re-running it here could start an npm ci
    // under the running test suite.
    const child = spawn('make', ['--no-print-directory', '-o', 'setup', 'demo-once', `DEMO_ARGS=--dir ${dir}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => { resolvePromise({ code, stdout, stderr }); });
  });
}

let parent: string;
beforeAll(() => { parent = mkdtempSync(join(tmpdir(), 'kms-demo-')); });
afterAll(() => { rmSync(parent, { recursive: true, force: true }); });

test('make demo-once runs every step, exits 0 and removes its data dir', async () => {
  const dir = join(parent, 'run');
  const run = await runDemoOnce(dir);
  const expectLine = (pattern: RegExp): void => {
    if (!pattern.test(run.stdout)) throw new Error(`missing ${String(pattern)} in demo output:\n${run.stdout}\n${run.stderr}`);
  };
  expectLine(/^✓ anvil at http:\/\/127\.0\.0\.1:\d+$/m);
  expectLine(/^✓ registry 0x[0-9a-f]{40}$/m);
  expectLine(/^✓ 4 operators registered: /m);
  expectLine(/^✓ DKG done: version \d+, threshold 3 of 4, MPK 0x[0-9a-f]+…[0-9a-f]+$/m);
  expectLine(/^✓ reshare: version \d+ \(\d+ versions\), MPK unchanged$/m);
  expectLine(/^✓ app key derived for "demo-app" from 3 of 4 partial signatures/m);
  expectLine(/^✓ encrypt → decrypt round trip through kms-client \(\d+ bytes/m);
  expectLine(/^✓ SIGKILL node-2 \(pid \d+\) holding version \d+, \d+ versions, boundary \d+$/m);
  expectLine(/^✓ with node-2 down, 3 of 4 nodes still decrypt/m);
  expectLine(/^✓ node-2 restored: same MPK, \d+ versions, active version \d+, boundary \d+, serving$/m);
  expectLine(/^✓ reshare with node-2: version \d+ on all 4 nodes, MPK unchanged$/m);
  expectLine(/^✓ app key for "demo-app" unchanged at version \d+; the first ciphertext still decrypts$/m);
  expectLine(/^✓ every step succeeded in \d+ s; network stopped/m);
  expect(run.stdout).not.toMatch(/^✗/m);
  expect(run.code).toBe(0);
  expect(existsSync(dir)).toBe(false);
  // The SIGKILL line and the restored line agree on what the node held.
  const killed = /holding version (\d+), (\d+) versions/.exec(run.stdout);
  const restored = /restored: same MPK, (\d+) versions, active version (\d+)/.exec(run.stdout);
  expect(restored?.[1]).toBe(killed?.[2]);
  expect(restored?.[2]).toBe(killed?.[1]);
});

test('devnet refuses a bad flag with exit 2 and names it', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const result = await new Promise<{ code: number | null; stderr: string }>((resolvePromise, reject) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli/devnet.ts'), '--once', '--nodes', '2'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => { resolvePromise({ code, stderr }); });
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("--nodes must be a whole number from 4 to 10; got '2'");
});
