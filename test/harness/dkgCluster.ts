/**
 * Test fixture for the KMS client: a real DKG run in memory (src/protocol simulation),
 * then one real node HTTP API (src/node/http/server.ts) per operator on loopback,
 * answering /pubkey and /app/sign from that operator's real share. Behaviours let a
 * test make one node lie, go quiet or answer garbage; everything else is the real
 * protocol output and the real API.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { g1ToHex, partialSign } from '../../src/crypto/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { buildHttpServer, type HttpServer, type NodeApi } from '../../src/node/http/server.js';
import { NoKeyVersionError } from '../../src/node/errors.js';
import type { PubkeyFacts } from '../../src/wire/pubkey.js';
import { createReshareSession } from '../../src/protocol/reshare.js';
import type { ProtocolSession } from '../../src/protocol/session.js';
import { createSimulatedOperators, finalizedVersions, recoverSimulatedSigner, runSessions, runSimulatedDkg, seededRandomSources } from '../../src/protocol/simulation.js';
import type { FinalizedVersion, ProtocolSigner } from '../../src/protocol/types.js';

export const DKG_EPOCH = 1_700_000_000;

const hex = (b: Uint8Array): `0x${string}` => `0x${Buffer.from(b).toString('hex')}`;

/** The outcome of one in-memory DKG (or reshare): each operator's finalized version. */
export interface DkgKeys {
  readonly operators: readonly string[];
  /** The operators' signers, in `operators` order (a later reshare signs with them). */
  readonly signers: readonly FixtureSigner[];
  readonly versions: readonly FinalizedVersion[];
  readonly threshold: number;
  readonly masterPublicKeyHex: `0x${string}`;
}

/** An operator's message signer (address + 65-byte r ‖ s ‖ v signatures over digests). */
export interface FixtureSigner extends ProtocolSigner {
  readonly address: string;
}

/**
 * Runs a real DKG among n simulated operators (deterministic for a seed), or among
 * `signers` when given (e.g. anvil dev accounts, so a registry can list them).
 */
export function runDkg(n: number, seed: string, epoch = DKG_EPOCH, given?: readonly FixtureSigner[]): DkgKeys {
  const { operators, signers, sessions, report } = runSimulatedDkg({
    signers: given ?? createSimulatedOperators(n, seed),
    sessionTimestamp: epoch,
    rng: seededRandomSources(seed),
  });
  if (report.rejected.length > 0) throw new Error(`DKG fixture: ${report.rejected.length} messages rejected`);
  const versions = [...finalizedVersions(sessions).values()];
  const first = versions[0]!;
  return { operators, signers, versions, threshold: first.threshold, masterPublicKeyHex: hex(first.masterPublicKey) };
}

/**
 * Runs a real reshare of `keys` among the same operators at a later `epoch`: the same
 * master secret under new shares and new commitments.
 */
export function runReshare(keys: DkgKeys, seed: string, epoch: number): DkgKeys {
  const first = keys.versions[0]!;
  const previous = { epoch: first.epoch, commitments: first.commitments, masterPublicKey: first.masterPublicKey, threshold: first.threshold, participants: first.participants };
  const rng = seededRandomSources(seed);
  const sessions = new Map<string, ProtocolSession>();
  keys.signers.forEach((signer, i) => {
    const address = keys.operators[i]!;
    sessions.set(address, createReshareSession({
      sessionTimestamp: epoch,
      operators: keys.operators,
      signer,
      recoverSigner: recoverSimulatedSigner,
      rng: rng(address),
      previous,
      previousShare: keys.versions[i]!.privateShare,
    }));
  });
  const report = runSessions(sessions);
  if (report.rejected.length > 0) throw new Error(`reshare fixture: ${report.rejected.length} messages rejected`);
  const versions = [...finalizedVersions(sessions).values()];
  return { ...keys, versions, threshold: versions[0]!.threshold, masterPublicKeyHex: hex(versions[0]!.masterPublicKey) };
}

/** What a node reports on /pubkey, points as 0x-hex so a behaviour can edit them; served through the real wire format. */
export interface PubkeyView {
  readonly operatorAddress: string;
  readonly version: number;
  readonly threshold: number;
  readonly masterPublicKey: string;
  readonly commitments: readonly string[];
  readonly participants: readonly string[];
  readonly isActive?: boolean;
}

/** What a node answers on /app/sign, the signature as 0x-hex of any length (served base64 through the real wire format). */
export interface PartialSignatureView {
  readonly operatorAddress: string;
  readonly version: number;
  readonly partialSignature: string;
}

/** What an honest node with this version reports on /pubkey. */
export function honestPubkey(version: FinalizedVersion, operatorAddress: string): PubkeyView {
  return {
    operatorAddress,
    version: version.epoch,
    threshold: version.threshold,
    masterPublicKey: hex(version.masterPublicKey),
    commitments: version.commitments.map(hex),
    participants: [...version.participants],
  };
}

const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

function pubkeyFacts(view: PubkeyView | null, isActive: boolean): PubkeyFacts | null {
  if (view === null) return null;
  return {
    operatorAddress: view.operatorAddress,
    version: view.version,
    isActive: view.isActive ?? isActive,
    threshold: view.threshold,
    masterPublicKey: bytes(view.masterPublicKey),
    commitments: view.commitments.map(bytes),
    participants: view.participants,
  };
}

/** Overrides for one node; each receives the honest answer and returns what to send instead. */
export interface NodeBehaviour {
  /** null answers 503 NO_ACTIVE_KEY. */
  readonly pubkey?: (honest: PubkeyView) => PubkeyView | null;
  /** GET /pubkey?version=: honest is null when the node does not hold that version; null answers 404. */
  readonly pubkeyAt?: (honest: PubkeyView | null, epoch: number) => PubkeyView | null;
  readonly sign?: (honest: PartialSignatureView, appId: string, attestationTime: number | null) => PartialSignatureView;
}

export interface FakeNodes {
  readonly urls: string[];
  /** /app/sign calls per node index. */
  readonly signCalls: number[];
  close(): Promise<void>;
}

/**
 * Starts one real node HTTP API per operator of `keys` on 127.0.0.1, random ports.
 * `keys` is the active version; `history` holds older versions of the same operators,
 * served by GET /pubkey?version= and signed with when an attestation time picks them
 * (the highest epoch at or below it, as a node does; a time before all: 404).
 */
export async function startNodes(
  keys: DkgKeys,
  behaviours: Readonly<Record<number, NodeBehaviour>> = {},
  history: readonly DkgKeys[] = [],
): Promise<FakeNodes> {
  const servers: HttpServer[] = [];
  const signCalls = keys.operators.map(() => 0);
  const urls: string[] = [];
  for (const [i, address] of keys.operators.entries()) {
    const version = keys.versions[i]!;
    const held = [version, ...history.map((h) => h.versions[i]!)].sort((a, b) => a.epoch - b.epoch);
    const behaviour = behaviours[i] ?? {};
    const api: NodeApi = {
      publicKey: () => {
        const honest = honestPubkey(version, address);
        return pubkeyFacts(behaviour.pubkey === undefined ? honest : behaviour.pubkey(honest), true);
      },
      publicKeyAt: (epoch) => {
        const stored = held.find((v) => v.epoch === epoch);
        const honest = stored === undefined ? null : honestPubkey(stored, address);
        return Promise.resolve(pubkeyFacts(behaviour.pubkeyAt === undefined ? honest : behaviour.pubkeyAt(honest, epoch), epoch === version.epoch));
      },
      signApp: (appId, attestationTime) => {
        signCalls[i] = (signCalls[i] ?? 0) + 1;
        const signing = attestationTime === null ? version : held.filter((v) => v.epoch <= attestationTime).at(-1);
        if (signing === undefined) return Promise.reject(new NoKeyVersionError(`no key version was valid at ${attestationTime}`));
        const honest = { operatorAddress: address, version: signing.epoch, partialSignature: g1ToHex(partialSign(signing.privateShare, appId)) };
        const answer = behaviour.sign === undefined ? honest : behaviour.sign(honest, appId, attestationTime);
        return Promise.resolve({ ...answer, partialSignature: bytes(answer.partialSignature) });
      },
      health: () => Promise.resolve({ status: 'ok', body: {} }),
      metrics: new Registry(),
      receiveProtocolMessage: () => Promise.resolve(),
      protocolRoutes: [],
    };
    const server = buildHttpServer(api, { logger: silentLogger() });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    servers.push(server);
    urls.push(url);
  }
  return {
    urls,
    signCalls,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** A raw loopback server for answers the real API would never give (non-JSON, huge, silent). */
export async function startRawNode(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}

/** A well-formed G1 point that is not operator `index`'s partial: its share plus one, signed. */
export function wrongPartial(keys: DkgKeys, appId: string, index: number): `0x${string}` {
  const version = keys.versions[index]!;
  return g1ToHex(partialSign(version.privateShare + 1n, appId));
}
