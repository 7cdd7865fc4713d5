import { PassThrough } from 'node:stream';
import { main } from './kms-client.js';

async function runInProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(['node', 'kms-client', ...args], { stdin, stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const NODE = 'http://127.0.0.1:1';
const REGISTRY = '0x' + '1'.repeat(40);

describe('kms-client argument handling (in process)', () => {
  it.each([
    [['pubkey'], /say which nodes to ask/],
    [[], /Usage: kms-client/],
    [['--bogus', 'pubkey'], /unknown option '--bogus'/],
    [['--nodes', NODE, 'frobnicate'], /unknown command 'frobnicate'/],
    [['--nodes', NODE, '--registry-address', REGISTRY, 'pubkey'], /either --nodes or --registry-address, not both/],
    [['--registry-address', REGISTRY, 'pubkey'], /--registry-address needs --rpc-url/],
    [['--registry-address', '0x1234', '--rpc-url', NODE, 'pubkey'], /--registry-address must be a 0x-prefixed 20-byte address/],
    [['--registry-address', REGISTRY, '--rpc-url', 'ws://127.0.0.1:1', 'pubkey'], /--rpc-url must be an http\(s\) URL/],
    [['--nodes', 'ftp://127.0.0.1', 'pubkey'], /must use http or https/],
    [['--nodes', 'http://u:p@127.0.0.1:1', 'pubkey'], /carries credentials/],
    [['--nodes', NODE, '--timeout-ms', 'soon', 'pubkey'], /--timeout-ms must be a positive integer/],
    [['--nodes', NODE, '--timeout-ms', '0', 'pubkey'], /--timeout-ms must be a positive integer/],
    [['--nodes', NODE, 'app-key', 'abc'], /app id must be at least 5 bytes in UTF-8, got 3/],
    [['--nodes', NODE, 'app-key', 'x'.repeat(1025)], /app id must be at most 1024 bytes in UTF-8, got 1025/],
    [['--nodes', NODE, 'app-key', '\udfffabcd'], /not well-formed Unicode: lone surrogate U\+DFFF at index 0/],
    [['--nodes', NODE, 'app-key', 'my-app', '--attestation-time', '1.5'], /--attestation-time must be Unix seconds/],
    [['--nodes', NODE, 'app-key', 'my-app', '--attestation-time', '99999999999999999999'], /--attestation-time is out of range/],
    [['--nodes', NODE, 'app-key'], /missing required argument 'appId'/],
    [['--nodes', NODE, 'pubkey', 'extra'], /too many arguments/],
    [['--nodes', NODE, 'decrypt', 'my-app', '--in', '/nonexistent/file'], /cannot read --in \/nonexistent\/file: ENOENT/],
  ])('%j → exit 2 with a message on stderr, nothing on stdout', async (args, message) => {
    const result = await runInProcess(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('--help and a command help exit 0 on stdout', async () => {
    const help = await runInProcess(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/KMS_CLIENT_NODES/);
    const sub = await runInProcess(['decrypt', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--attestation-time/);
  });

  it('a node failure is exit 1 with the typed code', async () => {
    const result = await runInProcess(['--nodes', NODE, '--timeout-ms', '2000', 'pubkey']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kms-client: error \[CLIENT_NO_AGREEMENT\]: .*\n {2}http:\/\/127\.0\.0\.1:1: cannot reach \/pubkey/);
  });
});
