/**
 * The error `promise` rejects with, typed as `ErrorClass` so a test can assert on its
 * fields. Throws, failing the test, when the promise resolves or rejects with anything
 * that is not an `ErrorClass` (the unexpected error is kept as the cause).
 */
export async function rejectionOf<E extends Error>(promise: Promise<unknown>, ErrorClass: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ErrorClass) return error;
    const got = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new Error(`expected a rejection with ${ErrorClass.name}, got ${got}`, { cause: error });
  }
  throw new Error(`expected a rejection with ${ErrorClass.name}, but the promise resolved`);
}
