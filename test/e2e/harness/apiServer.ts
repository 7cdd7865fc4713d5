/**
 * A throwaway Kubernetes API server for e2e tests: runs test/e2e/infra/start-apiserver.sh
 * (etcd + kube-apiserver on loopback, fresh certificates, tools built by build-tools.sh),
 * waits for it to be ready, and offers kubectl/helm helpers bound to its admin kubeconfig.
 * stop() ends both servers and removes the temp dir; the script also stops by itself when
 * the jest process that started it is gone.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { helmEnv, INFRA_DIR, ok, parseKeyValues, required, run, TOOL_BUILD_TIMEOUT_MS } from './tools.js';
import type { CommandResult, RunOptions, ToolPaths } from './tools.js';

export { ok, run, TOOL_BUILD_TIMEOUT_MS };
export type { CommandResult, RunOptions, ToolPaths };

/** A ServiceAccount to act as, through impersonation or a minted token. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

export interface KubectlOptions extends RunOptions {
  /** Act as this ServiceAccount (admin impersonation: `--as=system:serviceaccount:<ns>:<name>`). */
  readonly as?: ServiceAccountRef;
}

export interface ApiServer {
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly stateDir: string;
  readonly tools: ToolPaths;
  /** Runs kubectl against this server as cluster admin (or as `options.as`). */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<CommandResult>;
  /** Runs helm against this server. */
  helm(args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Mints a short-lived token for a ServiceAccount through the TokenRequest API. */
  createToken(account: ServiceAccountRef, expirationSeconds?: number): Promise<string>;
  /** Runs kubectl authenticated only by `token` (no client certificate): what a pod would be. */
  kubectlWithToken(token: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * One raw HTTPS request authenticated by a bearer token, as an in-cluster client makes it
   * (kubectl patch first GETs the object; a controller's PATCH does not).
   */
  request(token: string, method: string, apiPath: string, body?: { contentType: string; data: unknown }): Promise<HttpResult>;
  /** Stops kube-apiserver and etcd and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

export interface StartOptions {
  /** Extra kube-apiserver flags. */
  readonly apiserverFlags?: readonly string[];
  /** Time allowed for building tools plus startup (default TOOL_BUILD_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** Starts etcd + kube-apiserver and resolves once /readyz answers and the admin kubeconfig works. */
export async function startApiServer(options: StartOptions = {}): Promise<ApiServer> {
  const script = path.join(INFRA_DIR, 'start-apiserver.sh');
  const flags = options.apiserverFlags ?? [];
  const child = spawn('bash', [script, ...(flags.length > 0 ? ['--', ...flags] : [])], {
    env: { ...process.env, KMS_E2E_WATCH_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so a last-resort kill reaches etcd and kube-apiserver too.
    detached: true,
  });
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => {
      resolve();
    });
  });
  let values: Map<string, string>;
  try {
    values = await waitForReady(child, options.timeoutMs ?? TOOL_BUILD_TIMEOUT_MS);
  } catch (error) {
    await terminate(child, exited);
    throw error;
  }
  const kubeconfig = required(values, 'KUBECONFIG', script);
  const server = required(values, 'KMS_E2E_SERVER', script);
  const tools: ToolPaths = {
    kubeApiserver: required(values, 'KUBE_APISERVER', script),
    kubectl: required(values, 'KUBECTL', script),
    helm: required(values, 'HELM', script),
    etcd: 'etcd',
  };
  const stateDir = required(values, 'KMS_E2E_STATE_DIR', script);
  const caFile = path.join(stateDir, 'pki', 'ca.crt');
  let stopped = false;

  const kubectl = (args: readonly string[], opts: KubectlOptions = {}): Promise<CommandResult> => {
    const as = opts.as === undefined ? [] : [`--as=system:serviceaccount:${opts.as.namespace}:${opts.as.name}`];
    return run(tools.kubectl, ['--kubeconfig', kubeconfig, ...as, ...args], opts);
  };
  return {
    kubeconfig,
    server,
    stateDir,
    tools,
    kubectl,
    helm: (args, opts = {}) =>
      run(tools.helm, ['--kubeconfig', kubeconfig, ...args], {
        ...opts,
        env: { ...helmEnv(stateDir), ...opts.env },
      }),
    async createToken(account, expirationSeconds = 600) {
      const result = await kubectl(['create', 'token', account.name, '-n', account.namespace, `--duration=${expirationSeconds}s`]);
      return ok(result, `kubectl create token ${account.namespace}/${account.name}`).trim();
    },
    kubectlWithToken: (token, args, opts = {}) =>
      // An empty kubeconfig keeps the admin client certificate out of the request.
      run(tools.kubectl, ['--kubeconfig', '/dev/null', `--server=${server}`, `--certificate-authority=${caFile}`, `--token=${token}`, ...args], opts),
    request: (token, method, apiPath, body) => httpsRequest(server, readFileSync(caFile), token, method, apiPath, body),
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child, exited);
    },
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      reject(new Error(`start-apiserver.sh not ready after ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^KMS_E2E_READY=1$/m.test(stdout)) {
        clearTimeout(timer);
        resolve(parseKeyValues(stdout));
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`start-apiserver.sh exited ${code ?? 'by signal'} before the API server was ready:\n${stderr.slice(-4000)}`));
    });
  });
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), delay(30_000).then(() => false)]);
  if (!graceful && child.pid !== undefined) {
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function httpsRequest(
  server: string,
  ca: Buffer,
  token: string,
  method: string,
  apiPath: string,
  body?: { contentType: string; data: unknown },
): Promise<HttpResult> {
  const payload = body === undefined ? undefined : JSON.stringify(body.data);
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(apiPath, server),
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': body.contentType }),
        },
        timeout: 30_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body: text });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${apiPath} timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}
