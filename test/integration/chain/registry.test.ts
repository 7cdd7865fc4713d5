import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, parseEventLogs, type Address } from 'viem';
import {
  deployRegistry,
  deregisterOperator,
  registerOperator,
  setOperatorAllowed,
  updateOperator,
} from '../../../src/chain/deploy.js';
import { createChainClient } from '../../../src/chain/client.js';
import { ChainRpcError, RegistryNotFoundError, RegistryTransactionError } from '../../../src/chain/errors.js';
import {
  RegistryOperatorSetSource,
  signingAddressOf,
  StaticFileOperatorSetSource,
} from '../../../src/chain/operatorSet.js';
import { operatorRegistryAbi } from '../../../src/chain/registryAbi.js';
import { devAccounts, startAnvil, type AnvilHandle } from '../../harness/anvil.js';

jest.setTimeout(60_000);

/** A deterministic message-signing key per seed: 64-byte x‖y. */
function signingKey(seed: number): Uint8Array {
  const secret = new Uint8Array(32);
  secret[0] = 0x42;
  secret[31] = seed;
  return secp256k1.getPublicKey(secret, false).subarray(1);
}

const OWNER = 0;
const operatorIndexes = [1, 2, 3, 4];
const lower = (a: Address): string => a.toLowerCase();

describe('OperatorRegistry on anvil', () => {
  let anvil: AnvilHandle;
  let registry: Address;
  let source: RegistryOperatorSetSource;
  let afterFour: bigint;

  beforeAll(async () => {
    anvil = await startAnvil();
    const allowlist = [1, 2, 3, 4, 5].map((i) => devAccounts[i]!.address);
    ({ address: registry } = await deployRegistry(anvil.wallet(OWNER), { allowlist }));
    source = new RegistryOperatorSetSource({ client: anvil.publicClient, registryAddress: registry });
    for (const i of operatorIndexes) {
      const receipt = await registerOperator(anvil.wallet(i), {
        registryAddress: registry,
        socketUrl: `http://127.0.0.1:${9000 + i}`,
        signingPublicKey: signingKey(i),
      });
      afterFour = receipt.blockNumber;
    }
  });
  afterAll(async () => {
    await anvil.stop();
  });

  test('default: four registered operators are read back at a block, sorted, with derived signing addresses', async () => {
    const set = await source.getOperators(afterFour);
    const expected = operatorIndexes
      .map((i) => ({
        address: lower(devAccounts[i]!.address),
        socketUrl: `http://127.0.0.1:${9000 + i}`,
        signingPublicKey: signingKey(i),
        signingAddress: signingAddressOf(signingKey(i)),
      }))
      .sort((a, b) => (a.address < b.address ? -1 : 1));
    expect(set).toEqual(expected);
    expect(await anvil.publicClient.readContract({ address: registry, abi: operatorRegistryAbi, functionName: 'operatorCount' })).toBe(4n);
  });

  test('behavior: the contract stores keccak256(key) as the signing address', async () => {
    const raw = await anvil.publicClient.readContract({ address: registry, abi: operatorRegistryAbi, functionName: 'getOperators', blockNumber: afterFour });
    for (const entry of raw) {
      expect(lower(entry.signingAddress)).toBe(signingAddressOf(Uint8Array.from(Buffer.from(entry.signingPublicKey.slice(2), 'hex'))));
    }
  });

  test('behavior: a registration after block B is not visible at B, only after', async () => {
    const blockB = await anvil.blockNumber();
    await anvil.mine(2);
    const { blockNumber: joined, transactionHash } = await registerOperator(anvil.wallet(5), {
      registryAddress: registry,
      socketUrl: 'https://op5.example:8443',
      signingPublicKey: signingKey(5),
    });
    expect((await source.getOperators(blockB)).map((o) => o.address)).not.toContain(lower(devAccounts[5]!.address));
    expect((await source.getOperators(joined - 1n)).length).toBe(4);
    const atJoin = await source.getOperators(joined);
    expect(atJoin.map((o) => o.address)).toContain(lower(devAccounts[5]!.address));
    expect((await source.getOperators()).length).toBe(5);

    const receipt = await anvil.publicClient.getTransactionReceipt({ hash: transactionHash });
    const [event] = parseEventLogs({ abi: operatorRegistryAbi, logs: receipt.logs, eventName: 'Registered' });
    expect(event?.args).toMatchObject({
      operator: devAccounts[5]!.address,
      socketUrl: 'https://op5.example:8443',
      signingAddress: expect.stringMatching(new RegExp(signingAddressOf(signingKey(5)).slice(2), 'i')) as unknown,
    });
  });

  test('behavior: update and deregister change the set from their block on', async () => {
    const { blockNumber: updated } = await updateOperator(anvil.wallet(5), {
      registryAddress: registry,
      socketUrl: 'https://op5.example:9443',
      signingPublicKey: signingKey(55),
    });
    const entry = (await source.getOperators(updated)).find((o) => o.address === lower(devAccounts[5]!.address));
    expect(entry).toMatchObject({ socketUrl: 'https://op5.example:9443', signingAddress: signingAddressOf(signingKey(55)) });

    const { blockNumber: left } = await deregisterOperator(anvil.wallet(5), registry);
    expect((await source.getOperators(left)).map((o) => o.address)).not.toContain(lower(devAccounts[5]!.address));
    expect((await source.getOperators(left - 1n)).length).toBe(5);
  });

  test('behavior: revoking an allowlisted operator evicts it; only the owner may', async () => {
    await expect(setOperatorAllowed(anvil.wallet(1), registry, devAccounts[2]!.address, false)).rejects.toThrow(
      `reverted with NotOwner(${devAccounts[1]!.address})`,
    );
    const { blockNumber } = await setOperatorAllowed(anvil.wallet(OWNER), registry, devAccounts[4]!.address, false);
    const set = await source.getOperators(blockNumber);
    expect(set.map((o) => o.address)).not.toContain(lower(devAccounts[4]!.address));
    expect(set).toHaveLength(3);
    // Allowed again, it may re-register with its old key (the key was released on eviction).
    await setOperatorAllowed(anvil.wallet(OWNER), registry, devAccounts[4]!.address, true);
    await registerOperator(anvil.wallet(4), { registryAddress: registry, socketUrl: 'http://127.0.0.1:9004', signingPublicKey: signingKey(4) });
    expect(await source.getOperators()).toHaveLength(4);
  });

  test.each([
    ['not allowlisted', 6, 'http://127.0.0.1:1', signingKey(6), `reverted with NotAllowed(${devAccounts[6]!.address})`],
    ['already registered', 1, 'http://127.0.0.1:1', signingKey(71), 'reverted with AlreadyRegistered('],
  ])('error: register %s', async (_name, index, socketUrl, key, message) => {
    const error = await registerOperator(anvil.wallet(index), { registryAddress: registry, socketUrl, signingPublicKey: key }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryTransactionError);
    expect((error as RegistryTransactionError).code).toBe('REGISTRY_TX_FAILED');
    expect((error as Error).message).toContain(message);
  });

  test('error: invalid inputs are rejected by the contract', async () => {
    await setOperatorAllowed(anvil.wallet(OWNER), registry, devAccounts[7]!.address, true);
    const register = (socketUrl: string, signingPublicKey: Uint8Array): Promise<unknown> =>
      registerOperator(anvil.wallet(7), { registryAddress: registry, socketUrl, signingPublicKey });
    await expect(register('', signingKey(7))).rejects.toThrow(/InvalidSocketUrl\(0\)/);
    await expect(register(`http://h/${'x'.repeat(248)}`, signingKey(7))).rejects.toThrow(/InvalidSocketUrl\(257\)/);
    await expect(register('http://h', signingKey(7).subarray(0, 63))).rejects.toThrow(/InvalidSigningPublicKey/);
    const offCurve = Uint8Array.from(signingKey(7));
    offCurve[63] = offCurve[63]! ^ 1;
    await expect(register('http://h', offCurve)).rejects.toThrow(/InvalidSigningPublicKey/);
    await expect(register('http://h', signingKey(1))).rejects.toThrow(/SigningKeyInUse/);
    // Exactly 256 bytes is allowed.
    await register(`http://h/${'x'.repeat(247)}`, signingKey(7));
    await deregisterOperator(anvil.wallet(7), registry);
  });

  test('error: reading before the registry existed, or at an address without one', async () => {
    await expect(source.getOperators(0n)).rejects.toThrow(RegistryNotFoundError);
    await expect(source.getOperators(0n)).rejects.toThrow(`no OperatorRegistry answers at ${registry} at block 0`);
    const nowhere = new RegistryOperatorSetSource({ client: anvil.publicClient, registryAddress: devAccounts[9]!.address });
    await expect(nowhere.getOperators()).rejects.toThrow(RegistryNotFoundError);
  });

  test('error: an unreachable RPC is a ChainRpcError', async () => {
    const down = createChainClient({ rpcUrl: 'http://127.0.0.1:1', chainId: anvil.chainId, timeoutMs: 1_000, retryCount: 0 });
    const error = await new RegistryOperatorSetSource({ client: down, registryAddress: registry }).getOperators().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainRpcError);
    expect((error as ChainRpcError).details).toMatchObject({ operation: 'OperatorRegistry.getOperators', registry, block: 'latest' });
  });

  test('behavior: a static file of the same operators yields the same set', async () => {
    const fromChain = await source.getOperators();
    const dir = mkdtempSync(join(tmpdir(), 'kms-static-operators-'));
    try {
      const file = join(dir, 'operators.json');
      writeFileSync(file, JSON.stringify({
        operators: [...fromChain].reverse().map((o) => ({
          address: o.address,
          socketUrl: o.socketUrl,
          signingPublicKey: bytesToHex(o.signingPublicKey),
          signingAddress: o.signingAddress,
        })),
      }));
      expect(await new StaticFileOperatorSetSource(file).getOperators(1n)).toEqual(fromChain);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
