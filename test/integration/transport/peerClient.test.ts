import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { freePort } from '../../harness/ports.js';
import { rejectionOf } from '../../gen/rejection.js';
import { openEnvelope, sealEnvelope } from '../../../src/transport/envelope.js';
import { PeerRequestError, TransportError, transportErrorStatus } from '../../../src/transport/errors.js';
import { PeerClient, type PeerClientOptions } from '../../../src/transport/httpClient.js';
import { PeerTransport } from '../../../src/transport/peerTransport.js';
import { ReplayGuard } from '../../../src/transport/replayGuard.js';
import { openShare, sealShare } from '../../../src/transport/shareEncryption.js';
import { OperatorSigner } from '../../../src/transport/signer.js';
import type { PeerIdentity, TransportPayload } from '../../../src/transport/types.js';

/**
 * A real node:http server on loopback standing in for a peer: scripted failure
 * routes for the client's retry/timeout rules, and one route that authenticates
 * envelopes and decrypts shares exactly as a receiving node will.
 */

const SESSION = 1_700_000_000;
const MAX_BODY = 64 * 1024;

function identity(name: string): { signer: OperatorSigner; peer: Omit<PeerIdentity, 'socketUrl'> } {
  const signer = OperatorSigner.fromPrivateKey(keccak_256(utf8ToBytes(name)));
  return {
    signer,
    peer: { address: `0x${bytesToHex(keccak_256(utf8ToBytes(`${name}/operator`)).subarray(12))}`, signingPublicKey: signer.publicKey, signingAddress: signer.signingAddress },
  };
}

const alice = identity('alice');
const bob = identity('bob');

let server: Server;
let baseUrl: string;
let operators: PeerIdentity[];
const attempts = new Map<string, number>();
const delivered: { from: string; share: string }[] = [];
let replayGuard: ReplayGuard;
let dropNextLossyResponse = true;
let bobTransport: PeerTransport;
const bobInbox: TransportPayload[] = [];

function count(route: string): number {
  const n = (attempts.get(route) ?? 0) + 1;
  attempts.set(route, n);
  return n;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What a receiving node does with a share message: authenticate, then decrypt. */
async function receiveShare(req: IncomingMessage, res: ServerResponse, route: string, beforeAnswer?: () => boolean): Promise<void> {
  const text = await readBody(req);
  if (text === null) {
    send(res, 413, { code: 'BODY_TOO_LARGE' });
    return;
  }
  try {
    const { payload, sender } = openEnvelope(JSON.parse(text), {
      route, self: bob.peer.address, operators, now: Date.now(), maxSkewMs: 60_000, replayGuard,
      currentSession: (ts) => ts === SESSION,
    });
    const share = openShare(payload.share, bob.signer, {
      sender: sender.address, recipient: bob.peer.address, sessionTimestamp: payload.sessionTimestamp, dealer: sender.address,
    });
    delivered.push({ from: sender.address, share: bytesToHex(share) });
    if (beforeAnswer !== undefined && !beforeAnswer()) return;
    send(res, 200, { accepted: true });
  } catch (error) {
    // The error body shape of kms-node's HTTP server (src/node/http/httpErrors.ts).
    if (error instanceof TransportError) send(res, transportErrorStatus(error.code), { error: { code: error.code, message: error.message } });
    else send(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
  }
}

beforeAll(async () => {
  replayGuard = new ReplayGuard({ maxEntries: 1_000 });
  server = createServer((req, res) => {
    const route = req.url ?? '/';
    const n = count(route);
    switch (route) {
      case '/flaky':
        if (n <= 2) send(res, 503, { code: 'UNAVAILABLE' });
        else send(res, 200, { attempt: n });
        return;
      case '/always-503':
        send(res, 503, { code: 'UNAVAILABLE' });
        return;
      case '/hang':
        return; // never answers; the socket is closed at teardown
      case '/bad':
        send(res, 400, { error: { code: 'MALFORMED_ENVELOPE', message: 'envelope.nonce: bad' } });
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`"${'x'.repeat(200_000)}"`);
        return;
      case '/dkg/share':
        void receiveShare(req, res, route);
        return;
      case '/protocol/dkg/deal':
        void readBody(req).then((text) => {
          try {
            bobInbox.push(bobTransport.receive(route, JSON.parse(text ?? 'null')).payload);
            send(res, 200, { accepted: true });
          } catch (error) {
            if (error instanceof TransportError) send(res, transportErrorStatus(error.code), { error: { code: error.code, message: error.message } });
            else send(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
          }
        });
        return;
      case '/lossy/share':
        // Accepts the message, then loses the first answer (connection reset), as a
        // crash between handling and replying would.
        void receiveShare(req, res, route, () => {
          if (!dropNextLossyResponse) return true;
          dropNextLossyResponse = false;
          req.socket.destroy();
          return false;
        });
        return;
      default:
        send(res, 404, { code: 'NOT_FOUND' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  operators = [{ ...alice.peer, socketUrl: 'http://127.0.0.1:1' }, { ...bob.peer, socketUrl: baseUrl }];
  bobTransport = new PeerTransport({
    signer: bob.signer, self: bob.peer.address, operators: () => operators, clock: Date.now, client: new PeerClient(),
    replayGuard: new ReplayGuard({ maxEntries: 1_000 }), maxSkewMs: 60_000, currentSession: (ts) => ts === SESSION,
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
});

function bobTarget(): PeerIdentity {
  const target = operators[1];
  if (target === undefined) throw new Error('operator set not initialised');
  return target;
}

function client(options: PeerClientOptions = {}): PeerClient {
  return new PeerClient({ timeoutMs: 2_000, maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, ...options });
}

function shareMessage(share: Uint8Array): TransportPayload {
  const context = { sender: alice.peer.address, recipient: bob.peer.address, sessionTimestamp: SESSION, dealer: alice.peer.address };
  return { type: 'dkg/share', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address, share: { ...sealShare(share, bob.signer.publicKey, context) } };
}

describe('PeerClient against a real HTTP server', () => {
  it('retries 503 twice, then succeeds on the third attempt', async () => {
    const response = await client().get(bobTarget(), '/flaky');
    expect(attempts.get('/flaky')).toBe(3);
    expect(response).toMatchObject({ status: 200, attempts: 3, body: { attempt: 3 } });
  });

  it('stops after maxAttempts on a peer that keeps answering 503', async () => {
    const err = await rejectionOf(client({ maxAttempts: 3 }).get(bobTarget(), '/always-503'), PeerRequestError);
    expect(attempts.get('/always-503')).toBe(3);
    expect(err).toMatchObject({ code: 'PEER_HTTP_ERROR', retryable: true });
    expect(err.details).toMatchObject({ status: 503, attempts: 3 });
  });

  it('times out on a peer that never answers, once per attempt', async () => {
    const err = await rejectionOf(client({ timeoutMs: 150, maxAttempts: 2 }).get(bobTarget(), '/hang'), PeerRequestError);
    expect(err.code).toBe('PEER_TIMEOUT');
    expect(attempts.get('/hang')).toBe(2);
  });

  it('does not retry a 400', async () => {
    const err = await rejectionOf(client().get(bobTarget(), '/bad'), PeerRequestError);
    expect(attempts.get('/bad')).toBe(1);
    expect(err.details).toMatchObject({ status: 400, peerCode: 'MALFORMED_ENVELOPE', attempts: 1 });
  });

  it('refuses an oversized response without retrying', async () => {
    const err = await rejectionOf(client({ maxResponseBytes: 10_000 }).get(bobTarget(), '/big'), PeerRequestError);
    expect(err.code).toBe('PEER_RESPONSE_TOO_LARGE');
    expect(attempts.get('/big')).toBe(1);
  });

  it('reports a closed port as unreachable after its attempts', async () => {
    const port = await freePort();
    const err = await rejectionOf(client({ maxAttempts: 2 }).get({ address: bob.peer.address, socketUrl: `http://127.0.0.1:${port}` }, '/pubkey'), PeerRequestError);
    expect(err.code).toBe('PEER_UNREACHABLE');
    expect(err.details).toMatchObject({ attempts: 2, reason: 'ECONNREFUSED' });
  });

  it('delivers a signed envelope with an encrypted share, and the peer rejects its replay', async () => {
    const share = hexToBytes('2a'.repeat(32));
    const envelope = sealEnvelope(shareMessage(share), alice.signer, { route: '/dkg/share', now: Date.now() });
    expect(envelope.payload).not.toContain('2a'.repeat(32));
    const before = delivered.length;
    const response = await client().post(bobTarget(), '/dkg/share', envelope);
    expect(response).toMatchObject({ status: 200, attempts: 1, alreadyDelivered: false, body: { accepted: true } });
    expect(delivered.slice(before)).toEqual([{ from: alice.peer.address, share: '2a'.repeat(32) }]);

    const replay = await rejectionOf(client().post(bobTarget(), '/dkg/share', envelope), PeerRequestError);
    expect(replay.details).toMatchObject({ status: 409, peerCode: 'REPLAYED_MESSAGE', attempts: 1 });
    expect(delivered).toHaveLength(before + 1);
  });

  it('rejects an envelope posted to another route than it was sealed for', async () => {
    const envelope = sealEnvelope(shareMessage(new Uint8Array(32)), alice.signer, { route: '/dkg/ack', now: Date.now() });
    const err = await rejectionOf(client().post(bobTarget(), '/dkg/share', envelope), PeerRequestError);
    expect(err.details).toMatchObject({ status: 401, peerCode: 'BAD_SIGNATURE', attempts: 1 });
  });

  it('reports a retried delivery whose first answer was lost as already delivered', async () => {
    const envelope = sealEnvelope(shareMessage(hexToBytes('07'.repeat(32))), alice.signer, { route: '/lossy/share', now: Date.now() });
    const before = delivered.length;
    const response = await client().post(bobTarget(), '/lossy/share', envelope);
    expect(attempts.get('/lossy/share')).toBe(2);
    expect(response).toMatchObject({ status: 409, attempts: 2, alreadyDelivered: true });
    expect(delivered.slice(before)).toEqual([{ from: alice.peer.address, share: '07'.repeat(32) }]);
  });

  it('carries a deal between two PeerTransports: share encrypted on the wire, plaintext at the receiver', async () => {
    const aliceTransport = new PeerTransport({
      signer: alice.signer, self: alice.peer.address, operators: () => operators, clock: Date.now, client: client(),
      replayGuard: new ReplayGuard({ maxEntries: 10 }), maxSkewMs: 60_000,
    });
    const deal: TransportPayload = {
      type: 'deal', protocol: 'dkg', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address,
      commitments: [`0x${'ab'.repeat(96)}`], share: `0x${'3c'.repeat(32)}`,
    };
    const response = await aliceTransport.send(deal, '/protocol/dkg/deal');
    expect(response).toMatchObject({ status: 200, attempts: 1 });
    expect(bobInbox).toEqual([deal]);
    const wrongSession = await rejectionOf(aliceTransport.send({ ...deal, sessionTimestamp: SESSION + 1 }, '/protocol/dkg/deal'), PeerRequestError);
    expect(wrongSession.details).toMatchObject({ status: 400, peerCode: 'WRONG_SESSION' });
    expect(bobInbox).toHaveLength(1);
  });
});
