/**
 * Shapes shared by the DKG and reshare state machines. Structurally compatible with
 * src/persistence/types.ts (the cores may not import persistence), so a snapshot can
 * be saved as a ProtocolSessionState and a result as a KeyShareVersion (+ createdAt).
 */
import type { RandomSource } from '../crypto/scalar.js';

/** A 0x-prefixed, lowercase 20-byte hex operator address. */
export type OperatorAddress = `0x${string}`;
export type Hex = `0x${string}`;
export type ProtocolType = 'dkg' | 'reshare';

/** Signs 32-byte digests with the operator's key (secp256k1, 65-byte r ‖ s ‖ v). Injected; the core never sees the key. */
export interface ProtocolSigner {
  readonly address: string;
  sign(digest32: Uint8Array): Uint8Array;
}

/** Recovers the signing address of a 65-byte signature over a digest; throws or returns another address when invalid. */
export type RecoverSigner = (digest32: Uint8Array, signature: Uint8Array) => string;

export interface VerificationOptions {
  /** Multi-scalar multiplication for commitment evaluation and aggregation (default true). */
  readonly msm?: boolean;
  /** Random-linear-combination batch verification in handleAll (default true). */
  readonly batch?: boolean;
}

export interface SessionConfigBase {
  /** The boundary block's timestamp: the session id, identical on every node. */
  readonly sessionTimestamp: number;
  /** The operators that will hold the new version (any order; sorted ascending internally). */
  readonly operators: readonly string[];
  readonly signer: ProtocolSigner;
  readonly recoverSigner: RecoverSigner;
  /** Randomness for polynomials and batch weights (default: WebCrypto). */
  readonly rng?: RandomSource;
  /** Unix ms, copied into snapshots only (the core reads no clock). */
  readonly startTime?: number;
  readonly verification?: VerificationOptions;
}

export type DkgSessionConfig = SessionConfigBase;

/** The version a reshare starts from (public parts). */
export interface PreviousVersion {
  readonly epoch: number;
  /** C_k of the previous version, 96-byte compressed G2; length = threshold. */
  readonly commitments: readonly Uint8Array[];
  readonly masterPublicKey: Uint8Array;
  readonly threshold: number;
  readonly participants: readonly string[];
}

export interface ReshareSessionConfig extends SessionConfigBase {
  readonly previous: PreviousVersion;
  /** This node's share of the previous version; absent for an operator joining the set. */
  readonly previousShare?: bigint;
}

/** What a finalized session produces: a KeyShareVersion without createdAt. */
export interface FinalizedVersion {
  readonly epoch: number;
  readonly privateShare: bigint;
  readonly commitments: readonly Uint8Array[];
  readonly masterPublicKey: Uint8Array;
  readonly threshold: number;
  readonly participants: readonly OperatorAddress[];
  /** The agreed dealer set D whose contributions make up this version. */
  readonly dealers: readonly OperatorAddress[];
  /** The t or more signed completions that finalized it (certificate.ts). */
  readonly certificate: CompletionCertificate;
}

/** One operator's signed completion (65-byte r ‖ s ‖ v over completionDigest). */
export interface CompletionSignature {
  readonly operator: OperatorAddress;
  readonly signature: Hex;
}

/** Proof that at least t operators completed a session with one dealer set and commitments (certificate.ts). */
export interface CompletionCertificate {
  readonly type: ProtocolType;
  /** The session, i.e. the version's epoch. */
  readonly sessionTimestamp: number;
  /** D, ascending. */
  readonly dealers: readonly OperatorAddress[];
  /** C_0 … C_{t−1} of the version, 96-byte compressed G2; C_0 is the MPK. */
  readonly commitments: readonly Uint8Array[];
  readonly threshold: number;
  /** The version's holders (the session's operator set), ascending. */
  readonly participants: readonly OperatorAddress[];
  /** At least `threshold` completions, ascending by operator. */
  readonly signatures: readonly CompletionSignature[];
}

export interface StoredAcknowledgementShape {
  readonly dealer: OperatorAddress;
  readonly player: OperatorAddress;
  readonly sessionTimestamp: number;
  readonly shareHash: Hex;
  readonly commitmentHash: Hex;
  readonly signature: Hex;
}

/** Matches ProtocolSessionState of src/persistence/types.ts. */
export interface ProtocolSessionSnapshot {
  readonly sessionTimestamp: number;
  readonly type: ProtocolType;
  readonly phase: 1 | 2 | 3 | 4;
  readonly startTime: number;
  readonly operatorAddresses: readonly OperatorAddress[];
  readonly shares: Readonly<Record<OperatorAddress, bigint>>;
  readonly commitments: Readonly<Record<OperatorAddress, readonly Uint8Array[]>>;
  readonly acknowledgements: Readonly<Record<OperatorAddress, Readonly<Record<OperatorAddress, StoredAcknowledgementShape>>>>;
}

export type SessionPhase = 'created' | 'acknowledging' | 'completing' | 'finalized' | 'failed';

/**
 * How a node's dealer set was decided: every dealer acknowledged by every operator
 * (all-acked), a set another operator had completed with (followed), or from the acks
 * held at the ack deadline (deadline).
 */
export type DealerSetDecision = 'all-acked' | 'followed' | 'deadline';

/** What the session is waiting for, so the node can time out: proceed() at the ack deadline, giveUp() at the end. */
export interface SessionStatus {
  readonly phase: SessionPhase;
  readonly type: ProtocolType;
  readonly sessionTimestamp: number;
  /** Dealers whose deal to this node has not arrived. */
  readonly missingDeals: readonly OperatorAddress[];
  /** Per undecided dealer, the players whose ack has not arrived. */
  readonly missingAcks: Readonly<Record<OperatorAddress, readonly OperatorAddress[]>>;
  /** Dealers excluded by a complaint or conflicting acknowledgements (with the reason code). */
  readonly excludedDealers: Readonly<Record<OperatorAddress, string>>;
  /** Completions matching this node's, and how many are needed. */
  readonly completions: { readonly matching: number; readonly received: number; readonly needed: number };
  /**
   * After the ack deadline, while no dealer set could be formed from the acks held: why
   * (the session still follows a set other operators complete with until giveUp()).
   */
  readonly dealerSetShortfall: { readonly code: string; readonly message: string } | null;
  /** How the dealer set this node completed with was decided; null before it completed. */
  readonly dealerSetDecision: DealerSetDecision | null;
  /** The failure, when phase = failed. */
  readonly error: { readonly code: string; readonly message: string } | null;
}
