/**
 * IBE decryption with a recovered app key. The ciphertext layout is checked before any
 * node is asked, so a truncated or foreign file fails fast and costs no signatures.
 */
import { CryptoErrorCode, ibeDecrypt, parseIbeCiphertext } from '../crypto/index.js';
import { isKmsError } from '../errors.js';
import type { DerivedAppKey } from './appKey.js';
import { ClientError, ClientErrorCode } from './errors.js';

/** Throws CLIENT_BAD_INPUT unless `ciphertext` has the IBE layout (magic, version, length, valid C1). */
export function assertCiphertext(ciphertext: unknown): Uint8Array {
  if (!(ciphertext instanceof Uint8Array)) {
    throw new ClientError(ClientErrorCode.BAD_INPUT, 'ciphertext must be a Uint8Array', { fix: 'pass bytes', details: { field: 'ciphertext' } });
  }
  try {
    parseIbeCiphertext(ciphertext);
  } catch (error) {
    throw new ClientError(ClientErrorCode.BAD_INPUT, `not an IBE ciphertext: ${isKmsError(error) ? error.message : 'unreadable'}`, {
      fix: 'pass the exact bytes kms-client encrypt (or the Go client) produced, not text-mangled or truncated',
      details: { field: 'ciphertext', bytes: ciphertext.length },
      cause: error,
    });
  }
  return ciphertext;
}

/** Decrypts with a derived app key; CLIENT_DECRYPTION_FAILED when authentication fails. */
export async function decryptWithAppKey(derived: Pick<DerivedAppKey, 'appId' | 'appKey'>, ciphertext: Uint8Array): Promise<Uint8Array> {
  assertCiphertext(ciphertext);
  try {
    return await ibeDecrypt(derived.appId, derived.appKey, ciphertext);
  } catch (error) {
    if (isKmsError(error) && error.code === CryptoErrorCode.DECRYPTION_FAILED) {
      throw new ClientError(ClientErrorCode.DECRYPTION_FAILED, `the ciphertext does not decrypt for "${derived.appId}"`, {
        fix: 'check the app id: the ciphertext was tampered with, encrypted to another app id, or under another master key',
        cause: error,
      });
    }
    throw error;
  }
}
