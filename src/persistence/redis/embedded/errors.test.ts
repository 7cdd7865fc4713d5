import { DataPathLockedError } from './errors.js';

describe('DataPathLockedError', () => {
  it('names the other node process and its redis-server, and says how to free the path', () => {
    const error = new DataPathLockedError('/var/lib/kms/data', 'another kms-node process', { nodePid: 4242, redisPid: 4343 });
    expect(error.code).toBe('DATA_PATH_LOCKED');
    expect(error.message).toBe('data path /var/lib/kms/data is in use by another kms-node process (pid 4242, redis-server pid 4343); '
      + 'two redis-servers on one AOF would corrupt it. Fix: stop the other node process (pid 4242) or point this node at a different data path');
  });

  it('never names this process as the holder, even when owner.json says so', () => {
    const error = new DataPathLockedError('/d', 'a redis-server this node cannot attribute (no matching owner.json)', { nodePid: process.pid, redisPid: 77 });
    expect(error.message).not.toContain(`pid ${process.pid}`);
    expect(error.message).toContain('(redis-server pid 77)');
    expect(error.message).toContain('Fix: stop redis-server pid 77, which holds /d/redis.lock');
    expect(error.details).toEqual({ dataPath: '/d', holderNodePid: null, holderRedisPid: 77 });
  });

  it('with no holder known, says how to find it instead of printing a placeholder pid', () => {
    const error = new DataPathLockedError('/d', 'a redis-server that would not shut down', { nodePid: null, redisPid: null });
    expect(error.message).not.toMatch(/pid -?\d/);
    expect(error.message).toContain("fuser -v /d/redis.lock");
  });
});
