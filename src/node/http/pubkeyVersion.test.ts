import { Registry } from 'prom-client';
import { commitPolynomial, encodeG1, encodeG2, evaluatePolynomial, g1FromHex, g2FromHex, operatorId, partialSign, publicShare, verifyPartial } from '../../crypto/index.js';
import { appSignResponseSchema } from '../../wire/appSign.js';
import { pubkeyResponseSchema, type PubkeyJson } from '../../wire/pubkey.js';
import { silentLogger } from '../../logging/logger.js';
import { MemoryPersistence } from '../../persistence/memory/memoryPersistence.js';
import type { KeyShareVersion, OperatorAddress } from '../../persistence/types.js';
import { counting } from '../../../test/gen/countingPersistence.js';
import { KeyStore } from '../keyStore.js';
import { pubkeyViewOf, storedPubkeyView } from '../publicKeyView.js';
import { buildHttpServer, type HttpServer } from './server.js';

type PubkeyView = PubkeyJson;

const SELF: OperatorAddress = '0x00000000000000000000000000000000000000a1';
const OTHER: OperatorAddress = '0x00000000000000000000000000000000000000b2';
const EPOCHS = [1_700_000_000, 1_700_000_400, 1_700_000_800] as const;
const ACTIVE = EPOCHS[2];

/** A real 2-of-2 sharing per epoch (fixed coefficients): commitments match SELF's share. */
function version(epoch: number): KeyShareVersion {
  const coefficients = [123_456_789n, BigInt(epoch) * 1_000_003n];
  const commitments = commitPolynomial(coefficients).map(encodeG2);
  return {
    epoch,
    privateShare: evaluatePolynomial(coefficients, operatorId(SELF)),
    commitments,
    masterPublicKey: commitments[0]!,
    threshold: 2,
    participants: [SELF, OTHER],
    createdAt: epoch * 1000,
  };
}

const versions = EPOCHS.map(version);

/** Every way a share could be spelled in a body: decimal, hex, 32-byte padded hex. */
function expectNoShare(body: string): void {
  for (const v of versions) {
    const hex = v.privateShare.toString(16);
    for (const spelling of [v.privateShare.toString(10), hex, hex.padStart(64, '0')]) expect(body).not.toContain(spelling);
  }
}

let loads: number[];
let lists: () => number;

/** The node's HTTP API over a real KeyStore, wired as KmsNode wires it. */
async function serverOverKeyStore(): Promise<HttpServer> {
  const inner = new MemoryPersistence({ logger: silentLogger() });
  for (const v of versions) await inner.saveKeyShareVersion(v, { activate: v.epoch === ACTIVE });
  const counted = counting(inner);
  ({ loads, lists } = counted);
  const persistence = counted.persistence;
  const store = await KeyStore.restore(persistence);
  loads.length = 0;
  return buildHttpServer(
    {
      publicKey: () => (store.activeVersion === null ? null : pubkeyViewOf(store.activeVersion, SELF, true)),
      publicKeyAt: (epoch) => storedPubkeyView(store, epoch, SELF),
      signApp: async (appId, attestationTime) => {
        const v = attestationTime === null ? store.activeVersion : await store.versionAt(attestationTime);
        if (v === null) throw new Error('no version');
        return { operatorAddress: SELF, version: v.epoch, partialSignature: encodeG1(partialSign(v.privateShare, appId)) };
      },
      health: () => Promise.resolve({ status: 'ok', body: {} }),
      metrics: new Registry(),
      receiveProtocolMessage: () => Promise.resolve(),
      protocolRoutes: [],
    },
    { logger: silentLogger() },
  );
}

describe('GET /pubkey?version=<epoch>', () => {
  it('answers a stored older version in the shape of /pubkey, read lazily through the key store, never the share', async () => {
    const server = await serverOverKeyStore();
    const active = await server.inject({ method: 'GET', url: '/pubkey' });
    const older = await server.inject({ method: 'GET', url: `/pubkey?version=${EPOCHS[0]}` });
    expect(older.statusCode).toBe(200);
    const view = older.json<PubkeyView>();
    expect(Object.keys(view).sort()).toEqual(Object.keys(active.json<PubkeyView>()).sort());
    const b64 = (b: Uint8Array) => ({ CompressedBytes: Buffer.from(b).toString('base64') });
    expect(view).toEqual({
      operatorAddress: '0x00000000000000000000000000000000000000A1',
      version: EPOCHS[0],
      isActive: false,
      threshold: 2,
      masterPublicKey: b64(versions[0]!.masterPublicKey),
      commitments: versions[0]!.commitments.map(b64),
      participants: [SELF, OTHER],
    });
    expect(active.json<PubkeyView>().version).toBe(ACTIVE);
    // The active version is in memory; the older one is one record read, then cached.
    expect((await server.inject({ method: 'GET', url: `/pubkey?version=${ACTIVE}` })).json<PubkeyView>()).toEqual(active.json());
    expect(active.json<PubkeyView>().isActive).toBe(true);
    await server.inject({ method: 'GET', url: `/pubkey?version=${EPOCHS[0]}` });
    expect(loads).toEqual([EPOCHS[0]]);
    expect(lists()).toBe(0);
    for (const res of [active, older]) expectNoShare(res.body);
  });

  it('without the parameter (other query keys ignored) it is today’s active view', async () => {
    const server = await serverOverKeyStore();
    const plain = await server.inject({ method: 'GET', url: '/pubkey' });
    const other = await server.inject({ method: 'GET', url: '/pubkey?format=json' });
    expect(plain.json<PubkeyView>().version).toBe(ACTIVE);
    expect(other.json()).toEqual(plain.json());
    expect(loads).toEqual([]);
  });

  it.each([
    ['abc', 'version=abc'],
    ['negative', 'version=-1'],
    ['fraction', 'version=1.5'],
    ['exponent', 'version=1e9'],
    ['empty', 'version='],
    ['beyond a safe integer', 'version=9007199254740993'],
    ['too long', `version=${'1'.repeat(17)}`],
    ['given twice', `version=${EPOCHS[0]}&version=${EPOCHS[1]}`],
  ])('refuses a %s version with 400 INVALID_VERSION_PARAMETER naming the parameter and what to send', async (_what, query) => {
    const server = await serverOverKeyStore();
    const res = await server.inject({ method: 'GET', url: `/pubkey?${query}` });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string; details: Record<string, unknown> } }>();
    expect(error.code).toBe('INVALID_VERSION_PARAMETER');
    expect(error.details).toEqual({ parameter: 'version' });
    expect(error.message).toMatch(/"version" must be a key version epoch, a non-negative integer/);
    expect(error.message).toMatch(/send e\.g\. GET \/pubkey\?version=\d+/);
    expect(loads).toEqual([]);
  });

  it('answers 404 KEY_VERSION_NOT_FOUND for an epoch this node does not hold, without reading any record', async () => {
    const server = await serverOverKeyStore();
    for (const epoch of [0, EPOCHS[0] - 1, EPOCHS[0] + 1, ACTIVE + 1]) {
      const res = await server.inject({ method: 'GET', url: `/pubkey?version=${epoch}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({
        error: { code: 'KEY_VERSION_NOT_FOUND', message: expect.stringContaining(`no key version with epoch ${epoch}`) as unknown, details: { version: epoch } },
      });
    }
    expect(loads).toEqual([]);
  });

  it('an /app/sign answer names the signing version; that version’s /pubkey verifies the partial', async () => {
    const server = await serverOverKeyStore();
    const bodies: string[] = [];
    for (const [i, epoch] of EPOCHS.entries()) {
      const signed = await server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'my-app', AttestationTime: epoch + 10 } });
      const answer = appSignResponseSchema.parse(signed.json());
      expect(answer.Version).toBe(epoch);
      const res = await server.inject({ method: 'GET', url: `/pubkey?version=${answer.Version}` });
      const commitments = pubkeyResponseSchema.parse(res.json()).commitments.map((c) => g2FromHex(c));
      const partial = g1FromHex(answer.PartialSignature);
      expect(verifyPartial(partial, 'my-app', publicShare(commitments, operatorId(SELF)))).toBe(true);
      // And not against another version's commitments: the check can fail.
      const otherVersion = versions[(i + 1) % versions.length]!.commitments.map((c) => g2FromHex(`0x${Buffer.from(c).toString('hex')}`));
      expect(verifyPartial(partial, 'my-app', publicShare(otherVersion, operatorId(SELF)))).toBe(false);
      bodies.push(signed.body, res.body);
    }
    bodies.push((await server.inject({ method: 'GET', url: '/pubkey?version=1' })).body, (await server.inject({ method: 'GET', url: '/pubkey?version=x' })).body);
    for (const body of bodies) expectNoShare(body);
  }, 60_000);
});
