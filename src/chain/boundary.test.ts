import fc from 'fast-check';
import { decideBoundary, latestBoundaryAtOrBelow } from './boundary.js';
import { ChainConfigError } from './errors.js';

describe('latestBoundaryAtOrBelow', () => {
  test('default', () => {
    expect(latestBoundaryAtOrBelow(37n, 10)).toBe(30n);
    expect(latestBoundaryAtOrBelow(40n, 10)).toBe(40n);
    expect(latestBoundaryAtOrBelow(9n, 10)).toBe(0n);
    expect(latestBoundaryAtOrBelow(0n, 10)).toBe(0n);
    expect(latestBoundaryAtOrBelow(-5n, 10)).toBe(0n);
  });

  test('error: interval must be a positive integer', () => {
    expect(() => latestBoundaryAtOrBelow(10n, 0)).toThrow(ChainConfigError);
    expect(() => latestBoundaryAtOrBelow(10n, 2.5)).toThrow(ChainConfigError);
    expect(() => latestBoundaryAtOrBelow(10n, -10)).toThrow(
      'chain config "boundaryInterval" is -10, expected positive integer',
    );
  });
});

describe('decideBoundary', () => {
  test('default: acts on the boundary at the head', () => {
    expect(decideBoundary({ lastProcessedBoundary: 0n, head: 10n, interval: 10 })).toEqual({
      act: true, boundary: 10n, skipped: 0n,
    });
  });

  test('behavior: a head between boundaries acts on the one below it once', () => {
    expect(decideBoundary({ lastProcessedBoundary: 10n, head: 23n, interval: 10 })).toEqual({
      act: true, boundary: 20n, skipped: 0n,
    });
    expect(decideBoundary({ lastProcessedBoundary: 20n, head: 29n, interval: 10 })).toEqual({
      act: false, reason: 'no-new-boundary',
    });
  });

  test('behavior: after downtime only the latest boundary, counting the skipped ones', () => {
    expect(decideBoundary({ lastProcessedBoundary: 20n, head: 55n, interval: 10 })).toEqual({
      act: true, boundary: 50n, skipped: 2n,
    });
  });

  test('behavior: genesis is never a boundary', () => {
    expect(decideBoundary({ lastProcessedBoundary: 0n, head: 7n, interval: 10 })).toEqual({
      act: false, reason: 'no-new-boundary',
    });
  });

  test('behavior: a head lower than one already seen is ignored', () => {
    expect(decideBoundary({ lastProcessedBoundary: 10n, head: 20n, previousHead: 21n, interval: 10 })).toEqual({
      act: false, reason: 'head-went-backwards',
    });
  });

  test('args: confirmations delay a boundary until it is buried', () => {
    expect(decideBoundary({ lastProcessedBoundary: 10n, head: 21n, interval: 10, confirmations: 2 })).toEqual({
      act: false, reason: 'no-new-boundary',
    });
    expect(decideBoundary({ lastProcessedBoundary: 10n, head: 22n, interval: 10, confirmations: 2 })).toEqual({
      act: true, boundary: 20n, skipped: 0n,
    });
  });

  test('args: maxLagBlocks leaves a boundary that is too far below the head alone', () => {
    expect(decideBoundary({ lastProcessedBoundary: 0n, head: 37n, interval: 10, maxLagBlocks: 5 })).toEqual({
      act: false, reason: 'boundary-too-old',
    });
    expect(decideBoundary({ lastProcessedBoundary: 0n, head: 35n, interval: 10, maxLagBlocks: 5 })).toEqual({
      act: true, boundary: 30n, skipped: 2n,
    });
    expect(() => decideBoundary({ lastProcessedBoundary: 0n, head: 1n, interval: 10, maxLagBlocks: -1 })).toThrow(
      'chain config "maxLagBlocks" is -1',
    );
  });

  test('error: negative confirmations', () => {
    expect(() => decideBoundary({ lastProcessedBoundary: 0n, head: 1n, interval: 10, confirmations: -1 })).toThrow(
      ChainConfigError,
    );
  });

  const interval = fc.integer({ min: 1, max: 1000 });
  const block = fc.bigInt({ min: 0n, max: 10n ** 12n });

  test('property: a decision is the latest buried boundary, newer than the last one', () => {
    fc.assert(
      fc.property(interval, block, block, fc.integer({ min: 0, max: 64 }), (step, last, head, confirmations) => {
        const decision = decideBoundary({ lastProcessedBoundary: last, head, interval: step, confirmations });
        const effective = head - BigInt(confirmations);
        if (!decision.act) {
          // No boundary above `last` exists at or below the effective head.
          const candidate = effective > 0n ? effective - (effective % BigInt(step)) : 0n;
          expect(candidate === 0n || candidate <= last).toBe(true);
          return;
        }
        expect(decision.boundary % BigInt(step)).toBe(0n);
        expect(decision.boundary > last).toBe(true);
        expect(decision.boundary <= effective).toBe(true);
        expect(decision.boundary + BigInt(step) > effective).toBe(true);
        expect(decision.skipped >= 0n).toBe(true);
      }),
    );
  });

  test('property: over any head sequence, acted boundaries strictly increase and heads going back never act', () => {
    fc.assert(
      fc.property(interval, fc.array(fc.bigInt({ min: 0n, max: 5000n }), { maxLength: 60 }), (step, heads) => {
        let last = 0n;
        let previousHead: bigint | undefined;
        for (const head of heads) {
          const decision = decideBoundary({ lastProcessedBoundary: last, head, previousHead, interval: step });
          if (previousHead !== undefined && head < previousHead) {
            expect(decision).toEqual({ act: false, reason: 'head-went-backwards' });
            continue;
          }
          previousHead = head;
          if (decision.act) {
            expect(decision.boundary > last).toBe(true);
            last = decision.boundary;
          }
        }
      }),
    );
  });
});
