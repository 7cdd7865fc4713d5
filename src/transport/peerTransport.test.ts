import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { TransportError } from './errors.js';
import type { PeerResponse, PeerTarget } from './httpClient.js';
import { PeerTransport, type EnvelopePoster, type PeerTransportOptions } from './peerTransport.js';
import { ReplayGuard } from './replayGuard.js';
import { OperatorSigner } from './signer.js';
import type { PeerIdentity, SignedEnvelope, TransportPayload } from './types.js';

const SESSION = 1_700_000_000;
const NOW = 1_700_000_100_000;
const SHARE = `0x${'5a'.repeat(32)}`;

function identity(name: string, port: number): { signer: OperatorSigner; peer: PeerIdentity } {
  const signer = OperatorSigner.fromPrivateKey(keccak_256(utf8ToBytes(name)));
  const address = `0x${bytesToHex(keccak_256(utf8ToBytes(`${name}/op`)).subarray(12))}`;
  return { signer, peer: { address, socketUrl: `http://127.0.0.1:${port}`, signingPublicKey: signer.publicKey, signingAddress: signer.signingAddress } };
}

const alice = identity('alice', 7201);
const bob = identity('bob', 7202);
const everyone = [alice.peer, bob.peer];

interface Posted {
  readonly peer: PeerTarget;
  readonly route: string;
  readonly envelope: SignedEnvelope;
}

/** Hands each envelope, as JSON, straight to the receiving transport. */
class LoopbackPoster implements EnvelopePoster {
  readonly posted: Posted[] = [];
  readonly received: TransportPayload[] = [];
  receiver: PeerTransport | undefined;

  post(peer: PeerTarget, route: string, envelope: SignedEnvelope): Promise<PeerResponse> {
    this.posted.push({ peer, route, envelope });
    if (this.receiver === undefined) throw new Error('no receiver');
    this.received.push(this.receiver.receive(route, JSON.parse(JSON.stringify(envelope))).payload);
    return Promise.resolve({ status: 200, body: null, attempts: 1, alreadyDelivered: false });
  }
}

function transport(who: { signer: OperatorSigner; peer: PeerIdentity }, client: EnvelopePoster, extra: Partial<PeerTransportOptions> = {}): PeerTransport {
  return new PeerTransport({
    signer: who.signer, self: who.peer.address, operators: () => everyone, clock: () => NOW, client,
    replayGuard: new ReplayGuard({ maxEntries: 100 }), maxSkewMs: 30_000, currentSession: (ts) => ts === SESSION, ...extra,
  });
}

function deal(overrides: Record<string, unknown> = {}): TransportPayload {
  return { type: 'deal', protocol: 'dkg', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address, commitments: ['0x01'], share: SHARE, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TransportError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('PeerTransport', () => {
  it('encrypts a deal share on the wire and hands the receiver the plaintext', async () => {
    const poster = new LoopbackPoster();
    poster.receiver = transport(bob, poster);
    await transport(alice, poster).send(deal(), '/protocol/dkg/deal');
    expect(poster.posted).toHaveLength(1);
    expect(poster.posted[0]?.peer).toBe(bob.peer);
    expect(poster.posted[0]?.envelope.payload).not.toContain(SHARE.slice(2));
    expect(JSON.parse(poster.posted[0]?.envelope.payload ?? '{}')).toHaveProperty('share.ciphertext');
    expect(poster.received).toEqual([deal()]);
  });

  it('sends messages without a secret field as they are', async () => {
    const poster = new LoopbackPoster();
    poster.receiver = transport(bob, poster);
    const ack: TransportPayload = { type: 'ack', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address, shareHash: '0xaa' };
    await transport(alice, poster).send(ack, '/protocol/dkg/ack');
    expect(JSON.parse(poster.posted[0]?.envelope.payload ?? '{}')).toEqual(ack);
    expect(poster.received).toEqual([ack]);
  });

  it('refuses a deal that arrives with its share in plaintext', async () => {
    const poster = new LoopbackPoster();
    poster.receiver = transport(bob, poster);
    const careless = transport(alice, poster, { secretFields: {} });
    expect((await rejection(careless.send(deal(), '/protocol/dkg/deal'))).code).toBe('MALFORMED_SEALED_SHARE');
  });

  it('honours custom secret fields', async () => {
    const poster = new LoopbackPoster();
    const secretFields = { 'share-reply': 'value' };
    poster.receiver = transport(bob, poster, { secretFields });
    const reply: TransportPayload = { type: 'share-reply', sessionTimestamp: SESSION, from: alice.peer.address, to: bob.peer.address, value: SHARE };
    await transport(alice, poster, { secretFields }).send(reply, '/protocol/reshare/share-reply');
    expect(poster.posted[0]?.envelope.payload).not.toContain(SHARE.slice(2));
    expect(poster.received).toEqual([reply]);
  });

  it('reads the operator set per call: a removed sender is refused', async () => {
    const poster = new LoopbackPoster();
    let bobsView: readonly PeerIdentity[] = everyone;
    poster.receiver = transport(bob, poster, { operators: () => bobsView });
    const sender = transport(alice, poster);
    await sender.send(deal(), '/protocol/dkg/deal');
    bobsView = [bob.peer];
    expect((await rejection(sender.send(deal(), '/protocol/dkg/deal'))).code).toBe('UNKNOWN_SENDER');
  });

  it('applies the session predicate on receipt', async () => {
    const poster = new LoopbackPoster();
    poster.receiver = transport(bob, poster);
    expect((await rejection(transport(alice, poster).send(deal({ sessionTimestamp: SESSION + 10 }), '/protocol/dkg/deal'))).code).toBe('WRONG_SESSION');
  });

  it('refuses to send to a non-operator or in another operator\'s name', async () => {
    const poster = new LoopbackPoster();
    const sender = transport(alice, poster);
    expect((await rejection(sender.send(deal({ to: `0x${'99'.repeat(20)}` }), '/x'))).code).toBe('UNKNOWN_RECIPIENT');
    expect((await rejection(sender.send(deal({ to: undefined }), '/x'))).code).toBe('UNKNOWN_RECIPIENT');
    expect((await rejection(sender.send(deal({ from: bob.peer.address }), '/x'))).code).toBe('INVALID_TRANSPORT_CONFIG');
    expect(poster.posted).toHaveLength(0);
  });

  it('requires a lowercase self address', () => {
    expect(() => transport({ ...alice, peer: { ...alice.peer, address: alice.peer.address.toUpperCase().replace('0X', '0x') } }, new LoopbackPoster()))
      .toThrow(expect.objectContaining({ code: 'INVALID_TRANSPORT_CONFIG' }) as Error);
  });
});
