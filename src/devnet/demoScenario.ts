import { randomBytes } from 'node:crypto';
import { appSignRequestJson } from '../wire/appSign.js';
import { Devnet, type DevnetOperator } from './devnet.js';
import {
  appKeySchema, kmsClient, lastRestoredState, nodeHealth, nodePubkey, runningUrls, sleep, waitForAgreement, waitForIdle, type Agreement,
} from './demo.js';
import { DemoStepError, Progress, shortHex, type ProgressSink } from './progress.js';

export interface DemoOptions {
  /** Where the nodes' data dirs and logs go. */
  readonly baseDir: string;
  readonly nodes: number;
  readonly appId: string;
  /** Blocks between boundaries (default 10) at one block per second. */
  readonly boundaryInterval?: number;
  readonly out: ProgressSink;
  /** Aborted on Ctrl-C: waits stop early. */
  readonly signal: AbortSignal;
}

/** What the scripted part of the demo established, for the watch loop that follows. */
export interface DemoResult {
  readonly devnet: Devnet;
  readonly agreement: Agreement;
}

const DKG_TIMEOUT_MS = 300_000;
const RESHARE_TIMEOUT_MS = 240_000;

/**
 * The scripted demo: a 4-node network from nothing, DKG, a reshare, an app key and an
 * encrypt/decrypt round trip through kms-client, then a SIGKILL of one node, its
 * restart from its own Redis-AOF data and its return to the next reshare. Throws
 * DemoStepError naming the first step that failed; the devnet is stopped on failure.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const progress = new Progress(options.out);
  const n = options.nodes;
  progress.wait(`starting anvil, deploying the registry, registering ${n} operators, starting ${n} kms-server processes (data in ${options.baseDir})`);
  const devnet = await progress.step(
    'start the network',
    () => Devnet.start({ baseDir: options.baseDir, nodes: n, blockTime: 1, boundaryInterval: options.boundaryInterval ?? 10 }),
    (d) => `anvil at ${d.rpcUrl}`,
  );
  try {
    return await scripted(devnet, options, progress);
  } catch (error) {
    progress.info(`node logs: ${devnet.operators.map((o) => o.process.options.logFile).join(' ')}`);
    await devnet.stop();
    throw error;
  }
}

async function scripted(devnet: Devnet, options: DemoOptions, progress: Progress): Promise<DemoResult> {
  const n = options.nodes;
  const { appId, signal } = options;
  progress.ok(`registry ${devnet.registryAddress}`);
  progress.ok(`${n} operators registered: ${devnet.operators.map((o) => shortHex(o.account.address, 8, 4)).join(', ')}`);
  progress.ok(`${n} kms-server processes up (pids ${devnet.operators.map((o) => o.process.pid ?? '?').join(', ')}), each with its own embedded redis-server, AOF appendfsync always`);

  progress.wait('waiting for DKG at the first boundary');
  const dkg = await progress.step(
    'DKG',
    () => waitForAgreement(devnet.operators, () => true, { timeoutMs: DKG_TIMEOUT_MS, signal }),
    (a) => `DKG done: version ${a.version}, threshold ${a.threshold} of ${a.participants}, MPK ${shortHex(a.masterPublicKey)}`,
  );

  progress.wait('waiting for a reshare at the next boundary');
  const reshared = await progress.step(
    'reshare',
    async () => {
      const a = await waitForAgreement(devnet.operators, (v) => v > dkg.version, { timeoutMs: RESHARE_TIMEOUT_MS, signal });
      if (a.masterPublicKey !== dkg.masterPublicKey) throw new Error(`the MPK changed from ${dkg.masterPublicKey} to ${a.masterPublicKey}`);
      return a;
    },
    (a) => `reshare: version ${a.version} (${a.versionCount} versions), MPK unchanged`,
  );

  const urls = devnet.nodeUrls();
  const appKey = await progress.step(
    'derive an app key',
    async () => {
      const parsed = appKeySchema.safeParse(JSON.parse((await kmsClient(urls, ['app-key', appId, '--json'])).toString('utf8')));
      if (!parsed.success) throw new Error('kms-client app-key --json printed an unexpected answer');
      if (parsed.data.masterPublicKey !== reshared.masterPublicKey) throw new Error('the app key was derived under another MPK');
      return parsed.data;
    },
    (k) => `app key derived for "${appId}" from ${k.contributors.length} of ${k.contributors.length + k.spare.length} partial signatures (each verified, and the key verified against the MPK)`,
  );

  const plaintext = new Uint8Array(Buffer.concat([Buffer.from(`kms-node demo ${new Date().toISOString()} `), randomBytes(200)]));
  const ciphertext = await progress.step(
    'encrypt and decrypt',
    async () => {
      const sealed = await kmsClient(urls, ['encrypt', appId], plaintext);
      const opened = await kmsClient(urls, ['decrypt', appId], sealed);
      if (!Buffer.from(plaintext).equals(opened)) throw new Error('decrypt returned different bytes than were encrypted');
      return sealed;
    },
    (sealed) => `encrypt → decrypt round trip through kms-client (${plaintext.length} bytes, ciphertext ${sealed.length} bytes)`,
  );

  const victim = devnet.operators[1] ?? failStep('pick a node to kill', `the network has only ${n} node(s)`);
  const name = victim.process.options.name;
  const before = await progress.step(
    `SIGKILL ${name}`,
    async () => {
      const health = await waitForIdle(victim, RESHARE_TIMEOUT_MS);
      const pid = victim.process.pid;
      const exit = await victim.process.kill();
      if (exit.signal !== 'SIGKILL') throw new Error(`expected death by SIGKILL, got ${exit.code ?? exit.signal ?? 'no exit'}`);
      return { health, pid };
    },
    (b) => `SIGKILL ${name} (pid ${b.pid ?? '?'}) holding version ${b.health.activeVersion ?? 'none'}, ${b.health.versionCount} versions, boundary ${b.health.lastProcessedBoundary}`,
  );

  await progress.step(
    `serve with ${name} down`,
    async () => {
      const opened = await kmsClient(runningUrls(devnet), ['decrypt', appId], ciphertext);
      if (!Buffer.from(plaintext).equals(opened)) throw new Error('decrypt returned different bytes');
    },
    () => `with ${name} down, ${n - 1} of ${n} nodes still decrypt (threshold ${reshared.threshold})`,
  );

  await progress.step(`restart ${name}`, () => victim.process.start(), () => `${name} restarted (pid ${victim.process.pid ?? '?'}) on the same data dir`);
  const restored = await progress.step(`${name} restored`, () => checkRestored(victim, before.health, reshared.masterPublicKey, appId), (r) => r.text);

  progress.wait(`waiting for the next reshare with ${name} back`);
  const rejoined = await progress.step(
    `${name} rejoins`,
    () => waitForAgreement(devnet.operators, (v) => v > restored.version, { timeoutMs: RESHARE_TIMEOUT_MS, signal }),
    (a) => `reshare with ${name}: version ${a.version} on all ${n} nodes, MPK unchanged`,
  );

  await progress.step(
    'app key stable',
    async () => {
      // Pinned to the version just agreed on: the network keeps rotating, and a request that
      // straddles the next activation finds no version with a threshold of partials.
      const at = ['--attestation-time', String(rejoined.version)];
      const again = appKeySchema.parse(JSON.parse((await kmsClient(devnet.nodeUrls(), ['app-key', appId, '--json', ...at])).toString('utf8')));
      if (again.appKey !== appKey.appKey) throw new Error('the app key changed across reshares: the master secret was not preserved');
      const opened = await kmsClient(devnet.nodeUrls(), ['decrypt', appId, ...at], ciphertext);
      if (!Buffer.from(plaintext).equals(opened)) throw new Error('the first ciphertext no longer decrypts');
      return again.version;
    },
    (v) => `app key for "${appId}" unchanged at version ${v}; the first ciphertext still decrypts`,
  );
  return { devnet, agreement: rejoined };
}

/**
 * The node came back with what it had: the restore logged the same active version and
 * version count as before the kill, its boundary did not go back, it serves the same
 * MPK and answers /app/sign.
 */
async function checkRestored(
  victim: DevnetOperator,
  before: { activeVersion: number | null; versionCount: number; lastProcessedBoundary: number },
  masterPublicKey: string,
  appId: string,
): Promise<{ text: string; version: number }> {
  const restored = lastRestoredState(victim.process.options.logFile);
  if (restored === null) throw new Error('the node logged no "state restored" line');
  if (restored.activeVersion !== before.activeVersion || restored.versions !== before.versionCount) {
    throw new Error(`restored version ${restored.activeVersion ?? 'none'} with ${restored.versions} versions; before the kill it had ${before.activeVersion ?? 'none'} with ${before.versionCount}`);
  }
  if (restored.lastProcessedBoundary < before.lastProcessedBoundary) {
    throw new Error(`restored boundary ${restored.lastProcessedBoundary} is older than ${before.lastProcessedBoundary}`);
  }
  const key = await nodePubkey(victim.process.url);
  if (key?.masterPublicKey !== masterPublicKey) throw new Error('the restarted node does not serve the network\'s MPK');
  const response = await fetch(`${victim.process.url}/app/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(appSignRequestJson({ appId })),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`POST /app/sign answered ${response.status}`);
  const health = await nodeHealth(victim.process.url);
  if (health === null || health.phase !== 'running') throw new Error(`the node is ${health?.phase ?? 'not answering'}`);
  const text = `${victim.process.options.name} restored: same MPK, ${restored.versions} versions, active version ${restored.activeVersion ?? 'none'}, boundary ${restored.lastProcessedBoundary}, serving`;
  return { text, version: restored.activeVersion ?? 0 };
}

function failStep(step: string, reason: string): never {
  throw new DemoStepError(step, reason);
}

/**
 * After the script: one status line per new agreed version until `signal` aborts.
 */
export async function watch(devnet: Devnet, from: Agreement, out: ProgressSink, signal: AbortSignal): Promise<void> {
  const progress = new Progress(out);
  let last = from.version;
  while (!signal.aborted) {
    await sleep(1_000);
    const views = await Promise.all(devnet.operators.map((o) => nodePubkey(o.process.url)));
    const versions = views.map((v) => v?.version ?? null);
    const newest = Math.max(...versions.map((v) => v ?? 0));
    if (newest <= last) continue;
    const on = versions.filter((v) => v === newest).length;
    if (on < devnet.operators.length) {
      // Give the slower nodes a moment before reporting a partial set.
      await sleep(2_000);
      const again = await Promise.all(devnet.operators.map((o) => nodePubkey(o.process.url)));
      const count = again.filter((v) => v?.version === newest).length;
      const healths = await Promise.all(devnet.operators.map((o) => nodeHealth(o.process.url)));
      progress.ok(`version ${newest} on ${count}/${devnet.operators.length} nodes, boundary ${Math.max(...healths.map((h) => h?.lastProcessedBoundary ?? 0))}`);
    } else {
      const healths = await Promise.all(devnet.operators.map((o) => nodeHealth(o.process.url)));
      progress.ok(`version ${newest} on ${on}/${devnet.operators.length} nodes, ${Math.min(...healths.map((h) => h?.versionCount ?? 0))} versions, boundary ${Math.max(...healths.map((h) => h?.lastProcessedBoundary ?? 0))}`);
    }
    last = newest;
  }
}
