import { PassThrough } from 'node:stream';
import { createLogger } from './logger.js';
import { describeError } from './describeError.js';
import { redactUrls } from './redactUrls.js';

describe('redactUrls', () => {
  test.each([
    ['http://user:pw@host:8545/path?key=abc#frag', 'http://[Redacted]@host:8545/path?[Redacted]'],
    ['wss://mainnet.example/v3/ws?apikey=abc', 'wss://mainnet.example/v3/ws?[Redacted]'],
    ['rediss://:p%40ss@db.internal:6380/2', 'rediss://[Redacted]@db.internal:6380/2'],
    ['redis://a@b@host', 'redis://[Redacted]@host'],
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
    ['no url here', 'no url here'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrls(input)).toBe(expected);
  });

  test('every URL in a text, wherever it stands', () => {
    expect(redactUrls('fetch http://u:p@a/x?k=1 failed; retry "https://b/?t=2"')).toBe('fetch http://[Redacted]@a/x?[Redacted] failed; retry "https://b/?[Redacted]"');
  });
});

describe('the logger redacts URLs in every line it writes', () => {
  test('a credential planted in a message, a field, a nested object and an error never reaches the output', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => { written += chunk.toString('utf8'); });
    const logger = createLogger({ level: 'trace', destination: out });
    const planted = ['PLANTED-USER', 'PLANTED-PASS', 'PLANTED-KEY', 'PLANTED-TOKEN'];
    logger.info(`connecting to http://PLANTED-USER:PLANTED-PASS@rpc.example/v1?key=PLANTED-KEY`);
    logger.warn({ config: { chain: { rpcUrl: 'https://rpc.example/v3?apikey=PLANTED-KEY' } }, endpoint: 'ws://x:PLANTED-PASS@h' }, 'configuration');
    logger.error({ err: describeError(new Error('fetch failed for https://rpc.example/?token=PLANTED-TOKEN')) }, 'request failed');
    logger.child({ module: 'chain' }).debug({ url: 'redis://PLANTED-USER:PLANTED-PASS@db:6379/0' }, 'redis');
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.split('\n').filter((l) => l !== '')).toHaveLength(4);
    for (const secret of planted) expect(written).not.toContain(secret);
    expect(written).toContain('https://rpc.example/v3?[Redacted]');
    expect(written).toContain('redis://[Redacted]@db:6379/0');
  });
});
