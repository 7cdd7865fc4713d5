import type { IncomingMessage, ServerResponse } from 'node:http';
import { startRawNode } from '../../test/harness/dkgCluster.js';
import { ClientError } from './errors.js';
import { MAX_NODE_RESPONSE_BYTES, fetchPubkey, nodeTarget, printable, requestPartialSignature, type NodeRequestOptions } from './nodeApi.js';
import { codeOf } from '../../test/gen/errorCode.js';

const request: NodeRequestOptions = { timeoutMs: 5_000, fetch: (input, init) => fetch(input, init) };
const ADDR = '0x' + 'Ab'.repeat(20);
const G2HEX = '0x' + 'a'.repeat(192);
const G2B64 = { CompressedBytes: Buffer.from('a'.repeat(192), 'hex').toString('base64') };
const G1B64 = { CompressedBytes: Buffer.from('b'.repeat(96), 'hex').toString('base64') };

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = await startRawNode(handler);
  servers.push(s);
  return s.url;
}

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

async function nodeFailure(promise: Promise<unknown>): Promise<ClientError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(err)}`);
  expect(err.code).toBe('CLIENT_NODE_ERROR');
  return err;
}


describe('nodeTarget', () => {
  it('normalizes a base URL and hides the query in the display form', () => {
    const t = nodeTarget('http://127.0.0.1:8000/kms?key=secret#frag', '0xABCDEF0123456789ABCDEF0123456789ABCDEF01');
    expect(t.url).toBe('http://127.0.0.1:8000/kms/?key=secret');
    expect(t.display).toBe('http://127.0.0.1:8000/kms');
    expect(t.expectedAddress).toBe('0xabcdef0123456789abcdef0123456789abcdef01');
    expect(nodeTarget(' http://127.0.0.1:8000/ ').display).toBe('http://127.0.0.1:8000');
  });

  it.each(['127.0.0.1:8000', 'ftp://127.0.0.1/', 'not a url', '', 'http://user:pw@127.0.0.1:8000'])('refuses %j with CLIENT_BAD_INPUT', (raw) => {
    expect(codeOf(() => nodeTarget(raw))).toBe('CLIENT_BAD_INPUT');
  });
});

describe('fetchPubkey / requestPartialSignature', () => {
  it('parses and lowercases a valid /pubkey answer, ignoring unknown fields', async () => {
    const url = await serve(
      json(200, { operatorAddress: ADDR, version: 7, threshold: 1, masterPublicKey: G2B64, commitments: [G2B64], participants: [ADDR], isActive: true, future: 1 }),
    );
    const view = await fetchPubkey(nodeTarget(url), request);
    expect(view).toEqual({ operatorAddress: ADDR.toLowerCase(), version: 7, isActive: true, threshold: 1, masterPublicKey: G2HEX, commitments: [G2HEX], participants: [ADDR.toLowerCase()] });
  });

  it('sends AppID and AttestationTime, and parses the partial', async () => {
    let body = '';
    const url = await serve((req, res) => {
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        json(200, { OperatorAddress: ADDR, Version: 3, PartialSignature: G1B64 })(req, res);
      });
    });
    const answer = await requestPartialSignature(nodeTarget(url), { appId: 'my-app', attestationTime: 5 }, request);
    expect(JSON.parse(body)).toEqual({ AppID: 'my-app', AttestationTime: 5 });
    expect(answer.PartialSignature).toBe('0x' + 'b'.repeat(96));
  });

  it('names the field of a schema violation', async () => {
    const url = await serve(json(200, { OperatorAddress: ADDR, Version: 3, PartialSignature: { CompressedBytes: 'EjQ=' } }));
    const err = await nodeFailure(requestPartialSignature(nodeTarget(url), { appId: 'my-app' }, request));
    expect(err.message).toMatch(/^node http:\/\/127\.0\.0\.1:\d+: \/app\/sign answered an invalid body \(PartialSignature: CompressedBytes holds 2 bytes, a compressed G1 point has 48\)/);
    expect(err.details).toMatchObject({ reason: 'invalid-response' });
  });

  it('reports a body that is not JSON', async () => {
    const url = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    const err = await nodeFailure(fetchPubkey(nodeTarget(url), request));
    expect(err.message).toMatch(/\/pubkey answered a body that is not JSON/);
  });

  it('reports the node error code and a sanitized message for 4xx/5xx', async () => {
    const url = await serve(json(503, { error: { code: 'NO_ACTIVE_KEY', message: 'no key\u001b[31m yet' } }));
    const err = await nodeFailure(fetchPubkey(nodeTarget(url), request));
    expect(err.message).toContain('/pubkey answered HTTP 503 (NO_ACTIVE_KEY: no key?[31m yet)');
    expect(err.details).toMatchObject({ reason: 'no-active-key', status: 503, nodeCode: 'NO_ACTIVE_KEY' });
    const bare = await serve((_req, res) => res.writeHead(500).end());
    const err500 = await nodeFailure(fetchPubkey(nodeTarget(bare), request));
    expect(err500.message).toContain('HTTP 500 (no error body)');
  });

  it('names an allowlist refusal and a rate limit as such', async () => {
    const refused = await serve(json(403, { error: { code: 'APP_NOT_ALLOWED', message: 'not on the allowlist' } }));
    const err403 = await nodeFailure(requestPartialSignature(nodeTarget(refused), { appId: 'my-app' }, request));
    expect(err403.details).toMatchObject({ reason: 'app-not-allowed', status: 403 });
    const limited = await serve(json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }));
    const err429 = await nodeFailure(requestPartialSignature(nodeTarget(limited), { appId: 'my-app' }, request));
    expect(err429.details).toMatchObject({ reason: 'rate-limited', status: 429 });
    expect(err429.message).toContain('/app/sign answered HTTP 429 (RATE_LIMITED: slow down)');
  });

  it('refuses answers over the size cap, declared or streamed', async () => {
    const declared = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_NODE_RESPONSE_BYTES + 1) });
      res.end('x'.repeat(MAX_NODE_RESPONSE_BYTES + 1));
    });
    expect((await nodeFailure(fetchPubkey(nodeTarget(declared), request))).message).toMatch(/exceeds the 1048576-byte limit/);
    const streamed = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'y'.repeat(64 * 1024);
      for (let i = 0; i < 20; i++) res.write(chunk);
      res.end();
    });
    expect((await nodeFailure(fetchPubkey(nodeTarget(streamed), request))).message).toMatch(/exceeds the 1048576-byte limit/);
  });

  it('gives up on a node that never answers (timeout) and on a refused port', async () => {
    const silent = await serve(() => undefined);
    const err = await nodeFailure(fetchPubkey(nodeTarget(silent), { ...request, timeoutMs: 200 }));
    expect(err.details).toMatchObject({ reason: 'timeout' });
    expect(err.message).toMatch(/no answer to \/pubkey within 200 ms/);
    const refused = await nodeFailure(fetchPubkey(nodeTarget('http://127.0.0.1:9'), request));
    expect(refused.details).toMatchObject({ reason: 'unreachable' });
  });

  it('does not follow redirects', async () => {
    const url = await serve((_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end());
    const err = await nodeFailure(fetchPubkey(nodeTarget(url), request));
    expect(err.details).toMatchObject({ reason: 'unreachable' });
  });
});

describe('printable', () => {
  it('replaces control characters and bounds the length', () => {
    expect(printable('a\nb\u0007c\u009b')).toBe('a?b?c?');
    expect(printable('z'.repeat(300))).toHaveLength(201);
  });
});
