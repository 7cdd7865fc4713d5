/** Removes user:password from a URL so it can appear in messages and logs. */
export function stripUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not a URL: keep only the scheme-like head so nothing secret after it leaks.
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
