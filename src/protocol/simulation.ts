/**
 * In-memory operators and network for tests, benchmarks and local simulations: a
 * secp256k1 signer seeded from a string (NOT for production keys) and a delivery
 * loop that runs sessions to quiescence, optionally tampering with messages.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { isProtocolError, type ProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import type { OperatorAddress, ProtocolSigner } from './types.js';

function addressOf(publicKeyUncompressed: Uint8Array): OperatorAddress {
  return `0x${bytesToHex(keccak_256(publicKeyUncompressed.subarray(1)).subarray(12))}`;
}

export interface SimulatedSigner extends ProtocolSigner {
  readonly address: OperatorAddress;
}

/** An Ethereum-style signer (r ‖ s ‖ v, v = 27/28) whose key is keccak256(seed). */
export function createSimulatedSigner(seed: string): SimulatedSigner {
  const secretKey = keccak_256(utf8ToBytes(`kms-node/simulated-operator/${seed}`));
  const address = addressOf(secp256k1.getPublicKey(secretKey, false));
  return {
    address,
    sign(digest32: Uint8Array): Uint8Array {
      const rec = secp256k1.sign(digest32, secretKey, { prehash: false, format: 'recovered' });
      const out = new Uint8Array(65);
      out.set(rec.subarray(1), 0);
      out[64] = 27 + (rec[0] ?? 0);
      return out;
    },
  };
}

/** Recovers the address from an r ‖ s ‖ v signature (v ∈ {0, 1, 27, 28}) over a 32-byte digest. */
export function recoverSimulatedSigner(digest32: Uint8Array, signature: Uint8Array): OperatorAddress {
  if (signature.length !== 65) throw new Error(`signature must be 65 bytes, got ${signature.length}`);
  const v = signature[64] ?? 0;
  const rec = new Uint8Array(65);
  rec[0] = v >= 27 ? v - 27 : v;
  rec.set(signature.subarray(0, 64), 1);
  const sig = secp256k1.Signature.fromBytes(rec, 'recovered');
  return addressOf(sig.recoverPublicKey(digest32).toBytes(false));
}

/** `count` simulated operators, ascending by address. */
export function createSimulatedOperators(count: number, seed: string): SimulatedSigner[] {
  return Array.from({ length: count }, (_, i) => createSimulatedSigner(`${seed}/${i}`)).sort((a, b) =>
    a.address < b.address ? -1 : 1,
  );
}

export interface DeliveryOptions {
  /** Deliver each recipient's pending messages together through handleAll (batched verification). */
  readonly batch?: boolean;
  /** Rewrites or drops (null) a message in flight. */
  readonly intercept?: (message: ProtocolMessage) => ProtocolMessage | Record<string, unknown> | null;
}

export interface DeliveryReport {
  /** Every rejection, by recipient. */
  readonly rejected: { readonly to: string; readonly message: unknown; readonly error: ProtocolError }[];
  /** Messages addressed to operators without a session (e.g. dropped on purpose). */
  readonly undelivered: number;
}

const hasFailed = (s: ProtocolSession): boolean => s.phase === 'failed';

/**
 * Starts every session (unless already started) and delivers messages round by round
 * until none are left. Sessions that fail stop receiving.
 */
export function runSessions(
  sessions: ReadonlyMap<string, ProtocolSession>,
  options: DeliveryOptions = {},
  initial: readonly ProtocolMessage[] = [],
): DeliveryReport {
  const rejected: { to: string; message: unknown; error: ProtocolError }[] = [];
  let undelivered = 0;
  let queue: (ProtocolMessage | Record<string, unknown>)[] = [...initial];
  const note = (to: string, message: unknown, err: unknown): void => {
    if (!isProtocolError(err)) throw err;
    rejected.push({ to, message, error: err });
    queue.push(...err.outbound);
  };
  for (const [addr, s] of [...sessions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (s.phase !== 'created') continue;
    try {
      queue.push(...s.start());
    } catch (err) {
      note(addr, null, err);
    }
  }
  while (queue.length > 0) {
    const byRecipient = new Map<string, unknown[]>();
    for (const raw of queue) {
      const msg = options.intercept === undefined ? raw : options.intercept(raw as ProtocolMessage);
      if (msg === null) continue;
      const to = String(msg.to);
      const list = byRecipient.get(to) ?? [];
      list.push(msg);
      byRecipient.set(to, list);
    }
    queue = [];
    for (const [to, msgs] of [...byRecipient].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const s = sessions.get(to);
      if (s === undefined) {
        undelivered += msgs.length;
        continue;
      }
      if (hasFailed(s)) continue;
      if (options.batch === true) {
        const r = s.handleAll(msgs);
        queue.push(...r.outbound);
        for (const { index, error } of r.rejected) rejected.push({ to, message: msgs[index], error });
        continue;
      }
      for (const m of msgs) {
        if (hasFailed(s)) break;
        try {
          queue.push(...s.handle(m));
        } catch (err) {
          note(to, m, err);
        }
      }
    }
  }
  return { rejected, undelivered };
}
