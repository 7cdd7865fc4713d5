/**
 * The README cannot drift: its configuration table is the generated one, every option
 * of kms-server appears in it, and every relative link points at a file in the repo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SERVER_OPTIONS, envName } from '../../../src/config/options.js';
import { extractConfigTable, renderConfigTable } from '../../../src/config/configTable.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('the README configuration table equals the generated one', () => {
  const table = extractConfigTable(readme);
  expect(table).not.toBeNull();
  expect(table).toBe(renderConfigTable());
});

test('the generated table has one row per option, with its env var', () => {
  const rows = renderConfigTable().split('\n').slice(2);
  expect(rows).toHaveLength(SERVER_OPTIONS.length);
  SERVER_OPTIONS.forEach((spec, i) => {
    expect(rows[i]).toContain(`\`${envName(spec)}\``);
    expect(rows[i]).toContain('envOnly' in spec ? '— (env only)' : `\`--${spec.name}`);
  });
});

test('a table edited by hand is detected', () => {
  const edited = readme.replace('`KMS_PORT` | `8000`', '`KMS_PORT` | `8080`');
  expect(edited).not.toBe(readme);
  expect(extractConfigTable(edited)).not.toBe(renderConfigTable());
});

test.each(['README.md', 'docs/persistence.md', 'docs/api.md'])('every relative link in %s exists', (file) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const links = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1] ?? '').filter((l) => !/^[a-z]+:/.test(l));
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) expect([link, existsSync(join(dirname(join(ROOT, file)), link))]).toEqual([link, true]);
});

test('the README names the two commands and the demo targets exist in the Makefile', () => {
  expect(readme).toContain('make demo ');
  expect(readme).toContain('make test ');
  const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
  expect(makefile).toMatch(/^demo: /m);
  expect(makefile).toMatch(/^demo-once: /m);
  expect(makefile).toMatch(/^test: /m);
});
