import { backoffDelay } from '../backoff.js';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../logging/logger.js';
import { PeerRequestError, type PeerRequestErrorCode } from './errors.js';
import type { PeerIdentity, SignedEnvelope } from './types.js';

/**
 * Outbound node-to-node HTTP. Upstream Go used `http.Post` with no timeout, so one
 * hung peer stalled a whole round; here every attempt has its own deadline and the
 * number of attempts is bounded.
 *
 * Retried: network errors, per-attempt timeouts, 5xx. Never retried: 4xx (the peer
 * understood and refused; sending the same bytes again cannot help), oversize or
 * unparsable responses. A POST retried after a lost response may meet the peer's
 * replay memory: a 409 REPLAYED_MESSAGE on attempt ≥ 2 means an earlier attempt
 * was accepted, and is reported as success with `alreadyDelivered`.
 *
 * Bodies are never logged: requests carry sealed shares and responses may too.
 */

/** The part of an operator the client needs. */
export type PeerTarget = Pick<PeerIdentity, 'address' | 'socketUrl'>;

/** Options of {@link PeerClient}; every field has a default. */
export interface PeerClientOptions {
  /** Deadline of one attempt (connect, send, whole response), ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts per call including the first. Default 4. */
  readonly maxAttempts?: number;
  /** First backoff step, ms; doubles per retry. Default 100. */
  readonly baseDelayMs?: number;
  /** Backoff cap, ms. Default 2000. */
  readonly maxDelayMs?: number;
  /** Largest response body read, bytes. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** Largest request body sent, bytes. Default 2 MiB. */
  readonly maxRequestBytes?: number;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Waits between attempts; defaults to a timer that the caller's signal can cancel. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) for jitter; defaults to Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Per-call options. */
export interface PeerRequestOptions {
  /** Cancels the call (all remaining attempts), e.g. when the protocol round ends. */
  readonly signal?: AbortSignal;
  /**
   * Keep retrying (the backoff rule) until `signal` aborts, instead of stopping after
   * maxAttempts: a round's messages to a peer that restarts mid-round reach it once it is
   * back, as long as the round lasts. Needs a signal.
   */
  readonly retryUntilAborted?: boolean;
}

/** A successful exchange. */
export interface PeerResponse {
  readonly status: number;
  /** Parsed JSON body, or null for an empty body. */
  readonly body: unknown;
  readonly attempts: number;
  /** True when a retry met 409 REPLAYED_MESSAGE: an earlier attempt was delivered. */
  readonly alreadyDelivered: boolean;
}

const DEFAULTS = {
  timeoutMs: 5000,
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  maxResponseBytes: 1024 * 1024,
  maxRequestBytes: 2 * 1024 * 1024,
};

type Method = 'GET' | 'POST';

/** HTTP client for peers with per-attempt timeouts and bounded, jittered retries. */
export class PeerClient {
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxRequestBytes: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #logger: Logger | undefined;

  /** @throws TypeError naming the option when a limit is not a positive integer. */
  constructor(options: PeerClientOptions = {}) {
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs);
    this.#maxAttempts = positive('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.#baseDelayMs = positive('baseDelayMs', options.baseDelayMs ?? DEFAULTS.baseDelayMs);
    this.#maxDelayMs = positive('maxDelayMs', options.maxDelayMs ?? DEFAULTS.maxDelayMs);
    this.#maxResponseBytes = positive('maxResponseBytes', options.maxResponseBytes ?? DEFAULTS.maxResponseBytes);
    this.#maxRequestBytes = positive('maxRequestBytes', options.maxRequestBytes ?? DEFAULTS.maxRequestBytes);
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
  }

  /**
   * POSTs a sealed envelope to `peer.socketUrl + route`.
   * @throws PeerRequestError once attempts are exhausted or on a non-retryable failure.
   */
  async post(peer: PeerTarget, route: string, envelope: SignedEnvelope, options: PeerRequestOptions = {}): Promise<PeerResponse> {
    const body = JSON.stringify(envelope);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > this.#maxRequestBytes) {
      throw new PeerRequestError('PEER_REQUEST_TOO_LARGE', `request to ${peer.address} ${route} is ${bytes} bytes, limit ${this.#maxRequestBytes}`, false, {
        fix: 'split the message or raise maxRequestBytes (and the peer\'s body limit)',
        details: { peer: peer.address, route, bytes },
      });
    }
    if (options.retryUntilAborted === true && options.signal === undefined) {
      throw new TypeError('retryUntilAborted needs a signal that ends the retries');
    }
    return this.#request('POST', peer, route, body, options.signal, options.retryUntilAborted === true ? Infinity : this.#maxAttempts);
  }

  /**
   * GETs `peer.socketUrl + route` and parses the JSON response.
   * @throws PeerRequestError once attempts are exhausted or on a non-retryable failure.
   */
  async get(peer: PeerTarget, route: string, options: PeerRequestOptions = {}): Promise<PeerResponse> {
    return this.#request('GET', peer, route, undefined, options.signal, this.#maxAttempts);
  }

  /** Backoff before retry number `retry` (1-based): equal jitter over a capped exponential. */
  backoffMs(retry: number): number {
    return backoffDelay({ initialMs: this.#baseDelayMs, maxMs: this.#maxDelayMs, jitter: true }, retry, this.#random);
  }

  async #request(method: Method, peer: PeerTarget, route: string, body: string | undefined, signal: AbortSignal | undefined, maxAttempts: number): Promise<PeerResponse> {
    const url = peerUrl(peer, route);
    let lastError: PeerRequestError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (signal?.aborted === true) throw aborted(peer, route, attempt - 1);
      try {
        return await this.#attempt(method, url, peer, route, body, signal, attempt);
      } catch (error) {
        const failure = this.#classify(error, peer, route, attempt, signal);
        if (!failure.retryable) throw failure;
        lastError = failure;
      }
      if (attempt < maxAttempts) {
        const wait = this.backoffMs(attempt);
        this.#logger?.debug({ peer: peer.address, route, attempt, code: lastError.code, waitMs: wait }, 'peer request failed; retrying');
        try {
          await this.#sleep(wait, signal);
        } catch {
          throw aborted(peer, route, attempt);
        }
      }
    }
    const final = lastError ?? aborted(peer, route, maxAttempts);
    this.#logger?.warn({ peer: peer.address, route, attempts: maxAttempts, code: final.code }, 'peer request failed; giving up');
    throw final;
  }

  async #attempt(
    method: Method, url: string, peer: PeerTarget, route: string, body: string | undefined,
    signal: AbortSignal | undefined, attempt: number,
  ): Promise<PeerResponse> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    try {
      return await this.#exchange(method, url, peer, route, body, combined, attempt);
    } catch (error) {
      if (error instanceof PeerRequestError) throw error;
      // Decide by which signal fired, not by the error's class: the abort reason
      // may come from another realm (DOMException) or be wrapped by fetch.
      if (signal?.aborted === true) throw aborted(peer, route, attempt);
      if (timeout.aborted) {
        throw fail('PEER_TIMEOUT', `${peer.address} ${route} did not answer within ${this.#timeoutMs} ms`, true, peer, route, attempt, {
          timeoutMs: this.#timeoutMs,
        }, error);
      }
      throw error;
    }
  }

  async #exchange(
    method: Method, url: string, peer: PeerTarget, route: string, body: string | undefined,
    signal: AbortSignal, attempt: number,
  ): Promise<PeerResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.#fetch(url, { method, headers, body, signal, redirect: 'error' });
    if (response.status >= 500) {
      discard(response);
      throw fail('PEER_HTTP_ERROR', `${peer.address} ${route} answered HTTP ${response.status}`, true, peer, route, attempt, {
        status: response.status,
      });
    }
    const text = await this.#readBody(response, peer, route, attempt);
    const parsed = parseJson(text, peer, route, attempt, response.ok);
    if (response.ok) return { status: response.status, body: parsed, attempts: attempt, alreadyDelivered: false };
    const peerCode = errorCodeOf(parsed);
    if (method === 'POST' && attempt > 1 && response.status === 409 && peerCode === 'REPLAYED_MESSAGE') {
      return { status: response.status, body: parsed, attempts: attempt, alreadyDelivered: true };
    }
    throw fail('PEER_HTTP_ERROR', `${peer.address} ${route} refused the request: HTTP ${response.status}${peerCode === null ? '' : ` ${peerCode}`}`, false, peer, route, attempt, {
      status: response.status,
      peerCode,
    });
  }

  async #readBody(response: Response, peer: PeerTarget, route: string, attempt: number): Promise<string> {
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > this.#maxResponseBytes) {
      discard(response);
      throw this.#tooLarge(peer, route, attempt);
    }
    if (response.body === null) return '';
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.#maxResponseBytes) {
        void reader.cancel().catch(() => undefined);
        throw this.#tooLarge(peer, route, attempt);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #tooLarge(peer: PeerTarget, route: string, attempt: number): PeerRequestError {
    return fail('PEER_RESPONSE_TOO_LARGE', `${peer.address} ${route} response exceeds ${this.#maxResponseBytes} bytes`, false, peer, route, attempt, {
      maxResponseBytes: this.#maxResponseBytes,
    });
  }

  #classify(error: unknown, peer: PeerTarget, route: string, attempt: number, signal: AbortSignal | undefined): PeerRequestError {
    if (error instanceof PeerRequestError) return error;
    if (signal?.aborted === true) return aborted(peer, route, attempt);
    const reason = causeCode(error);
    return fail('PEER_UNREACHABLE', `${peer.address} ${route} is unreachable (${reason})`, true, peer, route, attempt, { reason }, error);
  }
}

/**
 * Releases the connection without reading the rest of the body. Not awaited: a
 * cancel can wait on the peer, and the request's abort signal bounds it anyway.
 */
function discard(response: Response): void {
  void response.body?.cancel().catch(() => undefined);
}

function peerUrl(peer: PeerTarget, route: string): string {
  let base: URL;
  try {
    base = new URL(peer.socketUrl);
  } catch (error) {
    throw invalidUrl(peer, route, 'is not a URL', error);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalidUrl(peer, route, `uses ${base.protocol}`);
  if (base.username !== '' || base.password !== '') throw invalidUrl(peer, route, 'embeds credentials');
  if (!route.startsWith('/')) throw invalidUrl(peer, route, 'route does not start with /');
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${route}`;
}

function invalidUrl(peer: PeerTarget, route: string, problem: string, cause?: unknown): PeerRequestError {
  return new PeerRequestError('PEER_INVALID_URL', `socket URL of ${peer.address} ${problem}`, false, {
    fix: 'register an http(s)://host:port socket URL without credentials for the operator',
    details: { peer: peer.address, route },
    cause,
  });
}

function parseJson(text: string, peer: PeerTarget, route: string, attempt: number, strict: boolean): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // An error page that is not JSON still tells us the status; only a 2xx must parse.
    if (!strict) return null;
    throw fail('PEER_INVALID_RESPONSE', `${peer.address} ${route} answered with a body that is not JSON`, false, peer, route, attempt, {
      bytes: text.length,
    }, error);
  }
}

/**
 * The peer's error code from an error body: `{error: {code}}` (what kms-node's HTTP
 * server sends) or a bare `{code}` (a KmsError's toJSON).
 */
function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const inner: unknown = 'error' in body ? body.error : body;
  if (typeof inner !== 'object' || inner === null || !('code' in inner)) return null;
  return typeof inner.code === 'string' ? inner.code : null;
}

/**
 * The system error code behind a fetch failure (ECONNREFUSED, ENOTFOUND, …). Duck-typed
 * rather than `instanceof Error`: undici's errors may come from another realm.
 */
function causeCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const cause: unknown = 'cause' in error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return 'name' in error && typeof error.name === 'string' ? error.name : 'unknown';
}

function aborted(peer: PeerTarget, route: string, attempts: number): PeerRequestError {
  return new PeerRequestError('PEER_REQUEST_ABORTED', `request to ${peer.address} ${route} was cancelled by the caller`, false, {
    details: { peer: peer.address, route, attempts },
  });
}

function fail(
  code: PeerRequestErrorCode, message: string, retryable: boolean, peer: PeerTarget, route: string, attempt: number,
  extra: Readonly<Record<string, string | number | null>>, cause?: unknown,
): PeerRequestError {
  const fix = retryable
    ? 'check that the peer is running and reachable at its registered socket URL'
    : 'the peer refused or garbled the exchange; see its logs for the reason';
  return new PeerRequestError(code, message, retryable, {
    fix,
    details: { peer: peer.address, route, attempts: attempt, ...extra },
    cause,
  });
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`PeerClient: ${name}=${value} must be a positive integer`);
  return value;
}
