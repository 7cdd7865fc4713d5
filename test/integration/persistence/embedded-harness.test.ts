import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisCommand, startRedisServer } from '../../harness/redisServer.js';

/** The shared real-Redis harness itself: other suites rely on these properties. */
describe('test harness: startRedisServer', () => {
  it('starts an AOF redis with appendfsync always and no RDB, reachable over TCP and socket', async () => {
    const server = await startRedisServer({ unixSocket: true });
    expect(await redisCommand(server, ['PING'])).toBe('PONG');
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    await client.set('k', 'v');
    await client.quit();
    expect(server.socketPath).toBe(join(server.dir, 'redis.sock'));
    expect(readdirSync(join(server.dir, 'appendonlydir')).some((f) => f.endsWith('.incr.aof'))).toBe(true);
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
  });

  it('keeps acknowledged data across SIGKILL and restart on the same dir and port', async () => {
    const server = await startRedisServer();
    const firstPid = server.pid;
    await redisCommand(server, ['SET', 'survives', 'yes']);
    await server.kill('SIGKILL');
    expect(server.process.signalCode).toBe('SIGKILL');
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(await redisCommand(server, ['GET', 'survives'])).toBe('yes');
    await server.stop();
  });
});
