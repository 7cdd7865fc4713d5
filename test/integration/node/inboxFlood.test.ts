import { jest } from '@jest/globals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { devAccount } from '../../../src/devnet/devAccounts.js';
import { DEFAULT_INBOX_LIMITS } from '../../../src/node/sessionInbox.js';
import { sealEnvelope } from '../../../src/transport/envelope.js';
import { sealPayloadSecret } from '../../../src/transport/payloadSecrets.js';
import { OperatorSigner } from '../../../src/transport/signer.js';
import type { TransportPayload } from '../../../src/transport/types.js';
import { singleNode, type SingleNode } from '../../gen/singleNode.js';
import { until } from '../../gen/until.js';
import { capturingLogger } from '../../harness/logCapture.js';

/**
 * Issue 11, items 7 and 8 on a real node over HTTP: one operator key floods 1,000
 * valid, signed, share-encrypted 200 KB deals for a round that has not started; the
 * inbox keeps at most its per-sender cap (4 MiB) and refuses the rest with a typed 429,
 * counted in a metric, and the heap grows by no more than that cap plus a small margin.
 * A deal whose share does not decrypt gets a typed 400 and a warn line naming the sender
 * and the code, never the share.
 */

jest.setTimeout(300_000);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) collectGarbage();
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;
/** What the flood may add beyond the inbox cap: replay-guard entries, metrics, log lines, JIT. */
const MARGIN = 4 * MiB;

const signer = OperatorSigner.fromPrivateKey(devAccount(1).privateKey);
const self = devAccount(1).address.toLowerCase();

const sealedDeals = new Map<string, TransportPayload>();

/**
 * A signed deal of the largest commitment count a message may carry (1,024 × 96 bytes,
 * ~200 KB on the wire). Each call is a new envelope (fresh nonce, so no replay); the
 * share is sealed once per session and key, which saves the flood time, not the node work.
 */
function deal(sessionTimestamp: number, recipientKey: Uint8Array): string {
  const cacheKey = `${sessionTimestamp}:${Buffer.from(recipientKey).toString('hex')}`;
  let wire = sealedDeals.get(cacheKey);
  if (wire === undefined) {
    const commitment = `0x${'a5'.repeat(96)}`;
    const payload: TransportPayload = {
      type: 'deal', protocol: 'dkg', sessionTimestamp, from: self, to: self,
      commitments: Array.from({ length: 1_024 }, () => commitment), share: `0x${'5e'.repeat(32)}`,
    };
    wire = sealPayloadSecret(payload, { address: self, signingPublicKey: recipientKey });
    sealedDeals.set(cacheKey, wire);
  }
  return JSON.stringify(sealEnvelope(wire, signer, { route: '/protocol/deal', now: Date.now() }));
}

async function post(url: string, body: string): Promise<{ status: number; code: string | null }> {
  const response = await fetch(`${url}/protocol/deal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = await response.json() as { error?: { code: string } };
  return { status: response.status, code: json.error?.code ?? null };
}

/** Started, past its first round (so it knows the operator set), and idle until the next boundary. */
async function startedNode(fixture: SingleNode): Promise<string> {
  const { url } = await fixture.node.start();
  fixture.chain.mineToNextBoundary();
  await until('the first DKG', () => fixture.node.status().keys.versionCount === 1, 60_000);
  return url;
}

describe('the early-message inbox of a real node under a flood', () => {
  it('1,000 valid 200 KB deals from one operator: at most 4 MiB kept, the rest 429 and counted, heap growth under cap + margin', async () => {
    const { logger, lines } = capturingLogger();
    const fixture = singleNode({ logger });
    const { node } = fixture;
    const url = await startedNode(fixture);
    try {
      const session = Math.floor(Date.now() / 1000) + 10;
      // Warm-up on the same paths (parse, verify, decrypt, refuse) for a session the node refuses outright.
      for (let i = 0; i < 20; i++) expect((await post(url, deal(session + 3_600, signer.publicKey))).code).toBe('WRONG_SESSION');
      const before = heapUsed();

      const outcomes = new Map<string, number>();
      const bodyBytes = deal(session, signer.publicKey).length;
      for (let sent = 0; sent < 1_000; sent += 8) {
        const batch = await Promise.all(Array.from({ length: 8 }, () => post(url, deal(session, signer.publicKey))));
        for (const { status, code } of batch) outcomes.set(`${status} ${code ?? 'accepted'}`, (outcomes.get(`${status} ${code ?? 'accepted'}`) ?? 0) + 1);
      }
      const after = heapUsed();
      const growth = after - before;
      const accepted = outcomes.get('200 accepted') ?? 0;
      const refused = outcomes.get('429 INBOX_SENDER_QUOTA') ?? 0;
      const metrics = await node.metrics.getSingleMetricAsString('kms_early_messages_refused_total');
      console.log(`inbox flood: 1000 deals of ${bodyBytes} bytes; ${accepted} kept, ${refused} refused (429); `
        + `heap ${(before / MiB).toFixed(1)} → ${(after / MiB).toFixed(1)} MiB (+${(growth / MiB).toFixed(1)} MiB; cap ${DEFAULT_INBOX_LIMITS.maxBytesPerSender / MiB} MiB + margin ${MARGIN / MiB} MiB); `
        + `without the cap the same flood would keep ~${((1_000 * bodyBytes) / MiB).toFixed(0)} MiB`);

      expect([...outcomes.keys()].sort()).toEqual(['200 accepted', '429 INBOX_SENDER_QUOTA']);
      expect(accepted + refused).toBe(1_000);
      expect(accepted * bodyBytes).toBeLessThanOrEqual(DEFAULT_INBOX_LIMITS.maxBytesPerSender);
      expect(accepted).toBeGreaterThan(0);
      expect(metrics).toContain(`kms_early_messages_refused_total{reason="INBOX_SENDER_QUOTA"} ${refused}`);
      expect(growth).toBeLessThan(DEFAULT_INBOX_LIMITS.maxBytesPerSender + MARGIN);
      // The refusals are visible, within the log's rate limit.
      const rejectionLines = lines().filter((l) => l.includes('"msg":"protocol request rejected"'));
      expect(rejectionLines.length).toBeGreaterThan(0);
      expect(rejectionLines.length).toBeLessThanOrEqual(50);
      expect(rejectionLines.some((l) => l.includes('"code":"INBOX_SENDER_QUOTA"') && l.includes(`"sender":"${self}"`))).toBe(true);
    } finally {
      await node.stop();
    }
  });

  it('a deal whose share was sealed to another key: 400 SHARE_DECRYPTION_FAILED and a warn line with sender and code, not the share', async () => {
    const { logger, lines } = capturingLogger();
    const fixture = singleNode({ logger });
    const { node } = fixture;
    const url = await startedNode(fixture);
    try {
      const otherKey = OperatorSigner.fromPrivateKey(devAccount(2).privateKey).publicKey;
      const answer = await post(url, deal(Math.floor(Date.now() / 1000) + 10, otherKey));
      expect(answer).toEqual({ status: 400, code: 'SHARE_DECRYPTION_FAILED' });
      const logged = lines().filter((l) => l.includes('"msg":"protocol request rejected"')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged).toEqual([expect.objectContaining({ level: 40, code: 'SHARE_DECRYPTION_FAILED', status: 400, sender: self, senderVerified: true, route: '/protocol/deal' })]);
      expect(lines().join('\n')).not.toContain('5e5e5e5e');
    } finally {
      await node.stop();
    }
  });
});
