/**
 * In-memory operators and network for tests, benchmarks and local simulations: a
 * secp256k1 signer seeded from a string (NOT for production keys), a delivery loop
 * that runs sessions to quiescence (optionally tampering with messages), and a whole
 * DKG among such operators built and run in one call.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { createDeterministicRng } from '../crypto/deterministicRng.js';
import type { RandomSource } from '../crypto/scalar.js';
import { createDkgSession } from './dkg.js';
import { createReshareSession } from './reshare.js';
import { isProtocolError, type ProtocolError } from './errors.js';
import type { ProtocolMessage } from './messages.js';
import type { ProtocolSession } from './session.js';
import type { FinalizedVersion, OperatorAddress, PreviousVersion, ProtocolSigner, RecoverSigner, VerificationOptions } from './types.js';

function addressOf(publicKeyUncompressed: Uint8Array): OperatorAddress {
  return `0x${bytesToHex(keccak_256(publicKeyUncompressed.subarray(1)).subarray(12))}`;
}

export interface SimulatedSigner extends ProtocolSigner {
  readonly address: OperatorAddress;
}

/** An Ethereum-style signer (r ‖ s ‖ v, v = 27/28) whose key is keccak256(seed). */
export function createSimulatedSigner(seed: string): SimulatedSigner {
  return createSimulatedSignerFromKey(keccak_256(utf8ToBytes(`kms-node/simulated-operator/${seed}`)));
}

/** The same signer for a given 32-byte secp256k1 secret key (e.g. a local dev-chain account's). */
export function createSimulatedSignerFromKey(secretKey: Uint8Array): SimulatedSigner {
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

/** Each operator's randomness, by its lowercase address. */
export type RandomSourceFor = (operator: string) => RandomSource;

/** Reproducible randomness per operator: createDeterministicRng(`${seed}/${operator}`). */
export function seededRandomSources(seed: string): RandomSourceFor {
  return (operator) => createDeterministicRng(`${seed}/${operator}`);
}

export interface SimulatedDkgOptions<S extends ProtocolSigner> {
  /** The operators, e.g. createSimulatedOperators(n, seed). */
  readonly signers: readonly S[];
  readonly sessionTimestamp: number;
  /** Absent: each session's default randomness (WebCrypto), i.e. not reproducible. */
  readonly rng?: RandomSourceFor;
  /** Default: recoverSimulatedSigner. */
  readonly recoverSigner?: RecoverSigner;
  readonly verification?: VerificationOptions;
}

export interface SimulatedDkg<S extends ProtocolSigner> {
  readonly signers: readonly S[];
  /** The signers' addresses, lowercase, in the signers' order. */
  readonly operators: readonly string[];
  /** One DKG session per operator, keyed by lowercase address (messages are routed by it), in the signers' order. */
  readonly sessions: Map<string, ProtocolSession>;
}

export interface SimulatedDkgRun<S extends ProtocolSigner> extends SimulatedDkg<S> {
  readonly report: DeliveryReport;
}

/** One not yet started DKG session per signer, all over the same operator set and session. */
export function createSimulatedDkg<S extends ProtocolSigner>(options: SimulatedDkgOptions<S>): SimulatedDkg<S> {
  const operators = options.signers.map((s) => s.address.toLowerCase());
  const sessions = new Map<string, ProtocolSession>();
  for (const [i, signer] of options.signers.entries()) {
    const address = operators[i] ?? signer.address;
    sessions.set(
      address,
      createDkgSession({
        sessionTimestamp: options.sessionTimestamp,
        operators,
        signer,
        recoverSigner: options.recoverSigner ?? recoverSimulatedSigner,
        rng: options.rng?.(address),
        verification: options.verification,
      }),
    );
  }
  return { signers: options.signers, operators, sessions };
}

/** createSimulatedDkg, then runSessions until no message is left. The report is the caller's to check. */
export function runSimulatedDkg<S extends ProtocolSigner>(options: SimulatedDkgOptions<S>, delivery: DeliveryOptions = {}): SimulatedDkgRun<S> {
  const dkg = createSimulatedDkg(options);
  return { ...dkg, report: runSessions(dkg.sessions, delivery) };
}

export interface SimulatedReshareOptions<S extends ProtocolSigner> {
  /** The new operator set. */
  readonly signers: readonly S[];
  readonly sessionTimestamp: number;
  /**
   * The version reshared, as each previous holder that still has it finalized it: its
   * public data is taken from the first, each holder deals from its own share. Signers
   * not in the map take part as receivers.
   */
  readonly previous: ReadonlyMap<string, FinalizedVersion>;
  /** Absent: each session's default randomness (WebCrypto), i.e. not reproducible. */
  readonly rng?: RandomSourceFor;
  /** Default: recoverSimulatedSigner. */
  readonly recoverSigner?: RecoverSigner;
  /** Signers that get no session (offline for the round: nothing reaches them, they send nothing). */
  readonly offline?: readonly string[];
}

/** The public part of a finalized version, what a reshare starts from. */
export function previousVersionOf(v: FinalizedVersion): PreviousVersion {
  return { epoch: v.epoch, commitments: v.commitments, masterPublicKey: v.masterPublicKey, threshold: v.threshold, participants: v.participants };
}

/** One not yet started reshare session per signer that is not offline, keyed by lowercase address, in the signers' order. */
export function createSimulatedReshare<S extends ProtocolSigner & { readonly address: string }>(options: SimulatedReshareOptions<S>): Map<string, ProtocolSession> {
  const first = [...options.previous.values()][0];
  if (first === undefined) throw new RangeError('a simulated reshare needs at least one previous holder');
  const previous = previousVersionOf(first);
  const operators = options.signers.map((s) => s.address.toLowerCase());
  const sessions = new Map<string, ProtocolSession>();
  for (const [i, signer] of options.signers.entries()) {
    const address = operators[i] ?? signer.address;
    if (options.offline?.includes(address) === true) continue;
    const share = options.previous.get(address)?.privateShare;
    sessions.set(address, createReshareSession({
      sessionTimestamp: options.sessionTimestamp,
      operators,
      signer,
      recoverSigner: options.recoverSigner ?? recoverSimulatedSigner,
      rng: options.rng?.(address),
      previous,
      ...(share === undefined ? {} : { previousShare: share }),
    }));
  }
  return sessions;
}

/** Every session's result, in the map's order; throws naming the first session that did not finalize. */
export function finalizedVersions(sessions: ReadonlyMap<string, ProtocolSession>): Map<string, FinalizedVersion> {
  const out = new Map<string, FinalizedVersion>();
  for (const [address, session] of sessions) {
    const result = session.result();
    if (result === null) throw new Error(`${address} did not finalize: ${JSON.stringify(session.status())}`);
    out.set(address, result);
  }
  return out;
}
