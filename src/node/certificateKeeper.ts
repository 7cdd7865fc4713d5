import type { Logger } from '../logging/logger.js';
import type { KeyShareVersion } from '../persistence/types.js';
import {
  certifies,
  finalizeWithCertificate,
  newestCertificate,
  verifyCertificate,
  type CompletionCertificate,
  type FinalizedVersion,
  type PendingCompletion,
} from '../protocol/index.js';
import { operatorSignerRecovery } from '../transport/protocolAuth.js';
import type { PeerIdentity } from '../transport/types.js';
import { describeError } from '../logging/describeError.js';

export interface CertificateKeeperOptions {
  /** The current operator set: certificates are verified against its keys. */
  readonly operators: () => readonly PeerIdentity[];
  readonly activeVersion: () => KeyShareVersion | null;
  /** Stores a finalized version and makes it active. */
  readonly activate: (version: FinalizedVersion) => Promise<void>;
  readonly logger: Logger;
}

/**
 * What a node knows of completion certificates beyond its own versions: the newest one a
 * peer showed it (verified), and a round it completed without seeing it finalize, kept in
 * memory because it holds the new share. A certificate for that round finalizes it, so a
 * version finalized by fewer than t nodes still reaches the rest.
 */
export class CertificateKeeper {
  #known: CompletionCertificate | null = null;
  #pending: PendingCompletion | null = null;

  constructor(private readonly o: CertificateKeeperOptions) {}

  /** Keeps the completion of a round that ended without t completions (null: nothing to keep). */
  keep(pending: PendingCompletion | null): void {
    this.#pending = pending;
  }

  /** The certificates among `candidates` that verify against the current operator set, one per session (the others are logged). */
  verified(candidates: readonly CompletionCertificate[]): CompletionCertificate[] {
    const recover = operatorSignerRecovery(this.o.operators());
    const seen = new Set<string>();
    return candidates.filter((cert) => {
      const id = `${cert.type}:${cert.sessionTimestamp}`;
      if (seen.has(id)) return false;
      try {
        verifyCertificate(cert, recover);
      } catch (error) {
        this.o.logger.warn({ session: cert.sessionTimestamp, err: describeError(error) }, 'completion certificate refused');
        return false;
      }
      seen.add(id);
      return true;
    });
  }

  /** Remembers a verified certificate when it is the newest seen. */
  note(cert: CompletionCertificate): void {
    if (this.#known === null || cert.sessionTimestamp > this.#known.sessionTimestamp) this.#known = cert;
  }

  /**
   * Verifies `candidates` (with the one known already), remembers the newest, and
   * finalizes the kept round when one of them proves it. Returns the verified ones.
   */
  async consider(candidates: readonly CompletionCertificate[]): Promise<CompletionCertificate[]> {
    const certs = this.verified(this.#known === null ? candidates : [...candidates, this.#known]);
    this.#known = newestCertificate(certs);
    await this.#finalizePending(certs);
    return certs;
  }

  /** What to show a peer that asks: the newest of the active version's own certificate and the known one. */
  latest(): CompletionCertificate | null {
    const own = this.o.activeVersion()?.certificate;
    return newestCertificate([...(own === undefined ? [] : [own]), ...(this.#known === null ? [] : [this.#known])]);
  }

  async #finalizePending(certificates: readonly CompletionCertificate[]): Promise<void> {
    const pending = this.#pending;
    if (pending === null) return;
    const active = this.o.activeVersion();
    if (active !== null && active.epoch >= pending.sessionTimestamp) {
      this.#pending = null;
      return;
    }
    const cert = certificates.find((c) => certifies(c, pending));
    if (cert === undefined) return;
    this.#pending = null;
    try {
      const version = finalizeWithCertificate(pending, cert, operatorSignerRecovery(this.o.operators()));
      await this.o.activate(version);
      this.o.logger.info({ session: version.epoch, signers: cert.signatures.length }, 'finalized a completed round from a peer\'s completion certificate; new key version active');
    } catch (error) {
      this.o.logger.error({ session: pending.sessionTimestamp, err: describeError(error) }, 'could not finalize the completed round from its certificate; the node rejoins at the next reshare');
    }
  }
}
