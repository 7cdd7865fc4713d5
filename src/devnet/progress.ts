/**
 * One-line progress for the demo: a step prints `… what it waits for`, then `✓ what it
 * got` or `✗ what failed`. Lines only, no spinners, so the output reads the same in a
 * terminal, a CI log and a test's captured stdout.
 */
export interface ProgressSink {
  write(text: string): unknown;
}

/** A failed demo step: the step's name travels with the cause so the exit message names it. */
export class DemoStepError extends Error {
  constructor(
    readonly step: string,
    readonly reason: string,
  ) {
    super(`step "${step}" failed: ${reason}`);
    this.name = 'DemoStepError';
  }
}

export class Progress {
  constructor(private readonly out: ProgressSink) {}

  /** A waiting line (no result yet). */
  wait(text: string): void {
    this.out.write(`… ${text}\n`);
  }

  ok(text: string): void {
    this.out.write(`✓ ${text}\n`);
  }

  fail(text: string): void {
    this.out.write(`✗ ${text}\n`);
  }

  info(text: string): void {
    this.out.write(`  ${text}\n`);
  }

  /**
   * Runs one named step: prints `✓ <success text>` on success, `✗ <step>: <reason>` and
   * throws DemoStepError on failure, so the caller can stop at the first failed step.
   */
  async step<T>(name: string, run: () => Promise<T>, success: (value: T) => string): Promise<T> {
    let value: T;
    try {
      value = await run();
    } catch (error) {
      const reason = error instanceof DemoStepError ? error.reason : error instanceof Error ? error.message : String(error);
      this.fail(`${name}: ${reason}`);
      throw error instanceof DemoStepError ? error : new DemoStepError(name, reason);
    }
    this.ok(success(value));
    return value;
  }
}

/** `0xabcdef…1234`: enough of a long hex value to compare by eye. */
export function shortHex(hex: string, head = 10, tail = 4): string {
  return hex.length <= head + tail + 1 ? hex : `${hex.slice(0, head)}…${hex.slice(-tail)}`;
}
