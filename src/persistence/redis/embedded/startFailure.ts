import {
  RedisAofCorruptError, RedisAofWriteFailedError, RedisDiedError, RedisStartFailedError, type AofDamage,
} from './errors.js';

/**
 * Turns what redis-server printed before it exited during start-up into a typed error.
 * The AOF patterns are Redis 7.0's own log lines (aof.c, rdb.c); anything else is a
 * generic start failure carrying the log tail.
 */
const AOF_PATTERNS: readonly { readonly damage: AofDamage; readonly pattern: RegExp }[] = [
  { damage: 'truncated', pattern: /Unexpected end of file reading the append only file[^\n]*/ },
  { damage: 'truncated', pattern: /short read while loading the AOF file[^\n]*/ },
  { damage: 'corrupt', pattern: /Bad file format reading the append only file[^\n]*/ },
  { damage: 'corrupt', pattern: /Unknown command '[^']*' reading the append only file[^\n]*/ },
  { damage: 'corrupt', pattern: /Unrecoverable error reading the append only file[^\n]*/ },
  { damage: 'corrupt', pattern: /Wrong RDB checksum[^\n]*/ },
  { damage: 'corrupt', pattern: /Short read or OOM loading DB[^\n]*/ },
  { damage: 'corrupt', pattern: /Error reading the RDB preamble of the AOF file[^\n]*/ },
  { damage: 'corrupt', pattern: /RDB preamble of AOF file is not sane[^\n]*/ },
  { damage: 'corrupt', pattern: /Invalid AOF manifest file format[^\n]*/ },
  { damage: 'corrupt', pattern: /Found an empty AOF manifest[^\n]*/ },
  { damage: 'corrupt', pattern: /Unknown AOF file type[^\n]*/ },
  { damage: 'corrupt', pattern: /FATAL AOF MANIFEST FILE ERROR[^\n]*/ },
  // Generic RDB (base file) reader failures, after the specific lines above.
  { damage: 'corrupt', pattern: /Error reading the RDB base file[^\n]*/ },
  { damage: 'corrupt', pattern: /Internal error in RDB reading offset[^\n]*/ },
  { damage: 'corrupt', pattern: /Terminating server after rdb file reading failure[^\n]*/ },
];

/** Strips redis' "pid:role date time level" prefix from a log line. */
function stripPrefix(line: string): string {
  return line.replace(/^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [.\-*#] /, '').trim();
}

export function logTail(output: string, lines = 15): string {
  return output.split('\n').filter((l) => l.trim() !== '').slice(-lines).map(stripPrefix).join('\n');
}

const AOF_WRITE_FAILURE = /(Short write while writing to the AOF file|Error writing to the AOF file|Fail to fsync the AOF file|Can't recover from AOF write error)[^\n]*/;

function lastWarningOf(output: string): string | undefined {
  return output.split('\n').filter((l) => / # /.test(l) && !l.includes('Memory overcommit')).map(stripPrefix).pop();
}

/** Why a serving redis-server died, from its output: an AOF write failure, or anything else. */
export function classifyDeath(
  dataPath: string,
  output: string,
  exit: { readonly code: number | null; readonly signal: string | null },
): RedisAofWriteFailedError | RedisDiedError {
  const write = AOF_WRITE_FAILURE.exec(output);
  if (write !== null) return new RedisAofWriteFailedError(dataPath, stripPrefix(write[0]));
  const how = exit.signal === null ? `exit code ${exit.code ?? 'unknown'}` : `signal ${exit.signal}`;
  return new RedisDiedError(dataPath, how, lastWarningOf(output) ?? null);
}

export function classifyStartFailure(
  dataPath: string,
  output: string,
  exit: { readonly code: number | null; readonly signal: string | null },
): RedisAofCorruptError | RedisStartFailedError {
  for (const { damage, pattern } of AOF_PATTERNS) {
    const match = pattern.exec(output);
    if (match !== null) return new RedisAofCorruptError(dataPath, damage, stripPrefix(match[0]));
  }
  const how = exit.signal === null ? `exit code ${exit.code ?? 'unknown'}` : `signal ${exit.signal}`;
  const lastWarning = lastWarningOf(output);
  const reason = lastWarning === undefined ? `redis-server exited (${how})` : `redis-server exited (${how}): ${lastWarning}`;
  return new RedisStartFailedError(dataPath, reason, logTail(output));
}
