/**
 * The e2e API server harness itself: it starts on loopback with a working admin kubeconfig,
 * and stop() ends etcd and kube-apiserver and removes every temp dir.
 */
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ok, startApiServer, TOOL_BUILD_TIMEOUT_MS } from './harness/apiServer.js';
import type { ApiServer } from './harness/apiServer.js';

let api: ApiServer | undefined;

afterAll(async () => {
  await api?.stop();
}, 60_000);

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

test(
  'starts on loopback, answers as admin, and stop() leaves nothing behind',
  async () => {
    api = await startApiServer();
    const server = new URL(api.server);
    expect(server.hostname).toBe('127.0.0.1');
    const port = Number(server.port);
    expect(readFileSync(api.kubeconfig, 'utf8')).toContain(`server: ${api.server}`);
    expect(ok(await api.kubectl(['auth', 'can-i', '*', '*', '--all-namespaces']), 'can-i').trim()).toBe('yes');
    expect(ok(await api.kubectl(['version', '-o', 'json']), 'version')).toContain('"gitVersion": "v1.34');
    const stateDir = api.stateDir;
    expect(existsSync(path.join(stateDir, 'pki', 'ca.crt'))).toBe(true);

    await api.stop();
    expect(existsSync(stateDir)).toBe(false);
    expect(await accepts(port)).toBe(false);
    // A second stop is a no-op.
    await api.stop();
  },
  TOOL_BUILD_TIMEOUT_MS + 120_000,
);
