import { singleNode } from '../../test/gen/singleNode.js';
import { normalizeOperatorSet, type Operator } from '../chain/operatorSet.js';
import { devAccount } from '../devnet/devAccounts.js';
import { sealEnvelope } from '../transport/envelope.js';
import { OperatorSigner } from '../transport/signer.js';
import { CERTIFICATE_ROUTES } from './certificateExchange.js';
import type { NodeStatusChange } from './runtime.js';
import { until } from '../../test/gen/until.js';

describe('KmsNode.onStatusChange: the node announces its own status changes', () => {
  test('start → phases in order; a boundary → boundaryProcessed, then the DKG\'s keyVersionActivated; a reshare likewise; stop → phases', async () => {
    const { node, chain } = singleNode();
    const changes: NodeStatusChange[] = [];
    node.onStatusChange((change) => { changes.push(change); });
    await node.start();
    try {
      expect(changes.map((c) => `${c.reason}:${c.status.phase}`)).toEqual(['phase:starting', 'phase:restoring', 'phase:running']);
      changes.length = 0;

      const boundary = chain.mineToNextBoundary();
      await until('the DKG version', () => changes.some((c) => c.reason === 'keyVersionActivated'));
      expect(changes.map((c) => c.reason)).toEqual(['boundaryProcessed', 'keyVersionActivated']);
      expect(changes[0]?.status.keys).toEqual({ activeVersion: null, versionCount: 0, lastProcessedBoundary: boundary });
      const dkg = changes[1]?.status.keys;
      expect(dkg).toMatchObject({ versionCount: 1, lastProcessedBoundary: boundary });
      expect(dkg?.activeVersion).toBe(node.status().keys.activeVersion);
      expect(dkg?.activeVersion).not.toBeNull();
      changes.length = 0;

      const next = chain.mineToNextBoundary();
      await until('the reshare version', () => changes.some((c) => c.reason === 'keyVersionActivated'));
      expect(changes.map((c) => c.reason)).toEqual(['boundaryProcessed', 'keyVersionActivated']);
      expect(changes[1]?.status.keys).toMatchObject({ versionCount: 2, lastProcessedBoundary: next });
      expect(changes[1]?.status.keys.activeVersion).toBeGreaterThan(dkg?.activeVersion ?? Infinity);
      changes.length = 0;
    } finally {
      await node.stop();
    }
    expect(changes.map((c) => `${c.reason}:${c.status.phase}`)).toEqual(['phase:stopping', 'phase:stopped']);
  }, 60_000);

  test('a health check whose verdict flips is announced once per flip; the same verdict again is not', async () => {
    const { node, persistence } = singleNode();
    const reasons: string[] = [];
    node.onStatusChange((change) => { reasons.push(`${change.reason}:${String(change.status.persistence?.healthy)}`); });
    await node.start();
    try {
      reasons.length = 0;
      await node.health();
      expect(reasons).toEqual([]);

      persistence.failing = 'the disk went away';
      await node.health();
      await node.health();
      expect(reasons).toEqual(['persistenceHealth:false']);

      persistence.failing = null;
      await node.health();
      await node.health();
      expect(reasons).toEqual(['persistenceHealth:false', 'persistenceHealth:true']);
    } finally {
      await node.stop();
    }
  });

  test('a start refused for unhealthy persistence ends in phase failed, with the reason in the announced status', async () => {
    const { node, persistence } = singleNode();
    persistence.failing = 'AOF is off';
    const changes: NodeStatusChange[] = [];
    node.onStatusChange((change) => { changes.push(change); });
    await expect(node.start()).rejects.toThrow(/AOF is off/);
    expect(changes.map((c) => c.status.phase)).toEqual(['starting', 'failed']);
    expect(changes[1]?.status.lastError?.code).toBe('NODE_NOT_READY');
  });

  test('an unsubscribed listener hears nothing more; a throwing listener neither stops the node nor the others', async () => {
    const { node } = singleNode();
    const heard: string[] = [];
    const unsubscribe = node.onStatusChange(() => { heard.push('first'); });
    node.onStatusChange(() => { throw new Error('listener bug'); });
    node.onStatusChange((change) => { heard.push(`last:${change.status.phase}`); });
    await node.start();
    unsubscribe();
    unsubscribe();
    await node.stop();
    expect(heard).toEqual(['first', 'last:starting', 'first', 'last:restoring', 'first', 'last:running', 'last:stopping', 'last:stopped']);
    expect(node.status().phase).toBe('stopped');
  });
});

describe('KmsNode: senders that joined since the node last read the operator set', () => {
  test('an unknown sender makes the node read the set again: a newcomer is accepted, an impostor still refused', async () => {
    const newcomer = devAccount(2);
    const impostor = devAccount(3);
    const entryOf = (account: typeof newcomer) => ({ address: account.address, socketUrl: 'http://127.0.0.1:2', signingPublicKey: OperatorSigner.fromPrivateKey(account.privateKey).publicKey });
    let listed: Operator[] = [];
    let reads = 0;
    const { node, self } = singleNode({
      operatorSet: (me) => {
        listed = [me];
        return { getOperators: () => { reads++; return Promise.resolve(listed); } };
      },
    });
    await node.start();
    try {
      const readsAtStart = reads;
      // The newcomer registers after this node read the set at start, as a release installed later does.
      listed = normalizeOperatorSet([...listed, entryOf(newcomer)], 'test');
      const request = (account: typeof newcomer) => {
        const from = account.address.toLowerCase();
        const payload = { type: 'certificateRequest', sessionTimestamp: Math.floor(Date.now() / 1000), from, to: self };
        return node.receiveProtocolMessage(CERTIFICATE_ROUTES.request, sealEnvelope(payload, OperatorSigner.fromPrivateKey(account.privateKey), { route: CERTIFICATE_ROUTES.request, now: Date.now() }));
      };
      await expect(request(newcomer)).resolves.toBeDefined();
      expect(reads).toBe(readsAtStart + 1);
      // Within a second, an unknown sender is refused without another read.
      await expect(request(impostor)).rejects.toMatchObject({ code: 'UNKNOWN_SENDER' });
      expect(reads).toBe(readsAtStart + 1);
    } finally {
      await node.stop();
    }
  });
});
