/**
 * IBE encryption to an app id under the agreed master public key. Needs no node
 * cooperation beyond /pubkey agreement: anyone can encrypt, only the app (holding its
 * app key) can decrypt.
 */
import { ibeEncrypt, type RandomSource } from '../crypto/index.js';
import { isKmsError } from '../errors.js';
import { assertAppId } from './appKey.js';
import { ClientErrorCode, ClientError } from './errors.js';
import type { AgreedMasterPublicKey } from './masterPublicKey.js';

/** "IBE" ‖ 0x01 ‖ C1 ‖ nonce ‖ AES-256-GCM(plaintext), the Go original's layout. */
export async function encryptForApp(
  agreed: Pick<AgreedMasterPublicKey, 'masterPublicKey'>,
  appId: string,
  plaintext: Uint8Array,
  rng?: RandomSource,
): Promise<Uint8Array> {
  assertAppId(appId);
  if (!(plaintext instanceof Uint8Array)) {
    throw new ClientError(ClientErrorCode.BAD_INPUT, 'plaintext must be a Uint8Array', { fix: 'pass bytes', details: { field: 'plaintext' } });
  }
  try {
    return await (rng === undefined ? ibeEncrypt(appId, agreed.masterPublicKey, plaintext) : ibeEncrypt(appId, agreed.masterPublicKey, plaintext, rng));
  } catch (error) {
    if (isKmsError(error)) {
      throw new ClientError(ClientErrorCode.BAD_INPUT, `cannot encrypt to "${appId}": ${error.message}`, { cause: error, details: { field: 'masterPublicKey' } });
    }
    throw error;
  }
}
