/**
 * A small fetch-based client for one node's public API (GET /pubkey, POST /app/sign).
 * Every answer is size-capped and schema-checked: a node that is down, slow, or
 * answers garbage becomes a ClientError naming its URL, never a crash or a hang.
 */
import { z } from 'zod';
import { appSignRequestJson, appSignResponseSchema, type AppSignResponse } from '../wire/appSign.js';
import { pubkeyResponseSchema, type PubkeyResponse } from '../wire/pubkey.js';
import { ClientError, ClientErrorCode, badInput } from './errors.js';

/** The fetch the client uses; injectable for tests and custom agents. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** One node to ask. */
export interface NodeTarget {
  /** Base URL with a trailing slash; routes resolve against it. */
  readonly url: string;
  /** The URL as shown in messages: no credentials, no query. */
  readonly display: string;
  /** The operator address the operator set says serves this URL (lowercase), if known. */
  readonly expectedAddress?: string;
}

export interface NodeRequestOptions {
  readonly timeoutMs: number;
  readonly fetch: FetchLike;
}

/** Largest answer read from a node; /pubkey for 100 operators is ~25 KB. */
export const MAX_NODE_RESPONSE_BYTES = 1024 * 1024;

/** Node error codes that get a reason of their own (the rest are 'status'). */
const REASON_OF_CODE: Readonly<Record<string, string>> = {
  NO_ACTIVE_KEY: 'no-active-key',
  KEY_VERSION_NOT_FOUND: 'version-not-held',
  APP_NOT_ALLOWED: 'app-not-allowed',
  RATE_LIMITED: 'rate-limited',
  TOO_MANY_CONCURRENT: 'rate-limited',
};

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** GET /pubkey as read (src/wire/pubkey.ts): addresses lowercase, points as 0x-hex of their compressed encoding. */
export type { PubkeyResponse } from '../wire/pubkey.js';
/** POST /app/sign as read (src/wire/appSign.ts): the address lowercase, the signature as 0x-hex. */
export type { AppSignResponse as PartialSignatureResponse } from '../wire/appSign.js';

/** Checks and normalizes a node URL (http or https, absolute). */
export function nodeTarget(raw: string, expectedAddress?: string): NodeTarget {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch (cause) {
    throw badInput(`node URL "${printable(raw)}" is not an absolute URL`, 'give node URLs like http://10.0.0.5:8000', 'nodes', cause);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw badInput(`node URL "${displayUrl(parsed)}" must use http or https`, 'give node URLs like http://10.0.0.5:8000', 'nodes');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses such URLs, and a password in a node list ends up in shell history and logs.
    throw badInput(`node URL "${displayUrl(parsed)}" carries credentials`, 'give node URLs without user:password@', 'nodes');
  }
  parsed.hash = '';
  if (!parsed.pathname.endsWith('/')) parsed.pathname = `${parsed.pathname}/`;
  const target = { url: parsed.toString(), display: displayUrl(parsed) };
  return expectedAddress === undefined ? target : { ...target, expectedAddress: expectedAddress.toLowerCase() };
}

function displayUrl(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/** Untrusted text (node messages) made safe for a terminal: no control characters, bounded. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function nodeError(node: NodeTarget, reason: string, message: string, extra: Record<string, string | number> = {}, cause?: unknown): ClientError {
  return new ClientError(ClientErrorCode.NODE_ERROR, `node ${node.display}: ${message}`, {
    fix: 'check that the node is running and reachable, or leave it out of the node list',
    details: { url: node.display, reason, summary: message, ...extra },
    cause,
  });
}

/** The node's failure in a few words, for per-node outcome lists. */
export function describeNodeFailure(error: unknown): string {
  if (error instanceof ClientError) {
    const summary = error.details.summary;
    return typeof summary === 'string' ? summary : error.message.split('\n')[0] ?? error.code;
  }
  return error instanceof Error ? printable(error.message) : 'failed';
}

async function readCapped(response: Response): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_NODE_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new RangeError(`answer of ${declared} bytes exceeds the ${MAX_NODE_RESPONSE_BYTES}-byte limit`);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    // Node's ReadableStream types leave the chunk untyped; fetch bodies yield bytes.
    const { done, value } = (await reader.read()) as { done: boolean; value: Uint8Array | undefined };
    if (done || value === undefined) break;
    total += value.length;
    if (total > MAX_NODE_RESPONSE_BYTES) {
      await reader.cancel();
      throw new RangeError(`answer exceeds the ${MAX_NODE_RESPONSE_BYTES}-byte limit`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

async function call(node: NodeTarget, route: string, init: RequestInit, options: NodeRequestOptions): Promise<unknown> {
  const url = new URL(route.slice(1), node.url).toString();
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await options.fetch(url, { ...init, signal, redirect: 'error' });
    bytes = await readCapped(response);
  } catch (cause) {
    if (signal.aborted) throw nodeError(node, 'timeout', `no answer to ${route} within ${options.timeoutMs} ms`, {}, cause);
    if (cause instanceof RangeError) throw nodeError(node, 'invalid-response', `${route}: ${cause.message}`, {}, cause);
    const why = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
    throw nodeError(node, 'unreachable', `cannot reach ${route} (${printable(why)})`, {}, cause);
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const err = errorBodySchema.safeParse(body);
    const said = err.success ? `${printable(err.data.error.code, 64)}: ${printable(err.data.error.message)}` : 'no error body';
    const reason = !err.success ? 'status' : (REASON_OF_CODE[err.data.error.code] ?? 'status');
    throw nodeError(node, reason, `${route} answered HTTP ${response.status} (${said})`, {
        status: response.status,
        ...(err.success ? { nodeCode: printable(err.data.error.code, 64) } : {}),
      });
  }
  if (body === undefined) throw nodeError(node, 'invalid-response', `${route} answered a body that is not JSON`);
  return body;
}

function parse<T>(node: NodeTarget, route: string, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw nodeError(node, 'invalid-response', `${route} answered an invalid body (${where}${printable(issue?.message ?? 'invalid')})`);
  }
  return parsed.data;
}

/**
 * GET /pubkey: the node's view of the active key version, or with `version` (an epoch,
 * as /app/sign names it) GET /pubkey?version=<epoch>: its view of that stored version.
 * A node that does not hold it fails with reason 'version-not-held'.
 */
export async function fetchPubkey(node: NodeTarget, options: NodeRequestOptions, version?: number): Promise<PubkeyResponse> {
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 0)) {
    throw badInput(`key version must be a non-negative integer epoch, got ${String(version)}`, 'pass the version an /app/sign answer names', 'version');
  }
  const route = version === undefined ? '/pubkey' : `/pubkey?version=${version}`;
  const body = await call(node, route, { method: 'GET', headers: { accept: 'application/json' } }, options);
  return parse(node, route, pubkeyResponseSchema, body);
}

/** POST /app/sign: the node's partial signature on appId. */
export async function requestPartialSignature(
  node: NodeTarget,
  request: { readonly appId: string; readonly attestationTime?: number },
  options: NodeRequestOptions,
): Promise<AppSignResponse> {
  const body = await call(
    node,
    '/app/sign',
    { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(appSignRequestJson(request)) },
    options,
  );
  return parse(node, '/app/sign', appSignResponseSchema, body);
}
