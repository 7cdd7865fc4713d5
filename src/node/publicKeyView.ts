import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import type { PubkeyFacts } from '../wire/pubkey.js';
import type { KeyStore } from './keyStore.js';

/**
 * The public data of one key version as GET /pubkey reports it. Built field by field
 * from the public parts, so the private share can never ride along in a response.
 */
export function pubkeyViewOf(version: KeyShareVersion, self: OperatorAddress, isActive: boolean): PubkeyFacts {
  return {
    operatorAddress: self,
    version: version.epoch,
    isActive,
    threshold: version.threshold,
    masterPublicKey: version.masterPublicKey,
    commitments: [...version.commitments],
    participants: [...version.participants],
  };
}

/**
 * GET /pubkey?version=<epoch>: the stored version with exactly that epoch, or null when
 * this node does not hold it. One record read through the key store (cached), no listing.
 * `isActive` says whether it is the version /pubkey serves now.
 */
export async function storedPubkeyView(keyStore: KeyStore, epoch: number, self: OperatorAddress): Promise<PubkeyFacts | null> {
  const version = await keyStore.version(epoch);
  return version === null ? null : pubkeyViewOf(version, self, keyStore.activeVersion?.epoch === epoch);
}
