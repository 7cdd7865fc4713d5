/**
 * docs/persistence.md as an operator follows it: every `sh doc-test=…` block is
 * extracted from the Markdown and run with bash, exactly as written, against a real
 * node (kms-server process, embedded redis-server, real AOF). The hot backup is taken
 * while the node runs, newer versions are written, and the restore must bring back
 * exactly the backed-up state.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import { Devnet, type DevnetOperator } from '../../../src/devnet/devnet.js';
import { lastRestoredState, nodeHealth, sleep, waitForIdle, type NodeHealth } from '../../../src/devnet/demo.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';

jest.setTimeout(600_000);

const ROOT = resolve(import.meta.dirname, '../../..');
const GUIDE = readFileSync(join(ROOT, 'docs/persistence.md'), 'utf8');

/** The tagged shell blocks of the guide, by tag. */
function docBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of markdown.matchAll(/^```sh doc-test=([a-z0-9-]+)\n([\s\S]*?)^```$/gm)) {
    const [, name, body] = match;
    if (name === undefined || body === undefined) continue;
    if (blocks.has(name)) throw new Error(`two blocks tagged doc-test=${name}`);
    blocks.set(name, body);
  }
  return blocks;
}

const blocks = docBlocks(GUIDE);
const ran = new Set<string>();

interface BlockRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runBlock(name: string, vars: Record<string, string>): Promise<BlockRun> {
  const script = blocks.get(name);
  if (script === undefined) throw new Error(`docs/persistence.md has no block doc-test=${name}`);
  ran.add(name);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...vars },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => { resolvePromise({ code, stdout, stderr }); });
  });
}

async function mustRun(name: string, vars: Record<string, string>): Promise<string> {
  const run = await runBlock(name, vars);
  if (run.code !== 0) throw new Error(`doc block ${name} exited ${run.code ?? 'by signal'}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

async function waitForHealth(op: DevnetOperator, accept: (h: NodeHealth) => boolean, what: string, timeoutMs = 240_000): Promise<NodeHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await nodeHealth(op.process.url);
    if (health !== null && accept(health)) return health;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last health: ${JSON.stringify(health)}`);
    await sleep(500);
  }
}

let dir: string;
let devnet: Devnet;
let node: DevnetOperator;

beforeAll(async () => {
  dir = makeTempDir('kms-docs-');
  devnet = await Devnet.start({ baseDir: join(dir, 'net'), nodes: 1, boundaryInterval: 5 });
  const first = devnet.operators[0];
  if (first === undefined) throw new Error('no node');
  node = first;
});

afterAll(async () => {
  await devnet.stop();
  removeTempDir(dir);
});

test('every shell block in the guide is tagged doc-test=…', () => {
  const shellBlocks = [...GUIDE.matchAll(/^```(sh|bash|shell)\b(.*)$/gm)];
  expect(shellBlocks.length).toBe(blocks.size);
  expect(blocks.size).toBeGreaterThanOrEqual(7);
});

test('data-dir: creates a 0700 directory', async () => {
  const data = join(dir, 'fresh', 'data');
  const out = await mustRun('data-dir', { DATA: data });
  expect(out.trim()).toBe('700');
  expect(statSync(data).mode & 0o777).toBe(0o700);
});

test('health and metrics on a running node with keys', async () => {
  await waitForHealth(node, (h) => h.versionCount >= 2, 'a DKG and a reshare');
  const vars = { NODE: node.process.url };
  const health = JSON.parse(await mustRun('health', vars)) as { status: string; phase: string; persistence: { healthy: boolean } };
  expect(health.phase).toBe('running');
  expect(health.persistence.healthy).toBe(true);
  const metrics = await mustRun('metrics', vars);
  expect(metrics).toMatch(/^kms_key_versions \d+$/m);
  expect(metrics).toMatch(/^kms_active_key_version \d+$/m);
  expect(metrics).toMatch(/^kms_last_processed_boundary \d+$/m);
  expect(metrics).toMatch(/^kms_persistence_operation_duration_seconds_count\{operation="[a-zA-Z]+"\} \d+$/m);
});

test('hot backup of a running node, then restore: the node comes back with exactly the backed-up state', async () => {
  const data = node.dataDir;
  const backup = join(dir, 'backup-hot');
  // Back up between rounds; the state must not change while the copy is taken.
  let taken: NodeHealth | null = null;
  for (let attempt = 0; attempt < 5 && taken === null; attempt++) {
    const before = await waitForIdle(node, 120_000);
    removeTempDir(backup);
    const out = await mustRun('backup-hot', { DATA: data, BACKUP: backup });
    const after = await nodeHealth(node.process.url);
    expect(out).toContain('OK');
    if (after !== null && after.versionCount === before.versionCount && after.activeVersion === before.activeVersion && after.lastProcessedBoundary === before.lastProcessedBoundary) {
      taken = before;
    }
  }
  if (taken === null) throw new Error('could not take a backup between two rounds in 5 attempts');
  expect(statSync(backup).mode & 0o777).toBe(0o700);
  // Automatic rewrites are back on with the previous value.
  const percentage = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn('redis-cli', ['-s', join(data, 'redis.sock'), 'CONFIG', 'GET', 'auto-aof-rewrite-percentage'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
    child.on('error', reject);
    child.on('close', () => { resolvePromise(out.trim().split('\n').at(-1) ?? ''); });
  });
  expect(percentage).not.toBe('0');

  // The node moves on: newer versions exist that the backup does not have.
  const backedUp = taken;
  await waitForHealth(node, (h) => h.versionCount > backedUp.versionCount, 'a version newer than the backup');

  await node.process.stop();
  await mustRun('restore', { DATA: data, BACKUP: backup });
  expect(statSync(data).mode & 0o777).toBe(0o700);
  await node.process.start();
  const verify = await mustRun('verify-restore', { NODE: node.process.url });
  expect(verify).toContain('"phase":"running"');
  expect(verify).toMatch(/"versionCount":\d+/);

  const restored = lastRestoredState(node.process.options.logFile);
  expect(restored).toEqual({
    versions: backedUp.versionCount,
    activeVersion: backedUp.activeVersion,
    lastProcessedBoundary: backedUp.lastProcessedBoundary,
  });
  // And it keeps working from there: a new round commits on top of the restored state.
  await waitForHealth(node, (h) => h.versionCount > backedUp.versionCount && h.phase === 'running', 'a round after the restore');
});

test('cold backup of a stopped node; the node starts again on its data', async () => {
  const backup = join(dir, 'backup-cold');
  const before = await waitForIdle(node, 120_000);
  await node.process.stop();
  const out = await mustRun('backup-cold', { DATA: node.dataDir, BACKUP: backup });
  expect(out).toContain('All AOF files and manifest are valid');
  await node.process.start();
  const after = await waitForHealth(node, (h) => h.phase === 'running', 'the restarted node');
  expect(after.versionCount).toBeGreaterThanOrEqual(before.versionCount);
});

test('every tagged block was run', () => {
  expect([...ran].sort()).toEqual([...blocks.keys()].sort());
});
