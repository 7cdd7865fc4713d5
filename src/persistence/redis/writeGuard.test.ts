import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { DurabilityError, PersistenceValidationError } from '../errors.js';
import { parseConfigGeneration } from './configGeneration.js';
import { SAVE_KEY_SHARE, SET_ACTIVE, WriteGate, type PreparedWrite, type WriteGuardOptions } from './writeGuard.js';

const RUN_ID = 'a'.repeat(40);
const NEW_RUN_ID = 'b'.repeat(40);

interface FakeServer {
  config?: Record<string, string> | Error;
  persistence?: string;
  runId?: string;
  version?: string;
  commandStats?: string;
  /** Replies of successive EVALSHA calls (the real script cannot run on ioredis-mock's Lua). */
  replies?: unknown[];
}

let servers = 0;
/**
 * A fresh ioredis-mock keyspace with CONFIG and INFO answering as `server` says (the mock
 * has neither), recording each EVALSHA's script and arguments.
 */
function mockClient(server: FakeServer = {}): { client: Redis; evals: { sha: string; args: unknown[] }[] } {
  const client = new RedisMock({ host: `write-guard-${process.pid}-${++servers}`, port: 6379 });
  const evals: { sha: string; args: unknown[] }[] = [];
  const config = server.config ?? { appendonly: 'yes', appendfsync: 'always' };
  const info: Record<string, string> = {
    persistence: server.persistence ?? '# Persistence\r\naof_enabled:1\r\naof_last_write_status:ok\r\n',
    server: `# Server\r\nredis_version:${server.version ?? '7.0.15'}\r\nrun_id:${server.runId ?? RUN_ID}\r\n`,
    commandstats: server.commandStats ?? '# Commandstats\r\ncmdstat_config|set:calls=3,usec=9\r\n',
  };
  Object.assign(client, {
    config: (_sub: string, name: string) => (config instanceof Error ? Promise.reject(config) : Promise.resolve(name in config ? [name, config[name]] : [])),
    info: (section: string) => Promise.resolve(info[section] ?? ''),
    ...(server.replies === undefined ? {} : {
      evalsha: (sha: string, _n: number, ...args: unknown[]) => { evals.push({ sha, args }); return Promise.resolve(server.replies?.shift()); },
    }),
  });
  return { client, evals };
}

const UNGUARDED: WriteGuardOptions = { durable: false, option: 'always' };
const GUARDED: WriteGuardOptions = { durable: true, option: 'always' };
const saveArgs = (activate: boolean) => (): PreparedWrite => ({ keys: ['k:share:7', 'k:index', 'k:active'], args: [Buffer.from([0, 255, 7]), '7', activate ? '1' : '0'] });

describe('WriteGate', () => {
  it('writes record, index and (when asked) the active pointer in one script', async () => {
    const { client } = mockClient();
    const gate = new WriteGate(client, UNGUARDED);
    expect(await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
    expect(await client.getBuffer('k:share:7')).toEqual(Buffer.from([0, 255, 7]));
    expect(await client.zrange('k:index', 0, -1)).toEqual(['7']);
    expect(await client.get('k:active')).toBeNull();
    await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true));
    expect(await client.get('k:active')).toBe('7');
  });

  it('never points the active pointer at a missing version', async () => {
    const { client } = mockClient();
    const result = await new WriteGate(client, UNGUARDED).write('setActiveVersionEpoch', SET_ACTIVE, () => ({ keys: ['k:share:9', 'k:active'], args: ['9'] }));
    expect(result).toBe('precondition-failed');
    expect(await client.get('k:active')).toBeNull();
  });

  it('judges everything before the first write and then sends one script carrying the generation it judged', async () => {
    const { client, evals } = mockClient({ replies: [[1], [1]] });
    const gate = new WriteGate(client, GUARDED);
    await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false));
    await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false));
    expect(evals.map((e) => e.sha)).toEqual([SAVE_KEY_SHARE.generationGuarded.sha, SAVE_KEY_SHARE.generationGuarded.sha]);
    expect(evals[1]?.args.slice(-2)).toEqual([RUN_ID, '3']);
  });

  it('refuses before writing when the fsync policy is weaker than required, saying what to change', async () => {
    const { client, evals } = mockClient({ config: { appendonly: 'yes', appendfsync: 'everysec' }, replies: [] });
    const refusal = await new WriteGate(client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DurabilityError);
    expect((refusal as DurabilityError).message).toContain('aof-fsync: appendfsync everysec');
    expect((refusal as DurabilityError).fix).toMatch(/appendfsync always/);
    expect(evals).toEqual([]);
  });

  it('accepts everysec only when opted into', async () => {
    const { client } = mockClient({ config: { appendonly: 'yes', appendfsync: 'everysec' }, replies: [[1]] });
    expect(await new WriteGate(client, { durable: true, option: { allowEverysec: true } }).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
  });

  it('judges again and retries when the script sees a newer generation, and refuses if the change weakened the policy', async () => {
    const server: FakeServer = { replies: [[2], [1]] };
    const { client, evals } = mockClient(server);
    const gate = new WriteGate(client, GUARDED);
    // CONFIG SET ran after the judgement: the script refuses (STALE), the gate judges the new state.
    Object.assign(client, { info: (section: string) => Promise.resolve(section === 'server' ? `redis_version:7.2.4\r\nrun_id:${NEW_RUN_ID}\r\n` : section === 'commandstats' ? 'cmdstat_config|set:calls=4\r\n' : 'aof_enabled:1\r\naof_last_write_status:ok\r\n') });
    expect(await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
    expect(evals[1]?.args.slice(-2)).toEqual([NEW_RUN_ID, '4']);

    server.replies = [[2]];
    Object.assign(client, { config: (_sub: string, name: string) => Promise.resolve([name, name === 'appendfsync' ? 'no' : 'yes']) });
    await expect(gate.write('saveNodeState', SAVE_KEY_SHARE, saveArgs(false))).rejects.toThrow(/aof-fsync: appendfsync no/);
  });

  it('falls back to reading the policy before each write when the generation keeps changing or cannot be tracked', async () => {
    const churning = mockClient({ replies: [[2], [2], [1]] });
    expect(await new WriteGate(churning.client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).toBe('written');
    expect(churning.evals.map((e) => e.sha)).toEqual([SAVE_KEY_SHARE.generationGuarded.sha, SAVE_KEY_SHARE.generationGuarded.sha, SAVE_KEY_SHARE.guarded.sha]);

    const reset = mockClient({ commandStats: 'cmdstat_config|resetstat:calls=1\r\n', replies: [[1], [1]] });
    const gate = new WriteGate(reset.client, GUARDED);
    await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false));
    await gate.write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false));
    expect(reset.evals.map((e) => e.sha)).toEqual([SAVE_KEY_SHARE.guarded.sha, SAVE_KEY_SHARE.guarded.sha]);

    // Redis 6 counts CONFIG GET and SET under one line, and its INFO takes one section.
    const six = mockClient({ version: '6.2.14', commandStats: 'cmdstat_config:calls=7\r\n', replies: [[1]] });
    await new WriteGate(six.client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false));
    expect(six.evals.map((e) => e.sha)).toEqual([SAVE_KEY_SHARE.guarded.sha]);
  });

  // What the script's INFO half does on a real server is shown in redis.durability.test.ts;
  // here the server's reply is given, to show what the node makes of it.
  it.each([
    ['the full check confirms it', 'no', 'aof_enabled:0', /aof-enabled: appendonly is no/],
    ['the state is back by the time it is re-read', 'yes', 'aof_last_write_status:err', /Redis reported aof_last_write_status:err at the moment of the write/],
  ])('turns the script\'s refusal into PERSISTENCE_NOT_DURABLE when %s', async (_case, appendonlyAfter, detail, message) => {
    const { client } = mockClient();
    // The first judgement passes; the AOF changes just before the script runs.
    let appendonly = 'yes';
    Object.assign(client, {
      config: (_sub: string, name: string) => Promise.resolve([name, name === 'appendonly' ? appendonly : 'always']),
      evalsha: () => { appendonly = appendonlyAfter; return Promise.resolve([0, detail]); },
    });
    const refusal = await new WriteGate(client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(true)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DurabilityError);
    expect((refusal as DurabilityError).code).toBe('PERSISTENCE_NOT_DURABLE');
    expect((refusal as DurabilityError).message).toMatch(message);
  });

  it('reports invalid input from prepare and writes nothing, on either path', async () => {
    const invalid = new PersistenceValidationError('version', 'expected an object');
    for (const server of [{ replies: [] }, { replies: [], commandStats: 'cmdstat_config|resetstat:calls=1\r\n' }]) {
      const { client, evals } = mockClient(server);
      await expect(new WriteGate(client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, () => { throw invalid; })).rejects.toBe(invalid);
      expect(evals).toEqual([]);
    }
  });

  it('surfaces a lost connection while judging as that, not as CONFIG being unavailable', async () => {
    const { client, evals } = mockClient({ config: new Error('Connection is closed.'), replies: [] });
    await expect(new WriteGate(client, GUARDED).write('saveKeyShareVersion', SAVE_KEY_SHARE, saveArgs(false))).rejects.toThrow('Connection is closed.');
    expect(evals).toEqual([]);
  });
});

describe('parseConfigGeneration', () => {
  it('reads the run_id and the CONFIG SET count, 0 when CONFIG SET never ran', () => {
    const server = `# Server\r\nredis_version:7.0.15\r\nrun_id:${RUN_ID}\r\n`;
    expect(parseConfigGeneration(server, 'cmdstat_config|set:calls=12,usec=40\r\ncmdstat_get:calls=1\r\n')).toEqual({ runId: RUN_ID, configSetCalls: '12' });
    expect(parseConfigGeneration(server, 'cmdstat_config|get:calls=5\r\n')).toEqual({ runId: RUN_ID, configSetCalls: '0' });
  });

  it('cannot track a server where CONFIG RESETSTAT ran, without a run_id, or before Redis 7.0', () => {
    expect(parseConfigGeneration(`redis_version:7.0.15\r\nrun_id:${RUN_ID}\r\n`, 'cmdstat_config|resetstat:calls=1\r\n')).toBeNull();
    expect(parseConfigGeneration('redis_version:7.0.15\r\n', '')).toBeNull();
    expect(parseConfigGeneration(`redis_version:6.2.14\r\nrun_id:${RUN_ID}\r\n`, 'cmdstat_config:calls=3\r\n')).toBeNull();
    expect(parseConfigGeneration(`run_id:${RUN_ID}\r\n`, '')).toBeNull();
  });
});
