import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ChildNode {
  readonly process: ChildProcess;
  /** The first JSON line the script printed. */
  readonly hello: Record<string, unknown>;
}

/**
 * Runs a test/harness script in one node process (tsx as a loader, not the tsx CLI, which
 * would put a wrapper process in between: signals and pids must reach the script itself)
 * and waits for its first JSON line on stdout.
 */
export async function startChildNode(script: string, args: readonly string[], timeoutMs = 30_000): Promise<ChildNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/harness', script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const lines = createInterface({ input: child.stdout });
  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} printed nothing within ${timeoutMs} ms`)); }, timeoutMs);
    lines.once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line) as Record<string, unknown>); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code ?? 'signal'} before printing`)); });
  });
  return { process: child, hello };
}

export function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}
