/**
 * Observing a devnet of real kms-server processes for the node integration tests:
 * /health and the JSON log lines (the node's operational interface), polling with
 * deadlines (never sleeps as assertions), boundaries mined on demand, and app keys
 * recovered from partial signatures with src/crypto and verified against the
 * master public key.
 */
import { readFileSync } from 'node:fs';
import { g1FromHex, g1ToHex, g2FromHex, operatorId, recoverAppKey, verifyAppKey } from '../../../src/crypto/index.js';
import type { Devnet, DevnetOperator } from '../../../src/devnet/devnet.js';
import { appSignRequestJson, appSignResponseSchema } from '../../../src/wire/appSign.js';
import { pubkeyResponseSchema } from '../../../src/wire/pubkey.js';

export interface NodeHealth {
  readonly status: string;
  readonly phase: string;
  readonly operatorAddress: string;
  readonly activeVersion: number | null;
  readonly versionCount: number;
  readonly lastProcessedBoundary: number;
  readonly round: { readonly sessionTimestamp: number } | null;
  readonly persistence: { readonly healthy: boolean; readonly findings: readonly { check: string; ok: boolean; message: string }[] } | null;
  readonly chain: { readonly lastHead: string | null; readonly lastHeadAt: number | null } | null;
}

/** GET /pubkey read with the one wire schema (src/wire/pubkey.ts): addresses lowercase, points as 0x-hex. */
export interface PubkeyBody {
  readonly operatorAddress: string;
  readonly version: number;
  readonly isActive: boolean;
  readonly threshold: number;
  readonly masterPublicKey: string;
  readonly commitments: readonly string[];
  readonly participants: readonly string[];
}

/** One parsed log line. */
export interface LogLine {
  readonly msg: string;
  readonly time: number;
  readonly pid: number;
  readonly [field: string]: unknown;
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

export async function health(operator: DevnetOperator): Promise<NodeHealth> {
  return (await getJson(`${operator.process.url}/health`)).body as NodeHealth;
}

/** GET /pubkey parsed with the wire schema; throws unless 200 with an MPK. (One parameter: it is passed to map.) */
export function pubkey(operator: DevnetOperator): Promise<PubkeyBody> {
  return readPubkey(operator, '/pubkey');
}

/** GET /pubkey?version=<epoch>, likewise. */
export function pubkeyAt(operator: DevnetOperator, epoch: number): Promise<PubkeyBody> {
  return readPubkey(operator, `/pubkey?version=${epoch}`);
}

async function readPubkey(operator: DevnetOperator, route: string): Promise<PubkeyBody> {
  const { status, body } = await getJson(`${operator.process.url}${route}`);
  if (status !== 200) throw new Error(`${operator.process.options.name} ${route} answered ${status}`);
  const view = pubkeyResponseSchema.parse(body);
  const { masterPublicKey } = view;
  if (masterPublicKey === null) throw new Error(`${operator.process.options.name} ${route} reported no master public key`);
  return { ...view, masterPublicKey };
}

export interface SignAnswer {
  readonly status: number;
  /** A 200 answer read with the wire schema (address lowercase, signature as 0x-hex), else the error body. */
  readonly body: { operatorAddress: string; version: number; partialSignature: string; error?: { code: string } };
}

export async function sign(operator: DevnetOperator, appId: string, attestationTime?: number): Promise<SignAnswer> {
  const { status, body } = await getJson(`${operator.process.url}/app/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(appSignRequestJson(attestationTime === undefined ? { appId } : { appId, attestationTime })),
  });
  if (status !== 200) return { status, body: body as SignAnswer['body'] };
  const answer = appSignResponseSchema.parse(body);
  return { status, body: { operatorAddress: answer.OperatorAddress, version: answer.Version, partialSignature: answer.PartialSignature } };
}

/** Polls `probe` until it returns a non-undefined value; errors of the probe count as "not yet". */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : 'non-Error thrown';
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === null ? '' : ` (last error: ${last})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The node's log lines (all runs of its process, appended), optionally from a line offset. */
export function logLines(operator: DevnetOperator, from = 0): LogLine[] {
  let text = '';
  try {
    text = readFileSync(operator.process.options.logFile, 'utf8');
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (typeof parsed.msg === 'string') out.push(parsed);
    } catch {
      // a line cut by a SIGKILL mid-write
    }
  }
  return out.slice(from);
}

export const logMark = (operator: DevnetOperator): number => logLines(operator).length;

export function messages(operator: DevnetOperator, msg: string, from = 0): LogLine[] {
  return logLines(operator, from).filter((l) => l.msg === msg || l.msg.startsWith(msg));
}

/** Mines up to the next multiple of `interval` above the head; returns that boundary. */
export async function mineToNextBoundary(devnet: Devnet, interval: number): Promise<number> {
  const head = await devnet.blockNumber();
  const boundary = (Math.floor(head / interval) + 1) * interval;
  await devnet.mine(boundary - head);
  return boundary;
}

/** Waits until every operator has processed `boundary` and has no round running. */
export function settled(operators: readonly DevnetOperator[], boundary: number, timeoutMs = 240_000): Promise<NodeHealth[]> {
  return waitFor(`boundary ${boundary} settled on ${operators.map((o) => o.process.options.name).join(', ')}`, async () => {
    const all = await Promise.all(operators.map(health));
    return all.every((h) => h.lastProcessedBoundary >= boundary && h.round === null) ? all : undefined;
  }, timeoutMs);
}

/** Waits until every operator reports the same active version, newer than `after`. */
export async function converged(operators: readonly DevnetOperator[], after: number | null, timeoutMs = 240_000): Promise<number> {
  let seen = '';
  return waitFor(`one active version newer than ${after ?? 'none'} on ${operators.map((o) => o.process.options.name).join(', ')}`, async () => {
    const all = await Promise.all(operators.map(health));
    seen = all.map((h) => `${h.activeVersion ?? 'none'}/${h.versionCount}${h.round === null ? '' : ' (in a round)'}`).join(', ');
    const versions = new Set(all.map((h) => h.activeVersion));
    const [only] = [...versions];
    return versions.size === 1 && only !== null && only !== undefined && (after === null || only > after) && all.every((h) => h.round === null) ? only : undefined;
  }, timeoutMs).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last seen (active/count): ${seen}`);
  });
}

/**
 * s·H(appId) recovered from the first `threshold` nodes' partial signatures (at
 * `attestationTime`, or the active version), verified against the master public key.
 */
export async function appKey(operators: readonly DevnetOperator[], appId: string, masterPublicKeyHex: string, threshold: number, attestationTime?: number): Promise<string> {
  const answers = await Promise.all(operators.slice(0, threshold).map((o) => sign(o, appId, attestationTime)));
  const partials = answers.map((a) => {
    if (a.status !== 200) throw new Error(`/app/sign answered ${a.status}: ${JSON.stringify(a.body)}`);
    return { id: operatorId(a.body.operatorAddress), signature: g1FromHex(a.body.partialSignature) };
  });
  const key = recoverAppKey(partials, threshold);
  if (!verifyAppKey(key, appId, g2FromHex(masterPublicKeyHex))) throw new Error(`recovered app key for ${appId} does not verify against the master public key`);
  return g1ToHex(key);
}

/**
 * Mines boundaries (at most `maxBoundaries`) until, after one settles, every operator
 * holds the same active version newer than `after`; returns it. For scenarios whose
 * contract is "converges at a later boundary" rather than "at the next one".
 */
export async function convergeWithinBoundaries(devnet: Devnet, operators: readonly DevnetOperator[], interval: number, after: number | null, maxBoundaries = 3): Promise<number> {
  let seen = '';
  for (let i = 0; i < maxBoundaries; i++) {
    const boundary = await mineToNextBoundary(devnet, interval);
    const all = await settled(operators, boundary);
    const version = all[0]?.activeVersion ?? null;
    if (version !== null && (after === null || version > after) && all.every((h) => h.activeVersion === version)) return version;
    seen = all.map((h) => `${h.activeVersion ?? 'none'}/${h.versionCount}`).join(', ');
  }
  throw new Error(`no common active version newer than ${after ?? 'none'} after ${maxBoundaries} boundaries; last seen (active/count): ${seen}`);
}
