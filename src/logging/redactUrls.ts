/**
 * URLs in log lines lose what may be secret: the userinfo (user:password@) and the query
 * string and fragment (provider API keys travel as ?key=…). Scheme, host, port and path
 * stay, so a line still says where a request went. Applied to every line the logger
 * writes and to messages printed on stderr.
 */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>\\`]*)/gi;

export const REDACTED = '[Redacted]';

function redactOne(scheme: string, rest: string): string {
  // The authority ends at the first '/', '?' or '#'; userinfo is everything before its last '@'.
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let tail = end < 0 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `${REDACTED}@${authority.slice(at + 1)}`;
  const query = tail.search(/[?#]/);
  if (query >= 0) tail = `${tail.slice(0, query)}?${REDACTED}`;
  return `${scheme}${host}${tail}`;
}

export function redactUrls(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (_match, scheme: string, rest: string) => redactOne(scheme, rest));
}
