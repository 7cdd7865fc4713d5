import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { DurabilityError, PersistenceValidationError } from '../errors.js';
import { guardedWrite, SAVE_KEY_SHARE, SET_ACTIVE, type WriteGuardOptions } from './writeGuard.js';

let servers = 0;
/** A fresh ioredis-mock keyspace whose CONFIG GET answers as given (the mock has no CONFIG of its own). */
function mockClient(config: Record<string, string> | Error = {}): Redis {
  const client = new RedisMock({ host: `write-guard-${process.pid}-${++servers}`, port: 6379 });
  Object.assign(client, {
    config: (_sub: string, name: string) => (config instanceof Error ? Promise.reject(config) : Promise.resolve(name in config ? [name, config[name]] : [])),
  });
  return client;
}

const UNGUARDED: WriteGuardOptions = { durable: false, option: 'always' };
const GUARDED: WriteGuardOptions = { durable: true, option: 'always' };
const saveArgs = (activate: boolean) => () => ({ keys: ['k:share:7', 'k:index', 'k:active'], args: [Buffer.from([0, 255, 7]), '7', activate ? '1' : '0'] });

describe('guardedWrite', () => {
  it('writes record, index and (when asked) the active pointer in one script', async () => {
    const client = mockClient();
    expect(await guardedWrite(client, UNGUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
    expect(await client.getBuffer('k:share:7')).toEqual(Buffer.from([0, 255, 7]));
    expect(await client.zrange('k:index', 0, -1)).toEqual(['7']);
    expect(await client.get('k:active')).toBeNull();
    await guardedWrite(client, UNGUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true));
    expect(await client.get('k:active')).toBe('7');
  });

  it('never points the active pointer at a missing version', async () => {
    const client = mockClient();
    const result = await guardedWrite(client, UNGUARDED, 'setActiveVersionEpoch', SET_ACTIVE, () => ({ keys: ['k:share:9', 'k:active'], args: ['9'] }));
    expect(result).toBe('precondition-failed');
    expect(await client.get('k:active')).toBeNull();
  });

  it('refuses before writing when the fsync policy is weaker than required, saying what to change', async () => {
    const client = mockClient({ appendonly: 'yes', appendfsync: 'everysec' });
    const refusal = await guardedWrite(client, GUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DurabilityError);
    expect((refusal as DurabilityError).message).toContain('aof-fsync: appendfsync everysec');
    expect((refusal as DurabilityError).fix).toMatch(/appendfsync always/);
    expect(await client.keys('*')).toEqual([]);
  });

  it('accepts everysec only when opted into', async () => {
    const client = mockClient({ appendonly: 'yes', appendfsync: 'everysec' });
    Object.assign(client, { evalsha: () => Promise.resolve([1]) });
    expect(await guardedWrite(client, { durable: true, option: { allowEverysec: true } }, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
  });

  // What the script's INFO half does on a real server is shown in redis.durability.test.ts;
  // here the server's reply is given, to show what the node makes of it.
  it.each([
    ['the full check confirms it', 'no', 'aof_enabled:0', /aof-enabled: appendonly is no/],
    ['the state is back by the time it is re-read', 'yes', 'aof_last_write_status:err', /Redis reported aof_last_write_status:err at the moment of the write/],
  ])('turns the script\'s refusal into PERSISTENCE_NOT_DURABLE when %s', async (_case, appendonly, detail, message) => {
    const client = mockClient({ appendonly, appendfsync: 'always' });
    Object.assign(client, {
      evalsha: () => Promise.resolve([0, detail]),
      info: () => Promise.resolve(`# Persistence\r\naof_enabled:${appendonly === 'yes' ? 1 : 0}\r\naof_last_write_status:ok\r\n`),
    });
    const refusal = await guardedWrite(client, GUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DurabilityError);
    expect((refusal as DurabilityError).code).toBe('PERSISTENCE_NOT_DURABLE');
    expect((refusal as DurabilityError).message).toMatch(message);
  });

  it('reports invalid input from prepare, writes nothing, and leaves no stray rejection from the policy read', async () => {
    const client = mockClient(new Error('connection lost'));
    const invalid = new PersistenceValidationError('version', 'expected an object');
    await expect(guardedWrite(client, GUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, () => { throw invalid; })).rejects.toBe(invalid);
    expect(await client.keys('*')).toEqual([]);
  });

  it('surfaces a lost connection during the policy read as that, not as CONFIG being unavailable', async () => {
    const client = mockClient(new Error('Connection is closed.'));
    await expect(guardedWrite(client, GUARDED, 'saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).rejects.toThrow('Connection is closed.');
    expect(await client.keys('*')).toEqual([]);
  });
});
