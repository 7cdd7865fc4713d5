/**
 * kms-server as an operator runs it: the real CLI in a child process. Bad settings of
 * every kind stop it with exit 2 and a message naming the flag and env var (including
 * the ones only the chain can refute: a registry address without contract code); secrets
 * are never echoed, and no URL credential reaches a log line; --help documents every
 * option with its env var; memory mode warns loudly; a persistence health failure
 * prevents start-up (exit 1, with the reason); SIGTERM stops it (exit 0). Controller mode
 * refuses every KMS_ setting the KmsNode resource owns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import { SERVER_OPTIONS, envName } from '../../../src/config/options.js';
import { deployRegistry } from '../../../src/chain/deploy.js';
import { devAccounts, startAnvil, type AnvilHandle } from '../../harness/anvil.js';
import { startRedisServer } from '../../harness/redisServer.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { cliEntry } from '../../../src/devnet/cliEntry.js';
import { freePort } from '../../../src/devnet/devnet.js';

jest.setTimeout(120_000);

const ROOT = resolve(import.meta.dirname, '../../..');
function account(index: number): { address: string; privateKey: string } {
  const found = devAccounts[index];
  if (found === undefined) throw new Error(`no dev account ${index}`);
  return found;
}
const operator = account(1);
const REGISTRY = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean env: no KMS_ variable leaks in from the test runner. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  return { ...env, ...extra };
}

function spawnServer(args: readonly string[], env: Record<string, string>): { child: ChildProcess; done: Promise<Run>; output: () => string } {
  // dist/ when `make build` made it fresh (as in `make test`), else the source via tsx.
  const entry = cliEntry('kms-server');
  const child = spawn(entry.command, [...entry.args, ...args], {
    cwd: ROOT, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const done = new Promise<Run>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => { resolvePromise({ code, signal, stdout, stderr }); });
  });
  return { child, done, output: () => stdout + stderr };
}

const runServer = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> => spawnServer(args, env).done;

/** Flags of a configuration that is valid except for what a test changes. */
function validArgs(overrides: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    'operator-address': operator.address,
    'chain-id': '31337',
    'registry-address': REGISTRY,
    ...overrides,
  };
  return Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]);
}
const keyEnv = { KMS_OPERATOR_KEY: operator.privateKey };

describe('bad settings: exit 2, one message naming flag and env var', () => {
  const cases: readonly { kind: string; overrides: Record<string, string>; expected: string }[] = [
    { kind: 'enum', overrides: { 'persistence-type': 'badger' }, expected: "--persistence-type (env KMS_PERSISTENCE_TYPE): must be one of memory, redis; got 'badger'" },
    { kind: 'integer range', overrides: { port: '70000' }, expected: "--port (env KMS_PORT): must be a whole number from 1 to 65535; got '70000'" },
    { kind: 'not a number', overrides: { 'chain-id': 'mainnet' }, expected: "--chain-id (env KMS_CHAIN_ID): must be a whole number" },
    { kind: 'address', overrides: { 'registry-address': '0x1234' }, expected: "--registry-address (env KMS_REGISTRY_ADDRESS): must be 0x followed by 40 hex digits; got '0x1234'" },
    { kind: 'URL scheme', overrides: { 'chain-rpc-url': 'ftp://127.0.0.1:8545' }, expected: '--chain-rpc-url (env KMS_CHAIN_RPC_URL): must be an http(s):// or ws(s):// URL' },
    { kind: 'redis URL', overrides: { 'redis-url': 'http://127.0.0.1:6379' }, expected: "--redis-url (env KMS_REDIS_URL): must start with redis:// or rediss://" },
    { kind: 'weaker fsync without consent', overrides: { appendfsync: 'everysec' }, expected: '--appendfsync (env KMS_APPENDFSYNC): everysec can lose up to a second of acknowledged writes' },
    { kind: 'fsync policy', overrides: { appendfsync: 'no' }, expected: "--appendfsync (env KMS_APPENDFSYNC): must be one of always, everysec; got 'no'" },
    { kind: 'key prefix', overrides: { 'redis-key-prefix': 'kms prefix' }, expected: '--redis-key-prefix (env KMS_REDIS_KEY_PREFIX): must be 1-64 characters' },
    { kind: 'log level', overrides: { 'log-level': 'loud' }, expected: "--log-level (env KMS_LOG_LEVEL): must be one of fatal, error, warn, info, debug, trace, silent; got 'loud'" },
    { kind: 'missing secret file', overrides: { 'encryption-key-file': '/nonexistent/kms-secret' }, expected: "--encryption-key-file (env KMS_ENCRYPTION_KEY_FILE): file '/nonexistent/kms-secret' does not exist" },
    { kind: 'missing operators file', overrides: { 'registry-address': '', 'operators-file': '/nonexistent/operators.json' }, expected: "--operators-file (env KMS_OPERATORS_FILE): file '/nonexistent/operators.json' does not exist" },
    { kind: 'operator mismatch', overrides: { 'operator-address': account(2).address }, expected: '--operator-key-file (env KMS_OPERATOR_KEY): the operator key does not belong to' },
  ];

  test.each(cases)('$kind', async ({ overrides, expected }) => {
    const run = await runServer(validArgs(overrides), keyEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(expected);
    expect(run.stdout).toBe('');
  });

  test('the same bad value through the env var is reported the same way', async () => {
    const run = await runServer(validArgs(), { ...keyEnv, KMS_PERSISTENCE_TYPE: 'badger' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--persistence-type (env KMS_PERSISTENCE_TYPE): must be one of memory, redis; got 'badger'");
  });

  test('a missing key and chain id are both reported at once; no secret is echoed', async () => {
    const run = await runServer(['--operator-address', operator.address, '--registry-address', REGISTRY], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--chain-id (env KMS_CHAIN_ID): is required');
    expect(run.stderr).toContain('--operator-key-file (env KMS_OPERATOR_KEY_FILE): is required');
  });

  test.each([
    ['malformed', `${operator.privateKey.slice(0, 60)}zz`],
    ['zero', `0x${'0'.repeat(64)}`],
    ['the curve order', '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'],
  ])('a %s operator key exits 2 naming the flag and env var, never echoing the key', async (_kind, bad) => {
    const run = await runServer(validArgs(), { KMS_OPERATOR_KEY: bad });
    console.log(`bad operator key (${_kind}) → exit ${String(run.code)}: ${run.stderr.trim()}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--operator-key-file (env KMS_OPERATOR_KEY): the operator key must be 0x followed by 64 hex digits, a number from 1 to the secp256k1 group order minus 1 (value not shown)');
    expect(run.stderr).not.toContain(bad.slice(2, 40));
    const decimal = /^0x[0-9a-f]{64}$/.test(bad) ? BigInt(bad).toString(10) : '';
    if (decimal.length > 20) expect(run.stderr).not.toContain(decimal.slice(0, 20));
    expect(run.stdout).toBe('');
  });

  test('a key file readable by group or others exits 2', async () => {
    const dir = makeTempDir('kms-key-mode-');
    try {
      const file = join(dir, 'operator.key');
      writeFileSync(file, `${operator.privateKey}\n`, { mode: 0o640 });
      chmodSync(file, 0o640);
      const run = await runServer([...validArgs(), '--operator-key-file', file]);
      console.log(`key file 0640 → exit ${String(run.code)}: ${run.stderr.trim()}`);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--operator-key-file (env KMS_OPERATOR_KEY_FILE): file '${file}' is accessible to group or others (mode 0640): make it private with chmod 600 '${file}'`);
    } finally {
      removeTempDir(dir);
    }
  });

  test('a key file and KMS_OPERATOR_KEY at once exit 2 (the file does not silently win)', async () => {
    const dir = makeTempDir('kms-key-twice-');
    try {
      const file = join(dir, 'operator.key');
      writeFileSync(file, `${operator.privateKey}\n`, { mode: 0o600 });
      const run = await runServer([...validArgs(), '--operator-key-file', file], keyEnv);
      console.log(`two key sources → exit ${String(run.code)}: ${run.stderr.trim()}`);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--operator-key-file (env KMS_OPERATOR_KEY_FILE): give this secret once: both the file '${file}' and KMS_OPERATOR_KEY are set; unset one of them`);
    } finally {
      removeTempDir(dir);
    }
  });

  test('controller mode: a KMS_ setting the KmsNode resource owns exits 2, naming it', async () => {
    const run = await runServer([], {
      KMS_CONTROLLER: 'true', KMS_KMSNODE_NAME: 'node-0', KMS_NAMESPACE: 'kms', KMS_VOLUME_MOUNT_PATH: '/var/lib/kms-node',
      KMS_CHAIN_ID: '31337', KMS_OPERATOR_KEY: operator.privateKey,
    });
    console.log(`controller mode with KMS_CHAIN_ID, KMS_OPERATOR_KEY → exit ${String(run.code)}: ${run.stderr.trim()}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--chain-id (env KMS_CHAIN_ID): is not read in controller mode (the KmsNode resource configures the node): set spec.chain.chainId in the KmsNode resource instead');
    expect(run.stderr).toContain('--operator-key-file (env KMS_OPERATOR_KEY): is not read in controller mode (the KmsNode resource configures the node): set spec.operator.keySecretRef in the KmsNode resource instead');
    expect(run.stderr).not.toContain(operator.privateKey.slice(2));
  });

  test('the operator key has no value flag (it would show in ps)', async () => {
    const run = await runServer([...validArgs(), '--operator-key', operator.privateKey]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--operator-key'");
    expect(run.stderr).not.toContain(operator.privateKey.slice(2));
  });

  test('an unknown flag exits 2', async () => {
    const run = await runServer([...validArgs(), '--persistence-typ', 'memory'], keyEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--persistence-typ'");
  });
});

test('--help lists every option with its env var and exits 0', async () => {
  const run = await runServer(['--help']);
  expect(run.code).toBe(0);
  const help = run.stdout.replace(/\s+/g, ' ');
  for (const spec of SERVER_OPTIONS) {
    // Env-only secrets have no flag; the help names their env var in the file option's text.
    if (!('envOnly' in spec)) expect(help).toContain(`--${spec.name}`);
    expect(help).toContain(envName(spec));
  }
  expect(help).toContain('--persistence-type <value>');
  expect(help).toContain('(default: redis)');
  expect(help).toContain('(default: ./kms-data)');
});

describe('start-up against a chain', () => {
  let anvil: AnvilHandle;
  let dir: string;

  beforeAll(async () => {
    anvil = await startAnvil();
    // The first contract account 0 deploys: REGISTRY, the address validArgs() names.
    const deployed = await deployRegistry(anvil.wallet(0));
    expect(deployed.address.toLowerCase()).toBe(REGISTRY);
    dir = makeTempDir('kms-server-cli-');
  });
  afterAll(async () => {
    await anvil.stop();
    removeTempDir(dir);
  });

  async function untilOutput(server: ReturnType<typeof spawnServer>, text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!server.output().includes(text)) {
      if (server.child.exitCode !== null) throw new Error(`kms-server exited ${server.child.exitCode} before logging '${text}':\n${server.output()}`);
      if (Date.now() > deadline) throw new Error(`kms-server did not log '${text}' within ${timeoutMs} ms:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  test('memory mode logs the loud warning, runs, and SIGTERM exits 0', async () => {
    const port = await freePort();
    const server = spawnServer(validArgs({ 'persistence-type': 'memory', 'chain-rpc-url': anvil.rpcUrl, port: String(port) }), keyEnv);
    await untilOutput(server, 'node running');
    const warning = server.output().split('\n').find((line) => line.includes('PERSISTENCE IS IN MEMORY'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40 });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(((await health.json()) as { phase: string }).phase).toBe('running');
    server.child.kill('SIGTERM');
    const run = await server.done;
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('node stopped');
    // The configuration is logged, the key is not.
    expect(run.stdout).toContain('"configuration"');
    expect(run.stdout).not.toContain(operator.privateKey.slice(2));
  });

  test('a registry address with no contract code stops start-up: exit 2 naming the setting', async () => {
    const notAContract = account(3).address.toLowerCase();
    const run = await runServer(validArgs({ 'registry-address': notAContract, 'persistence-type': 'memory', 'chain-rpc-url': anvil.rpcUrl, port: String(await freePort()) }), keyEnv);
    console.log(`registry without code → exit ${String(run.code)}: ${run.stderr.trim()}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--registry-address (env KMS_REGISTRY_ADDRESS): there is no contract code at ${notAContract} on chain 31337: it is not an OperatorRegistry`);
    expect(run.stdout).not.toContain('node running');
  });

  test('an operators file that is not an operator set stops start-up: exit 2 naming the setting', async () => {
    const file = join(dir, 'operators.json');
    writeFileSync(file, '{"operators": "nope"}');
    const run = await runServer(validArgs({ 'registry-address': '', 'operators-file': file, 'persistence-type': 'memory', 'chain-rpc-url': anvil.rpcUrl, port: String(await freePort()) }), keyEnv);
    console.log(`bad operators file → exit ${String(run.code)}: ${run.stderr.trim()}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--operators-file (env KMS_OPERATORS_FILE): ');
    expect(run.stdout).not.toContain('node running');
  });

  test('no URL credential reaches a log line: userinfo and query strings are redacted everywhere', async () => {
    const port = await freePort();
    const rpc = new URL(anvil.rpcUrl);
    // A provider-style API key in the query: the node runs on it, and logs its configuration.
    const withKey = `${rpc.origin}/?apikey=PLANTED-QUERY-SECRET`;
    const server = spawnServer(validArgs({ 'persistence-type': 'memory', 'chain-rpc-url': withKey, port: String(port), 'log-level': 'debug' }), keyEnv);
    await untilOutput(server, 'node running');
    server.child.kill('SIGTERM');
    const first = await server.done;
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`${rpc.origin}/?[Redacted]`);
    // userinfo in the chain URL and in a Redis URL: start-up fails, and its messages say why without them.
    const second = await runServer(validArgs({
      'chain-rpc-url': `http://planted-user:PLANTED-PASSWORD@${rpc.host}/?token=PLANTED-TOKEN`,
      'redis-url': 'redis://kms:PLANTED-REDIS-PASSWORD@127.0.0.1:1/0', port: String(await freePort()), 'log-level': 'trace',
    }), keyEnv);
    expect(second.code).not.toBe(0);
    for (const text of [first.stdout + first.stderr, second.stdout + second.stderr]) {
      for (const planted of ['PLANTED-QUERY-SECRET', 'PLANTED-PASSWORD', 'planted-user', 'PLANTED-TOKEN', 'PLANTED-REDIS-PASSWORD']) expect(text).not.toContain(planted);
    }
  });

  test('a data path others can read prevents start-up: exit 1 with the reason', async () => {
    const dataPath = join(dir, 'open-data');
    mkdirSync(dataPath);
    chmodSync(dataPath, 0o755);
    const run = await runServer(validArgs({ 'persistence-data-path': dataPath, 'chain-rpc-url': anvil.rpcUrl, port: String(await freePort()) }), keyEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('kms-server: start-up failed:');
    expect(run.stderr).toContain(`data path ${dataPath} has mode 0755`);
    expect(run.stdout).not.toContain('node running');
  });

  test('an external Redis without AOF prevents start-up: exit 1 with the reason', async () => {
    const redis = await startRedisServer({ appendonly: false });
    try {
      const run = await runServer(validArgs({ 'redis-url': redis.url, 'chain-rpc-url': anvil.rpcUrl, port: String(await freePort()) }), keyEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('kms-server: start-up failed:');
      expect(run.stderr.toLowerCase()).toContain('appendonly');
      expect(run.stdout).not.toContain('node running');
    } finally {
      await redis.stop();
    }
  });

  test('an embedded node on a 0700 data path starts, and SIGTERM exits 0', async () => {
    const dataPath = join(dir, 'good-data');
    const secretFile = join(dir, 'operator.key');
    writeFileSync(secretFile, `${operator.privateKey}\n`, { mode: 0o600 });
    const port = await freePort();
    const server = spawnServer([...validArgs({ 'persistence-data-path': dataPath, 'chain-rpc-url': anvil.rpcUrl, port: String(port) }), '--operator-key-file', secretFile], {});
    await untilOutput(server, 'node running');
    server.child.kill('SIGTERM');
    const run = await server.done;
    expect(run.code).toBe(0);
  });

  test('from dist/, a restart loads the node mode through the code cache in the data path', async () => {
    const dataPath = join(dir, 'cached-data');
    const port = await freePort();
    const start = (): ReturnType<typeof spawnServer> => spawnServer(validArgs({ 'persistence-data-path': dataPath, 'chain-rpc-url': anvil.rpcUrl, port: String(port), 'log-level': 'debug' }), keyEnv);
    const codeCacheStatus = (output: string): unknown => output.split('\n').filter((l) => l.includes('"code cache"')).map((l) => (JSON.parse(l) as { status?: unknown }).status)[0];
    const fromDist = cliEntry('kms-server').args.some((arg) => arg.endsWith('.js'));
    const first = start();
    await untilOutput(first, 'node running');
    if (!fromDist) {
      // A run from the sources imports the ES modules: no script, no script cache.
      first.child.kill('SIGTERM');
      expect((await first.done).code).toBe(0);
      expect(codeCacheStatus(first.output())).toBeUndefined();
      console.log('code cache test: run from the sources (dist/ is not fresh); only checked that no script cache was used');
      return;
    }
    expect(codeCacheStatus(first.output())).toBe('absent');
    // Stopped at once: the cache is written when the node stops, if not a moment after it ran.
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
    expect(first.output()).toContain('"code cache written"');
    expect(readdirSync(join(dataPath, 'node-compile-cache')).filter((f) => f.startsWith('nodeStart.cjs.'))).toHaveLength(1);

    const second = start();
    await untilOutput(second, 'node running');
    expect(codeCacheStatus(second.output())).toBe('used');
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { phase: string };
    expect(health.phase).toBe('running');
    second.child.kill('SIGTERM');
    expect((await second.done).code).toBe(0);
  });
});
