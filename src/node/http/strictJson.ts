import type { FastifyRequest } from 'fastify';
import { HttpRequestError } from './httpErrors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A body parser that refuses what it cannot read exactly: bytes that are not UTF-8
 * (fastify's default would turn them into U+FFFD, so two different app ids could sign
 * as one) and text that is not JSON. An empty body parses as undefined.
 */
export function strictUtf8JsonParser(_request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    done(new HttpRequestError(400, 'INVALID_UTF8', 'the request body is not valid UTF-8. Fix: send the JSON body encoded as UTF-8'));
    return;
  }
  if (text.trim() === '') {
    done(null, undefined);
    return;
  }
  try {
    done(null, JSON.parse(text));
  } catch {
    done(new HttpRequestError(400, 'INVALID_JSON', 'the request body is not JSON. Fix: send e.g. {"AppID": "my-app", "AttestationTime": 0}'));
  }
}
