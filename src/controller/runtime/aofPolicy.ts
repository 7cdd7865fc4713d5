import type { AppendFsyncPolicy } from '../../node/runtime.js';
import { AofPolicyError } from './errors.js';
import type { RedisAdmin } from './redisAdmin.js';

/**
 * Puts Redis back on `appendonly yes` + `policy` and verifies it reads back so. Switching
 * the AOF on starts a rewrite; until it has finished, writes are not in a complete AOF,
 * so "verified" includes that rewrite having finished successfully.
 */
export async function enforceAofPolicy(admin: RedisAdmin, policy: AppendFsyncPolicy, rewriteTimeoutMs: number): Promise<void> {
  if ((await admin.configGet('appendonly')) !== 'yes') {
    await admin.configSet('appendonly', 'yes');
    await waitForAofRewrite(admin, rewriteTimeoutMs);
  }
  await admin.configSet('appendfsync', policy);
  const [appendonly, fsync] = [await admin.configGet('appendonly'), await admin.configGet('appendfsync')];
  if (appendonly !== 'yes' || fsync !== policy) {
    throw new AofPolicyError(`Redis reports appendonly ${appendonly ?? 'unknown'}, appendfsync ${fsync ?? 'unknown'} after setting ${policy}`, {
      fix: 'check that CONFIG is not renamed or forbidden for this client',
    });
  }
}

async function waitForAofRewrite(admin: RedisAdmin, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await admin.info('persistence');
    if (info.get('aof_rewrite_in_progress') === '0' && info.get('aof_rewrite_scheduled') === '0') {
      const status = info.get('aof_last_bgrewrite_status');
      if (status !== 'ok') {
        throw new AofPolicyError(`the AOF rewrite after re-enabling appendonly ended with status ${status ?? 'unknown'}`, {
          fix: 'check free space and permissions in the data path, and the redis-server log',
        });
      }
      return;
    }
    if (Date.now() > deadline) throw new AofPolicyError('the AOF rewrite after re-enabling appendonly did not finish in time', { fix: 'check the redis-server log; the controller retries' });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
