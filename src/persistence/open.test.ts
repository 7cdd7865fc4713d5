import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logging/logger.js';
import { PersistenceConfigError } from './errors.js';
import { externalClientOptions, openPersistence, type ExternalRedisConfig } from './open.js';
import type { PersistenceObservation } from './instrument.js';

const external = (over: Partial<ExternalRedisConfig> = {}): ExternalRedisConfig => ({ type: 'redis', mode: 'external', url: 'redis://127.0.0.1:6390', ...over });

describe('openPersistence', () => {
  it('builds memory persistence, instrumented when an observer is given', async () => {
    const seen: PersistenceObservation[] = [];
    const p = await openPersistence({ type: 'memory' }, { logger: silentLogger(), sealingSecret: randomBytes(32), observer: { observe: (o) => { seen.push(o); } } });
    expect(p.backend).toBe('memory');
    expect(await p.getActiveVersionEpoch()).toBeNull();
    expect(seen.map((o) => o.operation)).toEqual(['getActiveVersionEpoch']);
    await p.close();
  });

  it('refuses a bad key prefix before starting anything', async () => {
    await expect(openPersistence({ type: 'redis', mode: 'embedded', dataPath: '/nonexistent/kms', keyPrefix: 'bad prefix' }, { logger: silentLogger(), sealingSecret: randomBytes(32) }))
      .rejects.toThrow(/Invalid key prefix/);
  });
});

describe('externalClientOptions', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'kms-open-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('maps the URL, db and timeouts; credentials from env by default', async () => {
    const options = await externalClientOptions(external({ db: 3, connectTimeoutMs: 1500, commandTimeoutMs: 700 }), { KMS_REDIS_USERNAME: 'kms', KMS_REDIS_PASSWORD: 'pw-env' });
    expect(options).toMatchObject({ host: '127.0.0.1', port: 6390, db: 3, connectTimeout: 1500, commandTimeout: 700, username: 'kms', password: 'pw-env', lazyConnect: true });
    expect(options.tls).toBeUndefined();
  });

  it('reads credentials from files (trailing newline dropped), preferring them to env', async () => {
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    writeFileSync(join(dir, 'user'), 'operator\n');
    const options = await externalClientOptions(external({ passwordFile: join(dir, 'pw'), usernameFile: join(dir, 'user') }), { KMS_REDIS_PASSWORD: 'other' });
    expect(options.password).toBe('s3cret');
    expect(options.username).toBe('operator');
    await expect(externalClientOptions(external({ passwordFile: join(dir, 'missing') }), {})).rejects.toThrow(/Cannot read the Redis password file/);
  });

  it('honours custom env names and leaves credentials out when none are set', async () => {
    expect((await externalClientOptions(external({ passwordEnv: 'MY_PW' }), { MY_PW: 'x' })).password).toBe('x');
    const none = await externalClientOptions(external(), {});
    expect('password' in none).toBe(false);
    expect('username' in none).toBe(false);
  });

  it('refuses passwords in the URL without echoing them, other schemes, TLS options on redis://, bad numbers', async () => {
    const withPassword = await externalClientOptions(external({ url: 'redis://user:hunter2@127.0.0.1:6379' }), {}).catch((e: unknown) => e);
    expect(withPassword).toBeInstanceOf(PersistenceConfigError);
    expect((withPassword as Error).message).not.toContain('hunter2');
    await expect(externalClientOptions(external({ url: 'http://127.0.0.1:6379' }), {})).rejects.toThrow(/scheme http: is not supported/);
    await expect(externalClientOptions(external({ url: 'not a url' }), {})).rejects.toThrow(/not a valid URL/);
    await expect(externalClientOptions(external({ tls: { serverName: 'x' } }), {})).rejects.toThrow(/rediss:\/\//);
    await expect(externalClientOptions(external({ db: -1 }), {})).rejects.toThrow(/Invalid Redis db/);
    await expect(externalClientOptions(external({ commandTimeoutMs: 0 }), {})).rejects.toThrow(/commandTimeoutMs/);
  });

  it('enables TLS for rediss:// with a CA file and server name', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA-BYTES');
    const options = await externalClientOptions(external({ url: 'rediss://localhost:6380', tls: { caFile: join(dir, 'ca.pem'), serverName: 'redis.internal' } }), {});
    expect(options.tls).toEqual({ ca: Buffer.from('CA-BYTES'), servername: 'redis.internal' });
    expect(options.port).toBe(6380);
  });
});
