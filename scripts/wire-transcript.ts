/**
 * Raw curl exchanges with a devnet node, next to the Go original's shapes (docs/api.md):
 * GET /pubkey, a wrong method, POST /app/sign allowed, refused by the allowlist, rate
 * limited, and an app id with a lone surrogate; then the node's app-sign metrics.
 *
 *   node_modules/.bin/tsx scripts/wire-transcript.ts
 *
 * Starts anvil and four kms-server processes (allowlist demo-app and 日本語, 1 request/s
 * with a burst of 4 per client), waits for the DKG, runs the commands and stops it all.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForAgreement } from '../src/devnet/demo.js';
import { Devnet } from '../src/devnet/devnet.js';

function curl(args: readonly string[]): void {
  const shown = args.map((a) => (/^[\w:/.?=@-]+$/.test(a) ? a : `'${a}'`)).join(' ');
  process.stdout.write(`$ curl ${shown}\n`);
  const out = execFileSync('curl', ['-sS', ...args], { encoding: 'utf8' });
  process.stdout.write(`${out.replace(/\r\n/g, '\n').trimEnd()}\n\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'kms-wire-'));
const devnet = await Devnet.start({
  baseDir: dir,
  nodes: 4,
  env: { KMS_APP_ALLOWLIST: 'demo-app,日本語', KMS_APP_SIGN_RATE: '1', KMS_APP_SIGN_BURST: '4' },
});
try {
  const agreed = await waitForAgreement(devnet.operators, () => true, { timeoutMs: 300_000 });
  process.stderr.write(`DKG done: version ${agreed.version}\n`);
  const url = devnet.operators[0]?.process.url ?? '';
  curl(['-i', `${url}/pubkey`]);
  curl(['-i', '-X', 'POST', `${url}/pubkey`]);
  curl(['-i', `${url}/app/sign`, '-d', '{"AppID":"demo-app","AttestationTime":0}']);
  curl(['-i', `${url}/app/sign`, '-d', '{"AppID":"other-app","AttestationTime":0}']);
  curl(['-i', `${url}/app/sign`, '-H', 'content-type: application/json', '-d', '{"AppID":"\\ud800abcd"}']);
  // The burst is 4 and three requests went already: six more from one curl process (no
  // process start-up between them) run over the limit, and so does the next.
  const burst = Array.from({ length: 6 }, () => ['-o', '/dev/null', `${url}/app/sign`]).flat();
  curl(['-s', '-w', '%{http_code}\\n', '-d', '{"AppID":"demo-app"}', ...burst]);
  curl(['-i', `${url}/app/sign`, '-d', '{"AppID":"demo-app"}']);
  const metrics = execFileSync('curl', ['-sS', `${url}/metrics`], { encoding: 'utf8' });
  process.stdout.write(`$ curl -sS ${url}/metrics | grep '^kms_app_sign_requests_total'\n`);
  process.stdout.write(`${metrics.split('\n').filter((l) => l.startsWith('kms_app_sign_requests_total')).join('\n')}\n`);
} finally {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
}
