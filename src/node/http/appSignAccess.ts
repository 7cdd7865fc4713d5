/**
 * Who may obtain partial signatures on /app/sign, and how fast. Anyone who can reach
 * ⌈2n/3⌉ nodes can otherwise collect any app's key, so an operator restricts release:
 *
 * - an allowlist of exact app ids (--app-allowlist, as upstream's): others get 403;
 * - a token bucket per client address (rate and burst) and a ceiling on requests being
 *   signed at once: over either, 429 with Retry-After;
 * - a body limit for the route.
 *
 * Defaults are upstream's numbers: 50 requests/s with a burst of 100, 20 at once, 16 KB.
 * Each decision is counted in kms_app_sign_requests_total{outcome}.
 */
import type { Counter } from 'prom-client';
import { appIdProblem } from '../../crypto/appId.js';
import { ClientRateLimiter, ConcurrencyGate, clientKey } from './rateLimit.js';

export interface AppSignPolicy {
  /** Exact app ids that may be signed for; null = every valid app id. */
  readonly allowlist: readonly string[] | null;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxConcurrent: number;
  readonly maxBodyBytes: number;
}

/** The Go original's limits for /app/sign (pkg/node/server.go) and no allowlist. */
export const DEFAULT_APP_SIGN_POLICY: AppSignPolicy = { allowlist: null, ratePerSecond: 50, burst: 100, maxConcurrent: 20, maxBodyBytes: 16 * 1024 };

const BOUNDS = {
  ratePerSecond: [1, 1_000_000],
  burst: [1, 1_000_000],
  maxConcurrent: [1, 10_000],
  maxBodyBytes: [1024, 1024 * 1024],
} as const;

export interface AppSignPolicyProblem {
  readonly field: keyof AppSignPolicy;
  readonly message: string;
}

/**
 * The one check of an app-sign policy, for the CLI and the KmsNode spec alike: unset
 * fields take the defaults, every problem is reported. Allowlist entries are trimmed (as
 * upstream trims them), deduplicated, and must each be a valid app id.
 */
export function checkAppSignPolicy(input: { readonly [K in keyof AppSignPolicy]?: AppSignPolicy[K] | undefined }): { policy: AppSignPolicy; problems: AppSignPolicyProblem[] } {
  const problems: AppSignPolicyProblem[] = [];
  let allowlist: string[] | null = null;
  if (input.allowlist !== undefined && input.allowlist !== null) {
    allowlist = [...new Set(input.allowlist.map((id) => id.trim()).filter((id) => id !== ''))];
    for (const id of allowlist) {
      const why = appIdProblem(id);
      if (why !== null) problems.push({ field: 'allowlist', message: `entry '${id}' can never be signed for: ${why}` });
    }
    if (allowlist.length === 0) problems.push({ field: 'allowlist', message: 'lists no app id; leave it unset to sign for every app id' });
  }
  const policy: AppSignPolicy = { ...DEFAULT_APP_SIGN_POLICY, allowlist };
  for (const field of Object.keys(BOUNDS) as (keyof typeof BOUNDS)[]) {
    const value = input[field];
    if (value === undefined) continue;
    const [min, max] = BOUNDS[field];
    if (!Number.isSafeInteger(value) || value < min || value > max) problems.push({ field, message: `must be a whole number from ${min} to ${max}; got ${String(value)}` });
    else (policy as { -readonly [K in keyof AppSignPolicy]: AppSignPolicy[K] })[field] = value;
  }
  return { policy, problems };
}

/** Outcomes counted per request: signed and no_version by the node, the rest here. */
export type AppSignOutcome = 'refused' | 'rate_limited' | 'busy' | 'invalid';

export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterSeconds: number };

export class AppSignAccess {
  private readonly allowed: ReadonlySet<string> | null;
  private readonly limiter: ClientRateLimiter;
  private readonly gate: ConcurrencyGate;

  constructor(
    readonly policy: AppSignPolicy,
    private readonly outcomes?: Counter<'outcome'>,
    clock?: () => number,
  ) {
    this.allowed = policy.allowlist === null ? null : new Set(policy.allowlist);
    this.limiter = new ClientRateLimiter({ ratePerSecond: policy.ratePerSecond, burst: policy.burst, ...(clock === undefined ? {} : { clock }) });
    this.gate = new ConcurrencyGate(policy.maxConcurrent);
  }

  /** One token from the client's bucket (by its address), before the body is read. */
  admit(clientAddress: string): Admission {
    const taken = this.limiter.take(clientKey(clientAddress));
    if (taken.allowed) return { admitted: true };
    this.count('rate_limited');
    return { admitted: false, retryAfterSeconds: taken.retryAfterSeconds };
  }

  /** Whether this exact app id may be signed for. */
  allows(appId: string): boolean {
    const ok = this.allowed === null || this.allowed.has(appId);
    if (!ok) this.count('refused');
    return ok;
  }

  /** A slot among maxConcurrent, or null when all are taken (counted as busy). */
  enter(): (() => void) | null {
    const release = this.gate.tryEnter();
    if (release === null) this.count('busy');
    return release;
  }

  count(outcome: AppSignOutcome): void {
    this.outcomes?.inc({ outcome });
  }
}
