import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { LogController, fastify, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import type { AppSignFacts } from '../../wire/appSign.js';
import { pubkeyJson, type PubkeyFacts } from '../../wire/pubkey.js';
import { AppSignAccess, DEFAULT_APP_SIGN_POLICY, type AppSignPolicy } from './appSignAccess.js';
import { registerAppSign } from './appSignRoute.js';
import { HttpRequestError, toHttpError } from './httpErrors.js';
import { answerWrongMethods } from './methods.js';
import { ProtocolRejectionLog } from './protocolRejections.js';

export interface HealthView {
  readonly status: 'ok' | 'degraded' | 'unhealthy';
  readonly body: Readonly<Record<string, unknown>>;
}

/** The node as the HTTP API sees it. */
export interface NodeApi {
  /** Public data of the active version (GET /pubkey), or null before the first key. */
  publicKey(): PubkeyFacts | null;
  /** Public data of the stored version with exactly this epoch, or null when this node does not hold it. */
  publicKeyAt(epoch: number): Promise<PubkeyFacts | null>;
  /** σ = x·H1(appId) with the active version (attestationTime null) or the one valid then; `version` names the signer's. */
  signApp(appId: string, attestationTime: number | null): Promise<AppSignFacts>;
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
  /** Who may obtain partial signatures and how fast (default: upstream's limits, no allowlist). */
  readonly appSign?: AppSignPolicy;
  /** kms_app_sign_requests_total: the route counts refused, rate_limited, busy and invalid requests in it. */
  readonly appSignRequests?: Counter<'outcome'>;
}

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
    if (mapped.retryAfterSeconds !== undefined) void reply.header('retry-after', String(mapped.retryAfterSeconds));
    void reply.status(mapped.status).send(mapped.body);
  });
  answerWrongMethods(server);

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
      return pubkeyJson(stored);
    }
    const view = api.publicKey();
    if (view === null) {
      return reply.status(503).send({ error: { code: 'NO_ACTIVE_KEY', message: 'this node has no active key version yet' } });
    }
    return pubkeyJson(view);
  });

  registerAppSign(server, api, new AppSignAccess(options.appSign ?? DEFAULT_APP_SIGN_POLICY, options.appSignRequests));

  // Liveness only: the process answers, so its event loop turns. Persistence trouble is
  // /health's (readiness) business: a restart cannot fix a disk.
  server.get('/livez', () => ({ status: 'alive' }));

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
