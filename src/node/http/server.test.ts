import fc from 'fast-check';
import { Registry } from 'prom-client';
import { capturingLogger } from '../../../test/harness/logCapture.js';
import { appIdProblem } from '../../crypto/appId.js';
import { G1, G2, encodeG1, encodeG2 } from '../../crypto/index.js';
import { silentLogger } from '../../logging/logger.js';
import { TransportError } from '../../transport/errors.js';
import type { PubkeyFacts } from '../../wire/pubkey.js';
import { EarlyMessageRefusedError, NoKeyVersionError } from '../errors.js';
import { DEFAULT_APP_SIGN_POLICY } from './appSignAccess.js';
import { buildHttpServer, type HealthView, type NodeApi } from './server.js';

const ADDRESS = '0x00000000000000000000000000000000000000ab';
const CHECKSUMMED = '0x00000000000000000000000000000000000000AB';

function api(overrides: Partial<NodeApi> = {}): NodeApi {
  const registry = new Registry();
  return {
    publicKey: () => null,
    publicKeyAt: () => Promise.resolve(null),
    signApp: (_appId, attestationTime) =>
      Promise.resolve({ operatorAddress: ADDRESS, version: attestationTime ?? 7, partialSignature: encodeG1(G1.BASE) }),
    health: (): Promise<HealthView> => Promise.resolve({ status: 'ok', body: { phase: 'running' } }),
    metrics: registry,
    receiveProtocolMessage: () => Promise.resolve(),
    protocolRoutes: ['/protocol/dkg/share'],
    ...overrides,
  };
}

describe('HTTP API', () => {
  it('GET /pubkey: 503 with a code before the first key, the view after', async () => {
    const none = buildHttpServer(api(), { logger: silentLogger() });
    const res = await none.inject({ method: 'GET', url: '/pubkey' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'NO_ACTIVE_KEY', message: 'this node has no active key version yet' } });
    const mpk = encodeG2(G2.BASE);
    const view: PubkeyFacts = { operatorAddress: ADDRESS, version: 5, isActive: true, threshold: 1, masterPublicKey: mpk, commitments: [mpk], participants: [ADDRESS] };
    const some = buildHttpServer(api({ publicKey: () => view }), { logger: silentLogger() });
    const b64 = Buffer.from(mpk).toString('base64');
    expect((await some.inject({ method: 'GET', url: '/pubkey' })).json()).toEqual({
      operatorAddress: CHECKSUMMED, version: 5, isActive: true, threshold: 1, masterPublicKey: { CompressedBytes: b64 }, commitments: [{ CompressedBytes: b64 }], participants: [ADDRESS],
    });
  });

  it('POST /app/sign checks the app id by the UTF-8 rule and names the field', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const ok = await server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'my-app', AttestationTime: 12 } });
    expect(ok.json()).toEqual({ OperatorAddress: CHECKSUMMED, Version: 12, PartialSignature: { CompressedBytes: Buffer.from(encodeG1(G1.BASE)).toString('base64') } });
    const short = await server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'abcd' } });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toEqual({ error: { code: 'INVALID_APP_ID', message: 'app id must be at least 5 bytes in UTF-8, got 4', details: { field: 'AppID' } } });
    // Three characters, nine bytes: valid, as in Go.
    expect((await server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: '日本語' } })).statusCode).toBe(200);
    const lone = await server.inject({ method: 'POST', url: '/app/sign', headers: { 'content-type': 'application/json' }, payload: '{"AppID":"\\ud800abcd"}' });
    expect(lone.statusCode).toBe(400);
    expect(lone.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'INVALID_APP_ID', message: expect.stringMatching(/not well-formed Unicode: lone surrogate U\+D800 at index 0/) as unknown });
  });

  it('refuses bodies over the limit with 413', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const res = await server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'x'.repeat(20_000) } });
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: { message: string } }>().error.message).toBe('request body is too large');
  });

  it('maps typed errors to 4xx with their code, anything else to a bare 500', async () => {
    const noVersion = buildHttpServer(api({ signApp: () => Promise.reject(new NoKeyVersionError('no key version valid at 5')) }), { logger: silentLogger() });
    const res404 = await noVersion.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'my-app' } });
    expect(res404.statusCode).toBe(404);
    expect(res404.json<{ error: { code: string } }>().error.code).toBe('NODE_NO_KEY_VERSION');

    const boom = buildHttpServer(api({ signApp: () => Promise.reject(new Error('share=123 secret detail')) }), { logger: silentLogger() });
    const res500 = await boom.inject({ method: 'POST', url: '/app/sign', payload: { AppID: 'my-app' } });
    expect(res500.statusCode).toBe(500);
    expect(res500.body).not.toMatch(/secret|share=|at /);
  });

  it('protocol routes answer transport rejections with their status', async () => {
    const server = buildHttpServer(
      api({ receiveProtocolMessage: () => Promise.reject(new TransportError('BAD_SIGNATURE', 'signature does not match')) }),
      { logger: silentLogger() },
    );
    const res = await server.inject({ method: 'POST', url: '/protocol/dkg/share', payload: {} });
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('BAD_SIGNATURE');
  });

  it('a refused protocol request gets its typed 4xx and one warn line with code and sender, never the body', async () => {
    const { logger, lines } = capturingLogger();
    const sender = `0x${'ab'.repeat(20)}`;
    const secretShare = `0x${'5e'.repeat(32)}`;
    const cases: [TransportError | EarlyMessageRefusedError, number][] = [
      [new TransportError('SHARE_DECRYPTION_FAILED', `share from ${sender} for session 7 failed authentication`), 400],
      [new TransportError('BAD_SIGNATURE', 'signature does not match', { details: { from: sender } }), 401],
      [new TransportError('UNKNOWN_SENDER', 'not in the set', { details: { from: sender } }), 403],
      [new TransportError('REPLAYED_MESSAGE', 'seen before'), 409],
      [new EarlyMessageRefusedError('INBOX_SENDER_QUOTA', 'too much buffered', { from: sender }), 429],
      [new EarlyMessageRefusedError('EARLY_MESSAGE_TOO_LARGE', 'too large', { from: sender }), 413],
    ];
    for (const [error, status] of cases) {
      const server = buildHttpServer(api({ receiveProtocolMessage: () => Promise.reject(error) }), { logger });
      const payload = JSON.stringify({ from: sender, share: secretShare, type: 'deal' });
      const res = await server.inject({ method: 'POST', url: '/protocol/dkg/share', payload: { v: 1, payload, sentAt: 1, nonce: '0x00', signature: '0x00' } });
      expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, error.code]);
    }
    const logged = lines().map((l) => JSON.parse(l) as { level: number; msg: string; code: string; sender: string; status: number; senderVerified: boolean });
    expect(logged.map((l) => [l.level, l.msg, l.code, l.status, l.sender])).toEqual(cases.map(([error, status]) => [40, 'protocol request rejected', error.code, status, sender]));
    expect(logged.find((l) => l.code === 'BAD_SIGNATURE')?.senderVerified).toBe(false);
    expect(logged.find((l) => l.code === 'SHARE_DECRYPTION_FAILED')?.senderVerified).toBe(true);
    expect(lines().join('\n')).not.toContain('5e5e5e');
  });

  it('a flood of rejected protocol requests writes a bounded number of log lines', async () => {
    const { logger, lines } = capturingLogger();
    const server = buildHttpServer(api({ receiveProtocolMessage: () => Promise.reject(new TransportError('BAD_SIGNATURE', 'no', { details: { from: `0x${'cd'.repeat(20)}` } })) }), { logger });
    for (let i = 0; i < 300; i++) {
      expect((await server.inject({ method: 'POST', url: '/protocol/dkg/share', payload: {} })).statusCode).toBe(401);
    }
    expect(lines().filter((l) => l.includes('protocol request rejected'))).toHaveLength(5);
  }, 60_000);

  it('GET /health is 503 when unhealthy, 200 otherwise; /metrics is Prometheus text', async () => {
    const server = buildHttpServer(api({ health: () => Promise.resolve({ status: 'unhealthy', body: { reason: 'aof off' } }) }), { logger: silentLogger() });
    const res = await server.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reason: 'aof off' });
    const metrics = await server.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    // Liveness says nothing about persistence: the unhealthy node is alive.
    const live = await server.inject({ method: 'GET', url: '/livez' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'alive' });
  });

  it('unknown routes are a JSON 404', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const res = await server.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });
});

describe('POST /app/sign applies the app id rule across the Unicode range', () => {
  it('signs exactly the id sent when it is valid, else 400 INVALID_APP_ID; never a repaired id', async () => {
    const seen: string[] = [];
    const server = buildHttpServer(api({
      signApp: (appId) => {
        seen.push(appId);
        return Promise.resolve({ operatorAddress: ADDRESS, version: 1, partialSignature: encodeG1(G1.BASE) });
      },
      // Hundreds of requests from one test client: no rate limit in the way.
    }), { logger: silentLogger(), appSign: { ...DEFAULT_APP_SIGN_POLICY, burst: 100_000 } });
    const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyUnits, fc.string({ unit: 'binary', maxLength: 30 })), async (id) => {
        seen.length = 0;
        // JSON.stringify writes a lone surrogate as a \uXXXX escape, as any JSON encoder must.
        const res = await server.inject({ method: 'POST', url: '/app/sign', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ AppID: id }) });
        if (appIdProblem(id) === null) return res.statusCode === 200 && seen.length === 1 && seen[0] === id;
        // An empty AppID is "AppID is required", as in Go.
        const code = id === '' ? 'INVALID_REQUEST' : 'INVALID_APP_ID';
        return res.statusCode === 400 && res.json<{ error: { code: string } }>().error.code === code && seen.length === 0;
      }),
      { numRuns: 300 },
    );
  });
});
