import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { parseProtocolMessage, type ProtocolMessage } from '../protocol/messages.js';
import { finalizedVersions, runSimulatedDkg } from '../protocol/simulation.js';
import { openEnvelope, sealEnvelope } from './envelope.js';
import { TransportError } from './errors.js';
import { openPayloadSecret, sealPayloadSecret } from './payloadSecrets.js';
import { operatorSignerRecovery, protocolSignerFor } from './protocolAuth.js';
import { ReplayGuard } from './replayGuard.js';
import { OperatorSigner } from './signer.js';
import type { PeerIdentity, TransportPayload } from './types.js';

/**
 * The protocol core's messages through the whole transport path: deal shares
 * encrypted to their recipient, every message sealed, JSON on the wire, opened and
 * authenticated by the receiver, decrypted, re-parsed. Operator addresses differ
 * from signing addresses, so the adapters' address translation is exercised too.
 */

const SESSION = 1_700_000_000;
const NOW = 1_700_000_100_000;

interface Node {
  readonly signer: OperatorSigner;
  readonly peer: PeerIdentity;
  readonly guard: ReplayGuard;
}

function makeNodes(n: number): Node[] {
  return Array.from({ length: n }, (_, i) => {
    const signer = OperatorSigner.fromPrivateKey(keccak_256(utf8ToBytes(`wire/${i}`)));
    const address = `0x${bytesToHex(keccak_256(utf8ToBytes(`wire/${i}/operator`)).subarray(12))}`;
    return {
      signer,
      peer: { address, socketUrl: `http://127.0.0.1:${7100 + i}`, signingPublicKey: signer.publicKey, signingAddress: signer.signingAddress },
      guard: new ReplayGuard({ maxEntries: 1_000 }),
    };
  });
}

function byAddress(nodes: readonly Node[], address: string): Node {
  const node = nodes.find((x) => x.peer.address === address);
  if (node === undefined) throw new Error(`no node ${address}`);
  return node;
}

/** Sender side then receiver side of one message, as the node wiring does it. */
function overTheWire(nodes: readonly Node[], message: ProtocolMessage): ProtocolMessage {
  const sender = byAddress(nodes, message.from);
  const receiver = byAddress(nodes, message.to);
  const route = `/protocol/${message.protocol}/${message.type}`;
  let payload: TransportPayload = { ...message };
  if (message.type === 'deal') payload = sealPayloadSecret(payload, receiver.peer);
  const envelope = sealEnvelope(payload, sender.signer, { route, now: NOW });
  if (message.type === 'deal') expect(envelope.payload).not.toContain(message.share.slice(2));
  const opened = openEnvelope(JSON.parse(JSON.stringify(envelope)), {
    route, self: receiver.peer.address, operators: nodes.map((x) => x.peer), now: NOW + 5, maxSkewMs: 30_000,
    replayGuard: receiver.guard, currentSession: (ts) => ts === SESSION,
  });
  const plain = opened.payload.type === 'deal' ? openPayloadSecret(opened.payload, receiver.signer) : opened.payload;
  return parseProtocolMessage(plain);
}

describe('protocol messages over the transport', () => {
  it('a 4-operator DKG finalizes with encrypted deals and sealed envelopes', () => {
    const nodes = makeNodes(4);
    let deals = 0;
    const { sessions, report } = runSimulatedDkg({
      signers: nodes.map((node) => protocolSignerFor(node.signer, node.peer.address)),
      sessionTimestamp: SESSION,
      recoverSigner: operatorSignerRecovery(nodes.map((x) => x.peer)),
    }, {
      intercept: (message) => {
        if (message.type === 'deal') deals++;
        return overTheWire(nodes, message);
      },
    });
    expect(report.rejected).toEqual([]);
    expect(deals).toBe(4 * 3); // each dealer keeps its own share
    const mpks = [...finalizedVersions(sessions).values()].map((v) => bytesToHex(v.masterPublicKey));
    expect(new Set(mpks).size).toBe(1);
  });

  it('maps recovered signing addresses to operator addresses, and leaves outsiders unmapped', () => {
    const [a, b] = makeNodes(2);
    const outsider = OperatorSigner.fromPrivateKey(keccak_256(utf8ToBytes('outsider')));
    const recover = operatorSignerRecovery([a!.peer, b!.peer]);
    const digest = keccak_256(utf8ToBytes('ack'));
    const signer = protocolSignerFor(a!.signer, a!.peer.address.toUpperCase().replace('0X', '0x'));
    expect(signer.address).toBe(a!.peer.address);
    expect(recover(digest, signer.sign(digest))).toBe(a!.peer.address);
    expect(recover(digest, outsider.signDigest(digest))).toBe(outsider.signingAddress);
    expect(() => recover(digest, new Uint8Array(64))).toThrow(TransportError);
  });

  it('refuses a deal whose share arrives in plaintext', () => {
    const [a, b] = makeNodes(2);
    const payload: TransportPayload = { type: 'deal', sessionTimestamp: SESSION, from: a!.peer.address, to: b!.peer.address, share: `0x${'11'.repeat(32)}` };
    expect(() => openPayloadSecret(payload, b!.signer)).toThrow(expect.objectContaining({ code: 'MALFORMED_SEALED_SHARE' }) as Error);
  });

  it('binds the share to the dealer named in the payload', () => {
    const [a, b, c] = makeNodes(3);
    const payload: TransportPayload = {
      type: 'reshare-share', sessionTimestamp: SESSION, from: a!.peer.address, to: b!.peer.address, dealer: c!.peer.address, share: `0x${'22'.repeat(32)}`,
    };
    const sealed = sealPayloadSecret(payload, b!.peer);
    expect(openPayloadSecret(sealed, b!.signer).share).toBe(`0x${'22'.repeat(32)}`);
    expect(() => openPayloadSecret({ ...sealed, dealer: a!.peer.address }, b!.signer))
      .toThrow(expect.objectContaining({ code: 'SHARE_DECRYPTION_FAILED' }) as Error);
  });

  it('refuses to encrypt for anyone but payload.to, or a non-hex secret', () => {
    const [a, b, c] = makeNodes(3);
    const payload: TransportPayload = { type: 'deal', sessionTimestamp: SESSION, from: a!.peer.address, to: b!.peer.address, share: `0x${'33'.repeat(32)}` };
    expect(() => sealPayloadSecret(payload, c!.peer)).toThrow(expect.objectContaining({ code: 'INVALID_TRANSPORT_CONFIG' }) as Error);
    expect(() => sealPayloadSecret({ ...payload, to: undefined }, b!.peer)).toThrow(expect.objectContaining({ code: 'INVALID_TRANSPORT_CONFIG' }) as Error);
    expect(() => sealPayloadSecret({ ...payload, share: 42 }, b!.peer)).toThrow(expect.objectContaining({ code: 'INVALID_TRANSPORT_CONFIG' }) as Error);
    expect(() => openPayloadSecret({ ...payload, to: undefined }, b!.signer)).toThrow(expect.objectContaining({ code: 'MALFORMED_SEALED_SHARE' }) as Error);
  });
});
