import { bls12_381 } from '@noble/curves/bls12-381.js';
import { KmsError, isKmsError } from './errors.js';

class ExampleError extends KmsError {
  readonly code = 'EXAMPLE';
}

describe('KmsError', () => {
  it('appends the fix and keeps a stable code', () => {
    const err = new ExampleError('the thing was wrong', { fix: 'do the other thing', details: { n: 1 } });
    expect(err.message).toBe('the thing was wrong. Fix: do the other thing');
    expect(err.code).toBe('EXAMPLE');
    expect(err.name).toBe('ExampleError');
    expect(isKmsError(err)).toBe(true);
    expect(err.toJSON()).toEqual({ code: 'EXAMPLE', message: err.message, details: { n: 1 } });
  });

  it('loads ESM-only @noble/curves under jest', () => {
    expect(bls12_381.G1.Point.BASE.toBytes(true)).toHaveLength(48);
  });
});
