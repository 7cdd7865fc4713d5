import fc from 'fast-check';
import { APP_ID_MAX_BYTES, APP_ID_MIN_BYTES, appIdProblem, assertAppId, utf8Length } from './appId.js';
import { createDeterministicRng } from './deterministicRng.js';
import { hashToG1 } from './hashToG1.js';
import { ibeDecrypt, ibeEncrypt } from './ibe.js';
import { G2 } from './points.js';
import { randomScalar } from './scalar.js';
import { partialSign } from './signatures.js';
import { codeOf } from '../../test/gen/errorCode.js';

const encoder = new TextEncoder();
// ignoreBOM: by default the decoder drops a leading U+FEFF, which would make "\uFEFFabcd" look ill-formed.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Any string of UTF-16 code units: lone surrogates included. */
const utf16Units = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 40 });
/** Well-formed strings over the whole Unicode range (astral planes included). */
const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const isWellFormed = (s: string) => strictDecoder.decode(encoder.encode(s)) === s;

describe('the app id rule counts UTF-8 bytes, as Go does', () => {
  it.each([
    ['日本語', 9],
    ['🚀🚀', 8],
    ['abcde', 5],
    ['é✓🚀', 9],
    ['\uFEFFabcd', 7],
  ])('%j is valid (%i bytes)', (id, bytes) => {
    expect(utf8Length(id)).toBe(bytes);
    expect(appIdProblem(id)).toBeNull();
  });

  it.each(['abcd', '', 'éé'])('%j is too short', (id) => {
    expect(appIdProblem(id)).toMatch(/at least 5 bytes in UTF-8/);
  });

  it('utf8Length agrees with TextEncoder on every well-formed string', () => {
    fc.assert(fc.property(unicode, (s) => utf8Length(s) === encoder.encode(s).length), { numRuns: 2000 });
  });

  it('a string is valid exactly when it is well-formed and 5..1024 UTF-8 bytes long', () => {
    fc.assert(
      fc.property(fc.oneof(utf16Units, unicode, fc.string({ unit: 'binary', minLength: 200, maxLength: 400 })), (s) => {
        const expected = isWellFormed(s) && encoder.encode(s).length >= APP_ID_MIN_BYTES && encoder.encode(s).length <= APP_ID_MAX_BYTES;
        return (appIdProblem(s) === null) === expected;
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses every string with a lone surrogate, naming the unit and where it is, and never repairs it', () => {
    const lone = fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ unit: 'binary-ascii', minLength: 5, maxLength: 10 }));
    fc.assert(
      fc.property(lone, ([before, unit, after]) => {
        const id = `${before}${String.fromCharCode(unit)}${after}`;
        const problem = appIdProblem(id);
        return problem !== null && problem.includes(`lone surrogate U+${unit.toString(16).toUpperCase()} at index ${before.length}`);
      }),
      { numRuns: 2000 },
    );
    expect(codeOf(() => assertAppId('\ud800abcd'))).toBe('CRYPTO_INVALID_APP_ID');
    expect(codeOf(() => assertAppId('\udfffabcd'))).toBe('CRYPTO_INVALID_APP_ID');
  });
});

describe('signing and encryption apply the rule', () => {
  const rng = createDeterministicRng('app-id');
  const s = randomScalar(rng);
  const mpk = G2.BASE.multiply(s);

  it('the two lone-surrogate ids of the report no longer share a partial: both are refused', () => {
    expect(codeOf(() => partialSign(7n, '\ud800abcd'))).toBe('CRYPTO_INVALID_APP_ID');
    expect(codeOf(() => partialSign(7n, '\udfffabcd'))).toBe('CRYPTO_INVALID_APP_ID');
    expect(codeOf(() => hashToG1('\ud800abcd'))).toBe('CRYPTO_INVALID_APP_ID');
    // Their U+FFFD "repairs" are a different, valid id.
    expect(partialSign(7n, '\ufffdabcd').is0()).toBe(false);
  });

  it('distinct valid ids across the Unicode range hash to distinct points', () => {
    const valid = unicode.filter((id) => appIdProblem(id) === null);
    fc.assert(
      fc.property(valid, valid, (a, b) => a === b || !hashToG1(a).equals(hashToG1(b))),
      { numRuns: 40 },
    );
  }, 120_000);

  it('encrypts and decrypts to random Unicode ids, and refuses invalid ones both ways', async () => {
    const valid = unicode.filter((id) => appIdProblem(id) === null);
    await fc.assert(
      fc.asyncProperty(valid, async (id) => {
        const ct = await ibeEncrypt(id, mpk, encoder.encode('secret'), rng);
        const pt = await ibeDecrypt(id, hashToG1(id).multiply(s), ct);
        return new TextDecoder().decode(pt) === 'secret';
      }),
      { numRuns: 6 },
    );
    await expect(ibeEncrypt('\ud800abcd', mpk, encoder.encode('x'), rng)).rejects.toMatchObject({ code: 'CRYPTO_INVALID_APP_ID' });
    await expect(ibeEncrypt('日本語', mpk, encoder.encode('x'), rng)).resolves.toBeInstanceOf(Uint8Array);
    await expect(ibeDecrypt('abcd', hashToG1('abcde').multiply(s), new Uint8Array(200))).rejects.toMatchObject({ code: 'CRYPTO_INVALID_APP_ID' });
  }, 120_000);
});
