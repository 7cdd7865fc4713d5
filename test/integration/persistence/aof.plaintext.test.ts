import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { silentLogger } from '../../../src/logging/logger.js';
import { openPersistence } from '../../../src/persistence/open.js';
import { makeTempDir } from '../../harness/tempDir.js';
import { keyShareVersion, protocolSession, randomScalar, shareEncodings } from './fixtures.js';

/**
 * Shares are sealed before they reach Redis, so no file the embedded server writes
 * (incremental AOF, the RDB base after a rewrite, config, logs) may contain one in any
 * encoding: decimal, hex, 0x-hex, 64-digit hex, or the 32 raw big-endian bytes.
 */

jest.setTimeout(120_000);
const MOCK = process.env.KMS_TEST_REDIS === 'mock';
const SKIP_REASON = '[skipped: KMS_TEST_REDIS=mock selects ioredis-mock; AOF files need a real redis-server]';
if (MOCK) console.info(`aof.plaintext: ${SKIP_REASON}`);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) return filesUnder(path);
    return st.isFile() ? [path] : [];
  });
}

function needles(share: bigint): Buffer[] {
  const raw = Buffer.from(share.toString(16).padStart(64, '0'), 'hex');
  return [...shareEncodings(share).map((s) => Buffer.from(s, 'latin1')), raw];
}

(MOCK ? describe.skip : describe)(`no share in plaintext under the data path ${MOCK ? SKIP_REASON : ''}`, () => {
  it('finds no share in any encoding in the AOF (before and after a rewrite) or any other file', async () => {
    const dataPath = join(makeTempDir('kms-plain-'), 'data');
    const persistence = await openPersistence({ type: 'redis', mode: 'embedded', dataPath }, { logger: silentLogger(), sealingSecret: randomBytes(32) });
    const shares: bigint[] = [];
    for (let epoch = 1; epoch <= 20; epoch++) {
      const version = keyShareVersion(epoch);
      await persistence.saveKeyShareVersion(version, { activate: true });
      shares.push(version.privateShare);
    }
    for (let t = 1; t <= 5; t++) {
      const session = protocolSession(1_700_000_000 + t);
      await persistence.saveProtocolSession(session);
      shares.push(...Object.values(session.shares));
    }
    expect(shares.length).toBe(30);

    // A positive control: one share written raw, unsealed, must be found by the same scan.
    const canary = randomScalar();
    const client = new Redis({ path: join(dataPath, 'redis.sock') });
    await client.set('plaintext-canary', canary.toString(10));

    const scan = (): { files: number; bytes: number; hits: string[]; canaryFound: boolean } => {
      const files = filesUnder(dataPath);
      let bytes = 0;
      const hits: string[] = [];
      let canaryFound = false;
      for (const file of files) {
        const content = readFileSync(file);
        bytes += content.length;
        shares.forEach((share, i) => {
          for (const needle of needles(share)) if (content.includes(needle)) hits.push(`${file}: share #${i}`);
        });
        if (content.includes(Buffer.from(canary.toString(10)))) canaryFound = true;
      }
      return { files: files.length, bytes, hits, canaryFound };
    };

    const incr = scan();
    expect(incr.canaryFound).toBe(true);
    expect(incr.hits).toEqual([]);

    // After a rewrite the data lives in an RDB base file: scan that too.
    await client.bgrewriteaof();
    while (!readdirSync(join(dataPath, 'appendonlydir')).some((f) => /\.base\.rdb$/.test(f) && !f.startsWith('appendonly.aof.1.'))) await sleep(50);
    await client.quit();
    await persistence.close();
    const rewritten = scan();
    expect(rewritten.bytes).toBeGreaterThan(20 * 500);
    expect(rewritten.canaryFound).toBe(true);
    expect(rewritten.hits).toEqual([]);
  });
});
