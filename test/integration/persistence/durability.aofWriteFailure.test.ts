import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../src/logging/logger.js';
import { isKmsError } from '../../../src/errors.js';
import type { NodePersistence } from '../../../src/persistence/nodePersistence.js';
import { openPersistence } from '../../../src/persistence/open.js';
import { makeTempDir, removeTempDir } from '../../harness/tempDir.js';
import { addresses, g2, keyShareVersion } from './fixtures.js';

/**
 * The AOF cannot be written (its volume is full): saves must fail loudly, health must
 * say so, and nothing may be reported saved that is not on disk. The full volume is a
 * 1 MiB tmpfs (this needs root for mount(2); chmod cannot stop a root redis-server and
 * does not affect a file it already has open, so a real ENOSPC is the honest failure).
 */

jest.setTimeout(180_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; a full disk needs a real redis-server]';
if (MOCK) console.info(`durability.aofWriteFailure: ${SKIP_REASON}`);

const secret = randomBytes(32);

function openEmbedded(dataPath: string): Promise<NodePersistence> {
  return openPersistence({ type: 'redis', mode: 'embedded', dataPath }, { logger: silentLogger(), sealingSecret: secret });
}

(MOCK ? describe.skip : describe)(`AOF write failure on a full volume ${MOCK ? SKIP_REASON : ''}`, () => {
  let volume: string;
  let root: string;
  beforeAll(() => {
    root = makeTempDir('kms-full-');
    volume = join(root, 'vol');
    mkdirSync(volume, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', volume]);
  });
  afterAll(() => {
    execFileSync('umount', ['-l', volume]);
    removeTempDir(root);
  });

  it('fails saves loudly, reports unhealthy, and every acknowledged save survives a restart', async () => {
    const dataPath = join(volume, 'data');
    const persistence = await openEmbedded(dataPath);
    let closed = false;
    const closeOnce = async (): Promise<void> => { if (!closed) { closed = true; await persistence.close(); } };
    try {
      const acknowledged = new Map<number, bigint>();
      const failures: string[] = [];
      // ~3.7 KB sealed per version (16 commitments): the 1 MiB volume fills after a few hundred.
      for (let epoch = 1; epoch <= 1_000 && failures.length < 5; epoch++) {
        const version = keyShareVersion(epoch, { commitments: Array.from({ length: 16 }, g2), threshold: 16, participants: addresses(24) });
        try {
          await persistence.saveKeyShareVersion(version);
          acknowledged.set(epoch, version.privateShare);
        } catch (error) {
          failures.push(isKmsError(error) ? error.code : String(error));
        }
      }
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((code) => code === 'PERSISTENCE_UNAVAILABLE')).toBe(true);

      const health = await persistence.healthCheck();
      expect(health.healthy).toBe(false);
      const server = health.findings.find((f) => f.check === 'embedded-server');
      expect(server?.ok).toBe(false);
      expect(server?.message).toMatch(/could not write the append-only file|Short write while writing to the AOF file|AOF/);
      expect(health.dataPath?.freeBytes).toBeLessThan(64 * 1024);
      await closeOnce();

      execFileSync('mount', ['-o', 'remount,size=16m', volume]);
      const reopened = await openEmbedded(dataPath);
      let present = 0;
      for (const [epoch, share] of acknowledged) {
        if ((await reopened.loadKeyShareVersion(epoch))?.privateShare === share) present += 1;
      }
      const stored = await reopened.listKeyShareEpochs();
      console.log(`aof write failure: ${acknowledged.size} acknowledged, ${present} present after restart, `
        + `${acknowledged.size - present} lost; ${failures.length} saves failed (${failures.join(', ')}); ${stored.length} stored`);
      expect(present).toBe(acknowledged.size);
      // Once there is room again, saving works and the server is healthy.
      await reopened.saveKeyShareVersion(keyShareVersion(5_000));
      expect((await reopened.healthCheck()).healthy).toBe(true);
      await reopened.close();
    } finally {
      await closeOnce();
    }
  });
});
