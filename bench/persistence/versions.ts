import { randomBytes } from 'node:crypto';
import type { KeyShareVersion, OperatorAddress } from '../../src/persistence/types.js';

/** BLS12-381 Fr order: shares are scalars below it. */
const FR_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

const participants: OperatorAddress[] = Array.from({ length: 24 }, (): OperatorAddress => `0x${randomBytes(20).toString('hex')}`).sort();

/**
 * A realistic version for a 24-operator network with threshold 16: 16 commitments
 * (96-byte compressed G2 each), a master public key and 24 participants. The bytes are
 * random (persistence never decodes points), so no curve arithmetic slows the set-up.
 */
export function realisticVersion(epoch: number): KeyShareVersion {
  return {
    epoch,
    privateShare: BigInt(`0x${randomBytes(32).toString('hex')}`) % FR_ORDER,
    commitments: Array.from({ length: 16 }, () => new Uint8Array(randomBytes(96))),
    masterPublicKey: new Uint8Array(randomBytes(96)),
    threshold: 16,
    participants,
    createdAt: epoch * 1000,
  };
}
