import { PersistenceValidationError } from './errors.js';
import type {
  KeyShareVersion,
  NodeState,
  OperatorAddress,
  ProtocolSessionState,
  StoredAcknowledgement,
} from './types.js';

/**
 * Pure validators run before any write: a value that fails here is never stored, and
 * the same checks run on every decoded record, so what comes back out obeys the types.
 * Curve points are checked for length only; the key store decodes them on the curve.
 */

/** The BLS12-381 scalar field order r. */
export const FR_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
export const G2_COMPRESSED_BYTES = 96;

const ADDRESS = /^0x[0-9a-f]{40}$/;
const HEX32 = /^0x[0-9a-f]{64}$/;
const SIGNATURE = /^0x[0-9a-f]{130}$/;

function fail(field: string, rule: string): never {
  throw new PersistenceValidationError(field, rule);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An epoch or session timestamp: a non-negative safe integer. */
export function assertEpoch(value: unknown, field = 'epoch'): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(field, `expected a non-negative integer, got ${describe(value)}`);
  }
}

function assertCount(value: unknown, field: string): asserts value is number {
  assertEpoch(value, field);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function assertAddress(value: unknown, field: string): asserts value is OperatorAddress {
  if (!isAddress(value)) {
    fail(field, 'expected a 0x-prefixed lowercase 20-byte hex address');
  }
}

function assertScalar(value: unknown, field: string): asserts value is bigint {
  // Only the type and range go into the message: the value is secret.
  if (typeof value !== 'bigint' || value < 0n || value >= FR_ORDER) {
    fail(field, 'expected a bigint scalar in [0, r)');
  }
}

const isG2 = (value: unknown): boolean => value instanceof Uint8Array && value.length === G2_COMPRESSED_BYTES;
const isAddress = (value: unknown): boolean => typeof value === 'string' && ADDRESS.test(value);

function assertG2(value: unknown, field: string): asserts value is Uint8Array {
  if (!isG2(value)) {
    fail(field, `expected ${G2_COMPRESSED_BYTES} bytes (compressed G2 point)`);
  }
}

function assertG2List(value: unknown, field: string): asserts value is readonly Uint8Array[] {
  if (!Array.isArray(value) || value.length === 0) fail(field, 'expected a non-empty array of G2 points');
  // Field names are built only for the message: these loops run on every save.
  for (let i = 0; i < value.length; i++) {
    if (!isG2(value[i])) assertG2(value[i], `${field}[${i}]`);
  }
}

function assertAddressList(value: unknown, field: string, ascending: boolean): asserts value is readonly OperatorAddress[] {
  if (!Array.isArray(value) || value.length === 0) fail(field, 'expected a non-empty array of addresses');
  value.forEach((address, i) => {
    assertAddress(address, `${field}[${i}]`);
    const previous: unknown = value[i - 1];
    if (i > 0 && typeof previous === 'string') {
      if (previous === address) fail(field, `duplicate address at index ${i}`);
      if (ascending && previous > address) fail(field, 'expected ascending address order');
    }
  });
}

function assertHex(value: unknown, pattern: RegExp, field: string, rule: string): void {
  if (typeof value !== 'string' || !pattern.test(value)) fail(field, rule);
}

export function assertKeyShareVersion(value: unknown, field = 'version'): asserts value is KeyShareVersion {
  if (!isRecord(value)) fail(field, `expected an object, got ${describe(value)}`);
  // Shapes here; the rules (range, order, uniqueness, threshold) once, in the invariants.
  assertEpoch(value.epoch, `${field}.epoch`);
  assertScalar(value.privateShare, `${field}.privateShare`);
  assertG2List(value.commitments, `${field}.commitments`);
  assertG2(value.masterPublicKey, `${field}.masterPublicKey`);
  if (!Array.isArray(value.participants)) fail(`${field}.participants`, 'expected a non-empty array of addresses');
  const participants: unknown[] = value.participants;
  for (let i = 0; i < participants.length; i++) {
    if (!isAddress(participants[i])) assertAddress(participants[i], `${field}.participants[${i}]`);
  }
  if (typeof value.threshold !== 'number') fail(`${field}.threshold`, 'expected an integer in [1, participants.length]');
  assertCount(value.createdAt, `${field}.createdAt`);
  assertKeyShareInvariants(value as unknown as KeyShareVersion, field);
}

/**
 * A stored certificate belongs to its version: same epoch, threshold, participants and
 * commitments (the layout stores only what it adds: type, dealers, signatures), dealers
 * and signers ascending among the participants. Signatures are the protocol's to verify.
 */
function assertCertificateOf(version: KeyShareVersion, field: string): void {
  const cert: unknown = version.certificate;
  if (!isRecord(cert)) fail(field, 'expected an object');
  if (cert.type !== 'dkg' && cert.type !== 'reshare') fail(`${field}.type`, 'expected "dkg" or "reshare"');
  const participants: unknown = cert.participants;
  const commitments: unknown = cert.commitments;
  // A decoded certificate shares the version's arrays: the cheap identity check first.
  const same = cert.sessionTimestamp === version.epoch
    && cert.threshold === version.threshold
    && Array.isArray(participants) && (participants === version.participants || participants.join() === version.participants.join())
    && Array.isArray(commitments) && (commitments === version.commitments || (commitments.length === version.commitments.length
    && commitments.every((c: unknown, i) => c instanceof Uint8Array && Buffer.from(c).equals(Buffer.from(version.commitments[i] ?? new Uint8Array(0))))));
  if (!same) fail(field, 'expected the epoch, threshold, participants and commitments of its own version');
  assertAddressList(cert.dealers, `${field}.dealers`, true);
  const signatures: unknown = cert.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) fail(`${field}.signatures`, 'expected a non-empty array');
  const signers = signatures.map((s: unknown, i): unknown => {
    if (!isRecord(s)) fail(`${field}.signatures[${i}]`, 'expected {operator, signature}');
    assertHex(s.signature, /^0x[0-9a-f]{130}$/, `${field}.signatures[${i}].signature`, 'expected 0x + 130 lowercase hex digits');
    return s.operator;
  });
  assertAddressList(signers, `${field}.signatures`, true);
}

/**
 * The rules a well-typed version must still obey: share below r, at least one commitment,
 * participants non-empty, ascending and unique, threshold in [1, n]. Alone, this is the
 * check for a version decoded from the binary layout, whose reader already guarantees
 * every shape (integer widths, 96-byte points, 20-byte lowercase-hex addresses); running
 * the address patterns again cost a third of listing a year of versions.
 */
export function assertKeyShareInvariants(version: KeyShareVersion, field = 'version'): void {
  if (version.privateShare >= FR_ORDER) fail(`${field}.privateShare`, 'expected a bigint scalar in [0, r)');
  if (version.commitments.length === 0) fail(`${field}.commitments`, 'expected a non-empty array of G2 points');
  const { participants, threshold } = version;
  if (participants.length === 0) fail(`${field}.participants`, 'expected a non-empty array of addresses');
  for (let i = 1; i < participants.length; i++) {
    const previous = participants[i - 1] as string;
    const address = participants[i] as string;
    if (previous === address) fail(`${field}.participants`, `duplicate address at index ${i}`);
    if (previous > address) fail(`${field}.participants`, 'expected ascending address order');
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > participants.length) {
    fail(`${field}.threshold`, 'expected an integer in [1, participants.length]');
  }
  if (version.certificate !== undefined) assertCertificateOf(version, `${field}.certificate`);
}

export function assertNodeState(value: unknown, field = 'state'): asserts value is NodeState {
  if (!isRecord(value)) fail(field, `expected an object, got ${describe(value)}`);
  assertCount(value.lastProcessedBoundary, `${field}.lastProcessedBoundary`);
  assertCount(value.nodeStartTime, `${field}.nodeStartTime`);
  assertAddress(value.operatorAddress, `${field}.operatorAddress`);
}

function assertAck(value: unknown, field: string, dealer: string, player: string, sessionTimestamp: number): asserts value is StoredAcknowledgement {
  if (!isRecord(value)) fail(field, `expected an acknowledgement object, got ${describe(value)}`);
  if (value.dealer !== dealer) fail(`${field}.dealer`, 'must equal the dealer it is filed under');
  if (value.player !== player) fail(`${field}.player`, 'must equal the player it is filed under');
  if (value.sessionTimestamp !== sessionTimestamp) fail(`${field}.sessionTimestamp`, 'must equal the session timestamp');
  assertHex(value.shareHash, HEX32, `${field}.shareHash`, 'expected 0x-prefixed 32-byte lowercase hex');
  assertHex(value.commitmentHash, HEX32, `${field}.commitmentHash`, 'expected 0x-prefixed 32-byte lowercase hex');
  assertHex(value.signature, SIGNATURE, `${field}.signature`, 'expected 0x-prefixed 65-byte lowercase hex');
}

function assertAddressKeys(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (!isRecord(value)) fail(field, `expected an object keyed by address, got ${describe(value)}`);
  for (const key of Object.keys(value)) assertAddress(key, `${field} key`);
}

export function assertProtocolSession(value: unknown, field = 'session'): asserts value is ProtocolSessionState {
  if (!isRecord(value)) fail(field, `expected an object, got ${describe(value)}`);
  assertEpoch(value.sessionTimestamp, `${field}.sessionTimestamp`);
  const sessionTimestamp = value.sessionTimestamp;
  if (value.type !== 'dkg' && value.type !== 'reshare') fail(`${field}.type`, "expected 'dkg' or 'reshare'");
  if (value.phase !== 1 && value.phase !== 2 && value.phase !== 3 && value.phase !== 4) fail(`${field}.phase`, 'expected 1, 2, 3 or 4');
  assertCount(value.startTime, `${field}.startTime`);
  assertAddressList(value.operatorAddresses, `${field}.operatorAddresses`, false);
  assertAddressKeys(value.shares, `${field}.shares`);
  for (const [dealer, share] of Object.entries(value.shares)) assertScalar(share, `${field}.shares[${dealer}]`);
  assertAddressKeys(value.commitments, `${field}.commitments`);
  for (const [dealer, list] of Object.entries(value.commitments)) assertG2List(list, `${field}.commitments[${dealer}]`);
  assertAddressKeys(value.acknowledgements, `${field}.acknowledgements`);
  for (const [dealer, byPlayer] of Object.entries(value.acknowledgements)) {
    assertAddressKeys(byPlayer, `${field}.acknowledgements[${dealer}]`);
    for (const [player, ack] of Object.entries(byPlayer)) {
      assertAck(ack, `${field}.acknowledgements[${dealer}][${player}]`, dealer, player, sessionTimestamp);
    }
  }
}
