import { isKmsError } from '../../src/errors.js';

/**
 * The stable code of the typed error `fn` throws: 'NO_ERROR' when it returns, and
 * 'NOT_A_KMS_ERROR' for anything untyped (which is itself a failure of the code under test).
 */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return isKmsError(error) ? error.code : 'NOT_A_KMS_ERROR';
  }
  return 'NO_ERROR';
}
