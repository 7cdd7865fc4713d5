/**
 * Deploy the OperatorRegistry and drive its writes (register, update, allowlist) with a
 * viem wallet client. Used by the devnet script and the tests; each helper waits for
 * the receipt and turns reverts into RegistryTransactionError with the decoded reason.
 */
import {
  BaseError,
  bytesToHex,
  ContractFunctionRevertedError,
  publicActions,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Transport,
  type WalletClient,
} from 'viem';
import { RegistryTransactionError } from './errors.js';
import { operatorRegistryAbi } from './registryAbi.js';
import { operatorRegistryBytecode } from './registryBytecode.js';

/** A wallet client with its account and chain bound, so no call has to repeat them. */
export type RegistryWalletClient = WalletClient<Transport, Chain, Account>;

/** Where a mined registry transaction landed. */
export interface RegistryReceipt {
  readonly transactionHash: Hash;
  readonly blockNumber: bigint;
}

/** Deploys the registry owned by the wallet's account, allowlisting `allowlist` at once. */
export async function deployRegistry(
  walletClient: RegistryWalletClient,
  options: { readonly allowlist?: readonly Address[] } = {},
): Promise<RegistryReceipt & { readonly address: Address }> {
  const client = walletClient.extend(publicActions);
  let hash: Hash;
  try {
    hash = await client.deployContract({
      abi: operatorRegistryAbi,
      bytecode: operatorRegistryBytecode,
      args: [[...(options.allowlist ?? [])]],
    });
  } catch (error: unknown) {
    throw new RegistryTransactionError('deploy', revertReason(error), { cause: error });
  }
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || receipt.contractAddress === null || receipt.contractAddress === undefined) {
    throw new RegistryTransactionError('deploy', `transaction ${hash} ${receipt.status}`);
  }
  return { address: receipt.contractAddress, transactionHash: hash, blockNumber: receipt.blockNumber };
}

export interface OperatorRegistration {
  readonly registryAddress: Address;
  readonly socketUrl: string;
  /** 64-byte x‖y secp256k1 key (no 0x04 prefix) of the node's message-signing key. */
  readonly signingPublicKey: Uint8Array;
}

/** Registers the wallet's account as an operator. */
export function registerOperator(walletClient: RegistryWalletClient, registration: OperatorRegistration): Promise<RegistryReceipt> {
  const { registryAddress: address, socketUrl, signingPublicKey } = registration;
  return send(walletClient, 'register', address, (client) =>
    client.writeContract({ address, abi: operatorRegistryAbi, functionName: 'register', args: [socketUrl, bytesToHex(signingPublicKey)] }),
  );
}

/** Changes the wallet account's socket URL and signing key. */
export function updateOperator(walletClient: RegistryWalletClient, registration: OperatorRegistration): Promise<RegistryReceipt> {
  const { registryAddress: address, socketUrl, signingPublicKey } = registration;
  return send(walletClient, 'update', address, (client) =>
    client.writeContract({ address, abi: operatorRegistryAbi, functionName: 'update', args: [socketUrl, bytesToHex(signingPublicKey)] }),
  );
}

/** Removes the wallet's account from the set. */
export function deregisterOperator(walletClient: RegistryWalletClient, registryAddress: Address): Promise<RegistryReceipt> {
  return send(walletClient, 'deregister', registryAddress, (client) =>
    client.writeContract({ address: registryAddress, abi: operatorRegistryAbi, functionName: 'deregister' }),
  );
}

/** Owner only: permit `operator` to register, or revoke it (which also deregisters it). */
export function setOperatorAllowed(
  walletClient: RegistryWalletClient,
  registryAddress: Address,
  operator: Address,
  allowed: boolean,
): Promise<RegistryReceipt> {
  return send(walletClient, 'setAllowed', registryAddress, (client) =>
    client.writeContract({ address: registryAddress, abi: operatorRegistryAbi, functionName: 'setAllowed', args: [operator, allowed] }),
  );
}

/**
 * Sends one write and waits for its receipt. viem estimates gas before sending, so a
 * revert surfaces here as a decoded custom error without spending gas.
 */
async function send(
  walletClient: RegistryWalletClient,
  action: string,
  address: Address,
  submit: (client: RegistryWalletClient) => Promise<Hash>,
): Promise<RegistryReceipt> {
  let hash: Hash;
  try {
    hash = await submit(walletClient);
  } catch (error: unknown) {
    throw new RegistryTransactionError(action, revertReason(error), {
      cause: error,
      details: { registry: address, sender: walletClient.account.address },
    });
  }
  const receipt = await walletClient.extend(publicActions).waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') {
    throw new RegistryTransactionError(action, `transaction ${hash} ${receipt.status}`);
  }
  return { transactionHash: hash, blockNumber: receipt.blockNumber };
}

/** The decoded custom error (e.g. `NotAllowed(0x…)`) or viem's short message. */
export function revertReason(error: unknown): string {
  if (!(error instanceof BaseError)) return error instanceof Error ? error.name : 'unknown error';
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined) {
    const args = (reverted.data.args ?? []).map((a) => String(a)).join(', ');
    return `reverted with ${reverted.data.errorName}(${args})`;
  }
  return error.shortMessage;
}
