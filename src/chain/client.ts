/**
 * The viem public client the chain layer reads through, plus the checks a node runs on
 * it at startup. RPC URLs often carry API keys, so only redactRpcUrl() output is logged.
 */
import { createPublicClient, defineChain, http, type Chain, type PublicClient } from 'viem';
import { ChainConfigError, ChainIdMismatchError, ChainRpcError } from './errors.js';

export interface ChainClientOptions {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** viem's own retries per request (default 2); the block source adds backoff on top. */
  readonly retryCount?: number;
}

/**
 * Names of the chains the node knows. Not viem's `viem/chains` definitions: that module
 * loads every chain viem knows (hundreds of files, as long to load as viem itself, at every
 * start), and a client that reads through an explicit RPC URL needs only the id.
 */
const KNOWN_CHAIN_NAMES: Readonly<Record<number, string>> = { 1: 'Ethereum', 11_155_111: 'Sepolia', 31_337: 'Anvil' };

/** A viem chain for `chainId` on `rpcUrl`, named when known. */
export function chainFor(chainId: number, rpcUrl = 'http://127.0.0.1:8545'): Chain {
  return defineChain({
    id: chainId,
    name: KNOWN_CHAIN_NAMES[chainId] ?? `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** A public client over HTTP with a timeout and bounded retries; no response caching. */
export function createChainClient(options: ChainClientOptions): PublicClient {
  if (!Number.isSafeInteger(options.chainId) || options.chainId <= 0) {
    throw new ChainConfigError('chainId', options.chainId, 'positive integer');
  }
  return createPublicClient({
    chain: chainFor(options.chainId, options.rpcUrl),
    transport: http(options.rpcUrl, {
      timeout: options.timeoutMs ?? 10_000,
      retryCount: options.retryCount ?? 2,
    }),
    // Boundary decisions need the head as it is now, not as cached a poll ago.
    cacheTime: 0,
  });
}

/** Fails unless the endpoint serves `expected`: a node on the wrong chain would derive wrong sessions. */
export async function assertChainId(client: Pick<PublicClient, 'getChainId'>, expected: number): Promise<void> {
  let actual: number;
  try {
    actual = await client.getChainId();
  } catch (error: unknown) {
    throw new ChainRpcError('eth_chainId', { cause: error });
  }
  if (actual !== expected) {
    throw new ChainIdMismatchError(expected, actual);
  }
}

/** scheme://host:port only: drops credentials, path and query, where API keys live. */
export function redactRpcUrl(rpcUrl: string): string {
  try {
    const url = new URL(rpcUrl);
    const rest = url.pathname !== '/' || url.search !== '' ? '/…' : '';
    return `${url.protocol}//${url.host}${rest}`;
  } catch {
    return '(unparseable URL)';
  }
}
