import { randomBytes } from 'node:crypto';
import type { KeyShareVersion, NodeState, OperatorAddress, ProtocolSessionState } from '../../../src/persistence/types.js';
import { FR_ORDER } from '../../../src/persistence/validation.js';

/** Random but well-formed records for the persistence suites. */

export function randomScalar(): bigint {
  return BigInt(`0x${randomBytes(32).toString('hex')}`) % FR_ORDER;
}

export function g2(): Uint8Array {
  return new Uint8Array(randomBytes(96));
}

export function address(): OperatorAddress {
  return `0x${randomBytes(20).toString('hex')}`;
}

export function addresses(n: number): OperatorAddress[] {
  return Array.from({ length: n }, address).sort();
}

export function keyShareVersion(epoch: number, overrides: Partial<KeyShareVersion> = {}): KeyShareVersion {
  const participants = addresses(4);
  return {
    epoch,
    privateShare: randomScalar(),
    commitments: [g2(), g2(), g2()],
    masterPublicKey: g2(),
    threshold: 3,
    participants,
    createdAt: epoch * 1000 + 17,
    ...overrides,
  };
}

export function nodeState(overrides: Partial<NodeState> = {}): NodeState {
  return { lastProcessedBoundary: 120, nodeStartTime: 1_764_000_000_123, operatorAddress: address(), ...overrides };
}

export function protocolSession(sessionTimestamp: number, overrides: Partial<ProtocolSessionState> = {}): ProtocolSessionState {
  const [a, b, c] = addresses(3) as [OperatorAddress, OperatorAddress, OperatorAddress];
  const ack = (dealer: OperatorAddress, player: OperatorAddress) => ({
    dealer,
    player,
    sessionTimestamp,
    shareHash: `0x${randomBytes(32).toString('hex')}` as const,
    commitmentHash: `0x${randomBytes(32).toString('hex')}` as const,
    signature: `0x${randomBytes(65).toString('hex')}` as const,
  });
  return {
    sessionTimestamp,
    type: 'reshare',
    phase: 2,
    startTime: sessionTimestamp * 1000,
    operatorAddresses: [a, b, c],
    shares: { [a]: randomScalar(), [b]: randomScalar() },
    commitments: { [a]: [g2(), g2()], [b]: [g2(), g2()] },
    acknowledgements: { [a]: { [b]: ack(a, b), [c]: ack(a, c) }, [b]: { [a]: ack(b, a) } },
    ...overrides,
  };
}

/** Every way a share could appear in plaintext: decimal, hex, 0x-hex. */
/** Text forms a leaked share could take; the raw 32 bytes appear as a latin1 string. */
export function shareEncodings(share: bigint): string[] {
  const hex = share.toString(16);
  const bytes = Buffer.from(hex.padStart(64, '0'), 'hex');
  return [share.toString(10), hex, `0x${hex}`, hex.padStart(64, '0'), bytes.toString('base64'), bytes.toString('latin1')];
}
