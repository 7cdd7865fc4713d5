/**
 * Polls a synchronous condition until it holds (the code under test works on its own
 * timers); fails naming what it waited for once `timeoutMs` has passed.
 */
export async function until(what: string, predicate: () => boolean, timeoutMs = 20_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
