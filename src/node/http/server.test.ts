import { Registry } from 'prom-client';
import { capturingLogger } from '../../../test/harness/logCapture.js';
import { silentLogger } from '../../logging/logger.js';
import { TransportError } from '../../transport/errors.js';
import { EarlyMessageRefusedError, NoKeyVersionError } from '../errors.js';
import { buildHttpServer, type HealthView, type NodeApi, type PubkeyView } from './server.js';

function api(overrides: Partial<NodeApi> = {}): NodeApi {
  const registry = new Registry();
  return {
    publicKey: () => null,
    publicKeyAt: () => Promise.resolve(null),
    signApp: (appId, attestationTime) =>
      Promise.resolve({ operatorAddress: '0xabc', version: attestationTime ?? 7, partialSignature: `sig:${appId}` }),
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
    const view: PubkeyView = { operatorAddress: '0xabc', version: 5, threshold: 3, masterPublicKey: '0x01', commitments: ['0x01'], participants: ['0xabc'] };
    const some = buildHttpServer(api({ publicKey: () => view }), { logger: silentLogger() });
    expect((await some.inject({ method: 'GET', url: '/pubkey' })).json()).toEqual(view);
  });

  it('POST /app/sign validates the body and names the field', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const ok = await server.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'my-app', attestationTime: 12 } });
    expect(ok.json()).toEqual({ operatorAddress: '0xabc', version: 12, partialSignature: 'sig:my-app' });
    const short = await server.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'abc' } });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: 'appId: appId must be at least 5 characters' } });
    const unknown = await server.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'my-app', extra: 1 } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ error: { message: string } }>().error.message).toMatch(/extra/);
    const notJson = await server.inject({ method: 'POST', url: '/app/sign', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(notJson.statusCode).toBe(400);
  });

  it('refuses bodies over the limit with 413', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const res = await server.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'x'.repeat(20_000) } });
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: { message: string } }>().error.message).toBe('request body is too large');
  });

  it('maps typed errors to 4xx with their code, anything else to a bare 500', async () => {
    const noVersion = buildHttpServer(api({ signApp: () => Promise.reject(new NoKeyVersionError('no key version valid at 5')) }), { logger: silentLogger() });
    const res404 = await noVersion.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'my-app' } });
    expect(res404.statusCode).toBe(404);
    expect(res404.json<{ error: { code: string } }>().error.code).toBe('NODE_NO_KEY_VERSION');

    const boom = buildHttpServer(api({ signApp: () => Promise.reject(new Error('share=123 secret detail')) }), { logger: silentLogger() });
    const res500 = await boom.inject({ method: 'POST', url: '/app/sign', payload: { appId: 'my-app' } });
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
    for (let i = 0; i < 1_000; i++) {
      expect((await server.inject({ method: 'POST', url: '/protocol/dkg/share', payload: {} })).statusCode).toBe(401);
    }
    expect(lines().filter((l) => l.includes('protocol request rejected'))).toHaveLength(5);
  });

  it('GET /health is 503 when unhealthy, 200 otherwise; /metrics is Prometheus text', async () => {
    const server = buildHttpServer(api({ health: () => Promise.resolve({ status: 'unhealthy', body: { reason: 'aof off' } }) }), { logger: silentLogger() });
    const res = await server.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reason: 'aof off' });
    const metrics = await server.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
  });

  it('unknown routes are a JSON 404', async () => {
    const server = buildHttpServer(api(), { logger: silentLogger() });
    const res = await server.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });
});
