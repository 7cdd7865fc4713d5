import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { pubkeyResponseSchema, type PubkeyResponse } from '../wire/pubkey.js';
import { cliEntry, REPO_ROOT } from './cliEntry.js';
import type { Devnet, DevnetOperator } from './devnet.js';
import { DemoStepError } from './progress.js';

/** The part of GET /health the demo reads. */
export interface NodeHealth {
  readonly status: string;
  readonly phase: string;
  readonly activeVersion: number | null;
  readonly versionCount: number;
  readonly lastProcessedBoundary: number;
  readonly round: { readonly sessionTimestamp: number } | null;
}

const healthSchema = z.object({
  status: z.string(),
  phase: z.string(),
  activeVersion: z.number().int().nullable(),
  versionCount: z.number().int(),
  lastProcessedBoundary: z.number().int(),
  round: z.object({ sessionTimestamp: z.number() }).nullable(),
});

/** GET /pubkey read with the one wire schema (src/wire/pubkey.ts): the MPK as 0x-hex, as kms-client prints it. */
export type NodePubkey = PubkeyResponse;

/** GET /health of one node; null when it does not answer. */
export async function nodeHealth(url: string): Promise<NodeHealth | null> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    const parsed = healthSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** GET /pubkey of one node; null when it has no key or does not answer. */
export async function nodePubkey(url: string): Promise<NodePubkey | null> {
  try {
    const response = await fetch(`${url}/pubkey`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return null;
    const parsed = pubkeyResponseSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** What every asked node agrees on: one active version and one MPK. */
export interface Agreement {
  readonly version: number;
  readonly threshold: number;
  readonly participants: number;
  readonly masterPublicKey: string;
  readonly versionCount: number;
  readonly lastProcessedBoundary: number;
}

/**
 * Polls until every given operator reports the same active version (and MPK) that
 * satisfies `accept`, or throws after `timeoutMs` with what each node last said.
 */
export async function waitForAgreement(
  operators: readonly DevnetOperator[],
  accept: (version: number) => boolean,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Agreement> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answers yet';
  for (;;) {
    const keys = await Promise.all(operators.map((o) => nodePubkey(o.process.url)));
    const healths = await Promise.all(operators.map((o) => nodeHealth(o.process.url)));
    const first = keys[0];
    const agreed = first !== null && first !== undefined && first.masterPublicKey !== null && accept(first.version)
      && keys.every((k) => k !== null && k.version === first.version && k.masterPublicKey === first.masterPublicKey);
    if (agreed && first.masterPublicKey !== null) {
      const counts = healths.map((h) => h?.versionCount ?? 0);
      const boundaries = healths.map((h) => h?.lastProcessedBoundary ?? 0);
      return {
        version: first.version,
        threshold: first.threshold,
        participants: first.participants.length,
        masterPublicKey: first.masterPublicKey,
        versionCount: Math.min(...counts),
        lastProcessedBoundary: Math.max(...boundaries),
      };
    }
    last = operators.map((o, i) => `${o.process.options.name}: ${keys[i]?.version ?? 'no key'}`).join(', ');
    if (Date.now() > deadline) throw new Error(`no agreement within ${Math.round(options.timeoutMs / 1000)} s (${last})`);
    if (options.signal?.aborted === true) throw new Error('interrupted');
    await sleep(1_000);
  }
}

export interface ClientRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs the kms-client CLI against the given node URLs, feeding `stdin`. */
export function runKmsClient(nodeUrls: readonly string[], args: readonly string[], stdin?: Uint8Array): Promise<ClientRun> {
  const entry = cliEntry('kms-client');
  return new Promise((resolve, reject) => {
    const child = spawn(entry.command, [...entry.args, '--nodes', nodeUrls.join(','), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => { resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }); });
    child.stdin.end(stdin === undefined ? undefined : Buffer.from(stdin));
  });
}

/** Runs kms-client and returns stdout, or throws with its stderr when it exits non-zero. */
export async function kmsClient(nodeUrls: readonly string[], args: readonly string[], stdin?: Uint8Array): Promise<Buffer> {
  const run = await runKmsClient(nodeUrls, args, stdin);
  if (run.code !== 0) throw new Error(`kms-client ${args[0] ?? ''} exited ${run.code ?? 'by signal'}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** The app-key answer of `kms-client app-key --json`. */
export const appKeySchema = z.object({
  appKey: z.string(),
  version: z.number().int(),
  threshold: z.number().int(),
  masterPublicKey: z.string(),
  verification: z.object({ verified: z.literal(true) }),
  contributors: z.array(z.object({ url: z.string(), operatorAddress: z.string() })),
  spare: z.array(z.object({ url: z.string(), operatorAddress: z.string() })),
});

/** What a node logged when it restored its state at start-up (the last such line). */
export interface RestoredState {
  readonly lastProcessedBoundary: number;
  readonly versions: number;
  readonly activeVersion: number | null;
}

const restoredSchema = z.object({
  msg: z.literal('state restored'),
  lastProcessedBoundary: z.number().int(),
  versions: z.number().int(),
  activeVersion: z.number().int().nullable(),
});

/** Reads the last `state restored` line from a node's JSON log. */
export function lastRestoredState(logFile: string): RestoredState | null {
  let found: RestoredState | null = null;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"state restored"')) continue;
    try {
      const parsed = restoredSchema.safeParse(JSON.parse(line));
      if (parsed.success) {
        const { lastProcessedBoundary, versions, activeVersion } = parsed.data;
        found = { lastProcessedBoundary, versions, activeVersion };
      }
    } catch {
      // a line cut by SIGKILL is not JSON: skip it
    }
  }
  return found;
}

/** Waits until `node` has no round running, so a kill cannot land mid-commit. */
export async function waitForIdle(operator: DevnetOperator, timeoutMs: number): Promise<NodeHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await nodeHealth(operator.process.url);
    if (health !== null && health.round === null) return health;
    if (Date.now() > deadline) throw new DemoStepError(`wait for ${operator.process.options.name} to be idle`, `a round was still running after ${timeoutMs} ms`);
    await sleep(250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The node URLs of every operator whose process runs. */
export function runningUrls(devnet: Devnet): string[] {
  return devnet.operators.filter((o) => o.process.isRunning()).map((o) => o.process.url);
}
