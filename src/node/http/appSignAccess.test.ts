import { Counter, Registry } from 'prom-client';
import { G1, encodeG1 } from '../../crypto/index.js';
import { silentLogger } from '../../logging/logger.js';
import type { AppSignFacts } from '../../wire/appSign.js';
import { DEFAULT_APP_SIGN_POLICY, type AppSignPolicy } from './appSignAccess.js';
import { buildHttpServer, type NodeApi } from './server.js';

const ADDRESS = '0x00000000000000000000000000000000000000ab';
const signed = (): Promise<AppSignFacts> => Promise.resolve({ operatorAddress: ADDRESS, version: 1, partialSignature: encodeG1(G1.BASE) });

function setup(policy: Partial<AppSignPolicy>, signApp: NodeApi['signApp'] = signed) {
  const registry = new Registry();
  const outcomes = new Counter({ name: 'kms_app_sign_requests_total', help: 'h', labelNames: ['outcome'], registers: [registry] });
  const api: NodeApi = {
    publicKey: () => null,
    publicKeyAt: () => Promise.resolve(null),
    signApp,
    health: () => Promise.resolve({ status: 'ok', body: {} }),
    metrics: registry,
    receiveProtocolMessage: () => Promise.resolve(),
    protocolRoutes: [],
  };
  const server = buildHttpServer(api, { logger: silentLogger(), appSign: { ...DEFAULT_APP_SIGN_POLICY, ...policy }, appSignRequests: outcomes });
  const count = async (outcome: string) => (await outcomes.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { server, count };
}

const sign = (server: ReturnType<typeof setup>['server'], appId: string, remoteAddress = '10.0.0.1') =>
  server.inject({ method: 'POST', url: '/app/sign', payload: { AppID: appId }, remoteAddress });

describe('/app/sign access control', () => {
  it('with an allowlist: listed ids are signed, any other valid id is 403 APP_NOT_ALLOWED (exact match)', async () => {
    const { server, count } = setup({ allowlist: ['allowed-app', '日本語'] });
    expect((await sign(server, 'allowed-app')).statusCode).toBe(200);
    expect((await sign(server, '日本語')).statusCode).toBe(200);
    for (const other of ['other-app', 'Allowed-app', 'allowed-app ', ' allowed-app']) {
      const res = await sign(server, other);
      expect(res.statusCode).toBe(403);
      expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'APP_NOT_ALLOWED', message: expect.stringMatching(/--app-allowlist/) as unknown });
    }
    expect(await count('refused')).toBe(4);
  });

  it('without an allowlist every valid id is signed', async () => {
    const { server } = setup({});
    expect((await sign(server, 'any-app-at-all')).statusCode).toBe(200);
  });

  it('over the per-client rate: 429 RATE_LIMITED with Retry-After; other clients are not affected', async () => {
    const { server, count } = setup({ ratePerSecond: 0.01, burst: 3 });
    for (let i = 0; i < 3; i++) expect((await sign(server, 'my-app-id')).statusCode).toBe(200);
    const limited = await sign(server, 'my-app-id');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('100');
    expect(limited.json<{ error: { code: string; details: { retryAfterSeconds: number } } }>().error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 100 } });
    // Bad requests use tokens too: limiting happens before the body is read.
    expect((await server.inject({ method: 'POST', url: '/app/sign', payload: 'garbage', remoteAddress: '10.0.0.1' })).statusCode).toBe(429);
    expect((await sign(server, 'my-app-id', '10.0.0.2')).statusCode).toBe(200);
    // One IPv6 /64 is one client.
    for (let i = 0; i < 3; i++) expect((await sign(server, 'my-app-id', `2001:db8::${i + 1}`)).statusCode).toBe(200);
    expect((await sign(server, 'my-app-id', '2001:db8::ff')).statusCode).toBe(429);
    expect(await count('rate_limited')).toBe(3);
  });

  it('over the concurrency ceiling: 429 TOO_MANY_CONCURRENT with Retry-After; the slot is freed when signing ends, also on failure', async () => {
    let finish: () => void = () => undefined;
    let calls = 0;
    const { server, count } = setup({ maxConcurrent: 1 }, () => {
      calls++;
      if (calls === 2) return Promise.reject(new Error('boom'));
      return calls === 1 ? new Promise((resolve) => { finish = () => { void signed().then(resolve); }; }) : signed();
    });
    const first = sign(server, 'my-app-id');
    // Let the first request reach signApp before the second arrives.
    while (calls === 0) await new Promise((r) => setImmediate(r));
    const busy = await sign(server, 'my-app-id', '10.0.0.9');
    expect(busy.statusCode).toBe(429);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json<{ error: { code: string } }>().error.code).toBe('TOO_MANY_CONCURRENT');
    finish();
    expect((await first).statusCode).toBe(200);
    expect((await sign(server, 'my-app-id')).statusCode).toBe(500);
    expect((await sign(server, 'my-app-id')).statusCode).toBe(200);
    expect(await count('busy')).toBe(1);
  });

  it('refuses bodies over the configured limit with 413', async () => {
    const { server } = setup({ maxBodyBytes: 100 });
    expect((await sign(server, 'x'.repeat(120))).statusCode).toBe(413);
    expect((await sign(server, 'x'.repeat(50))).statusCode).toBe(200);
  });

  it('counts invalid requests', async () => {
    const { server, count } = setup({});
    await sign(server, 'abc');
    await server.inject({ method: 'POST', url: '/app/sign', payload: { app_id: 'my-app-id' } });
    expect(await count('invalid')).toBe(2);
  });
});
