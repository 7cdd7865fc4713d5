import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { operatorRegistryAbi } from './registryAbi.js';
import { operatorRegistryBytecode, operatorRegistrySourceSha256 } from './registryBytecode.js';

const read = (relative: string): string => readFileSync(new URL(`../../${relative}`, import.meta.url), 'utf8');

interface Artifact {
  sourceSha256: string;
  compiler: { version: string };
  abi: unknown;
  bytecode: string;
  deployedBytecode: string;
}

describe('committed OperatorRegistry artifact', () => {
  const source = read('contracts/OperatorRegistry.sol');
  const artifact = JSON.parse(read('contracts/artifacts/OperatorRegistry.json')) as Artifact;
  const sourceSha256 = createHash('sha256').update(source, 'utf8').digest('hex');

  test('behavior: was compiled from the current source (else run scripts/compile-contracts.ts)', () => {
    expect(artifact.sourceSha256).toBe(sourceSha256);
    expect(operatorRegistrySourceSha256).toBe(sourceSha256);
  });

  test('behavior: the generated TS modules match the artifact', () => {
    expect(operatorRegistryAbi).toEqual(artifact.abi);
    expect(operatorRegistryBytecode).toBe(artifact.bytecode);
  });

  test('behavior: compiled by the pinned solc 0.8.28 and holds real bytecode', () => {
    expect(artifact.compiler.version).toMatch(/^0\.8\.28\+/);
    expect(artifact.bytecode).toMatch(/^0x(?:[0-9a-f]{2}){1000,}$/);
    expect(artifact.deployedBytecode).toMatch(/^0x(?:[0-9a-f]{2}){1000,}$/);
    const functions = operatorRegistryAbi.filter((item) => item.type === 'function').map((item) => item.name);
    expect(functions).toEqual(expect.arrayContaining(['register', 'update', 'deregister', 'getOperators', 'operatorCount', 'setAllowed']));
    const events = operatorRegistryAbi.filter((item) => item.type === 'event').map((item) => item.name);
    expect(events).toEqual(expect.arrayContaining(['Registered', 'Updated', 'Deregistered']));
  });
});
