import type { Operator, OperatorSetSource } from '../chain/operatorSet.js';
import { createDeterministicRng } from '../crypto/deterministicRng.js';
import { ibeDecrypt, ibeEncrypt, g2FromHex, hashToG1, interpolateAtZero, operatorId } from '../crypto/index.js';
import { runDkg, startNodes, wrongPartial, type DkgKeys, type FakeNodes } from '../../test/harness/dkgCluster.js';
import { createKmsClient, type KmsClient } from './index.js';
import { codeOf } from '../../test/gen/errorCode.js';

const APP = 'index-test-app';
let keys: DkgKeys;
let nodes: FakeNodes;
let client: KmsClient;

beforeAll(async () => {
  keys = runDkg(4, 'client-index');
  // Node 2 lies on /app/sign for every app: the client must still work.
  nodes = await startNodes(keys, { 2: { sign: (honest, appId) => ({ ...honest, partialSignature: wrongPartial(keys, appId, 2) }) } });
  client = createKmsClient({ nodes: nodes.urls, timeoutMs: 5_000 });
}, 120_000);

afterAll(async () => {
  await nodes.close();
});

const bytes = (s: string) => new TextEncoder().encode(s);


/** Real pairings on a shared 2-core machine: generous, never asserted on. */
const SLOW = 60_000;

describe('createKmsClient', () => {
  it('encrypt → decrypt round trip (text, binary, empty) despite one lying node', async () => {
    const binary = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
    for (const plaintext of [bytes('database password'), binary, new Uint8Array(0)]) {
      const ct = await client.encrypt(APP, plaintext);
      expect(Buffer.from(await client.decrypt(APP, ct))).toEqual(Buffer.from(plaintext));
    }
  }, SLOW);

  it('interoperates with the crypto core both ways (same MPK, same app key)', async () => {
    const mpk = g2FromHex(keys.masterPublicKeyHex);
    const byCore = await ibeEncrypt(APP, mpk, bytes('from the core'), createDeterministicRng('index-test'));
    expect(new TextDecoder().decode(await client.decrypt(APP, byCore))).toBe('from the core');
    const secret = interpolateAtZero(keys.versions.map((v, i) => ({ x: operatorId(keys.operators[i]!), y: v.privateShare })));
    const byClient = await client.encrypt(APP, bytes('from the client'));
    expect(new TextDecoder().decode(await ibeDecrypt(APP, hashToG1(APP).multiply(secret), byClient))).toBe('from the client');
  }, SLOW);

  it('refuses a tampered ciphertext and one encrypted to another app id with CLIENT_DECRYPTION_FAILED', async () => {
    const ct = await client.encrypt(APP, bytes('payload'));
    const tampered = Uint8Array.from(ct);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expect(client.decrypt(APP, tampered)).rejects.toMatchObject({ code: 'CLIENT_DECRYPTION_FAILED' });
    await expect(client.decrypt('another-app', ct)).rejects.toMatchObject({ code: 'CLIENT_DECRYPTION_FAILED' });
  }, SLOW);

  it('refuses a malformed ciphertext or app id before asking any node', async () => {
    const before = [...nodes.signCalls];
    await expect(client.decrypt(APP, bytes('IBE not really'))).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT', message: expect.stringMatching(/not an IBE ciphertext/) as unknown });
    await expect(client.decrypt('abc', new Uint8Array(200))).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    await expect(client.encrypt('abc', bytes('x'))).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    await expect(client.deriveAppKey(APP, { attestationTime: 1.5 })).rejects.toMatchObject({ code: 'CLIENT_BAD_INPUT' });
    expect(nodes.signCalls).toEqual(before);
  }, SLOW);

  it('reads node URLs from an operator-set source and checks each node is the listed operator', async () => {
    const operators: Operator[] = keys.operators.map((address, i) => ({
      address: address as `0x${string}`,
      socketUrl: nodes.urls[i]!,
      signingPublicKey: new Uint8Array(64),
      signingAddress: address as `0x${string}`,
    }));
    const source: OperatorSetSource = { getOperators: () => Promise.resolve(operators) };
    const viaSource = createKmsClient({ nodes: source });
    expect((await viaSource.resolveNodes()).map((n) => n.expectedAddress)).toEqual(keys.operators);
    const derived = await viaSource.deriveAppKey(APP);
    expect(derived.rejected.map((r) => r.url)).toEqual([new URL(nodes.urls[2]!).origin]);
    // Swap two URLs in the listing: both nodes now answer as someone else and are not counted.
    const swapped = operators.map((op, i) => ({ ...op, socketUrl: nodes.urls[i === 0 ? 1 : i === 1 ? 0 : i]! }));
    const wrong = createKmsClient({ nodes: { getOperators: () => Promise.resolve(swapped) } });
    await expect(wrong.getMasterPublicKey()).rejects.toMatchObject({ code: 'CLIENT_NO_AGREEMENT' });
  }, SLOW);

  it('reports an unreadable operator set as CLIENT_OPERATOR_SET_UNAVAILABLE', async () => {
    const broken = createKmsClient({ nodes: { getOperators: () => Promise.reject(new Error('rpc down')) } });
    await expect(broken.getMasterPublicKey()).rejects.toMatchObject({ code: 'CLIENT_OPERATOR_SET_UNAVAILABLE', message: expect.stringMatching(/rpc down/) as unknown });
  }, SLOW);

  it('uses the injected fetch, and validates options at construction', async () => {
    const urls: string[] = [];
    const spy = createKmsClient({
      nodes: nodes.urls,
      fetch: (input, init) => {
        urls.push(input);
        return fetch(input, init);
      },
    });
    await spy.getMasterPublicKey();
    expect(urls.sort()).toEqual(nodes.urls.map((u) => `${u}/pubkey`).sort());
    expect(codeOf(() => createKmsClient({ nodes: nodes.urls, timeoutMs: 0 }))).toBe('CLIENT_BAD_INPUT');
    expect(codeOf(() => createKmsClient({ nodes: ['ftp://x'] }))).toBe('CLIENT_BAD_INPUT');
    // Duplicate URLs are asked once.
    expect(await createKmsClient({ nodes: [nodes.urls[0]!, `${nodes.urls[0]!}/`] }).resolveNodes()).toHaveLength(1);
  }, SLOW);
});
