import { capturingLogger } from '../../test/harness/logCapture.js';
import type { NodePersistence } from '../persistence/nodePersistence.js';
import { ProtocolError, ProtocolErrorCode, type ProtocolMessage, type ProtocolSession } from '../protocol/index.js';
import { createNodeMetrics } from './metrics.js';
import type { PeerMessenger } from './peerMessenger.js';
import { SessionRunner } from './sessionRunner.js';

const TS = 1_700_000_000;
const PEER = `0x${'ab'.repeat(20)}`;

/**
 * A stand-in session that refuses every message it is handed (as the real core refuses
 * malformed or forged ones) and fails the round at the acknowledgement deadline: what is
 * under test is only what the runner logs and counts about rejections.
 */
function refusingSession(): ProtocolSession {
  const session = {
    phase: 'acknowledging',
    start: (): ProtocolMessage[] => [],
    result: (): null => null,
    proceed: (): ProtocolMessage[] => { session.phase = 'failed'; return []; },
    status: () => ({ error: { code: ProtocolErrorCode.MALFORMED_MESSAGE, message: 'round over' } }),
    snapshot: () => ({ phase: 2 }),
    prepareBatch: (batch: readonly unknown[]) => ({ dealChecks: null, batch }),
    applyBatch: (prepared: { batch: readonly unknown[] }) => ({
      outbound: [],
      rejected: prepared.batch.map((_, index) => ({ index, error: new ProtocolError(ProtocolErrorCode.MALFORMED_MESSAGE, 'malformed protocol message') })),
    }),
  };
  return session as unknown as ProtocolSession;
}

describe('SessionRunner: in-round rejections under a flood', () => {
  it('2,000 refused messages from one authenticated peer: every one counted, at most 5 lines logged', async () => {
    const { logger, lines } = capturingLogger();
    const metrics = createNodeMetrics({ defaultMetrics: false });
    const runner = new SessionRunner({
      session: refusingSession(),
      sessionTimestamp: TS,
      messenger: { send: () => Promise.resolve(false) } as unknown as PeerMessenger,
      persistence: { saveProtocolSession: () => Promise.resolve() } as unknown as NodePersistence,
      ackPhaseTimeoutMs: 200,
      totalTimeoutMs: 400,
      logger,
      metrics,
      signal: new AbortController().signal,
    });
    for (let i = 0; i < 2_000; i++) runner.deliver({ type: 'ack', sessionTimestamp: TS, from: PEER } as unknown as ProtocolMessage);
    await expect(runner.run()).rejects.toThrow('round over');
    const logged = lines().filter((l) => l.includes('"msg":"protocol message rejected"'));
    expect((await metrics.protocolMessagesRejected.get()).values).toEqual([{ labels: { code: 'MALFORMED_MESSAGE' }, value: 2_000 }]);
    expect(logged).toHaveLength(5);
    expect(logged[0]).toContain(`"from":"${PEER}"`);
    expect(logged[0]).toContain('"code":"MALFORMED_MESSAGE"');
  });
});
