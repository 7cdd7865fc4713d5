import type { KeyShareVersion, OperatorAddress } from '../persistence/types.js';
import type { PubkeyView } from './http/server.js';
import type { KeyStore } from './keyStore.js';
import { viewOf } from './sessionPlan.js';

/**
 * The public data of one key version as GET /pubkey reports it. Built field by field
 * from the public parts, so the private share can never ride along in a response.
 */
export function pubkeyViewOf(version: KeyShareVersion, self: OperatorAddress): PubkeyView {
  const view = viewOf(version, self);
  return {
    operatorAddress: view.operatorAddress,
    version: view.version,
    threshold: view.threshold,
    masterPublicKey: view.masterPublicKey,
    commitments: [...view.commitments],
    participants: [...view.participants],
  };
}

/**
 * GET /pubkey?version=<epoch>: the stored version with exactly that epoch, or null when
 * this node does not hold it. One record read through the key store (cached), no listing.
 */
export async function storedPubkeyView(keyStore: KeyStore, epoch: number, self: OperatorAddress): Promise<PubkeyView | null> {
  const version = await keyStore.version(epoch);
  return version === null ? null : pubkeyViewOf(version, self);
}
