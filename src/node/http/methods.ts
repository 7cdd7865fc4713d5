import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from './server.js';

/**
 * Unknown paths answer 404; a known path asked with a method it does not serve answers
 * 405 with an Allow header, as the Go original does (its handlers check r.Method).
 * Call before any route is added: the routes are learnt from the onRoute hook.
 */
export function answerWrongMethods(server: HttpServer): void {
  const methodsByPath = new Map<string, Set<string>>();
  server.addHook('onRoute', (route) => {
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByPath.set(route.url, methods);
  });
  server.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    const allowed = methodsByPath.get(path);
    if (allowed === undefined) {
      void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${path}` } });
      return;
    }
    const list = [...allowed].sort().join(', ');
    void reply
      .status(405)
      .header('allow', list)
      .send({ error: { code: 'METHOD_NOT_ALLOWED', message: `${request.method} is not allowed on ${path}. Fix: use ${list}` } });
  });
}
