import { ConfigError } from './errors.js';
import { SERVER_OPTIONS, envName } from './options.js';
import { isControllerMode, parseControllerModeConfig } from './controllerModeConfig.js';
import { parseServerConfig, type ConfigSources } from './parseServerConfig.js';
import { redactConfig } from './serverConfig.js';

// anvil's first dev account: a public test key, never a real one.
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ADDRESS = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

/** Files by path; a file is private (0600) unless `modes` says otherwise. */
function sources(flags: ConfigSources['flags'], env: Record<string, string> = {}, files: Record<string, string> = {}, modes: Record<string, number> = {}): ConfigSources {
  return {
    flags,
    env,
    readFile: (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error('nope'), { code: 'EACCES' });
      return content;
    },
    fileMode: (path) => modes[path] ?? (path in files ? 0o100600 : null),
  };
}

const minimal = { 'operator-address': ADDRESS, 'chain-id': '31337', 'registry-address': '0x5fbdb2315678afecb367f032d93f642f64180aa3' };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.flag}|${p.env}|${p.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseServerConfig', () => {
  it('default: embedded redis with appendfsync always in ./kms-data', () => {
    const config = parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY }));
    expect(config.persistence).toEqual({
      type: 'redis', mode: 'embedded', dataPath: './kms-data', redisServerBinary: 'redis-server',
      keyPrefix: 'kms:', appendfsync: 'always', allowWeakerFsync: false, commandTimeoutMs: 5000,
    });
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8000 });
    expect(config.operator.address).toBe(ADDRESS);
    expect(config.encryptionSecret).toEqual({ source: 'operator-key' });
    expect(config.controller).toEqual({ enabled: false });
  });

  it('app key release: upstream limits and no allowlist by default; KMS_APP_ALLOWLIST and the limits are read and checked', () => {
    const plain = parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY }));
    expect(plain.appSign).toEqual({ allowlist: null, ratePerSecond: 50, burst: 100, maxConcurrent: 20, maxBodyBytes: 16384 });
    const set = parseServerConfig(sources({ ...minimal, 'app-sign-burst': '10' }, { KMS_OPERATOR_KEY: KEY, KMS_APP_ALLOWLIST: 'my-app-id, other-app,,🚀🚀', KMS_APP_SIGN_RATE: '5' }));
    expect(set.appSign).toEqual({ allowlist: ['my-app-id', 'other-app', '🚀🚀'], ratePerSecond: 5, burst: 10, maxConcurrent: 20, maxBodyBytes: 16384 });
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'app-allowlist': 'ok-app-id,abc', 'app-sign-rate': '0', 'app-sign-max-body-bytes': '10' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      "--app-allowlist|KMS_APP_ALLOWLIST|entry 'abc' can never be signed for: app id must be at least 5 bytes in UTF-8, got 3",
      '--app-sign-rate|KMS_APP_SIGN_RATE|must be a whole number from 1 to 1000000; got 0',
      '--app-sign-max-body-bytes|KMS_APP_SIGN_MAX_BODY_BYTES|must be a whole number from 1024 to 1048576; got 10',
    ]);
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'app-allowlist': ' , ' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      '--app-allowlist|KMS_APP_ALLOWLIST|lists no app id; leave it unset to sign for every app id',
    ]);
  });

  it('the app-sign cache budget: 32 MiB by default, 0 turns it off, anything but a whole number of bytes up to 16 GiB is refused', () => {
    expect(parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY })).appSignCacheBytes).toBe(32 * 1024 * 1024);
    expect(parseServerConfig(sources({ ...minimal, 'app-sign-cache-bytes': '0' }, { KMS_OPERATOR_KEY: KEY })).appSignCacheBytes).toBe(0);
    expect(parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY, KMS_APP_SIGN_CACHE_BYTES: '1048576' })).appSignCacheBytes).toBe(1_048_576);
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'app-sign-cache-bytes': '64MB' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      "--app-sign-cache-bytes|KMS_APP_SIGN_CACHE_BYTES|must be a whole number from 0 to 17179869184; got '64MB'",
    ]);
  });

  it('the crypto pool: auto workers and a queue of 128 by default; a count from 0 to 256 and a whole-number queue, else refused with what is allowed', () => {
    const defaults = parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY }));
    expect([defaults.cryptoWorkers, defaults.cryptoQueueLimit]).toEqual(['auto', 128]);
    const set = parseServerConfig(sources({ ...minimal, 'crypto-workers': '0' }, { KMS_OPERATOR_KEY: KEY, KMS_CRYPTO_QUEUE_LIMIT: '16' }));
    expect([set.cryptoWorkers, set.cryptoQueueLimit]).toEqual([0, 16]);
    expect(parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY, KMS_CRYPTO_WORKERS: '4' })).cryptoWorkers).toBe(4);
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'crypto-workers': 'all', 'crypto-queue-limit': '-1' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      "--crypto-workers|KMS_CRYPTO_WORKERS|must be auto (one worker per core) or a whole number from 0 to 256; got 'all'",
      "--crypto-queue-limit|KMS_CRYPTO_QUEUE_LIMIT|must be a whole number from 0 to 1000000; got '-1'",
    ]);
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'crypto-workers': '257' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      "--crypto-workers|KMS_CRYPTO_WORKERS|must be auto (one worker per core) or a whole number from 0 to 256; got '257'",
    ]);
  });

  it('flags win over env, env over defaults', () => {
    const config = parseServerConfig(sources({ ...minimal, port: '9001' }, { KMS_OPERATOR_KEY: KEY, KMS_PORT: '9000', KMS_PERSISTENCE_DATA_PATH: '/var/lib/kms' }));
    expect(config.server.port).toBe(9001);
    expect(config.persistence).toMatchObject({ dataPath: '/var/lib/kms' });
  });

  it('reads the operator key from a file', () => {
    const config = parseServerConfig(sources({ ...minimal, 'operator-key-file': '/k' }, {}, { '/k': `${KEY}\n` }));
    expect(config.operator.privateKey).toBe(KEY);
  });

  it('external redis: credentials and db leave the URL and pass as values', () => {
    const config = parseServerConfig(sources({ ...minimal, 'redis-url': 'rediss://user:inline@db.example:6380/3' }, { KMS_OPERATOR_KEY: KEY }));
    expect(config.persistence).toMatchObject({ mode: 'external', url: 'rediss://db.example:6380', username: 'user', password: 'inline', db: 3 });
    expect(JSON.stringify(redactConfig(config))).not.toMatch(/inline|ac0974bec/);
    const fromEnv = parseServerConfig(sources({ ...minimal, 'redis-url': 'rediss://db.example:6380' }, { KMS_OPERATOR_KEY: KEY, KMS_REDIS_PASSWORD: 'from-env' }));
    expect(fromEnv.persistence).toMatchObject({ username: null, password: 'from-env', db: 0 });
  });

  it('a credential given twice (in the URL and in the env) is refused, not ranked', () => {
    const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, 'redis-url': 'rediss://user:inline@db.example:6380' }, { KMS_OPERATOR_KEY: KEY, KMS_REDIS_PASSWORD: 'from-env' })));
    expect(problems).toEqual(['--redis-password-file|KMS_REDIS_PASSWORD|the Redis URL already carries a password: give it in one place']);
  });

  it('the URL\'s database and --redis-db must agree', () => {
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'redis-url': 'redis://h:6379/2', 'redis-db': '3' }, { KMS_OPERATOR_KEY: KEY })))).toEqual([
      '--redis-db|KMS_REDIS_DB|is 3 but the Redis URL names database 2: give it in one place',
    ]);
  });

  it.each([
    ['persistence-type', { 'persistence-type': 'badger' }, /must be one of memory, redis; got 'badger'/],
    ['port', { port: '70000' }, /must be a whole number from 1 to 65535; got '70000'/],
    ['chain-id', { 'chain-id': 'abc' }, /whole number/],
    ['redis-db', { 'redis-url': 'redis://127.0.0.1:6379', 'redis-db': '16' }, /from 0 to 15/],
    ['redis-key-prefix', { 'redis-key-prefix': 'x'.repeat(65) }, /1-64 characters/],
    ['operators-file', { 'registry-address': '', 'operators-file': '/no/such/operators.json' }, /file '\/no\/such\/operators.json' does not exist/],
    ['redis-url', { 'redis-url': 'http://127.0.0.1:6379' }, /must start with redis:\/\/ or rediss:\/\//],
    ['appendfsync', { appendfsync: 'everysec' }, /add --allow-weaker-fsync/],
    ['appendfsync', { appendfsync: 'no' }, /must be one of always, everysec/],
    ['log-level', { 'log-level': 'loud' }, /must be one of fatal/],
    ['operator-address', { 'operator-address': '0x123' }, /40 hex digits/],
    ['registry-address', { 'registry-address': 'nope' }, /40 hex digits/],
    ['redis-key-prefix', { 'redis-key-prefix': 'has space' }, /1-64 characters/],
  ])('a bad --%s names the flag, its env var and what is allowed', (name, flags, message) => {
    const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, ...flags }, { KMS_OPERATOR_KEY: KEY })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^--${name}\\|KMS_${name.toUpperCase().replaceAll('-', '_')}\\|`));
    expect(problems[0]).toMatch(message);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() => parseServerConfig(sources({ port: '0', 'persistence-type': 'x' })));
    expect(problems.map((p) => p.split('|')[0])).toEqual(
      expect.arrayContaining(['--operator-address', '--operator-key-file', '--chain-id', '--registry-address', '--persistence-type', '--port']),
    );
  });

  it('rejects a key that is not the operator\'s, without echoing it', () => {
    const other = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    const problems = problemsOf(() => parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: other })));
    expect(problems[0]).toMatch(/does not belong to 0xf39f/);
    expect(problems.join()).not.toContain(other.slice(2, 20));
  });

  it('a missing or unreadable key file is named with its path', () => {
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'operator-key-file': '/missing' })))).toEqual([
      "--operator-key-file|KMS_OPERATOR_KEY_FILE|file '/missing' does not exist",
    ]);
    expect(problemsOf(() => parseServerConfig(sources({ ...minimal, 'operator-key-file': '/k' }, {}, {}, { '/k': 0o100400 })))).toEqual([
      "--operator-key-file|KMS_OPERATOR_KEY_FILE|cannot read file '/k' (EACCES)",
    ]);
  });

  it.each([[0o100640, '0640'], [0o100604, '0604'], [0o100660, '0660'], [0o100777, '0777']])('a key file with mode %o (group or other bits) is refused', (mode, shown) => {
    const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, 'operator-key-file': '/k' }, {}, { '/k': KEY }, { '/k': mode })));
    expect(problems).toEqual([`--operator-key-file|KMS_OPERATOR_KEY_FILE|file '/k' is accessible to group or others (mode ${shown}): make it private with chmod 600 '/k'`]);
  });

  it('a key file and KMS_OPERATOR_KEY together are refused: the file does not silently win', () => {
    const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, 'operator-key-file': '/k' }, { KMS_OPERATOR_KEY: KEY }, { '/k': KEY })));
    expect(problems).toEqual(["--operator-key-file|KMS_OPERATOR_KEY_FILE|give this secret once: both the file '/k' and KMS_OPERATOR_KEY are set; unset one of them"]);
  });

  it.each([
    ['zero', `0x${'0'.repeat(64)}`],
    ['the group order', '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'],
    ['above the group order', `0x${'f'.repeat(64)}`],
    ['too short', '0x1234'],
  ])('an operator key that is %s names the flag and env var and never echoes the key', (_what, bad) => {
    const fromEnv = problemsOf(() => parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: bad })));
    expect(fromEnv).toEqual(['--operator-key-file|KMS_OPERATOR_KEY|the operator key must be 0x followed by 64 hex digits, a number from 1 to the secp256k1 group order minus 1 (value not shown)']);
    const fromFile = problemsOf(() => parseServerConfig(sources({ ...minimal, 'operator-key-file': '/k' }, {}, { '/k': bad })));
    expect(fromFile[0]).toMatch(/^--operator-key-file\|KMS_OPERATOR_KEY_FILE\|the operator key must be/);
    const decimal = BigInt(bad.length === 66 ? bad : '0x0').toString(10);
    for (const text of [...fromEnv, ...fromFile]) {
      expect(text).not.toContain(bad.slice(2, 18));
      if (decimal.length > 3) expect(text).not.toContain(decimal);
    }
  });

  it('a sealing secret from a file or KMS_ENCRYPTION_KEY: one of them, at least 32 characters', () => {
    const secret = 's'.repeat(32);
    expect(parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY, KMS_ENCRYPTION_KEY: secret })).encryptionSecret).toEqual({ source: 'file', secret: new TextEncoder().encode(secret) });
    expect(problemsOf(() => parseServerConfig(sources(minimal, { KMS_OPERATOR_KEY: KEY, KMS_ENCRYPTION_KEY: 'short' })))).toEqual([
      '--encryption-key-file|KMS_ENCRYPTION_KEY|the sealing secret must be at least 32 characters (value not shown)',
    ]);
  });

  it('a declared data volume: the data path must lie under it', () => {
    const under = parseServerConfig(sources({ ...minimal, 'volume-mount-path': '/var/lib/kms-node', 'persistence-data-path': '/var/lib/kms-node/data' }, { KMS_OPERATOR_KEY: KEY }));
    expect(under.persistence).toMatchObject({ dataPath: '/var/lib/kms-node/data' });
    for (const outside of ['/tmp', '/var/lib/kms-node', '/var/lib/kms-node-other/data', '/var/lib/kms-node/../x', 'data']) {
      const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, 'volume-mount-path': '/var/lib/kms-node', 'persistence-data-path': outside }, { KMS_OPERATOR_KEY: KEY })));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^--persistence-data-path\|KMS_PERSISTENCE_DATA_PATH\|must (lie under the data volume mounted at \/var\/lib\/kms-node|be an absolute, normalized)/);
    }
  });

  it('the controller needs its resource name and namespace', () => {
    const problems = problemsOf(() => parseServerConfig(sources({ ...minimal, controller: 'true' }, { KMS_OPERATOR_KEY: KEY })));
    expect(problems.map((p) => p.split('|')[0])).toEqual(['--kmsnode-name', '--namespace']);
  });

  it('memory mode needs no redis settings', () => {
    const config = parseServerConfig(sources({ ...minimal, 'persistence-type': 'memory' }, { KMS_OPERATOR_KEY: KEY }));
    expect(config.persistence).toEqual({ type: 'memory' });
  });

  it('every option has a KMS_ env name', () => {
    for (const option of SERVER_OPTIONS) expect(envName(option)).toMatch(/^KMS_[A-Z_]+$/);
  });
});

describe('controller mode', () => {
  const named = { 'kmsnode-name': 'node-0', namespace: 'kms', 'volume-mount-path': '/var/lib/kms-node' };

  it('is on by flag or env and takes only process-level settings', () => {
    expect(isControllerMode(sources({ controller: 'true' }))).toBe(true);
    expect(isControllerMode(sources({}, { KMS_CONTROLLER: 'true' }))).toBe(true);
    expect(isControllerMode(sources({}))).toBe(false);
    const config = parseControllerModeConfig(sources({ ...named, host: '0.0.0.0' }));
    expect(config).toMatchObject({ kmsNodeName: 'node-0', namespace: 'kms', host: '0.0.0.0', logLevel: 'info', redisServerBinary: 'redis-server', resyncPeriodMs: 30_000, probePort: 8001, volumeMountPath: '/var/lib/kms-node' });
    expect(problemsOf(() => parseControllerModeConfig(sources({})))).toEqual([
      '--kmsnode-name|KMS_KMSNODE_NAME|is required: the KmsNode resource name, when --controller is on',
      '--namespace|KMS_NAMESPACE|is required: the KmsNode namespace, when --controller is on',
      '--volume-mount-path|KMS_VOLUME_MOUNT_PATH|is required in controller mode: the mount path of the data volume, under which spec.persistence.dataPath must lie',
    ]);
  });

  it('takes the controller resync period from flag or env, within 1 s to 1 day', () => {
    expect(parseControllerModeConfig(sources({ ...named, 'controller-resync-ms': '600000' })).resyncPeriodMs).toBe(600_000);
    expect(parseControllerModeConfig(sources(named, { KMS_CONTROLLER_RESYNC_MS: '5000' })).resyncPeriodMs).toBe(5_000);
    expect(problemsOf(() => parseControllerModeConfig(sources({ ...named, 'controller-resync-ms': '500' })))).toEqual([
      "--controller-resync-ms|KMS_CONTROLLER_RESYNC_MS|must be a whole number from 1000 to 86400000; got '500'",
    ]);
  });

  it('the Service links Kubernetes injects (a Service named kms-node-1 gives KMS_NODE_1_*) are not settings', () => {
    const links = {
      KMS_NODE_1_SERVICE_HOST: '10.0.0.1', KMS_NODE_1_SERVICE_PORT: '8000', KMS_NODE_1_SERVICE_PORT_API: '8000', KMS_NODE_1_PORT: 'tcp://10.0.0.1:8000',
      KMS_NODE_1_PORT_8000_TCP: 'tcp://10.0.0.1:8000', KMS_NODE_1_PORT_8000_TCP_PROTO: 'tcp', KMS_NODE_1_PORT_8000_TCP_PORT: '8000', KMS_NODE_1_PORT_8000_TCP_ADDR: '10.0.0.1',
    };
    expect(parseControllerModeConfig(sources(named, links)).kmsNodeName).toBe('node-0');
    // A real option is still refused, even when it looks like a link (a Service named "kms" gives KMS_PORT).
    expect(problemsOf(() => parseControllerModeConfig(sources(named, { ...links, KMS_PORT: 'tcp://10.0.0.2:8000' })))).toHaveLength(1);
  });

  it('any other KMS_ setting, by env or flag, stops start-up naming it and where it belongs', () => {
    const problems = problemsOf(() => parseControllerModeConfig(sources(
      { ...named, port: '9000' },
      { KMS_CHAIN_ID: '1', KMS_OPERATOR_KEY_FILE: '/k', KMS_PERSISTENCE_DATA_PATH: '/d', KMS_TYPO: 'x' },
    )));
    expect(problems).toEqual([
      '--operator-key-file|KMS_OPERATOR_KEY_FILE|is not read in controller mode (the KmsNode resource configures the node): it has no place in controller mode; remove it',
      '--chain-id|KMS_CHAIN_ID|is not read in controller mode (the KmsNode resource configures the node): set spec.chain.chainId in the KmsNode resource instead',
      '--persistence-data-path|KMS_PERSISTENCE_DATA_PATH|is not read in controller mode (the KmsNode resource configures the node): set spec.persistence.dataPath in the KmsNode resource instead',
      '--port|KMS_PORT|is not read in controller mode (the KmsNode resource configures the node): set spec.server.port in the KmsNode resource instead',
      expect.stringMatching(/^KMS_TYPO\|\|is not a kms-server setting; in controller mode the pod env may carry only KMS_REDIS_SERVER_BINARY, KMS_HOST, KMS_LOG_LEVEL, KMS_APP_SIGN_CACHE_BYTES, KMS_CRYPTO_WORKERS, KMS_CRYPTO_QUEUE_LIMIT, KMS_CONTROLLER, KMS_KMSNODE_NAME, KMS_NAMESPACE, KMS_VOLUME_MOUNT_PATH, KMS_PROBE_PORT, KMS_CONTROLLER_RESYNC_MS$/),
    ]);
  });
});
