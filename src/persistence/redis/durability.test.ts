import type { Redis } from 'ioredis';
import { DurabilityError } from '../errors.js';
import { assertDurable, assertDurableNow, evaluateDurability, parseInfo, readAofFacts, readServerVersion, supportsWaitAof, waitAof, type AofFacts } from './durability.js';

const facts = (over: Partial<AofFacts> = {}): AofFacts => ({
  enabled: true, fsync: 'always', lastWriteStatus: 'ok', rewriteInProgress: false, sizeBytes: 10, source: 'config', ...over,
});

const INFO_PERSISTENCE = '# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_last_write_status:ok\r\naof_current_size:4096\r\n';

/** A stand-in client answering CONFIG and INFO as a real server would (or with CONFIG renamed). */
function fakeClient(config: Record<string, string> | 'renamed', info: string, extra: Partial<Redis> = {}): Redis {
  return {
    config: (_sub: string, name: string) => (config === 'renamed'
      ? Promise.reject(new Error("ERR unknown command 'CONFIG'"))
      : Promise.resolve(name in config ? [name, config[name]] : [])),
    info: () => Promise.resolve(info),
    ...extra,
  } as unknown as Redis;
}

describe('durability', () => {
  it('parses INFO lines and ignores headers', () => {
    const info = parseInfo(INFO_PERSISTENCE);
    expect(info.get('aof_enabled')).toBe('1');
    expect(info.get('aof_current_size')).toBe('4096');
    expect(info.has('# Persistence')).toBe(false);
  });

  it('reads facts from CONFIG GET, and from INFO when CONFIG is renamed', async () => {
    expect(await readAofFacts(fakeClient({ appendonly: 'yes', appendfsync: 'always' }, INFO_PERSISTENCE)))
      .toEqual(facts({ sizeBytes: 4096 }));
    expect(await readAofFacts(fakeClient('renamed', INFO_PERSISTENCE)))
      .toEqual(facts({ fsync: 'unknown', sizeBytes: 4096, source: 'info' }));
    expect(await readAofFacts(fakeClient({ appendonly: 'no', appendfsync: 'everysec' }, '# Persistence\r\naof_enabled:0\r\naof_last_write_status:ok\r\n')))
      .toEqual(facts({ enabled: false, fsync: 'everysec', sizeBytes: null }));
  });

  it('accepts appendonly yes + appendfsync always + last write ok', () => {
    const verdict = evaluateDurability(facts(), 'always');
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([]);
    expect(() => { assertDurable(verdict); }).not.toThrow();
  });

  it('refuses each weakness with a message saying what to change', () => {
    const cases: [AofFacts, RegExp][] = [
      [facts({ enabled: false }), /set "appendonly yes"/],
      [facts({ fsync: 'everysec' }), /set "appendfsync always", or accept .* allowEverysec/],
      [facts({ fsync: 'no' }), /set "appendfsync always"/],
      [facts({ fsync: 'unknown', source: 'info' }), /allow CONFIG GET .* trustUnverifiedFsync/],
      [facts({ lastWriteStatus: 'err' }), /fix the AOF write failure/],
    ];
    for (const [f, message] of cases) {
      const verdict = evaluateDurability(f, 'always');
      expect(verdict.ok).toBe(false);
      expect(() => { assertDurable(verdict); }).toThrow(DurabilityError);
      expect(() => { assertDurable(verdict); }).toThrow(message);
    }
  });

  it('accepts everysec and unverifiable fsync only when opted into, with a warning', () => {
    const everysec = evaluateDurability(facts({ fsync: 'everysec' }), { allowEverysec: true });
    expect(everysec.ok).toBe(true);
    expect(everysec.warnings[0]).toMatch(/everysec accepted/);
    expect(evaluateDurability(facts({ fsync: 'no' }), { allowEverysec: true }).ok).toBe(false);
    const unverified = evaluateDurability(facts({ fsync: 'unknown', source: 'info' }), { trustUnverifiedFsync: true });
    expect(unverified.ok).toBe(true);
    expect(unverified.warnings[0]).toMatch(/cannot be verified/);
    expect(evaluateDurability(facts({ fsync: 'everysec' }), { trustUnverifiedFsync: true }).ok).toBe(false);
  });

  it('re-checks before a write: refuses while the AOF is off or its last write failed, naming the finding', async () => {
    const durable = fakeClient({ appendonly: 'yes', appendfsync: 'always' }, INFO_PERSISTENCE);
    await expect(assertDurableNow(durable, 'always', 'saveKeyShareVersion')).resolves.toBeUndefined();
    const off = fakeClient({ appendonly: 'no', appendfsync: 'always' }, '# Persistence\r\naof_enabled:0\r\naof_last_write_status:ok\r\n');
    const refused = await assertDurableNow(off, 'always', 'saveKeyShareVersion').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DurabilityError);
    expect((refused as DurabilityError).code).toBe('PERSISTENCE_NOT_DURABLE');
    expect((refused as Error).message).toMatch(/^Refusing saveKeyShareVersion: Redis is not durable right now \(aof-enabled: appendonly is no/);
    expect((refused as Error).message).toMatch(/Fix: set "appendonly yes"/);
    const failedWrite = fakeClient({ appendonly: 'yes', appendfsync: 'always' }, INFO_PERSISTENCE.replace('aof_last_write_status:ok', 'aof_last_write_status:err'));
    await expect(assertDurableNow(failedWrite, 'always', 'saveNodeState')).rejects.toThrow(/aof-last-write: aof_last_write_status is err/);
    const everysec = fakeClient({ appendonly: 'yes', appendfsync: 'everysec' }, INFO_PERSISTENCE);
    await expect(assertDurableNow(everysec, 'always', 'setActiveVersionEpoch')).rejects.toThrow(/aof-fsync: appendfsync everysec/);
    await expect(assertDurableNow(everysec, { allowEverysec: true }, 'setActiveVersionEpoch')).resolves.toBeUndefined();
  });

  it('uses WAITAOF from Redis 7.2 on', async () => {
    expect(supportsWaitAof([7, 0, 15])).toBe(false);
    expect(supportsWaitAof([7, 2, 0])).toBe(true);
    expect(supportsWaitAof([8, 0, 1])).toBe(true);
    expect(supportsWaitAof(null)).toBe(false);
    expect(await readServerVersion(fakeClient({}, '# Server\r\nredis_version:7.2.4\r\n'))).toEqual([7, 2, 4]);
    expect(await readServerVersion(fakeClient({}, '# Server\r\n'))).toBeNull();
  });

  it('checks the local fsync count WAITAOF returns', async () => {
    const calls: unknown[][] = [];
    const client = (reply: unknown) => fakeClient({}, '', { call: ((...args: unknown[]) => { calls.push(args); return Promise.resolve(reply); }) });
    await waitAof(client([1, 0]), 250);
    expect(calls[0]).toEqual(['WAITAOF', '1', '0', '250']);
    await expect(waitAof(client([0, 0]), 250)).rejects.toBeInstanceOf(DurabilityError);
    await expect(waitAof(client('OK'), 250)).rejects.toThrow(/did not confirm/);
  });
});
