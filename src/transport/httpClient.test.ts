import { Writable } from 'node:stream';
import { createLogger } from '../logging/logger.js';
import { PeerRequestError } from './errors.js';
import { PeerClient, type PeerClientOptions, type PeerTarget } from './httpClient.js';
import type { SignedEnvelope } from './types.js';
import { rejectionOf } from '../../test/gen/rejection.js';

const peer: PeerTarget = { address: `0x${'b2'.repeat(20)}`, socketUrl: 'http://127.0.0.1:7002' };
const envelope: SignedEnvelope = {
  v: 1,
  payload: '{"from":"0xa1","sealed":"CIPHERTEXT-MARKER","sessionTimestamp":1,"type":"t"}',
  sentAt: 1,
  nonce: `0x${'00'.repeat(16)}`,
  signature: `0x${'11'.repeat(65)}`,
};

interface Call {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

type Step = Response | Error | 'hang';

/** A fetch that plays back a script of responses, recording each call. */
function scripted(steps: Step[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fake = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: input instanceof Request ? input.url : input.toString(), init });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (step === undefined) return Promise.reject(new Error('script is empty'));
    if (step === 'hang') {
      return new Promise((_resolve, reject) => {
        const signal = init?.signal;
        signal?.addEventListener('abort', () => { reject(new Error('This operation was aborted')); }, { once: true });
      });
    }
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve(step.clone());
  };
  return { fetch: fake, calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function refused(): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
}

function client(fetchImpl: typeof fetch, sleeps: number[], extra: PeerClientOptions = {}): PeerClient {
  return new PeerClient({
    fetch: fetchImpl, maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.5, timeoutMs: 1_000,
    sleep: (ms) => { sleeps.push(ms); return Promise.resolve(); },
    ...extra,
  });
}

describe('PeerClient', () => {
  it('posts the envelope as JSON to socketUrl + route and parses the answer', async () => {
    const { fetch, calls } = scripted([json(200, { ok: true })]);
    const sleeps: number[] = [];
    const response = await client(fetch, sleeps).post(peer, '/dkg/share', envelope);
    expect(response).toEqual({ status: 200, body: { ok: true }, attempts: 1, alreadyDelivered: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://127.0.0.1:7002/dkg/share');
    expect(calls[0]?.init?.method).toBe('POST');
    expect(calls[0]?.init?.body).toBe(JSON.stringify(envelope));
    expect(calls[0]?.init?.headers).toEqual({ accept: 'application/json', 'content-type': 'application/json' });
    expect(calls[0]?.init?.signal).toBeInstanceOf(AbortSignal);
    expect(sleeps).toEqual([]);
  });

  it('keeps a base path and drops a trailing slash of the socket URL', async () => {
    const { fetch, calls } = scripted([json(200, {})]);
    await client(fetch, []).get({ ...peer, socketUrl: 'http://127.0.0.1:7002/kms/' }, '/pubkey');
    expect(calls[0]?.url).toBe('http://127.0.0.1:7002/kms/pubkey');
    expect(calls[0]?.init?.method).toBe('GET');
    expect(calls[0]?.init?.body).toBeUndefined();
  });

  it('returns null for an empty success body', async () => {
    const { fetch } = scripted([new Response(null, { status: 204 })]);
    expect((await client(fetch, []).post(peer, '/dkg/ack', envelope)).body).toBeNull();
  });

  it('retries 503 with exponential, jittered backoff and then succeeds', async () => {
    const { fetch, calls } = scripted([json(503, {}), json(503, {}), json(200, { done: 1 })]);
    const sleeps: number[] = [];
    const response = await client(fetch, sleeps).post(peer, '/dkg/share', envelope);
    expect(response.attempts).toBe(3);
    expect(calls).toHaveLength(3);
    // random() = 0.5 ⇒ 75 % of the ceiling: 100 ms, then 200 ms
    expect(sleeps).toEqual([75, 150]);
  });

  it('gives up after maxAttempts on persistent 5xx', async () => {
    const { fetch, calls } = scripted([json(500, { code: 'INTERNAL' })]);
    const err = await rejectionOf(client(fetch, []).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(calls).toHaveLength(3);
    expect(err.code).toBe('PEER_HTTP_ERROR');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ peer: peer.address, route: '/dkg/share', attempts: 3, status: 500 });
  });

  it.each([400, 401, 403, 404, 413])('never retries HTTP %i', async (status) => {
    const { fetch, calls } = scripted([json(status, { code: 'WRONG_SESSION', message: 'no' })]);
    const sleeps: number[] = [];
    const err = await rejectionOf(client(fetch, sleeps).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(err.code).toBe('PEER_HTTP_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.details).toMatchObject({ status, peerCode: 'WRONG_SESSION', attempts: 1 });
    expect(err.message).toContain(`HTTP ${status} WRONG_SESSION`);
  });

  it('reads the peer code from the node\'s {error: {code}} body too', async () => {
    const { fetch } = scripted([json(403, { error: { code: 'UNKNOWN_SENDER', message: 'who?' } })]);
    const err = await rejectionOf(client(fetch, []).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(err.details).toMatchObject({ status: 403, peerCode: 'UNKNOWN_SENDER' });
  });

  it('reports a 4xx whose body is not JSON with its status', async () => {
    const { fetch } = scripted([new Response('<html>bad</html>', { status: 400 })]);
    const err = await rejectionOf(client(fetch, []).get(peer, '/pubkey'), PeerRequestError);
    expect(err.details).toMatchObject({ status: 400, peerCode: null });
  });

  it('retries network errors and names the cause when giving up', async () => {
    const { fetch, calls } = scripted([refused()]);
    const err = await rejectionOf(client(fetch, []).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(calls).toHaveLength(3);
    expect(err.code).toBe('PEER_UNREACHABLE');
    expect(err.details).toMatchObject({ reason: 'ECONNREFUSED', attempts: 3 });
  });

  it('recovers when the network comes back', async () => {
    const { fetch } = scripted([refused(), json(200, { ok: 1 })]);
    expect((await client(fetch, []).get(peer, '/pubkey')).attempts).toBe(2);
  });

  it('times out each attempt and retries', async () => {
    const { fetch, calls } = scripted(['hang']);
    const err = await rejectionOf(client(fetch, [], { timeoutMs: 20 }).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(calls).toHaveLength(3);
    expect(err.code).toBe('PEER_TIMEOUT');
    expect(err.details).toMatchObject({ timeoutMs: 20, attempts: 3 });
  });

  it('stops at once when the caller cancels', async () => {
    const { fetch, calls } = scripted(['hang']);
    const controller = new AbortController();
    const pending = client(fetch, [], { timeoutMs: 60_000 }).post(peer, '/dkg/share', envelope, { signal: controller.signal });
    controller.abort();
    const err = await rejectionOf(pending, PeerRequestError);
    expect(err.code).toBe('PEER_REQUEST_ABORTED');
    expect(calls).toHaveLength(1);
    const again = await rejectionOf(client(fetch, []).get(peer, '/pubkey', { signal: controller.signal }), PeerRequestError);
    expect(again.code).toBe('PEER_REQUEST_ABORTED');
    expect(calls).toHaveLength(1);
  });

  it('stops when the caller cancels during backoff', async () => {
    const { fetch, calls } = scripted([json(503, {})]);
    const controller = new AbortController();
    const c = new PeerClient({ fetch, maxAttempts: 5, sleep: () => { controller.abort(); return Promise.reject(new Error('aborted')); } });
    const err = await rejectionOf(c.post(peer, '/dkg/share', envelope, { signal: controller.signal }), PeerRequestError);
    expect(err.code).toBe('PEER_REQUEST_ABORTED');
    expect(calls).toHaveLength(1);
  });

  it('with retryUntilAborted keeps retrying past maxAttempts until the peer is back, or until the signal ends it', async () => {
    // Refused 7 times (a peer restarting mid-round), then up: maxAttempts is 3.
    const { fetch, calls } = scripted([...Array.from({ length: 7 }, refused), json(200, { ok: 1 })]);
    const sleeps: number[] = [];
    const response = await client(fetch, sleeps).post(peer, '/dkg/share', envelope, { signal: new AbortController().signal, retryUntilAborted: true });
    expect(response.attempts).toBe(8);
    expect(calls).toHaveLength(8);
    expect(sleeps.every((ms) => ms <= 1_000)).toBe(true);

    const controller = new AbortController();
    const down = scripted([refused()]);
    let retries = 0;
    const c = client(down.fetch, [], { sleep: () => { if (++retries === 20) controller.abort(); return Promise.resolve(); } });
    const err = await rejectionOf(c.post(peer, '/dkg/share', envelope, { signal: controller.signal, retryUntilAborted: true }), PeerRequestError);
    expect(err.code).toBe('PEER_REQUEST_ABORTED');
    expect(down.calls).toHaveLength(20);
    // A refusal is final at once, as without it.
    const refusedFor = scripted([json(403, { code: 'UNKNOWN_SENDER' })]);
    const final = await rejectionOf(client(refusedFor.fetch, []).post(peer, '/dkg/share', envelope, { signal: new AbortController().signal, retryUntilAborted: true }), PeerRequestError);
    expect(final.retryable).toBe(false);
    expect(refusedFor.calls).toHaveLength(1);
  });

  it('refuses retryUntilAborted without a signal (nothing would end it)', async () => {
    const { fetch, calls } = scripted([refused()]);
    await expect(client(fetch, []).post(peer, '/dkg/share', envelope, { retryUntilAborted: true })).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
  });

  it('treats 409 REPLAYED_MESSAGE on a retry as already delivered', async () => {
    const { fetch } = scripted([json(503, {}), json(409, { error: { code: 'REPLAYED_MESSAGE', message: 'seen' } })]);
    const response = await client(fetch, []).post(peer, '/dkg/share', envelope);
    expect(response).toMatchObject({ status: 409, attempts: 2, alreadyDelivered: true });
  });

  it('treats 409 REPLAYED_MESSAGE on the first attempt as a refusal', async () => {
    const { fetch } = scripted([json(409, { code: 'REPLAYED_MESSAGE' })]);
    const err = await rejectionOf(client(fetch, []).post(peer, '/dkg/share', envelope), PeerRequestError);
    expect(err.details).toMatchObject({ status: 409, peerCode: 'REPLAYED_MESSAGE' });
  });

  it('refuses a response whose declared length is over the limit', async () => {
    const big = new Response('x'.repeat(100), { status: 200, headers: { 'content-length': '100' } });
    const { fetch, calls } = scripted([big]);
    const err = await rejectionOf(client(fetch, [], { maxResponseBytes: 50 }).get(peer, '/pubkey'), PeerRequestError);
    expect(err.code).toBe('PEER_RESPONSE_TOO_LARGE');
    expect(calls).toHaveLength(1);
  });

  it('stops reading a streamed response once it passes the limit', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(40).fill(0x20));
        if (pulled > 1_000) controller.close();
      },
    });
    const { fetch } = scripted([new Response(stream, { status: 200 })]);
    const c = new PeerClient({ fetch, maxResponseBytes: 100 });
    const err = await rejectionOf(c.get(peer, '/pubkey'), PeerRequestError);
    expect(err.code).toBe('PEER_RESPONSE_TOO_LARGE');
    expect(pulled).toBeLessThan(10);
  });

  it('refuses a success body that is not JSON, without retrying', async () => {
    const { fetch, calls } = scripted([new Response('{not json', { status: 200 })]);
    const err = await rejectionOf(client(fetch, []).get(peer, '/pubkey'), PeerRequestError);
    expect(err.code).toBe('PEER_INVALID_RESPONSE');
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['not a URL', 'nowhere'],
    ['a non-HTTP scheme', 'ftp://127.0.0.1:21'],
    ['credentials', 'http://user:pw@127.0.0.1:7002'],
  ])('refuses a socket URL with %s before any request', async (_name, socketUrl) => {
    const { fetch, calls } = scripted([json(200, {})]);
    const err = await rejectionOf(client(fetch, []).get({ ...peer, socketUrl }, '/pubkey'), PeerRequestError);
    expect(err.code).toBe('PEER_INVALID_URL');
    expect(err.message).not.toContain('pw');
    expect(calls).toHaveLength(0);
  });

  it('refuses a route without a leading slash and an oversized request', async () => {
    const { fetch, calls } = scripted([json(200, {})]);
    expect((await rejectionOf(client(fetch, []).get(peer, 'pubkey'), PeerRequestError)).code).toBe('PEER_INVALID_URL');
    expect((await rejectionOf(client(fetch, [], { maxRequestBytes: 10 }).post(peer, '/dkg/share', envelope), PeerRequestError)).code).toBe('PEER_REQUEST_TOO_LARGE');
    expect(calls).toHaveLength(0);
  });

  it('caps backoff at maxDelayMs and spreads it with jitter', () => {
    const low = new PeerClient({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0 });
    const high = new PeerClient({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999_999 });
    expect([1, 2, 3, 4, 5, 10].map((r) => low.backoffMs(r))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 10].map((r) => high.backoffMs(r))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('validates its options', () => {
    expect(() => new PeerClient({ maxAttempts: 0 })).toThrow('maxAttempts=0');
    expect(() => new PeerClient({ timeoutMs: 1.5 })).toThrow('timeoutMs=1.5');
  });

  it('logs retries without request or response bodies', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    const logger = createLogger({ level: 'debug', destination });
    const { fetch } = scripted([json(503, { echo: 'CIPHERTEXT-MARKER' })]);
    await rejectionOf(client(fetch, [], { logger }).post(peer, '/dkg/share', envelope), PeerRequestError);
    const output = lines.join('');
    expect(output).toContain('retrying');
    expect(output).toContain('giving up');
    expect(output).toContain(peer.address);
    expect(output).not.toContain('CIPHERTEXT-MARKER');
  });
});
