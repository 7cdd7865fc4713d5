/** Public surface of the DKG / reshare protocol cores. */
export * from './errors.js';
export * from './types.js';
export * from './messages.js';
export * from './digests.js';
export * from './threshold.js';
export { ProtocolSession, type DealChecks, type PreparedBatch } from './session.js';
export { createDkgSession } from './dkg.js';
export { createReshareSession } from './reshare.js';
export * from './simulation.js';
export * from './certificate.js';
export * from './certificateJson.js';
