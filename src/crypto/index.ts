/** Public surface of the BLS12-381 threshold crypto core. */
export * from './errors.js';
export * from './scalar.js';
export * from './points.js';
export * from './polynomial.js';
export * from './lagrange.js';
export * from './operatorId.js';
export * from './appId.js';
export * from './hashToG1.js';
export * from './signatures.js';
export * from './ibe.js';
export * from './batchVerify.js';
export * from './deterministicRng.js';
