/** t = ⌈2n/3⌉: more than half (two dealer sets can never both reach t completions) and more than 2/3 honest-majority. */
export function thresholdFor(n: number): number {
  return Math.ceil((2 * n) / 3);
}
