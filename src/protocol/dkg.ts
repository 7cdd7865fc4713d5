/**
 * Distributed key generation (Pedersen/Feldman style, no trusted dealer): every
 * operator deals a random polynomial of degree t−1; the dealer set D is every dealer
 * acknowledged by all operators (|D| ≥ t); x_j = Σ_{i∈D} s_ij and
 * C_k = Σ_{i∈D} C_ik, so MPK = C_0. See session.ts for the rounds.
 */
import { randomScalar, defaultRandomSource } from '../crypto/scalar.js';
import { validateBase } from './config.js';
import { ProtocolSession } from './session.js';
import { thresholdFor } from './threshold.js';
import type { DkgSessionConfig } from './types.js';

/** A DKG session for this operator; call start(), then feed peers' messages to handle(). */
export function createDkgSession(config: DkgSessionConfig): ProtocolSession {
  const base = validateBase(config);
  const rng = config.rng;
  return new ProtocolSession({
    type: 'dkg',
    sessionTimestamp: config.sessionTimestamp,
    ...base,
    signer: config.signer,
    recoverSigner: config.recoverSigner,
    rng,
    startTime: config.startTime ?? 0,
    msm: config.verification?.msm ?? true,
    batch: config.verification?.batch ?? true,
    dealers: base.operators,
    threshold: thresholdFor(base.operators.length),
    ownConstant: randomScalar(rng ?? defaultRandomSource),
    reshare: null,
    source: null,
  });
}
