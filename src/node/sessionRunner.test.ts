import { jest } from '@jest/globals';
import { createDeterministicRng } from '../crypto/index.js';
import { silentLogger } from '../logging/logger.js';
import { MemoryPersistence } from '../persistence/memory/memoryPersistence.js';
import type { ProtocolSessionState } from '../persistence/types.js';
import {
  createReshareSession,
  createSimulatedDkg,
  createSimulatedOperators,
  isProtocolError,
  recoverSimulatedSigner,
  seededRandomSources,
  type DealChecks,
  type FinalizedVersion,
  type ProtocolMessage,
  type ProtocolSession,
} from '../protocol/index.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';
import type { PeerMessenger } from './peerMessenger.js';
import { SessionRunner } from './sessionRunner.js';
import { CryptoPool } from './workers/cryptoPool.js';
import { PooledCrypto } from './workers/cryptoExecutor.js';

const TS = 1_700_000_000;

// Real pairing-based verification on a shared 2-core machine: seconds per DKG.
jest.setTimeout(120_000);

interface Net {
  readonly runners: Map<string, SessionRunner>;
  readonly saved: Map<string, number[]>;
  readonly metrics: Map<string, NodeMetrics>;
  readonly sent: ProtocolMessage[];
}

/**
 * Real protocol sessions, one SessionRunner each, wired by an in-memory messenger that
 * delivers asynchronously (as HTTP would). `drop` loses messages in flight.
 */
function network(
  sessions: ReadonlyMap<string, ProtocolSession>,
  options: {
    ts?: number; ackMs?: number; totalMs?: number; startedAt?: number; drop?: (m: ProtocolMessage) => boolean; signal?: AbortSignal; notDurable?: ReadonlySet<string>;
    verifyDeals?: (checks: DealChecks) => Promise<readonly number[]>;
  } = {},
): Net {
  const net: Net = { runners: new Map(), saved: new Map(), metrics: new Map(), sent: [] };
  for (const [address, session] of sessions) {
    const persistence = new MemoryPersistence({ logger: silentLogger() });
    const phases: number[] = [];
    const save = persistence.saveProtocolSession.bind(persistence);
    persistence.saveProtocolSession = (state: ProtocolSessionState) => { phases.push(state.phase); return save(state); };
    net.saved.set(address, phases);
    if (options.notDurable?.has(address) === true) {
      // As a Redis with `CONFIG SET appendonly no` reports it.
      persistence.healthCheck = () => Promise.resolve({
        healthy: false, backend: 'redis', mode: 'external',
        findings: [{ check: 'aof-enabled', ok: false, message: 'appendonly is no: writes are not logged' }],
      });
    }
    const messenger = {
      send(message: ProtocolMessage): Promise<boolean> {
        net.sent.push(message);
        if (options.drop?.(message) === true) return Promise.resolve(false);
        return new Promise((resolve) => {
          setImmediate(() => {
            const target = net.runners.get(message.to);
            if (target === undefined) { resolve(false); return; }
            // Through JSON, as over the wire.
            target.deliver(JSON.parse(JSON.stringify(message)) as ProtocolMessage);
            resolve(true);
          });
        });
      },
    };
    const metrics = createNodeMetrics({ defaultMetrics: false });
    net.metrics.set(address, metrics);
    net.runners.set(address, new SessionRunner({
      session,
      sessionTimestamp: options.ts ?? TS,
      // The runner only calls send(); the real PeerMessenger is covered with the transport.
      messenger: messenger as unknown as PeerMessenger,
      persistence,
      ackPhaseTimeoutMs: options.ackMs ?? 20_000,
      totalTimeoutMs: options.totalMs ?? 40_000,
      ...(options.startedAt === undefined ? {} : { startedAt: options.startedAt }),
      logger: silentLogger(),
      metrics,
      signal: options.signal ?? new AbortController().signal,
      ...(options.verifyDeals === undefined ? {} : { verifyDeals: options.verifyDeals }),
    }));
  }
  return net;
}

function dkgSessions(n: number, seed: string, ts = TS): Map<string, ProtocolSession> {
  return createSimulatedDkg({ signers: createSimulatedOperators(n, seed), sessionTimestamp: ts, rng: seededRandomSources(seed) }).sessions;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function runAll(net: Net): Promise<FinalizedVersion[]> {
  return Promise.all([...net.runners.values()].map((r) => r.run()));
}

describe('SessionRunner with real protocol sessions', () => {
  it('drives a DKG among 4 runners to one master public key, snapshotting each phase', async () => {
    const net = network(dkgSessions(4, 'runner-dkg'));
    const results = await runAll(net);
    expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
    expect(results.every((r) => r.threshold === 3 && r.participants.length === 4 && r.epoch === TS)).toBe(true);
    expect(new Set(results.map((r) => r.privateShare)).size).toBe(4);
    for (const phases of net.saved.values()) {
      // Each phase change written once, in order.
      expect(phases).toEqual([...new Set(phases)].sort());
      expect(phases[0]).toBe(2);
      expect(phases.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('then reshares to a set with a new operator, keeping the master public key', async () => {
    const dkgNet = network(dkgSessions(4, 'runner-reshare'));
    const dkg = await runAll(dkgNet);
    const old = createSimulatedOperators(4, 'runner-reshare');
    const joiner = createSimulatedOperators(1, 'runner-joiner')[0]!;
    const next = [...old.slice(1), joiner];
    const first = dkg[0]!;
    const previous = { epoch: first.epoch, threshold: first.threshold, masterPublicKey: first.masterPublicKey, commitments: first.commitments, participants: first.participants };
    const shareOf = new Map(old.map((s, i) => [s.address, dkg[i]!.privateShare]));
    const ts = TS + 10;
    const sessions = new Map<string, ProtocolSession>(next.map((signer) => {
      const share = shareOf.get(signer.address);
      return [signer.address, createReshareSession({
        sessionTimestamp: ts, operators: next.map((s) => s.address), signer, recoverSigner: recoverSimulatedSigner,
        rng: createDeterministicRng(`reshare/${signer.address}`), previous, ...(share === undefined ? {} : { previousShare: share }),
      })];
    }));
    const net = network(sessions, { ts });
    const results = await runAll(net);
    expect(results.map((r) => hex(r.masterPublicKey))).toEqual(Array(4).fill(hex(first.masterPublicKey)));
    expect(results.every((r) => r.epoch === ts && r.participants.includes(joiner.address))).toBe(true);
  });

  it('applies the ack timeout: with one operator silent the other three finalize without it; with two silent they fail', async () => {
    const sessions = dkgSessions(4, 'runner-silent');
    const silent = [...sessions.keys()][3]!;
    // The ack deadline is far beyond a 4-node DKG in memory, so every message among the three is in by then.
    const net = network(sessions, { ackMs: 6_000, totalMs: 60_000, drop: (m) => m.from === silent || m.to === silent });
    net.runners.delete(silent);
    const results = await runAll(net);
    expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
    expect(results.every((r) => r.threshold === 3 && r.dealers.length === 3 && !r.dealers.some((d) => d === silent))).toBe(true);

    const few = dkgSessions(4, 'runner-two-silent');
    const gone = [...few.keys()].slice(2);
    const fewNet = network(few, { ackMs: 300, totalMs: 1_500, drop: (m) => gone.includes(m.from) || gone.includes(m.to) });
    for (const a of gone) fewNet.runners.delete(a);
    const outcomes = await Promise.allSettled([...fewNet.runners.values()].map((r) => r.run()));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') {
        expect(isProtocolError(outcome.reason)).toBe(true);
        expect((outcome.reason as { code: string }).code).toBe('NOT_ENOUGH_DEALERS');
      }
    }
  });

  it('a node whose completions are all lost finalizes from a certificate a peer forwards', async () => {
    const sessions = dkgSessions(4, 'runner-cert');
    const cutOff = [...sessions.keys()][2]!;
    // Deadlines far beyond the round: the late node can only finish through the certificate.
    const net = network(sessions, { ackMs: 100_000, totalMs: 110_000, drop: (m) => m.type === 'complete' && m.to === cutOff });
    const late = net.runners.get(cutOff)!;
    const lateRun = late.run();
    const finished = await Promise.all([...net.runners].filter(([a]) => a !== cutOff).map(([, r]) => r.run()));
    expect(sessions.get(cutOff)!.result()).toBeNull();
    // What a node does after its round: push its certificate to the peers.
    late.deliverCertificate(finished[0]!.certificate);
    const adopted = await lateRun;
    expect(hex(adopted.masterPublicKey)).toBe(hex(finished[0]!.masterPublicKey));
    expect(adopted.commitments.map(hex)).toEqual(finished[0]!.commitments.map(hex));
    expect(adopted.certificate.signatures.length).toBeGreaterThanOrEqual(3);
  });

  it('sends no completion while persistence could not commit the version: that node fails with PERSISTENCE_NOT_DURABLE, the others finalize', async () => {
    const sessions = dkgSessions(4, 'runner-not-durable');
    const shaky = [...sessions.keys()][1]!;
    const net = network(sessions, { ackMs: 4_000, totalMs: 30_000, notDurable: new Set([shaky]) });
    const outcomes = await Promise.allSettled([...net.runners].map(async ([address, r]) => [address, await r.run()] as const));
    const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code: string; message: string }] : []));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: 'PERSISTENCE_NOT_DURABLE', message: expect.stringContaining('aof-enabled: appendonly is no') as unknown });
    expect(net.sent.filter((m) => m.type === 'complete' && m.from === shaky)).toEqual([]);
    expect(net.sent.filter((m) => m.type === 'deal' && m.from === shaky)).toHaveLength(3);
    const done = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(done.map(([a]) => a)).not.toContain(shaky);
    expect(new Set(done.map(([, r]) => hex(r.masterPublicKey))).size).toBe(1);
  });

  it('counts its timeouts from startedAt (when the node saw the boundary), not from run()', async () => {
    const sessions = dkgSessions(4, 'runner-started-at');
    const [only] = [...sessions.keys()];
    // Seen 200 s ago with a 100 s budget: the round gives up at once. Counting from run()
    // instead, it would wait 100 s and this test would exceed its own 30 s limit.
    const net = network(new Map([[only!, sessions.get(only!)!]]), { ackMs: 50_000, totalMs: 100_000, startedAt: Date.now() - 200_000 });
    await expect(net.runners.get(only!)!.run()).rejects.toMatchObject({ code: 'NOT_ENOUGH_DEALERS' });
  }, 30_000);

  it('counts and survives a rejected message, then still finalizes', async () => {
    const sessions = dkgSessions(4, 'runner-garbage');
    const net = network(sessions);
    const [victim, other] = [...sessions.keys()];
    const runner = net.runners.get(victim!)!;
    const garbage = { type: 'ack', sessionTimestamp: TS, from: other, to: victim, dealer: other, shareHash: '0x00' } as unknown as ProtocolMessage;
    runner.deliver(garbage);
    const results = await runAll(net);
    expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
    const metric = await net.metrics.get(victim!)!.protocolMessagesRejected.get();
    expect(metric.values.reduce((sum, v) => sum + v.value, 0)).toBe(1);
  });

  it('abandons the round when the node stops, with INVALID_STATE, and waits for its sends', async () => {
    const stop = new AbortController();
    const sessions = dkgSessions(4, 'runner-abort');
    const [only] = [...sessions.keys()];
    // Only one runner: it waits for peers that never answer until the node stops.
    const net = network(new Map([[only!, sessions.get(only!)!]]), { signal: stop.signal });
    const run = net.runners.get(only!)!.run();
    setTimeout(() => { stop.abort(); }, 200);
    await expect(run).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('abandoned') as unknown });
    expect(net.sent.filter((m) => m.type === 'deal')).toHaveLength(3);
  });

  it('verifies the deals of each batch through the injected verifier (a worker pool) and still reaches one key', async () => {
    const crypto = new PooledCrypto(new CryptoPool({ size: 2, queueLimit: 0, logger: silentLogger() }));
    try {
      let verified = 0;
      const net = network(dkgSessions(4, 'runner-pool'), {
        verifyDeals: async (checks) => {
          verified += checks.deals.length;
          return crypto.findInvalidDeals(checks);
        },
      });
      const results = await runAll(net);
      expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
      // Every node verified the deals of the three others off its event loop.
      expect(verified).toBe(4 * 3);
    } finally {
      await crypto.close();
    }
  });

  it('when the verifier never answers, the session verifies the deals itself after a quarter of the ack phase and the round completes', async () => {
    let asked = 0;
    const net = network(dkgSessions(4, 'runner-pool-wedged'), {
      ackMs: 4_000,
      verifyDeals: () => {
        asked++;
        return new Promise<readonly number[]>(() => undefined);
      },
    });
    const results = await runAll(net);
    expect(asked).toBeGreaterThan(0);
    expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
  });

  it('when the verifier fails, the session verifies the deals itself and the round still completes', async () => {
    let asked = 0;
    const net = network(dkgSessions(4, 'runner-pool-down'), {
      verifyDeals: () => {
        asked++;
        return Promise.reject(new Error('the worker pool is down'));
      },
    });
    const results = await runAll(net);
    expect(asked).toBeGreaterThan(0);
    expect(new Set(results.map((r) => hex(r.masterPublicKey))).size).toBe(1);
  });
});
