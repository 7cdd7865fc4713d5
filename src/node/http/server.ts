import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { LogController, fastify, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import { HttpRequestError, toHttpError } from './httpErrors.js';
import { ProtocolRejectionLog } from './protocolRejections.js';

/** What GET /pubkey reports: public data of the active version (or of ?version=<epoch>). */
export interface PubkeyView {
  readonly operatorAddress: string;
  /** The version's epoch: the boundary block timestamp (Unix seconds) of the round that made it. */
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKey: string;
  readonly commitments: readonly string[];
  readonly participants: readonly string[];
}

export interface HealthView {
  readonly status: 'ok' | 'degraded' | 'unhealthy';
  readonly body: Readonly<Record<string, unknown>>;
}

export interface PartialSignatureView {
  readonly operatorAddress: string;
  /** The epoch of the key version that signed; GET /pubkey?version=<it> gives its public data. */
  readonly version: number;
  readonly partialSignature: string;
}

/** The node as the HTTP API sees it. */
export interface NodeApi {
  publicKey(): PubkeyView | null;
  /** Public data of the stored version with exactly this epoch, or null when this node does not hold it. */
  publicKeyAt(epoch: number): Promise<PubkeyView | null>;
  signApp(appId: string, attestationTime: number | null): Promise<PartialSignatureView>;
  health(): Promise<HealthView>;
  readonly metrics: Registry;
  /** Authenticates and dispatches one protocol envelope that arrived on `route`. */
  /** Resolves to the reply body (undefined: `{accepted: true}`). */
  receiveProtocolMessage(route: string, body: unknown): Promise<unknown>;
  /** The protocol routes this node accepts, e.g. "/protocol/dkg/share". */
  readonly protocolRoutes: readonly string[];
}

export interface HttpServerOptions {
  readonly logger: Logger;
  /** Largest protocol request body (commitment broadcasts for n = 100 stay far below). */
  readonly protocolBodyLimitBytes?: number;
  /** Where refused protocol requests are logged (rate-limited); built from `logger` by default. */
  readonly protocolRejections?: ProtocolRejectionLog;
}

const APP_ID = z.string().min(5, 'appId must be at least 5 characters').max(256, 'appId must be at most 256 characters');
const appSignBody = z.strictObject({
  appId: APP_ID,
  attestationTime: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Accepts the decimal digits of a safe integer; anything else (sign, dot, exponent, repeats) is refused. */
const pubkeyQuery = z.object({
  version: z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n))
    .optional(),
});

export type HttpServer = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** Builds the HTTP API (not yet listening). One instance per node. */
export function buildHttpServer(api: NodeApi, options: HttpServerOptions): HttpServer {
  const server = fastify({
    loggerInstance: options.logger.child({ module: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    // Upstream ran without server timeouts; a slow client must not hold a socket forever.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
  });

  const protocolRoutes = new Set(api.protocolRoutes);
  const rejections = options.protocolRejections ?? new ProtocolRejectionLog(options.logger.child({ module: 'http' }));
  server.setErrorHandler((error, request, reply) => {
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error, url: request.url }, 'request failed');
    else if (protocolRoutes.has(request.routeOptions.url ?? '')) {
      rejections.record({ route: request.routeOptions.url ?? request.url, status: mapped.status, code: mapped.body.error.code, body: request.body, error });
    }
    void reply.status(mapped.status).send(mapped.body);
  });
  server.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
  });

  server.get('/pubkey', async (request, reply) => {
    const query = pubkeyQuery.safeParse(request.query);
    if (!query.success) {
      throw new HttpRequestError(
        400,
        'INVALID_VERSION_PARAMETER',
        'query parameter "version" must be a key version epoch, a non-negative integer of Unix seconds given once. ' +
          'Fix: send e.g. GET /pubkey?version=1700000000 (the "version" of an /app/sign answer), or omit it for the active version',
        { parameter: 'version' },
      );
    }
    const epoch = query.data.version;
    if (epoch !== undefined) {
      const stored = await api.publicKeyAt(epoch);
      if (stored === null) {
        throw new HttpRequestError(
          404,
          'KEY_VERSION_NOT_FOUND',
          `this node holds no key version with epoch ${epoch}. ` +
            'Fix: ask for an epoch this node took part in (an /app/sign answer names its version), or ask another operator',
          { version: epoch },
        );
      }
      return stored;
    }
    const view = api.publicKey();
    if (view === null) {
      return reply.status(503).send({ error: { code: 'NO_ACTIVE_KEY', message: 'this node has no active key version yet' } });
    }
    return view;
  });

  server.post('/app/sign', async (request) => {
    const parsed = appSignBody.safeParse(request.body);
    if (!parsed.success) throw new HttpRequestError(400, 'INVALID_REQUEST', describeZodError(parsed.error));
    return api.signApp(parsed.data.appId, parsed.data.attestationTime ?? null);
  });

  server.get('/health', async (_request, reply) => {
    const health = await api.health();
    return reply.status(health.status === 'unhealthy' ? 503 : 200).send({ status: health.status, ...health.body });
  });

  server.get('/metrics', async (_request, reply) => {
    const text = await api.metrics.metrics();
    return reply.type(api.metrics.contentType).send(text);
  });

  const protocolBodyLimit = options.protocolBodyLimitBytes ?? 1024 * 1024;
  for (const route of api.protocolRoutes) {
    server.post(route, { bodyLimit: protocolBodyLimit }, async (request) => {
      const reply = await api.receiveProtocolMessage(route, request.body);
      return reply ?? { accepted: true };
    });
  }
  return server;
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
