/**
 * docs/api.md cannot drift from the API: its JSON examples are the hand-written upstream
 * fixtures the contract tests pin, they parse with the one wire schema, and every error
 * code the HTTP layer can answer is documented.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appSignResponseSchema } from '../../../src/wire/appSign.js';
import { pubkeyResponseSchema } from '../../../src/wire/pubkey.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
const fixture = JSON.parse(readFileSync(join(ROOT, 'src/wire/__fixtures__/upstream-http.json'), 'utf8')) as {
  pubkeyResponse: object; pubkeyExtraKeys: object; appSignRequestFromGoClient: string; appSignResponse: object; appSignExtraKeys: object;
};
const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '') as unknown);

test('the JSON examples are the upstream fixtures and parse with the wire schemas', () => {
  expect(examples).toEqual([
    { ...fixture.pubkeyResponse, ...fixture.pubkeyExtraKeys },
    JSON.parse(fixture.appSignRequestFromGoClient),
    { ...fixture.appSignResponse, ...fixture.appSignExtraKeys },
  ]);
  expect(pubkeyResponseSchema.safeParse(examples[0]).success).toBe(true);
  expect(appSignResponseSchema.safeParse(examples[2]).success).toBe(true);
});

test('every error code the HTTP layer answers is documented', () => {
  const dir = join(ROOT, 'src/node/http');
  const source = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const codes = new Set([
    ...[...source.matchAll(/HttpRequestError\(\s*\d{3},\s*'([A-Z_0-9]+)'/g)].map((m) => m[1]),
    ...[...source.matchAll(/code: '([A-Z_0-9]+)'/g)].map((m) => m[1]),
    ...[...source.matchAll(/tooMany\('([A-Z_0-9]+)'/g)].map((m) => m[1]),
  ]);
  expect(codes.size).toBeGreaterThan(8);
  for (const code of codes) expect([code, doc.includes(`\`${code}\``)]).toEqual([code, true]);
});
