/**
 * Everything the chaos soak reads from a node, in one place: its /health, its active
 * and stored key versions (through the client library, which follows /pubkey's wire
 * format), its session snapshot count from /metrics, and its embedded redis-server's
 * pid from /proc. Every reader answers null for a node that does not answer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isClientError } from '../../src/client/errors.js';
import { fetchPubkey, nodeTarget } from '../../src/client/nodeApi.js';
import { sessionSnapshotCount } from '../../src/devnet/chaos/roundPhase.js';
import { nodeHealth, type NodeHealth } from '../../src/devnet/demo.js';

const TIMEOUT_MS = 3_000;
const options = { timeoutMs: TIMEOUT_MS, fetch: (input: string, init: RequestInit) => fetch(input, init) };

export type { NodeHealth };
export { nodeHealth };

export interface KeyView {
  readonly version: number;
  readonly masterPublicKey: string;
}

/** The node's active version and the MPK it serves (null: no key yet, or no answer). */
export async function activeKey(url: string): Promise<KeyView | null> {
  try {
    const key = await fetchPubkey(nodeTarget(url), options);
    // Our nodes always serve an MPK; a view without one counts as no key.
    return key.masterPublicKey === null ? null : { version: key.version, masterPublicKey: key.masterPublicKey };
  } catch {
    return null;
  }
}

/** Whether the node holds `version`: its MPK when held, 'not-held' when it says so, null when it does not answer. */
export async function heldVersion(url: string, version: number): Promise<KeyView | 'not-held' | null> {
  try {
    const key = await fetchPubkey(nodeTarget(url), options, version);
    if (key.version !== version) return 'not-held';
    return key.masterPublicKey === null ? null : { version, masterPublicKey: key.masterPublicKey };
  } catch (error) {
    if (isClientError(error) && error.details.reason === 'version-not-held') return 'not-held';
    return null;
  }
}

/** Session snapshots the node has saved since it started (see roundPhase.ts). */
export async function snapshotCount(url: string): Promise<number | null> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return response.ok ? sessionSnapshotCount(await response.text()) : null;
  } catch {
    return null;
  }
}

/** The pid of the redis-server child of process `parentPid` (its embedded Redis), or null. */
export function redisServerPid(parentPid: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid …"; comm may hold spaces, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === parentPid && comm.startsWith('redis-server')) return Number(entry);
  }
  return null;
}

/** A node answers /health as running with durable persistence (status ok or degraded). */
export function isServing(health: NodeHealth | null): boolean {
  return health !== null && health.phase === 'running' && health.status !== 'unhealthy';
}
