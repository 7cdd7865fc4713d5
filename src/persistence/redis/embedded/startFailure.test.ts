import { RedisAofCorruptError, RedisAofWriteFailedError, RedisDiedError, RedisStartFailedError } from './errors.js';
import { classifyDeath, classifyStartFailure, logTail } from './startFailure.js';

// Real redis-server 7.0.15 output lines, as captured from the failures they name.
const PREFIX = '11253:M 26 Nov 2026 12:12:07.334';
const startOutput = (last: string): string => [
  `${PREFIX} * Reading RDB base file on AOF loading...`,
  `${PREFIX} # WARNING Memory overcommit must be enabled! Without it, a background save may fail.`,
  `${PREFIX} * DB loaded from base file appendonly.aof.1.base.rdb: 0.000 seconds`,
  `${PREFIX} # ${last}`,
  '',
].join('\n');

describe('classifyStartFailure', () => {
  it('reports a truncated AOF tail as damage "truncated", quoting redis without its log prefix', () => {
    const error = classifyStartFailure('/data', startOutput(
      "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
    ), { code: 1, signal: null });
    expect(error).toBeInstanceOf(RedisAofCorruptError);
    expect((error as RedisAofCorruptError).damage).toBe('truncated');
    expect(error.details.redisReport).toMatch(/^Unexpected end of file reading the append only file appendonly\.aof\.1\.incr\.aof\./);
    expect(error.message).toContain('Fix: stop the node, back up /data (cp -a)');
  });

  it.each([
    'Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>',
    "Unknown command 'xset' reading the append only file appendonly.aof.1.incr.aof",
    'Wrong RDB checksum expected: (1234) but got (5678). Aborting now.',
    'Short read or OOM loading DB. Unrecoverable error, aborting now.',
    'Invalid AOF manifest file format',
    'Internal error in RDB reading offset 0, function at rdb.c:2930 -> Unknown RDB encoding type 77',
    'Terminating server after rdb file reading failure.',
  ])('reports "%s" as damage "corrupt"', (line) => {
    const error = classifyStartFailure('/data', startOutput(line), { code: 1, signal: null });
    expect(error).toBeInstanceOf(RedisAofCorruptError);
    expect((error as RedisAofCorruptError).damage).toBe('corrupt');
  });

  it('reports any other exit as a start failure with the last warning and the log tail', () => {
    const error = classifyStartFailure('/data', startOutput('Failed opening Unix socket: bind: Permission denied'), { code: 1, signal: null });
    expect(error).toBeInstanceOf(RedisStartFailedError);
    expect(error.message).toBe(
      'embedded redis-server for /data failed to start: redis-server exited (exit code 1): Failed opening Unix socket: bind: Permission denied. ' +
      "Fix: read the redis-server output in details.logTail (the node log has all of it) and correct the cause",
    );
    expect(error.details.logTail).toContain('DB loaded from base file');
  });

  it('names the signal when there was no output', () => {
    expect(classifyStartFailure('/data', '', { code: null, signal: 'SIGKILL' }).message).toContain('redis-server exited (signal SIGKILL)');
  });
});

describe('classifyDeath', () => {
  it('recognises an AOF write failure', () => {
    const output = startOutput('Short write while writing to the AOF file: (nwritten=2965, expected=6032)')
      + `${PREFIX} # Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...\n`;
    const death = classifyDeath('/data', output, { code: 1, signal: null });
    expect(death).toBeInstanceOf(RedisAofWriteFailedError);
    expect(death.code).toBe('REDIS_AOF_WRITE_FAILED');
    expect(death.message).toContain('Redis said: Short write while writing to the AOF file: (nwritten=2965, expected=6032)');
  });

  it('reports other deaths with how the process ended', () => {
    const death = classifyDeath('/data', '', { code: null, signal: 'SIGKILL' });
    expect(death).toBeInstanceOf(RedisDiedError);
    expect(death.message).toBe('embedded redis-server for /data exited unexpectedly (signal SIGKILL). Fix: read the redis-server output in the node log; the supervisor restarts it within its budget');
  });
});

describe('logTail', () => {
  it('keeps the last lines without redis log prefixes', () => {
    expect(logTail(startOutput('last words'), 2)).toBe('DB loaded from base file appendonly.aof.1.base.rdb: 0.000 seconds\nlast words');
  });
});
