/**
 * The kms-client CLI as a user runs it (a tsx child process) against four real node
 * HTTP APIs on loopback serving the shares of a real in-memory DKG; node 1 lies on
 * /app/sign, so every app-key path also exercises culprit detection.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import { g1ToHex, hashToG1, interpolateAtZero, operatorId } from '../../../src/crypto/index.js';
import { DKG_EPOCH, runDkg, runReshare, startNodes, wrongPartial, type DkgKeys, type FakeNodes } from '../../harness/dkgCluster.js';

jest.setTimeout(120_000);

const ROOT = resolve(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'src/cli/kms-client.ts');
const APP = 'cli-test-app';

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function run(args: readonly string[], options: { stdin?: Uint8Array; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    delete env.NODE_OPTIONS;
    for (const name of ['KMS_CLIENT_NODES', 'KMS_CLIENT_REGISTRY_ADDRESS', 'KMS_CLIENT_RPC_URL', 'KMS_CLIENT_TIMEOUT_MS'] as const) {
      if (options.env?.[name] === undefined) env[name] = undefined;
    }
    const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      resolvePromise({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
  });
}

let keys: DkgKeys;
let nodes: FakeNodes;
let nodesFlag: string;
let expectedAppKey: string;
let dir: string;

beforeAll(async () => {
  keys = runDkg(4, 'client-cli');
  nodes = await startNodes(keys, { 1: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(keys, appId, 1) }) } });
  nodesFlag = nodes.urls.join(',');
  const secret = interpolateAtZero(keys.versions.map((v, i) => ({ x: operatorId(keys.operators[i]!), y: v.privateShare })));
  expectedAppKey = g1ToHex(hashToG1(APP).multiply(secret));
  dir = mkdtempSync(join(tmpdir(), 'kms-client-cli-'));
});

afterAll(async () => {
  await nodes.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kms-client', () => {
  it('pubkey prints the agreed MPK; --json adds the view; KMS_CLIENT_NODES works like --nodes', async () => {
    const plain = await run(['--nodes', nodesFlag, 'pubkey']);
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toBe(`${keys.masterPublicKeyHex}\n`);

    const viaEnv = await run(['pubkey', '--json'], { env: { KMS_CLIENT_NODES: nodesFlag } });
    expect(viaEnv.code).toBe(0);
    const view = JSON.parse(viaEnv.stdout.toString()) as Record<string, unknown>;
    expect(view).toMatchObject({ masterPublicKey: keys.masterPublicKeyHex, threshold: 3, required: 3, dissenters: [] });
    expect(view.participants).toEqual([...keys.operators].sort());
  });

  it('app-key prints the verified key, warns about the lying node on stderr; --json shows the verification', async () => {
    const plain = await run(['--nodes', nodesFlag, 'app-key', APP]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toBe(`${expectedAppKey}\n`);
    expect(plain.stderr).toMatch(new RegExp(`warning: node ${nodes.urls[1]!}: partial signature of 0x[0-9a-f]{40} does not verify`));

    const json = await run(['--nodes', nodesFlag, 'app-key', APP, '--json', '--attestation-time', '1800000000']);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout.toString()) as { appKey: string; verification: { verified: boolean }; contributors: unknown[]; rejected: { url: string }[] };
    expect(body.appKey).toBe(expectedAppKey);
    expect(body.verification.verified).toBe(true);
    expect(body.contributors).toHaveLength(3);
    expect(body.rejected.map((r) => r.url)).toEqual([nodes.urls[1]]);
  });

  it('app-key --attestation-time in a version replaced by a reshare: partials checked against that version, same key', async () => {
    // Active: a reshare of the DKG; the DKG version is history. Node 1 lies under the old version too.
    const reshared = runReshare(keys, 'client-cli/reshare', DKG_EPOCH + 1_000);
    const rotated = await startNodes(reshared, { 1: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(keys, appId, 1) }) } }, [keys]);
    try {
      const json = await run(['--nodes', rotated.urls.join(','), 'app-key', APP, '--json', '--attestation-time', String(DKG_EPOCH + 5)]);
      expect(json.stderr).toBe('');
      expect(json.code).toBe(0);
      const body = JSON.parse(json.stdout.toString()) as { appKey: string; version: number; masterPublicKey: string; rejected: { url: string; outcome: string }[] };
      expect(body).toMatchObject({ appKey: expectedAppKey, version: DKG_EPOCH, masterPublicKey: keys.masterPublicKeyHex });
      expect(body.rejected).toEqual([{ url: rotated.urls[1], outcome: expect.stringMatching(/does not verify against its public share/) as unknown }]);
    } finally {
      await rotated.close();
    }
  });

  it('encrypt and decrypt through files; the plaintext file is created owner-only', async () => {
    const plainPath = join(dir, 'secret.txt');
    const ctPath = join(dir, 'secret.ibe');
    const outPath = join(dir, 'secret.out');
    writeFileSync(plainPath, 'DATABASE_URL=postgres://app:hunter2@db/app\n');
    const enc = await run(['--nodes', nodesFlag, 'encrypt', APP, '--in', plainPath, '--out', ctPath]);
    expect(enc.stderr).toBe('');
    expect(enc.code).toBe(0);
    expect(enc.stdout.length).toBe(0);
    expect(readFileSync(ctPath).subarray(0, 4)).toEqual(Buffer.from([0x49, 0x42, 0x45, 0x01]));
    const dec = await run(['--nodes', nodesFlag, 'decrypt', APP, '--in', ctPath, '--out', outPath]);
    expect(dec.code).toBe(0);
    expect(readFileSync(outPath, 'utf8')).toBe('DATABASE_URL=postgres://app:hunter2@db/app\n');
    expect(statSync(outPath).mode & 0o777).toBe(0o600);
  });

  it('encrypt and decrypt through stdin/stdout are binary-safe', async () => {
    const every = Uint8Array.from({ length: 4096 }, (_, i) => i % 256);
    const enc = await run(['--nodes', nodesFlag, 'encrypt', APP], { stdin: every });
    expect(enc.code).toBe(0);
    expect(enc.stdout.length).toBe(4 + 96 + 12 + every.length + 16);
    const dec = await run(['--nodes', nodesFlag, 'decrypt', APP, '--in', '-', '--out', '-'], { stdin: enc.stdout });
    expect(dec.code).toBe(0);
    expect(dec.stdout.equals(Buffer.from(every))).toBe(true);
  });

  it('a tampered ciphertext or another app id fails with exit 1 and CLIENT_DECRYPTION_FAILED, writing nothing', async () => {
    const enc = await run(['--nodes', nodesFlag, 'encrypt', APP], { stdin: Buffer.from('hello') });
    const tampered = Buffer.from(enc.stdout);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0x10;
    const bad = await run(['--nodes', nodesFlag, 'decrypt', APP], { stdin: tampered });
    expect(bad.code).toBe(1);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toMatch(/^kms-client: error \[CLIENT_DECRYPTION_FAILED\]: the ciphertext does not decrypt for "cli-test-app"\. Fix: /);
    const other = await run(['--nodes', nodesFlag, 'decrypt', 'another-app'], { stdin: enc.stdout });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/CLIENT_DECRYPTION_FAILED/);
    const garbage = await run(['--nodes', nodesFlag, 'decrypt', APP], { stdin: Buffer.from('not a ciphertext') });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/CLIENT_BAD_INPUT.*not an IBE ciphertext/);
  });

  it('nodes that cannot agree: exit 1 with CLIENT_NO_AGREEMENT and every node listed', async () => {
    const down = await run(['--nodes', `${nodes.urls[0]!},http://127.0.0.1:1,http://127.0.0.1:2`, 'pubkey']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/error \[CLIENT_NO_AGREEMENT\]/);
    expect(down.stderr).toContain('http://127.0.0.1:1: cannot reach /pubkey');
    expect(down.stderr).toContain(`${nodes.urls[0]!}: version`);
  });

  // The full table of usage errors runs in process (src/cli/kms-client.test.ts); these prove the real exit code.
  it.each([
    [['pubkey'], /say which nodes to ask/],
    [['--bogus', 'pubkey'], /unknown option '--bogus'/],
    [['--nodes', 'http://127.0.0.1:1', 'app-key', 'abc'], /app id must be at least 5 bytes in UTF-8, got 3/],
  ])('usage error %j → exit 2 with a message', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('--help exits 0 and lists the commands', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/pubkey[\s\S]*app-key[\s\S]*encrypt[\s\S]*decrypt/);
  });
});
