import fc from 'fast-check';
import { wireJsonValue } from '../../test/harness/jsonArbitrary.js';
import { canonicalJson } from './canonicalJson.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } }))
      .toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('omits undefined members as JSON does', () => {
    expect(canonicalJson({ to: undefined, from: '0xab' })).toBe('{"from":"0xab"}');
  });

  it('escapes strings like JSON.stringify', () => {
    expect(canonicalJson({ 'k"\n': 'é\u0000' })).toBe(JSON.stringify({ 'k"\n': 'é\u0000' }));
  });

  it.each([
    ['NaN', { n: Number.NaN }, '$.n is a non-finite number'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0] is a non-finite number'],
    ['bigint', { n: 1n }, '$.n has type bigint'],
    ['undefined in array', [1, undefined], '$[1] is undefined'],
    ['Date', { at: new Date(0) }, '$.at is not a plain object'],
    ['typed array', { b: new Uint8Array(2) }, '$.b is not a plain object'],
    ['function', { f: () => 1 }, '$.f has type function'],
    // JSON.parse makes "__proto__" an own member; a receiver's plain assignment would not.
    ['a __proto__ member', JSON.parse('{"a":{"__proto__":false}}') as unknown, '$.a has a "__proto__" member'],
  ])('refuses %s', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('property: parses back to the same value and ignores insertion order', () => {
    fc.assert(
      fc.property(wireJsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const reversed = reverseKeys(value);
        expect(canonicalJson(reversed)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse()) out[key] = reverseKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
