/**
 * Runs commands for the Kubernetes tests and finds the tools test/e2e/infra/build-tools.sh
 * builds from their Go modules (kube-apiserver, kubectl, helm) and caches outside the repo.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** test/e2e/infra: the build and start scripts. */
export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../infra');

/** First-time tool builds compile kube-apiserver, kubectl and helm from source. */
export const TOOL_BUILD_TIMEOUT_MS = 75 * 60_000;

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (e.g. a manifest for `-f -`). */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the command after this many milliseconds (default 120 s). */
  readonly timeoutMs?: number;
}

/** Runs a command to completion and returns its exit code and output; never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Throws with the command's stderr unless it exited 0; returns stdout. */
export function ok(result: CommandResult, what: string): string {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}

/** Where build-tools.sh put (or found) each tool. */
export interface ToolPaths {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  readonly helm: string;
  readonly etcd: string;
}

export function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return values;
}

export function required(values: Map<string, string>, key: string, source: string): string {
  const value = values.get(key);
  if (value === undefined || value === '') throw new Error(`${source} printed no ${key}= line`);
  return value;
}

/**
 * Builds (first time, slow) or finds the cached tools. `which` limits the build, e.g. ['helm']
 * for render-only tests.
 */
export async function ensureTools(which: readonly ('kube-apiserver' | 'kubectl' | 'helm' | 'etcd')[] = []): Promise<Partial<ToolPaths>> {
  const result = await run('bash', [path.join(INFRA_DIR, 'build-tools.sh'), ...which], { timeoutMs: TOOL_BUILD_TIMEOUT_MS });
  const values = parseKeyValues(ok(result, 'build-tools.sh'));
  const dir = (key: string, name: string): string | undefined => {
    const found = values.get(key);
    return found === undefined ? undefined : path.join(found, name);
  };
  const tools: { -readonly [K in keyof ToolPaths]?: string } = {};
  const kubeApiserver = dir('KUBE_APISERVER_DIR', 'kube-apiserver');
  const kubectl = dir('KUBECTL_DIR', 'kubectl');
  const helm = dir('HELM_DIR', 'helm');
  const etcd = values.get('ETCD_BIN');
  if (kubeApiserver !== undefined) tools.kubeApiserver = kubeApiserver;
  if (kubectl !== undefined) tools.kubectl = kubectl;
  if (helm !== undefined) tools.helm = helm;
  if (etcd !== undefined) tools.etcd = etcd;
  return tools;
}

/**
 * helm keeps caches and repository config under HOME-relative dirs: these keep them in a test's
 * state dir. Its own discovery cache (not kubectl's) makes a first install see the cluster as a
 * fresh client would.
 */
export function helmEnv(stateDir: string): Record<string, string> {
  return {
    HELM_CACHE_HOME: path.join(stateDir, 'helm-cache'),
    HELM_CONFIG_HOME: path.join(stateDir, 'helm-config'),
    HELM_DATA_HOME: path.join(stateDir, 'helm-data'),
    KUBECACHEDIR: path.join(stateDir, 'helm-kube-cache'),
  };
}
