import type { Redis } from 'ioredis';
import {
  ActiveVersionDeleteError,
  ActiveVersionMissingError,
  CorruptRecordError,
  PersistenceClosedError,
  PersistenceValidationError,
} from '../../../src/persistence/errors.js';
import type { NodePersistence } from '../../../src/persistence/nodePersistence.js';
import type { KeyShareVersion } from '../../../src/persistence/types.js';
import { createRecordSealer } from '../../../src/persistence/sealing.js';
import { keyShareVersion, nodeState, protocolSession, shareEncodings } from './fixtures.js';

/**
 * The NodePersistence contract, run against every backend: memory, ioredis-mock,
 * the embedded redis-server and an external one. Names follow the original design's
 * tests (SaveAndLoadKeyShare, ActiveVersionTracking, …).
 */

export interface ConformanceStore {
  /** Opens a backend on this store; after close() a second open sees the same data (when durable). */
  open(): Promise<NodePersistence>;
  /** Whether data survives close + open (false for memory). */
  readonly durable: boolean;
  /** Direct access to the stored bytes, for corruption and at-rest tests (Redis backends). */
  /** Direct access to the stored bytes, and the sealing secret the backend was opened with. */
  readonly raw?: { readonly client: Redis; readonly prefix: string; readonly sealingSecret: Uint8Array };
  dispose(): Promise<void>;
}

const EPOCH = 1_764_000_000;

export interface ConformanceOptions {
  /** The backend stores records (Redis): adds the corruption and at-rest tests, which need `raw`. */
  readonly records: boolean;
}

export function describePersistenceConformance(name: string, createStore: () => Promise<ConformanceStore>, options: ConformanceOptions): void {
  describe(`NodePersistence conformance: ${name}`, () => {
    let store: ConformanceStore;
    let p: NodePersistence;

    beforeEach(async () => {
      store = await createStore();
      p = await store.open();
    });
    afterEach(async () => {
      await p.close();
      await store.dispose();
    });

    it('SaveAndLoadKeyShare: a saved version reads back equal', async () => {
      const v = keyShareVersion(EPOCH);
      await p.saveKeyShareVersion(v);
      expect(await p.loadKeyShareVersion(EPOCH)).toEqual(v);
    });

    it('LoadKeyShare_NotFound: a missing version reads as null', async () => {
      expect(await p.loadKeyShareVersion(EPOCH)).toBeNull();
    });

    it('SaveKeyShare_Upsert: saving the same epoch again replaces it', async () => {
      await p.saveKeyShareVersion(keyShareVersion(EPOCH));
      const second = keyShareVersion(EPOCH);
      await p.saveKeyShareVersion(second);
      expect(await p.loadKeyShareVersion(EPOCH)).toEqual(second);
      expect(await p.listKeyShareEpochs()).toEqual([EPOCH]);
    });

    it('Validation: invalid versions reject with a typed error and write nothing', async () => {
      const good = keyShareVersion(EPOCH);
      const bad: unknown[] = [
        null,
        undefined,
        { ...good, epoch: -1 },
        { ...good, epoch: 1.5 },
        { ...good, epoch: Number.NaN },
        { ...good, privateShare: -1n },
        { ...good, privateShare: 12 },
        { ...good, commitments: [] },
        { ...good, commitments: [new Uint8Array(95)] },
        { ...good, masterPublicKey: new Uint8Array(48) },
        { ...good, threshold: 0 },
        { ...good, threshold: 5 },
        { ...good, participants: ['0xABC'] },
        { ...good, participants: [...good.participants].reverse() },
        { ...good, participants: [] },
        { ...good, participants: [good.participants[0], ...good.participants.slice(0, 3)] },
        { ...good, createdAt: -5 },
      ];
      for (const value of bad) {
        await expect(p.saveKeyShareVersion(value as KeyShareVersion, { activate: true })).rejects.toBeInstanceOf(PersistenceValidationError);
      }
      for (const epoch of [-1, 0.5, Number.POSITIVE_INFINITY]) {
        await expect(p.loadKeyShareVersion(epoch)).rejects.toBeInstanceOf(PersistenceValidationError);
        await expect(p.deleteKeyShareVersion(epoch)).rejects.toBeInstanceOf(PersistenceValidationError);
        await expect(p.setActiveVersionEpoch(epoch)).rejects.toBeInstanceOf(PersistenceValidationError);
        await expect(p.loadProtocolSession(epoch)).rejects.toBeInstanceOf(PersistenceValidationError);
      }
      expect(await p.listKeyShareEpochs()).toEqual([]);
      expect(await p.getActiveVersionEpoch()).toBeNull();
    });

    it('Validation: the error names the field and never the share', async () => {
      const v = { ...keyShareVersion(EPOCH), privateShare: 2n ** 300n };
      const error = await p.saveKeyShareVersion(v).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PersistenceValidationError);
      expect((error as PersistenceValidationError).field).toBe('version.privateShare');
      expect((error as Error).message).not.toContain((2n ** 300n).toString());
    });

    it('DeleteKeyShare: deletes, and deleting again or a missing epoch is fine', async () => {
      await p.saveKeyShareVersion(keyShareVersion(EPOCH));
      await p.deleteKeyShareVersion(EPOCH);
      expect(await p.loadKeyShareVersion(EPOCH)).toBeNull();
      await p.deleteKeyShareVersion(EPOCH);
      await p.deleteKeyShareVersion(EPOCH + 99);
      expect(await p.listKeyShareVersions()).toEqual([]);
    });

    it('ListKeyShareVersions: ascending by epoch, empty when none', async () => {
      expect(await p.listKeyShareVersions()).toEqual([]);
      const epochs = [EPOCH + 300, EPOCH, EPOCH + 20, 7, EPOCH + 100];
      const saved = new Map<number, KeyShareVersion>();
      for (const e of epochs) {
        const v = keyShareVersion(e);
        saved.set(e, v);
        await p.saveKeyShareVersion(v);
      }
      const sorted = [...epochs].sort((a, b) => a - b);
      expect(await p.listKeyShareEpochs()).toEqual(sorted);
      expect(await p.listKeyShareVersions()).toEqual(sorted.map((e) => saved.get(e)));
    });

    it('ActiveVersionTracking: null, set, update; activate-on-save; never names a missing version', async () => {
      expect(await p.getActiveVersionEpoch()).toBeNull();
      await expect(p.setActiveVersionEpoch(EPOCH)).rejects.toBeInstanceOf(ActiveVersionMissingError);
      expect(await p.getActiveVersionEpoch()).toBeNull();
      await p.saveKeyShareVersion(keyShareVersion(EPOCH));
      await p.setActiveVersionEpoch(EPOCH);
      expect(await p.getActiveVersionEpoch()).toBe(EPOCH);
      await p.saveKeyShareVersion(keyShareVersion(EPOCH + 10), { activate: true });
      expect(await p.getActiveVersionEpoch()).toBe(EPOCH + 10);
      await p.setActiveVersionEpoch(EPOCH);
      expect(await p.getActiveVersionEpoch()).toBe(EPOCH);
      await expect(p.deleteKeyShareVersion(EPOCH)).rejects.toBeInstanceOf(ActiveVersionDeleteError);
      expect(await p.loadKeyShareVersion(EPOCH)).not.toBeNull();
      await p.deleteKeyShareVersion(EPOCH + 10);
      expect(await p.listKeyShareEpochs()).toEqual([EPOCH]);
    });

    it('NodeState: null at first, then round-trips and overwrites; invalid rejected', async () => {
      expect(await p.loadNodeState()).toBeNull();
      const s = nodeState();
      await p.saveNodeState(s);
      expect(await p.loadNodeState()).toEqual(s);
      const s2 = { ...s, lastProcessedBoundary: 130 };
      await p.saveNodeState(s2);
      expect(await p.loadNodeState()).toEqual(s2);
      for (const bad of [null, { ...s, lastProcessedBoundary: -1 }, { ...s, operatorAddress: 'nope' }, { ...s, nodeStartTime: '1' }]) {
        await expect(p.saveNodeState(bad as never)).rejects.toBeInstanceOf(PersistenceValidationError);
      }
      expect(await p.loadNodeState()).toEqual(s2);
    });

    it('ProtocolSessions: round-trip with maps, not-found, idempotent delete, ascending list', async () => {
      expect(await p.listProtocolSessions()).toEqual([]);
      expect(await p.loadProtocolSession(EPOCH)).toBeNull();
      const sessions = [protocolSession(EPOCH + 50), protocolSession(EPOCH), protocolSession(EPOCH + 10, { type: 'dkg', phase: 1 })];
      for (const s of sessions) await p.saveProtocolSession(s);
      expect(await p.loadProtocolSession(EPOCH)).toEqual(sessions[1]);
      expect(await p.listProtocolSessions()).toEqual([sessions[1], sessions[2], sessions[0]]);
      await p.deleteProtocolSession(EPOCH);
      await p.deleteProtocolSession(EPOCH);
      await p.deleteProtocolSession(12345);
      expect((await p.listProtocolSessions()).map((s) => s.sessionTimestamp)).toEqual([EPOCH + 10, EPOCH + 50]);
    });

    it('ProtocolSessions: invalid sessions rejected and nothing written', async () => {
      const good = protocolSession(EPOCH);
      const [dealer] = Object.keys(good.acknowledgements) as [keyof typeof good.acknowledgements];
      const acks = good.acknowledgements[dealer]!;
      const [player] = Object.keys(acks) as [keyof typeof acks];
      const bad: unknown[] = [
        null,
        { ...good, type: 'other' },
        { ...good, phase: 5 },
        { ...good, sessionTimestamp: -3 },
        { ...good, shares: { notAnAddress: 1n } },
        { ...good, shares: { [dealer]: 1 } },
        { ...good, commitments: { [dealer]: [new Uint8Array(3)] } },
        { ...good, acknowledgements: { [dealer]: { [player]: { ...acks[player], sessionTimestamp: EPOCH + 1 } } } },
      ];
      for (const value of bad) {
        await expect(p.saveProtocolSession(value as never)).rejects.toBeInstanceOf(PersistenceValidationError);
      }
      expect(await p.listProtocolSessions()).toEqual([]);
    });

    it('DeepCopy_Mutation: changing saved inputs or loaded outputs does not change the store', async () => {
      const v = keyShareVersion(EPOCH);
      const expected = structuredClone(v);
      await p.saveKeyShareVersion(v);
      v.commitments[0]!.set([0xff ^ v.commitments[0]![0]!], 0);
      (v.participants as string[]).push('0xffffffffffffffffffffffffffffffffffffffff');
      const loaded = await p.loadKeyShareVersion(EPOCH);
      expect(loaded).toEqual(expected);
      loaded!.masterPublicKey.fill(0);
      expect(await p.loadKeyShareVersion(EPOCH)).toEqual(expected);

      const s = protocolSession(EPOCH);
      const sExpected = structuredClone(s);
      await p.saveProtocolSession(s);
      (s.shares as Record<string, bigint>)[Object.keys(s.shares)[0]!] = 5n;
      expect(await p.loadProtocolSession(EPOCH)).toEqual(sExpected);
    });

    it('ThreadSafety: 10 concurrent workers × 100 operations lose nothing', async () => {
      const written = new Map<number, KeyShareVersion>();
      await Promise.all(Array.from({ length: 10 }, async (_, worker) => {
        for (let i = 0; i < 100; i++) {
          const epoch = EPOCH + worker * 1000 + i;
          const v = keyShareVersion(epoch);
          written.set(epoch, v);
          if (i % 2 === 0) await p.saveKeyShareVersion(v);
          else await p.saveKeyShareVersion(v, { activate: true });
          expect(await p.loadKeyShareVersion(epoch)).toEqual(v);
          if (i % 10 === 0) await p.saveNodeState(nodeState({ lastProcessedBoundary: worker * 100 + i }));
        }
      }));
      const epochs = await p.listKeyShareEpochs();
      expect(epochs).toEqual([...written.keys()].sort((a, b) => a - b));
      const all = await p.listKeyShareVersions();
      for (const v of all) expect(v).toEqual(written.get(v.epoch));
      expect(written.has((await p.getActiveVersionEpoch())!)).toBe(true);
    });

    it('Close: every call after close rejects with PersistenceClosedError; close is idempotent', async () => {
      await p.saveKeyShareVersion(keyShareVersion(EPOCH));
      await p.close();
      await p.close();
      const calls: (() => Promise<unknown>)[] = [
        () => p.saveKeyShareVersion(keyShareVersion(EPOCH)),
        () => p.loadKeyShareVersion(EPOCH),
        () => p.listKeyShareVersions(),
        () => p.listKeyShareEpochs(),
        () => p.deleteKeyShareVersion(EPOCH),
        () => p.setActiveVersionEpoch(EPOCH),
        () => p.getActiveVersionEpoch(),
        () => p.saveNodeState(nodeState()),
        () => p.loadNodeState(),
        () => p.saveProtocolSession(protocolSession(EPOCH)),
        () => p.loadProtocolSession(EPOCH),
        () => p.deleteProtocolSession(EPOCH),
        () => p.listProtocolSessions(),
        () => p.healthCheck(),
      ];
      for (const call of calls) await expect(call()).rejects.toBeInstanceOf(PersistenceClosedError);
    });

    it('Close_InFlight: close waits for writes already started, which then persist', async () => {
      const versions = [keyShareVersion(EPOCH), keyShareVersion(EPOCH + 1)];
      const writes = [p.saveKeyShareVersion(versions[0]!), p.saveKeyShareVersion(versions[1]!, { activate: true }), p.saveNodeState(nodeState())];
      await p.close();
      await Promise.all(writes);
      if (!store.durable) return;
      p = await store.open();
      expect(await p.listKeyShareVersions()).toEqual(versions);
      expect(await p.getActiveVersionEpoch()).toBe(EPOCH + 1);
    });

    it('HealthCheck: reports the backend while open, rejects after close', async () => {
      const health = await p.healthCheck();
      expect(health.healthy).toBe(true);
      expect(health.backend).toBe(p.backend);
      expect(health.findings.length).toBeGreaterThan(0);
      await p.close();
      await expect(p.healthCheck()).rejects.toBeInstanceOf(PersistenceClosedError);
    });

    it('Persistence_AcrossRestarts: versions, pointer, state and sessions after close and reopen', async () => {
      const v1 = keyShareVersion(EPOCH);
      const v2 = keyShareVersion(EPOCH + 10);
      const s = nodeState();
      const session = protocolSession(EPOCH + 10);
      await p.saveKeyShareVersion(v1);
      await p.saveKeyShareVersion(v2, { activate: true });
      await p.saveNodeState(s);
      await p.saveProtocolSession(session);
      await p.close();
      p = await store.open();
      if (store.durable) {
        expect(await p.listKeyShareVersions()).toEqual([v1, v2]);
        expect(await p.getActiveVersionEpoch()).toBe(EPOCH + 10);
        expect(await p.loadNodeState()).toEqual(s);
        expect(await p.listProtocolSessions()).toEqual([session]);
      } else {
        // Memory: a new instance starts empty, which is exactly why it is test-only.
        expect(await p.listKeyShareVersions()).toEqual([]);
        expect(await p.loadNodeState()).toBeNull();
      }
    });

    if (options.records) describeRaw(() => store, () => p);
  });
}

/** Corruption and at-rest checks that need the raw stored bytes (Redis backends). */
function describeRaw(getStore: () => ConformanceStore, getP: () => NodePersistence): void {
  const withRaw = (title: string, body: (raw: NonNullable<ConformanceStore['raw']>, p: NodePersistence) => Promise<void>) => {
    it(title, async () => {
      const raw = getStore().raw;
      if (raw === undefined) throw new Error('a records backend must expose raw access');
      await body(raw, getP());
    });
  };

  withRaw('AtRest: no share appears in plaintext in any stored value', async ({ client, prefix }, p) => {
    const v = keyShareVersion(EPOCH);
    const session = protocolSession(EPOCH);
    await p.saveKeyShareVersion(v, { activate: true });
    await p.saveProtocolSession(session);
    const values = await client.mgetBuffer(`${prefix}keyshare:${EPOCH}`, `${prefix}session:${EPOCH}`);
    // Layout 2 headers: "KR", layout 2, kind (1 key share, 3 session); the rest is sealed.
    expect(values.map((value) => [...(value ?? Buffer.alloc(0)).subarray(0, 4)])).toEqual([[0x4b, 0x52, 2, 1], [0x4b, 0x52, 2, 3]]);
    const stored = values.map((value) => value?.toString('latin1')).join('\n');
    const needles = [v.privateShare, ...Object.values(session.shares)].flatMap(shareEncodings);
    for (const needle of needles) expect(stored).not.toContain(needle);
  });

  withRaw('Corrupt: garbage, swapped and bit-flipped records fail naming the key', async ({ client, prefix }, p) => {
    await p.saveKeyShareVersion(keyShareVersion(EPOCH));
    await p.saveKeyShareVersion(keyShareVersion(EPOCH + 1));
    const key0 = `${prefix}keyshare:${EPOCH}`;
    const key1 = `${prefix}keyshare:${EPOCH + 1}`;
    const original = (await client.getBuffer(key0))!;

    await client.set(key1, original);
    const swapped = await p.loadKeyShareVersion(EPOCH + 1).catch((e: unknown) => e);
    expect(swapped).toBeInstanceOf(CorruptRecordError);
    expect((swapped as CorruptRecordError).key).toBe(key1);
    await expect(p.listKeyShareVersions()).rejects.toThrow(key1);

    const flipped = Buffer.from(original);
    flipped[flipped.length - 20]! ^= 0x01;
    await client.set(key0, flipped);
    await expect(p.loadKeyShareVersion(EPOCH)).rejects.toThrow(new RegExp(`${key0}.*cannot be decrypted`));

    await client.set(key0, '{not json');
    await expect(p.loadKeyShareVersion(EPOCH)).rejects.toThrow(`${key0} is corrupt: is not valid JSON`);
    await client.set(key0, 'garbage');
    await expect(p.loadKeyShareVersion(EPOCH)).rejects.toThrow(`${key0} is corrupt: is neither a kms-node record nor JSON`);
    const relabelled = Buffer.from(original);
    relabelled[3] = 3; // the session kind
    await client.set(key0, relabelled);
    await expect(p.loadKeyShareVersion(EPOCH)).rejects.toThrow(`${key0} is corrupt: expected a keyshare record, found session`);
  });

  withRaw('Upgrade: layout-1 JSON records of an earlier build are read and listed next to new ones', async ({ client, prefix, sealingSecret }, p) => {
    const old = keyShareVersion(EPOCH);
    const key = `${prefix}keyshare:${EPOCH}`;
    const sealer = createRecordSealer(sealingSecret);
    const body = {
      epoch: old.epoch, privateShare: `0x${old.privateShare.toString(16)}`, commitments: old.commitments.map((c) => Buffer.from(c).toString('hex')),
      masterPublicKey: Buffer.from(old.masterPublicKey).toString('hex'), threshold: old.threshold, participants: old.participants, createdAt: old.createdAt,
    };
    // Exactly what the layout-1 writer stored: a JSON envelope, the body sealed with the key alone as AAD.
    const envelope = { format: 'kms-node/record', v: 1, kind: 'keyshare', sealed: Buffer.from(sealer.seal(key, Buffer.from(JSON.stringify(body)))).toString('base64') };
    await client.multi().set(key, JSON.stringify(envelope)).zadd(`${prefix}index:keyshares`, EPOCH, String(EPOCH)).exec();

    const fresh = keyShareVersion(EPOCH + 1);
    await p.saveKeyShareVersion(fresh, { activate: true });
    expect(await p.loadKeyShareVersion(EPOCH)).toEqual(old);
    expect(await p.listKeyShareVersions()).toEqual([old, fresh]);
    expect((await client.getBuffer(`${prefix}keyshare:${EPOCH + 1}`))?.subarray(0, 3)).toEqual(Buffer.from([0x4b, 0x52, 2]));
  });

  withRaw('Corrupt: an index entry whose record is missing is reported, not skipped', async ({ client, prefix }, p) => {
    await p.saveKeyShareVersion(keyShareVersion(EPOCH));
    await p.saveProtocolSession(protocolSession(EPOCH));
    await client.del(`${prefix}keyshare:${EPOCH}`, `${prefix}session:${EPOCH}`);
    await expect(p.listKeyShareVersions()).rejects.toThrow(`${prefix}keyshare:${EPOCH} is corrupt: is listed in the index but missing`);
    await expect(p.listProtocolSessions()).rejects.toThrow(`${prefix}session:${EPOCH} is corrupt`);
    expect(await p.listKeyShareEpochs()).toEqual([EPOCH]);
  });

  withRaw('Corrupt: an index member that is not an integer, or that holds a comma, is reported', async ({ client, prefix }, p) => {
    await p.saveKeyShareVersion(keyShareVersion(EPOCH));
    const index = `${prefix}index:keyshares`;
    const joined = `${EPOCH + 1},${EPOCH + 2}`;
    await client.zadd(index, EPOCH + 1, joined);
    await expect(p.listKeyShareEpochs()).rejects.toThrow(`${index} is corrupt: holds 2 members that join into 3 comma-separated parts`);
    await client.zrem(index, joined);
    await client.zadd(index, EPOCH + 1, '01');
    await expect(p.listKeyShareEpochs()).rejects.toThrow(`${index} is corrupt: holds a member that is not an integer ("01")`);
    await client.zrem(index, '01');
    expect(await p.listKeyShareEpochs()).toEqual([EPOCH]);
  });

  withRaw('Corrupt: a garbage active pointer and a garbage node state fail naming their keys', async ({ client, prefix }, p) => {
    await p.saveNodeState(nodeState());
    await client.set(`${prefix}active:version`, '12abc');
    await expect(p.getActiveVersionEpoch()).rejects.toThrow(`${prefix}active:version is corrupt`);
    await client.set(`${prefix}nodestate:main`, '{"format":"kms-node/record","v":1,"kind":"nodestate","sealed":"AAAA"}');
    await expect(p.loadNodeState()).rejects.toThrow(`${prefix}nodestate:main is corrupt`);
  });
}
