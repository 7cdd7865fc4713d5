/**
 * The KMS client: master public key by agreement across nodes, app keys from verified
 * partial signatures, IBE encryption and decryption. Stateless: every call asks the
 * nodes again, so a key rotation between calls is seen rather than cached over.
 *
 * @example
 *   const kms = createKmsClient({ nodes: ['http://127.0.0.1:8001', 'http://127.0.0.1:8002', 'http://127.0.0.1:8003'] });
 *   const ct = await kms.encrypt('my-app-id', new TextEncoder().encode('secret'));
 *   const pt = await kms.decrypt('my-app-id', ct);
 */
import type { OperatorSetSource } from '../chain/operatorSet.js';
import type { RandomSource } from '../crypto/index.js';
import { isKmsError } from '../errors.js';
import { assertAppId, assertAttestationTime, deriveAppKey, type DeriveAppKeyOptions, type DerivedAppKey } from './appKey.js';
import { assertCiphertext, decryptWithAppKey } from './decrypt.js';
import { encryptForApp } from './encrypt.js';
import { ClientError, ClientErrorCode, badInput } from './errors.js';
import { agreeOnMasterPublicKey, type AgreedMasterPublicKey } from './masterPublicKey.js';
import { nodeTarget, type FetchLike, type NodeRequestOptions, type NodeTarget } from './nodeApi.js';

export * from './errors.js';
export { assertAppId, assertAttestationTime } from './appKey.js';
export { APP_ID_MAX_BYTES, APP_ID_MIN_BYTES } from '../crypto/appId.js';
export type { DeriveAppKeyOptions, DerivedAppKey } from './appKey.js';
export type { AgreedMasterPublicKey } from './masterPublicKey.js';
export type { FetchLike, NodeTarget } from './nodeApi.js';
export { assertCiphertext } from './decrypt.js';

export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;

export interface KmsClientOptions {
  /** Node base URLs, or an operator-set source (registry, static file) whose socket URLs are asked. */
  readonly nodes: readonly string[] | OperatorSetSource;
  /** Per-request timeout in ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Replaces globalThis.fetch (tests, proxies). */
  readonly fetch?: FetchLike;
  /** Randomness for encryption (default WebCrypto). */
  readonly rng?: RandomSource;
}

export interface KmsClient {
  /** The master public key view enough nodes agree on (see masterPublicKey.ts for the rule). */
  getMasterPublicKey(): Promise<AgreedMasterPublicKey>;
  /** Recovers and verifies s·H1(appId). The result holds a secret: do not log it. */
  deriveAppKey(appId: string, options?: DeriveAppKeyOptions): Promise<DerivedAppKey>;
  /** Encrypts to appId under the agreed master public key. */
  encrypt(appId: string, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Derives the app key and decrypts; checks the ciphertext layout before asking any node. */
  decrypt(appId: string, ciphertext: Uint8Array, options?: DeriveAppKeyOptions): Promise<Uint8Array>;
  /** The nodes a call would ask now (resolved from the source each time). */
  resolveNodes(): Promise<NodeTarget[]>;
}

function dedupe(targets: readonly NodeTarget[]): NodeTarget[] {
  const seen = new Map<string, NodeTarget>();
  for (const t of targets) if (!seen.has(t.display)) seen.set(t.display, t);
  return [...seen.values()];
}

/** A client over a fixed URL list or an operator-set source. Validates options now, asks nodes per call. */
export function createKmsClient(options: KmsClientOptions): KmsClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw badInput(`timeout must be a positive integer of milliseconds, got ${String(timeoutMs)}`, 'pass e.g. 10000', 'timeoutMs');
  }
  const request: NodeRequestOptions = { timeoutMs, fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)) };
  const source = options.nodes;
  const fixed = isUrlList(source) ? dedupe(source.map((url) => nodeTarget(url))) : null;

  async function resolveNodes(): Promise<NodeTarget[]> {
    if (fixed !== null) return fixed;
    let operators;
    try {
      operators = await (source as OperatorSetSource).getOperators();
    } catch (error) {
      throw new ClientError(ClientErrorCode.OPERATOR_SET_UNAVAILABLE, `cannot read the operator set: ${isKmsError(error) ? error.message : String(error)}`, {
        fix: 'check the registry address and RPC URL (or the operator file)',
        cause: error,
      });
    }
    return dedupe(operators.map((op) => nodeTarget(op.socketUrl, op.address)));
  }

  async function derive(appId: string, deriveOptions: DeriveAppKeyOptions = {}): Promise<DerivedAppKey> {
    assertAppId(appId);
    if (deriveOptions.attestationTime !== undefined) assertAttestationTime(deriveOptions.attestationTime);
    const nodes = await resolveNodes();
    const agreed = await agreeOnMasterPublicKey(nodes, request);
    return deriveAppKey(nodes, agreed, appId, { ...request, ...deriveOptions });
  }

  return {
    resolveNodes,
    async getMasterPublicKey() {
      return agreeOnMasterPublicKey(await resolveNodes(), request);
    },
    deriveAppKey: derive,
    async encrypt(appId, plaintext) {
      assertAppId(appId);
      const agreed = await agreeOnMasterPublicKey(await resolveNodes(), request);
      return encryptForApp(agreed, appId, plaintext, options.rng);
    },
    async decrypt(appId, ciphertext, deriveOptions) {
      assertCiphertext(ciphertext);
      return decryptWithAppKey(await derive(appId, deriveOptions), ciphertext);
    },
  };
}

function isUrlList(nodes: KmsClientOptions['nodes']): nodes is readonly string[] {
  return Array.isArray(nodes);
}
