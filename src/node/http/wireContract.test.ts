/**
 * Contract tests of the public HTTP API against the Go original's shapes, pinned by
 * fixtures written by hand (src/wire/__fixtures__/upstream-http.json). Renaming a key,
 * re-encoding a point (hex for base64, uncompressed for compressed) or changing the
 * address case makes them fail.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { startRawNode } from '../../../test/harness/dkgCluster.js';
import { fetchPubkey, nodeTarget, requestPartialSignature, type NodeRequestOptions } from '../../client/nodeApi.js';
import { G1, G2, encodeG1, encodeG2 } from '../../crypto/index.js';
import { silentLogger } from '../../logging/logger.js';
import type { AppSignFacts } from '../../wire/appSign.js';
import type { PubkeyFacts } from '../../wire/pubkey.js';
import { buildHttpServer, type NodeApi } from './server.js';

interface Fixture {
  g1GeneratorBase64: string;
  g2GeneratorBase64: string;
  operatorAddressLower: `0x${string}`;
  pubkeyResponse: Record<string, unknown>;
  pubkeyExtraKeys: Record<string, unknown>;
  appSignRequestFromGoClient: string;
  appSignResponse: Record<string, unknown>;
  appSignExtraKeys: { Version: number };
  goZeroG1PointBase64: string;
  goZeroG2PointBase64: string;
  compressedG1IdentityBase64: string;
}

const fixture = JSON.parse(readFileSync(new URL('../../wire/__fixtures__/upstream-http.json', import.meta.url), 'utf8')) as Fixture;
const VERSION = fixture.appSignExtraKeys.Version;
const hexOf = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

const facts: PubkeyFacts = {
  operatorAddress: fixture.operatorAddressLower,
  version: VERSION,
  isActive: true,
  threshold: 1,
  masterPublicKey: encodeG2(G2.BASE),
  commitments: [encodeG2(G2.BASE)],
  participants: [fixture.operatorAddressLower],
};

function api(overrides: Partial<NodeApi> = {}, calls: [string, number | null][] = []): NodeApi {
  return {
    publicKey: () => facts,
    publicKeyAt: (epoch) => Promise.resolve(epoch === VERSION ? facts : null),
    signApp: (appId, attestationTime): Promise<AppSignFacts> => {
      calls.push([appId, attestationTime]);
      return Promise.resolve({ operatorAddress: fixture.operatorAddressLower, partialSignature: encodeG1(G1.BASE), version: VERSION });
    },
    health: () => Promise.resolve({ status: 'ok', body: {} }),
    metrics: new Registry(),
    receiveProtocolMessage: () => Promise.resolve(),
    protocolRoutes: ['/protocol/dkg/share'],
    ...overrides,
  };
}

const server = (overrides: Partial<NodeApi> = {}, calls: [string, number | null][] = []) => buildHttpServer(api(overrides, calls), { logger: silentLogger() });

describe('the fixtures are what they say', () => {
  it('holds the generators in standard base64 of their compressed encodings', () => {
    expect(Buffer.from(fixture.g1GeneratorBase64, 'base64')).toEqual(Buffer.from(encodeG1(G1.BASE)));
    expect(Buffer.from(fixture.g2GeneratorBase64, 'base64')).toEqual(Buffer.from(encodeG2(G2.BASE)));
    expect(Buffer.from(fixture.goZeroG1PointBase64, 'base64')).toHaveLength(96);
    expect(Buffer.from(fixture.goZeroG2PointBase64, 'base64')).toHaveLength(192);
  });
});

describe('GET /pubkey is the Go shape', () => {
  it('answers exactly the upstream keys and encodings, plus our two extra keys', async () => {
    const res = await server().inject({ method: 'GET', url: '/pubkey' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ ...fixture.pubkeyResponse, ...fixture.pubkeyExtraKeys });
  });

  it('?version= answers the same shape; isActive says whether it is the active version', async () => {
    const older = { ...facts, isActive: false };
    const res = await server({ publicKeyAt: () => Promise.resolve(older) }).inject({ method: 'GET', url: `/pubkey?version=${VERSION}` });
    expect(res.json()).toEqual({ ...fixture.pubkeyResponse, ...fixture.pubkeyExtraKeys, isActive: false });
  });

  it('answers 503 when there is no active version', async () => {
    const res = await server({ publicKey: () => null }).inject({ method: 'GET', url: '/pubkey' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'NO_ACTIVE_KEY', message: 'this node has no active key version yet' } });
  });
});

describe('POST /app/sign is the Go shape', () => {
  it('takes the Go client’s request byte for byte and answers the upstream keys plus Version', async () => {
    const calls: [string, number | null][] = [];
    const res = await server({}, calls).inject({
      method: 'POST',
      url: '/app/sign',
      headers: { 'content-type': 'application/json' },
      payload: fixture.appSignRequestFromGoClient,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...fixture.appSignResponse, ...fixture.appSignExtraKeys });
    expect(calls).toEqual([['my-app-id', null]]);
  });

  it.each([
    ['AttestationTime 0', { AppID: 'my-app-id', AttestationTime: 0 }, null],
    ['AttestationTime absent', { AppID: 'my-app-id' }, null],
    ['AttestationTime null', { AppID: 'my-app-id', AttestationTime: null }, null],
    ['a positive AttestationTime', { AppID: 'my-app-id', AttestationTime: 1795699700 }, 1795699700],
    ['keys in another case (Go binds them)', { appid: 'my-app-id', attestationTIME: 5 }, 5],
    ['unknown keys (Go ignores them)', { AppID: 'my-app-id', StackID: 'x' }, null],
  ])('%s', async (_what, body, expected) => {
    const calls: [string, number | null][] = [];
    const res = await server({}, calls).inject({ method: 'POST', url: '/app/sign', payload: body });
    expect(res.statusCode).toBe(200);
    expect(calls).toEqual([['my-app-id', expected]]);
  });

  it('reads the body as JSON whatever the content type, as Go does (curl -d sends a form type)', async () => {
    const res = await server().inject({
      method: 'POST',
      url: '/app/sign',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: fixture.appSignRequestFromGoClient,
    });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['snake_case keys (Go does not bind them)', { app_id: 'my-app-id' }, 'AppID', /AppID is required/],
    ['a number as AppID', { AppID: 12345 }, 'AppID', /AppID must be a string, got number/],
    ['a field twice', { AppID: 'my-app-id', appId: 'other-app' }, 'AppID', /AppID is given twice \(as "AppID" and "appId"\)/],
    ['a negative AttestationTime', { AppID: 'my-app-id', AttestationTime: -1 }, 'AttestationTime', /non-negative integer of Unix seconds/],
    ['a fractional AttestationTime', { AppID: 'my-app-id', AttestationTime: 1.5 }, 'AttestationTime', /non-negative integer/],
    ['an array body', ['my-app-id'], 'body', /must be a JSON object/],
  ])('refuses %s with 400 INVALID_REQUEST naming the field', async (_what, body, field, message) => {
    const res = await server().inject({ method: 'POST', url: '/app/sign', payload: body });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string; details: { field: string } } }>();
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/Fix: send \{"AppID"/);
  });

  it('refuses bytes that are not UTF-8 and text that is not JSON, never repairing them', async () => {
    const calls: [string, number | null][] = [];
    const bad = Buffer.concat([Buffer.from('{"AppID":"my-app-'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    const res = await server({}, calls).inject({ method: 'POST', url: '/app/sign', headers: { 'content-type': 'application/json' }, payload: bad });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('INVALID_UTF8');
    const notJson = await server({}, calls).inject({ method: 'POST', url: '/app/sign', headers: { 'content-type': 'application/json' }, payload: '{"AppID":' });
    expect(notJson.json<{ error: { code: string } }>().error.code).toBe('INVALID_JSON');
    expect(calls).toEqual([]);
  });
});

describe('wrong methods answer 405 with Allow, unknown paths 404', () => {
  it.each([
    ['POST', '/pubkey', 'GET, HEAD'],
    ['DELETE', '/pubkey', 'GET, HEAD'],
    ['GET', '/app/sign', 'POST'],
    ['PUT', '/app/sign', 'POST'],
    ['GET', '/protocol/dkg/share', 'POST'],
  ] as const)('%s %s', async (method, url, allow) => {
    const res = await server().inject({ method, url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json<{ error: { code: string; message: string } }>().error).toEqual({
      code: 'METHOD_NOT_ALLOWED',
      message: `${method} is not allowed on ${url}. Fix: use ${allow}`,
    });
  });

  it('keeps 404 for paths that do not exist', async () => {
    const res = await server().inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });
});

describe('our client speaks the same format', () => {
  const request: NodeRequestOptions = { timeoutMs: 5_000, fetch: (input, init) => fetch(input, init) };
  const raw: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((s) => s.close()));
  });
  async function serve(body: unknown, seen?: string[]): Promise<string> {
    const node = await startRawNode((req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        seen?.push(text);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    raw.push(node);
    return node.url;
  }

  it('sends the Go client’s request byte for byte and reads the upstream answer', async () => {
    const seen: string[] = [];
    const url = await serve({ ...fixture.appSignResponse, ...fixture.appSignExtraKeys }, seen);
    const answer = await requestPartialSignature(nodeTarget(url), { appId: 'my-app-id' }, request);
    expect(seen).toEqual([fixture.appSignRequestFromGoClient]);
    expect(answer).toEqual({ OperatorAddress: fixture.operatorAddressLower, PartialSignature: hexOf(encodeG1(G1.BASE)), Version: VERSION });
  });

  it('reads the upstream /pubkey (points to compressed hex, address lowercase)', async () => {
    const url = await serve({ ...fixture.pubkeyResponse, ...fixture.pubkeyExtraKeys });
    const view = await fetchPubkey(nodeTarget(url), request);
    const g2 = hexOf(encodeG2(G2.BASE));
    expect(view).toEqual({ operatorAddress: fixture.operatorAddressLower, version: VERSION, isActive: true, threshold: 1, masterPublicKey: g2, commitments: [g2], participants: [fixture.operatorAddressLower] });
  });

  it('reads Go’s uncompressed identity as the compressed identity, and a null MPK as null', async () => {
    const zero = { CompressedBytes: fixture.goZeroG2PointBase64 };
    const url = await serve({ ...fixture.pubkeyResponse, ...fixture.pubkeyExtraKeys, masterPublicKey: null, commitments: [zero] });
    const view = await fetchPubkey(nodeTarget(url), request);
    expect(view.masterPublicKey).toBeNull();
    expect(view.commitments).toEqual([`0xc0${'00'.repeat(95)}`]);
    const sig = await serve({ ...fixture.appSignResponse, ...fixture.appSignExtraKeys, PartialSignature: { CompressedBytes: fixture.goZeroG1PointBase64 } });
    const answer = await requestPartialSignature(nodeTarget(sig), { appId: 'my-app-id' }, request);
    expect(answer.PartialSignature).toBe(hexOf(Buffer.from(fixture.compressedG1IdentityBase64, 'base64')));
  });

  it.each([
    ['hex instead of base64', { CompressedBytes: hexOf(encodeG1(G1.BASE)) }, /not standard base64/],
    ['a bare hex string', hexOf(encodeG1(G1.BASE)), /expected object/],
    ['unpadded base64', { CompressedBytes: fixture.g1GeneratorBase64.replace(/=+$/, '').slice(0, -1) }, /not standard base64/],
    ['a G2 where a G1 belongs', { CompressedBytes: fixture.g2GeneratorBase64 }, /holds 96 bytes, a compressed G1 point has 48/],
  ])('refuses a partial signature sent as %s', async (_what, partial, message) => {
    const url = await serve({ ...fixture.appSignResponse, ...fixture.appSignExtraKeys, PartialSignature: partial });
    await expect(requestPartialSignature(nodeTarget(url), { appId: 'my-app-id' }, request)).rejects.toThrow(message);
  });
});
