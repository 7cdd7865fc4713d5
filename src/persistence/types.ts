/**
 * What a node must not forget, as plain data. These types are storage-agnostic: curve
 * points travel as their canonical compressed bytes and scalars as bigints, so the
 * persistence layer needs no curve arithmetic; the key store decodes (and so validates
 * on the curve) when it uses them.
 */

/** A 0x-prefixed, lowercase 20-byte hex operator address. */
export type OperatorAddress = `0x${string}`;

/** One version of this node's key share, produced by a DKG or a reshare. */
export interface KeyShareVersion {
  /** The boundary block's timestamp (Unix seconds) of the session that produced it. */
  readonly epoch: number;
  /** x_i, this node's share of the master secret (an Fr scalar). Secret: sealed at rest. */
  readonly privateShare: bigint;
  /**
   * Commitments to the public sharing polynomial, C_k = a_k·G2, as 96-byte compressed
   * G2 points; C_0 is the master public key. Length = threshold.
   */
  readonly commitments: readonly Uint8Array[];
  /** The master public key s·G2, 96-byte compressed. Never null: a version without one is not kept. */
  readonly masterPublicKey: Uint8Array;
  /** t: how many partial signatures recover an app key under this version. */
  readonly threshold: number;
  /** Every operator holding a share of this version (ascending address order). */
  readonly participants: readonly OperatorAddress[];
  /** Unix milliseconds at which this node finalized the version. */
  readonly createdAt: number;
  /**
   * The t or more signed completions that finalized it (the protocol's completion
   * certificate, over this version's epoch, commitments, threshold and participants).
   * Absent in versions stored by builds before certificates.
   */
  readonly certificate?: StoredCompletionCertificate;
}

/** One operator's signed completion: 65-byte r ‖ s ‖ v as 0x hex. */
export interface StoredCompletionSignature {
  readonly operator: OperatorAddress;
  readonly signature: `0x${string}`;
}

/** Structurally the protocol's CompletionCertificate; its public data repeats the version's. */
export interface StoredCompletionCertificate {
  readonly type: 'dkg' | 'reshare';
  readonly sessionTimestamp: number;
  readonly dealers: readonly OperatorAddress[];
  readonly commitments: readonly Uint8Array[];
  readonly threshold: number;
  readonly participants: readonly OperatorAddress[];
  readonly signatures: readonly StoredCompletionSignature[];
}

export interface NodeState {
  /** The last boundary block number this node acted on (0 = none yet). */
  readonly lastProcessedBoundary: number;
  /** Unix milliseconds of this node's first start on this data. */
  readonly nodeStartTime: number;
  /** The operator that owns this data; a different operator must refuse to use it. */
  readonly operatorAddress: OperatorAddress;
}

export type ProtocolType = 'dkg' | 'reshare';

/** A signed acknowledgement of a dealt share (see src/protocol). Public data. */
export interface StoredAcknowledgement {
  readonly dealer: OperatorAddress;
  readonly player: OperatorAddress;
  readonly sessionTimestamp: number;
  /** 0x-prefixed 32-byte hex. */
  readonly shareHash: `0x${string}`;
  /** 0x-prefixed 32-byte hex. */
  readonly commitmentHash: `0x${string}`;
  /** 0x-prefixed 65-byte secp256k1 signature. */
  readonly signature: `0x${string}`;
}

/** A snapshot of an in-flight DKG or reshare, written at each phase. */
export interface ProtocolSessionState {
  readonly sessionTimestamp: number;
  readonly type: ProtocolType;
  /** 1 = dealing, 2 = verifying/acknowledging, 3 = finalizing, 4 = done. */
  readonly phase: 1 | 2 | 3 | 4;
  /** Unix milliseconds. */
  readonly startTime: number;
  readonly operatorAddresses: readonly OperatorAddress[];
  /** Shares received, by dealer address. Secret: sealed at rest. */
  readonly shares: Readonly<Record<OperatorAddress, bigint>>;
  /** Dealers' commitments, by dealer address, each a list of 96-byte compressed G2 points. */
  readonly commitments: Readonly<Record<OperatorAddress, readonly Uint8Array[]>>;
  /** acknowledgements[dealer][player]. */
  readonly acknowledgements: Readonly<Record<OperatorAddress, Readonly<Record<OperatorAddress, StoredAcknowledgement>>>>;
}

export type PersistenceBackend = 'memory' | 'redis';

/** One finding of a health check, named so /health and the controller can report it. */
export interface HealthFinding {
  readonly check: string;
  readonly ok: boolean;
  readonly message: string;
}

export interface PersistenceHealth {
  readonly healthy: boolean;
  readonly backend: PersistenceBackend;
  /** e.g. 'embedded' | 'external' for redis; 'memory' for memory. */
  readonly mode: string;
  readonly findings: readonly HealthFinding[];
  /** Redis durability facts as read from the server (absent for memory). */
  readonly aof?: {
    readonly enabled: boolean;
    readonly fsync: string;
    readonly lastWriteStatus: string;
    readonly rewriteInProgress: boolean;
    readonly sizeBytes: number | null;
  };
  /** The data path facts (embedded mode only). */
  readonly dataPath?: {
    readonly path: string;
    readonly exists: boolean;
    readonly mode: string;
    readonly ownerUid: number;
    readonly writable: boolean;
    readonly freeBytes: number | null;
  };
}
