/**
 * Registry mode: the node list comes from an OperatorRegistry on a real anvil chain.
 * The DKG runs among anvil dev accounts 1–4 (so the registry's operator addresses are
 * the key holders), each registers its fixture node's URL, and both the library and
 * the CLI find the nodes through the registry alone.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes, type Address } from 'viem';
import { deployRegistry, registerOperator } from '../../../src/chain/deploy.js';
import { RegistryOperatorSetSource } from '../../../src/chain/operatorSet.js';
import { createKmsClient } from '../../../src/client/index.js';
import { g1ToHex, hashToG1, interpolateAtZero, operatorId } from '../../../src/crypto/index.js';
import { createSimulatedSignerFromKey } from '../../../src/protocol/simulation.js';
import { devAccounts, startAnvil, type AnvilHandle } from '../../harness/anvil.js';
import { runDkg, startNodes, type DkgKeys, type FakeNodes, type FixtureSigner } from '../../harness/dkgCluster.js';

jest.setTimeout(180_000);

const ROOT = resolve(import.meta.dirname, '../../..');
const APP = 'registry-mode-app';
const INDEXES = [1, 2, 3, 4];

/** An Ethereum-style signer (r ‖ s ‖ v, v = 27/28) for a dev account. */
function devSigner(index: number): FixtureSigner {
  return createSimulatedSignerFromKey(hexToBytes(devAccounts[index]!.privateKey));
}

let anvil: AnvilHandle;
let keys: DkgKeys;
let nodes: FakeNodes;
let registry: Address;
let expectedAppKey: string;

beforeAll(async () => {
  anvil = await startAnvil();
  const signers = INDEXES.map(devSigner);
  keys = runDkg(signers.length, 'registry-mode', undefined, signers);
  nodes = await startNodes(keys);
  ({ address: registry } = await deployRegistry(anvil.wallet(0), { allowlist: INDEXES.map((i) => devAccounts[i]!.address) }));
  for (const [k, i] of INDEXES.entries()) {
    const signingPublicKey = secp256k1.getPublicKey(hexToBytes(devAccounts[i]!.privateKey), false).subarray(1);
    await registerOperator(anvil.wallet(i), { registryAddress: registry, socketUrl: nodes.urls[k]!, signingPublicKey });
  }
  const secret = interpolateAtZero(keys.versions.map((v, i) => ({ x: operatorId(keys.operators[i]!), y: v.privateShare })));
  expectedAppKey = g1ToHex(hashToG1(APP).multiply(secret));
});

afterAll(async () => {
  await nodes.close();
  await anvil.stop();
});

describe('registry mode', () => {
  it('the library reads node URLs and operator addresses from the registry and derives the app key', async () => {
    const client = createKmsClient({ nodes: new RegistryOperatorSetSource({ client: anvil.publicClient, registryAddress: registry }) });
    const targets = await client.resolveNodes();
    expect(targets.map((t) => t.expectedAddress).sort()).toEqual([...keys.operators].sort());
    const derived = await client.deriveAppKey(APP);
    expect(g1ToHex(derived.appKey)).toBe(expectedAppKey);
    expect(derived.rejected).toEqual([]);
  });

  it('kms-client --registry-address --rpc-url app-key prints the same key', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: undefined, KMS_CLIENT_NODES: undefined };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolvePromise, reject) => {
      const child = spawn(
        join(ROOT, 'node_modules/.bin/tsx'),
        [join(ROOT, 'src/cli/kms-client.ts'), '--registry-address', registry, '--rpc-url', anvil.rpcUrl, 'app-key', APP],
        { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        resolvePromise({ code, stdout, stderr });
      });
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${expectedAppKey}\n`);
  });
});
