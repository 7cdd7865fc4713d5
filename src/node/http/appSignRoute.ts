import { appIdProblem } from '../../crypto/appId.js';
import { appSignJson, isAppSignRequestProblem, readAppSignRequest } from '../../wire/appSign.js';
import type { AppSignAccess } from './appSignAccess.js';
import { HttpRequestError } from './httpErrors.js';
import type { HttpServer, NodeApi } from './server.js';
import { strictUtf8JsonParser } from './strictJson.js';

function tooMany(code: string, message: string, retryAfterSeconds: number) {
  return { error: { code, message: `${message}. Fix: retry after ${retryAfterSeconds} s (the Retry-After header)`, details: { retryAfterSeconds } } };
}

/**
 * POST /app/sign in the order the Go original checks a request: rate limit (before the
 * body is read), body (size, UTF-8, JSON), AppID, allowlist, then signing under the
 * concurrency ceiling.
 */
export function registerAppSign(server: HttpServer, api: NodeApi, access: AppSignAccess): void {
  void server.register((scope, _options, done) => {
    // Go's handler reads the body as JSON whatever its content type (curl -d sends a form type).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, strictUtf8JsonParser);
    scope.post('/app/sign', {
      bodyLimit: access.policy.maxBodyBytes,
      onRequest: async (request, reply) => {
        const admission = access.admit(request.ip);
        if (admission.admitted) return;
        await reply
          .status(429)
          .header('retry-after', String(admission.retryAfterSeconds))
          .send(tooMany('RATE_LIMITED', `this client sent more than ${access.policy.burst} requests at once or ${access.policy.ratePerSecond} per second to /app/sign`, admission.retryAfterSeconds));
      },
    }, async (request, reply) => {
      const parsed = readAppSignRequest(request.body);
      if (isAppSignRequestProblem(parsed)) {
        access.count('invalid');
        throw new HttpRequestError(400, 'INVALID_REQUEST', `${parsed.message}. Fix: send {"AppID": "<app id>", "AttestationTime": 0}`, { field: parsed.field });
      }
      const problem = appIdProblem(parsed.appId);
      if (problem !== null) {
        access.count('invalid');
        throw new HttpRequestError(400, 'INVALID_APP_ID', problem, { field: 'AppID' });
      }
      if (!access.allows(parsed.appId)) {
        request.log.warn({ appId: parsed.appId }, 'app sign request refused: app id not on the allowlist');
        throw new HttpRequestError(403, 'APP_NOT_ALLOWED', 'this node does not release keys for that app id (it is not on the operator\'s --app-allowlist). Fix: ask the operators to add it');
      }
      const release = access.enter();
      if (release === null) {
        return reply.status(429).header('retry-after', '1').send(tooMany('TOO_MANY_CONCURRENT', `this node is already signing ${access.policy.maxConcurrent} requests`, 1));
      }
      try {
        return appSignJson(await api.signApp(parsed.appId, parsed.attestationTime));
      } finally {
        release();
      }
    });
    done();
  });
}
