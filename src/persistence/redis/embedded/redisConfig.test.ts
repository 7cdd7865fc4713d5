import { RedisConfigRefusedError } from './errors.js';
import { renderRedisConfig, socketPathFor } from './redisConfig.js';

function settings(text: string): Map<string, string> {
  return new Map(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const space = l.indexOf(' ');
    return [l.slice(0, space), l.slice(space + 1)];
  }));
}

describe('renderRedisConfig', () => {
  it('states every durability and isolation setting explicitly', () => {
    const conf = settings(renderRedisConfig({ dataPath: '/var/lib/kms/data', appendfsync: 'always' }));
    expect(Object.fromEntries(conf)).toEqual({
      port: '0',
      unixsocket: '"/var/lib/kms/data/redis.sock"',
      unixsocketperm: '700',
      'protected-mode': 'yes',
      daemonize: 'no',
      supervised: 'no',
      logfile: '""',
      dir: '"/var/lib/kms/data"',
      appendonly: 'yes',
      appendfsync: 'always',
      appendfilename: '"appendonly.aof"',
      appenddirname: '"appendonlydir"',
      'aof-load-truncated': 'no',
      'aof-use-rdb-preamble': 'yes',
      'no-appendfsync-on-rewrite': 'no',
      'auto-aof-rewrite-min-size': '4mb',
      'auto-aof-rewrite-percentage': '10',
      save: '""',
      'maxmemory-policy': 'noeviction',
      databases: '1',
    });
  });

  it('quotes paths with spaces, quotes and backslashes', () => {
    const conf = settings(renderRedisConfig({ dataPath: '/srv/my "kms" \\data', appendfsync: 'everysec' }));
    expect(conf.get('dir')).toBe('"/srv/my \\"kms\\" \\\\data"');
    expect(conf.get('appendfsync')).toBe('everysec');
  });

  it('appends extra settings and refuses the ones the node owns', () => {
    expect(settings(renderRedisConfig({ dataPath: '/d', appendfsync: 'always', extra: { 'key-load-delay': '5' } })).get('key-load-delay')).toBe('"5"');
    for (const key of ['appendfsync', 'SAVE', 'aof-load-truncated', 'unixsocket', 'port', 'dir', 'include', 'bad key\nport']) {
      expect(() => renderRedisConfig({ dataPath: '/d', appendfsync: 'always', extra: { [key]: 'x' } })).toThrow(RedisConfigRefusedError);
    }
  });

  it('puts the socket inside the data path', () => {
    expect(socketPathFor('/var/lib/kms/data')).toBe('/var/lib/kms/data/redis.sock');
  });
});
