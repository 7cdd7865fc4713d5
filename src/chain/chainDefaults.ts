/**
 * Per-chain defaults for boundary scheduling. Pure: a table and a lookup.
 *
 * Boundary intervals follow the Go original (mainnet 50, Sepolia 10, anvil 10, else 50)
 * so a mixed network agrees on session boundaries. The protocol timeout must stay well
 * under one interval of block time, or a slow round overlaps the next boundary.
 */

/** Chain ids we know by name. */
export const CHAIN_IDS = { mainnet: 1, sepolia: 11_155_111, anvil: 31_337 } as const;

export interface ChainDefaults {
  readonly chainId: number;
  /** A boundary every `boundaryInterval` blocks (block number % interval === 0). */
  readonly boundaryInterval: number;
  /** How often the block source polls the head, in milliseconds. */
  readonly pollIntervalMs: number;
  /** How long one DKG or reshare session may run, in milliseconds. */
  readonly protocolTimeoutMs: number;
  /**
   * Blocks a boundary must be buried under before nodes act on it, so a shallow reorg
   * cannot hand nodes different timestamps for one session. 0 on anvil (no reorgs).
   */
  readonly confirmations: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

// L1 block time is 12 s; polling at 6 s sees each block within half a block.
const KNOWN: Readonly<Record<number, Omit<ChainDefaults, 'chainId'>>> = {
  [CHAIN_IDS.mainnet]: { boundaryInterval: 50, pollIntervalMs: 6 * SECOND, protocolTimeoutMs: 8 * MINUTE, confirmations: 2 },
  [CHAIN_IDS.sepolia]: { boundaryInterval: 10, pollIntervalMs: 6 * SECOND, protocolTimeoutMs: 90 * SECOND, confirmations: 2 },
  [CHAIN_IDS.anvil]: { boundaryInterval: 10, pollIntervalMs: 1 * SECOND, protocolTimeoutMs: 30 * SECOND, confirmations: 0 },
};

const FALLBACK: Omit<ChainDefaults, 'chainId'> = {
  boundaryInterval: 50,
  pollIntervalMs: 6 * SECOND,
  protocolTimeoutMs: 8 * MINUTE,
  confirmations: 2,
};

/** The defaults for `chainId`; unknown chains get the mainnet-like fallback. */
export function chainDefaults(chainId: number): ChainDefaults {
  return { chainId, ...(KNOWN[chainId] ?? FALLBACK) };
}

/** Whether `chainId` has its own entry (as opposed to the fallback). */
export function isKnownChain(chainId: number): boolean {
  return KNOWN[chainId] !== undefined;
}
