import { redactUrls } from '../logging/redactUrls.js';

/** A URL fit for messages and logs: userinfo, query string and fragment removed; a non-URL is not echoed. */
export function stripUrlCredentials(url: string): string {
  return url.includes('://') ? redactUrls(url) : '(not a URL; value not shown)';
}
