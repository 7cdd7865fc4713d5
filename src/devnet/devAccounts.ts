import { bytesToHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

/** anvil's well-known development mnemonic: public test keys, never for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_CHAIN_ID = 31_337;

export interface DevAccount {
  readonly address: `0x${string}`;
  readonly privateKey: `0x${string}`;
}

/** Dev account `index` (m/44'/60'/0'/0/index), funded by anvil when it runs with DEV_MNEMONIC. */
export function devAccount(index: number): DevAccount {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  const privateKey = account.getHdKey().privateKey;
  if (privateKey === null) throw new Error(`no private key derived for dev account ${index}`);
  return { address: account.address.toLowerCase() as `0x${string}`, privateKey: bytesToHex(privateKey) };
}
