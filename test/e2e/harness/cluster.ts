/**
 * A real single-node Kubernetes cluster for e2e tests: runs test/e2e/cluster/start-cluster.sh
 * (containerd, etcd, the control plane, kubelet and kube-proxy on a bridge of its own; the
 * kms-node image imported; encrypted local volumes), waits until the node is Ready, and offers
 * kubectl/helm helpers bound to its admin kubeconfig. stop() tears the cluster down and reports
 * whether the host was restored; the script also stops by itself when the jest process is gone.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { helmEnv, ok, parseKeyValues, required, run, TOOL_BUILD_TIMEOUT_MS } from './tools.js';
import type { CommandResult, RunOptions } from './tools.js';

export { ok, run, TOOL_BUILD_TIMEOUT_MS };

export const CLUSTER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cluster');

export interface Cluster {
  readonly kubeconfig: string;
  readonly stateDir: string;
  /** The node's address on the test bridge: apiserver, kubelet, and host services pods may reach. */
  readonly nodeIp: string;
  readonly image: string;
  readonly storageClass: string;
  kubectl(args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  helm(args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Runs test/e2e/cluster/volumes.sh <mode> <state-dir> <args...> (lock/unlock a volume's key). */
  volumes(mode: 'lock' | 'unlock', pvName: string): Promise<CommandResult>;
  /** Tears the cluster down; resolves with the teardown's stderr and whether the host matches its record. */
  stop(): Promise<{ readonly restored: boolean; readonly output: string }>;
}

export async function startCluster(timeoutMs = TOOL_BUILD_TIMEOUT_MS): Promise<Cluster> {
  const script = path.join(CLUSTER_DIR, 'start-cluster.sh');
  const child = spawn('bash', [script], {
    env: { ...process.env, KMS_E2E_WATCH_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-64_000)));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code);
    });
  });
  let values: Map<string, string>;
  try {
    values = await waitForReady(child, exited, () => stderr, timeoutMs);
  } catch (error) {
    await terminate(child, exited);
    throw error;
  }
  const kubeconfig = required(values, 'KUBECONFIG', script);
  const stateDir = required(values, 'KMS_CLUSTER_STATE_DIR', script);
  const kubectlBin = required(values, 'KUBECTL', script);
  const helmBin = required(values, 'HELM', script);
  let stopped: Promise<{ restored: boolean; output: string }> | undefined;
  return {
    kubeconfig,
    stateDir,
    nodeIp: required(values, 'KMS_CLUSTER_NODE_IP', script),
    image: required(values, 'KMS_CLUSTER_IMAGE', script),
    storageClass: required(values, 'KMS_CLUSTER_STORAGE_CLASS', script),
    kubectl: (args, opts = {}) => run(kubectlBin, ['--kubeconfig', kubeconfig, ...args], opts),
    helm: (args, opts = {}) =>
      run(helmBin, ['--kubeconfig', kubeconfig, ...args], {
        ...opts,
        env: { ...helmEnv(stateDir), ...opts.env },
      }),
    volumes: (mode, pvName) => run('bash', [path.join(CLUSTER_DIR, 'volumes.sh'), mode, stateDir, pvName]),
    stop() {
      stopped ??= (async () => {
        const before = stderr.length;
        const code = await terminate(child, exited);
        return { restored: code === 0 || code === 143, output: stderr.slice(before) };
      })();
      return stopped;
    },
  };
}

function waitForReady(child: ChildProcess, exited: Promise<number | null>, stderr: () => string, timeoutMs: number): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      reject(new Error(`start-cluster.sh not ready after ${timeoutMs} ms:\n${stderr().slice(-6000)}`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^KMS_CLUSTER_READY=1$/m.test(stdout)) {
        clearTimeout(timer);
        resolve(parseKeyValues(stdout));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`start-cluster.sh exited ${code ?? 'by signal'} before the cluster was ready:\n${stderr().slice(-6000)}`));
    });
  });
}

/** SIGTERM (the script tears down and exits with the teardown's verdict); SIGKILL after 3 min. */
async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, 180_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
