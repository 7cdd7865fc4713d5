import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * How to run kms-server: the compiled dist/ when it is at least as new as every source
 * file (what ships), else the TypeScript source through tsx (a checkout mid-edit).
 */
export function serverEntry(): { command: string; args: string[] } {
  const dist = join(ROOT, 'dist', 'cli', 'kms-server.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestSourceMtime(join(ROOT, 'src'))) {
    return { command: process.execPath, args: [dist] };
  }
  return { command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'kms-server.ts')] };
}

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export interface NodeProcessOptions {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  /** Where stdout and stderr go (appended across restarts). */
  readonly logFile: string;
  readonly port: number;
  /** The Node.js binary to run kms-server with (default: this process's); bench/protocol times another runtime with it. */
  readonly nodeBinary?: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One kms-server OS process that can be stopped, killed and started again on the same data. */
export class NodeProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<ExitInfo> | null = null;
  private log: WriteStream | null = null;
  private spawned: number | null = null;

  constructor(readonly options: NodeProcessOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** Date.now() right after the last spawn (benchmarks count start-up from it). */
  get spawnedAt(): number | null {
    return this.spawned;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Spawns the process; resolves when /health answers (any status), rejects if it exits
   * first. The generous default covers a tsx start (compiling the sources) on a loaded machine.
   * `pollIntervalMs` is the pause between /health attempts.
   */
  async start(readyTimeoutMs = 180_000, pollIntervalMs = 200): Promise<void> {
    if (this.isRunning()) throw new Error(`${this.options.name} is already running`);
    const entry = serverEntry();
    this.log = createWriteStream(this.options.logFile, { flags: 'a' });
    const child = spawn(this.options.nodeBinary ?? entry.command, entry.args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.spawned = Date.now();
    this.child = child;
    child.stdout.pipe(this.log, { end: false });
    child.stderr.pipe(this.log, { end: false });
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => { resolve({ code, signal }); });
    });
    this.exited = exited;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (this.child !== child || !this.isRunning()) {
        // this.exited is cleared when a signal() raced this start (a kill during start-up).
        const info = await exited;
        throw new Error(`${this.options.name} exited (${info.code ?? info.signal ?? '?'}) during start-up; see ${this.options.logFile}`);
      }
      try {
        await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1_000) });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.options.name} did not answer /health within ${readyTimeoutMs} ms; see ${this.options.logFile}`);
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    }
  }

  /** Sends `signal` and waits for the exit. */
  async signal(signal: NodeJS.Signals, timeoutMs = 60_000): Promise<ExitInfo> {
    const child = this.child;
    const exited = this.exited;
    if (child === null || exited === null) return { code: null, signal: null };
    if (this.isRunning()) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const info = await exited;
    clearTimeout(timer);
    this.child = null;
    this.exited = null;
    this.log?.end();
    this.log = null;
    return info;
  }

  /** SIGSTOP: the process freezes (sockets stay open, nothing answers) until resume(). */
  suspend(): void {
    this.sendSignal('SIGSTOP');
  }

  /** SIGCONT after suspend(). */
  resume(): void {
    this.sendSignal('SIGCONT');
  }

  private sendSignal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === null || !this.isRunning()) throw new Error(`${this.options.name} is not running; cannot send ${signal}`);
    process.kill(pid, signal);
  }

  /** Clean stop: SIGTERM and wait. */
  stop(): Promise<ExitInfo> {
    return this.signal('SIGTERM');
  }

  /** Crash: SIGKILL, no chance to clean up. */
  kill(): Promise<ExitInfo> {
    return this.signal('SIGKILL');
  }
}
