import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { describePersistenceConformance } from '../../../test/integration/persistence/conformance.js';
import { keyShareVersion, nodeState } from '../../../test/integration/persistence/fixtures.js';
import { silentLogger } from '../../logging/logger.js';
import { PersistenceConfigError, SchemaVersionError, SealingKeyMismatchError } from '../errors.js';
import { createRecordSealer, type RecordSealer } from '../sealing.js';
import { RedisPersistence } from './redisPersistence.js';

let mockCount = 0;
/** A fresh ioredis-mock "server": mock instances share data per host:port. */
function mockServer(): () => Redis {
  const host = `mock-${process.pid}-${++mockCount}`;
  return () => new RedisMock({ host, port: 6379 });
}

function openMock(connect: () => Redis, sealer: RecordSealer, keyPrefix = 'kms:'): Promise<RedisPersistence> {
  return RedisPersistence.open(connect(), { logger: silentLogger(), sealer, keyPrefix, durability: 'none-mock', mode: 'mock' });
}

describePersistenceConformance('redis on ioredis-mock', () => {
  const connect = mockServer();
  const sealingSecret = randomBytes(32);
  const sealer = createRecordSealer(sealingSecret);
  const raw = connect();
  return Promise.resolve({
    durable: true,
    open: () => openMock(connect, sealer, 'test:kms:'),
    raw: { client: raw, prefix: 'test:kms:', sealingSecret },
    dispose: async () => { await raw.quit(); },
  });
}, { records: true });

describe('RedisPersistence on ioredis-mock', () => {
  it('reports the mock as not durable in healthCheck', async () => {
    const p = await openMock(mockServer(), createRecordSealer(randomBytes(32)));
    const health = await p.healthCheck();
    expect(health.mode).toBe('mock');
    expect(health.aof).toBeUndefined();
    expect(health.findings).toContainEqual({ check: 'durability', ok: false, message: expect.stringContaining('ioredis-mock') as unknown });
    await p.close();
  });

  it('refuses the default durability on the mock (no AOF to verify)', async () => {
    const open = RedisPersistence.open(mockServer()(), { logger: silentLogger(), sealer: createRecordSealer(randomBytes(32)) });
    await expect(open).rejects.toThrow(/appendonly yes/);
  });

  it('refuses a client that is not ioredis-mock in none-mock mode', async () => {
    const real = mockServer()();
    // A wrapper that answers CONFIG like a real server: must not pass as a mock.
    const impostor = Object.assign(Object.create(real) as Redis, {
      config: () => Promise.resolve(['appendonly', 'no']),
    });
    const open = RedisPersistence.open(impostor, { logger: silentLogger(), sealer: createRecordSealer(randomBytes(32)), durability: 'none-mock' });
    await expect(open).rejects.toBeInstanceOf(PersistenceConfigError);
  });

  it('writes the schema marker on first open and refuses another version', async () => {
    const connect = mockServer();
    const sealer = createRecordSealer(randomBytes(32));
    const p = await openMock(connect, sealer);
    await p.close();
    const raw = connect();
    expect(await raw.get('kms:metadata:schema_version')).toBe('v1');
    await raw.set('kms:metadata:schema_version', 'v9');
    const error = await openMock(connect, sealer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as Error).message).toContain('"v9"');
    await raw.quit();
  });

  it('refuses to open data sealed under another secret', async () => {
    const connect = mockServer();
    const p = await openMock(connect, createRecordSealer(randomBytes(32)));
    await p.saveKeyShareVersion(keyShareVersion(1_764_000_000), { activate: true });
    await p.close();
    await expect(openMock(connect, createRecordSealer(randomBytes(32)))).rejects.toBeInstanceOf(SealingKeyMismatchError);
  });

  it('keeps prefixes apart', async () => {
    const connect = mockServer();
    const sealer = createRecordSealer(randomBytes(32));
    const a = await openMock(connect, sealer, 'a:');
    const b = await openMock(connect, sealer, 'b:');
    await a.saveNodeState(nodeState());
    expect(await b.loadNodeState()).toBeNull();
    await a.close();
    await b.close();
  });
});
