/**
 * The app id rule, one for encryption, signing, the HTTP API and the client.
 *
 * An app id is hashed to G1 as its UTF-8 bytes, so the rule counts UTF-8 bytes, as the Go
 * original does (`len(appID) >= 5` in Go is a byte count): "日本語" (9 bytes) and "🚀🚀"
 * (8 bytes) are valid app ids, "abcd" is not.
 *
 * A JavaScript string can hold lone surrogates (U+D800..U+DFFF not in a pair), which have
 * no UTF-8 encoding: TextEncoder silently writes U+FFFD for each, so "\ud800abcd" and
 * "\udfffabcd" would hash to the same point and share one app key. Such strings are
 * refused, never repaired.
 *
 * The upper bound is ours (Go has none besides its 16 KB body limit): 1024 bytes keeps
 * logs and hashing bounded and admits every id the earlier 256-UTF-16-unit rule did.
 */
import { CryptoError, CryptoErrorCode } from './errors.js';

export const APP_ID_MIN_BYTES = 5;
export const APP_ID_MAX_BYTES = 1024;

// With the u flag a surrogate class matches only surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** What is wrong with `appId` under the app id rule, or null when it is valid. */
export function appIdProblem(appId: unknown): string | null {
  if (typeof appId !== 'string') return `app id must be a string, got ${appId === null ? 'null' : typeof appId}`;
  const surrogate = LONE_SURROGATE.exec(appId);
  if (surrogate !== null) {
    const unit = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
    return `app id is not well-formed Unicode: lone surrogate U+${unit} at index ${surrogate.index} (it has no UTF-8 encoding)`;
  }
  const bytes = utf8Length(appId);
  if (bytes < APP_ID_MIN_BYTES) return `app id must be at least ${APP_ID_MIN_BYTES} bytes in UTF-8, got ${bytes}`;
  if (bytes > APP_ID_MAX_BYTES) return `app id must be at most ${APP_ID_MAX_BYTES} bytes in UTF-8, got ${bytes}`;
  return null;
}

/** Throws CRYPTO_INVALID_APP_ID unless appId meets the rule above; returns it unchanged. */
export function assertAppId(appId: unknown): string {
  const problem = appIdProblem(appId);
  if (problem !== null) {
    throw new CryptoError(CryptoErrorCode.INVALID_APP_ID, problem, {
      fix: `use the app id the app was registered with: well-formed Unicode of ${APP_ID_MIN_BYTES} to ${APP_ID_MAX_BYTES} UTF-8 bytes`,
    });
  }
  return appId as string;
}

/** Throws CRYPTO_INVALID_APP_ID when a string cannot be encoded to UTF-8 without loss. */
export function assertWellFormed(text: string, title: string): string {
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate !== null) {
    throw new CryptoError(CryptoErrorCode.INVALID_APP_ID, `"${title}" is not well-formed Unicode: lone surrogate at index ${surrogate.index}`, {
      fix: 'pass text without unpaired UTF-16 surrogates, or pass the bytes themselves',
    });
  }
  return text;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** UTF-8 length of a well-formed string, without allocating its bytes. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair: one 4-byte code point for the two units.
      bytes += 4;
      i++;
    } else bytes += 3; // the rest of the BMP, and a lone surrogate as the U+FFFD it would become

  }
  return bytes;
}
