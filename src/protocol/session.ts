/**
 * The deterministic state machine behind both DKG and reshare (see dkg.ts and
 * reshare.ts for what differs). Messages in, messages out; no clock, no I/O.
 *
 * Rounds:
 *  1 deal      every dealer sends each player its commitments C_i and share s_ij.
 *  2 ack       a player checks s_ij·G2 == Σ C_ik·id_j^k (reshare also C_i0 == X_i^old)
 *              and broadcasts a signed ack, or a signed complaint when the deal is bad.
 *  3 complete  once the dealer set D is decided (dealerSelection.ts: a set another operator
 *              already completed with, when this node holds its deals; else dealers acked
 *              by every operator; after proceed(), by every operator still talking at the
 *              deadline) the node combines its share and the commitments, checks them
 *              (aggregate.ts), and broadcasts a signed completion (hash(D), hash(C)).
 *  4 finalize  t completions with one key finalize it; t > n/2, so two different outcomes
 *              can never both finalize (completionQuorum.ts). A node that completed with
 *              another D still finalizes the certified one from the deals it holds.
 *
 * An operator silent for the whole round, or heard from and then silent (killed
 * mid-round), does not stall it: after proceed() it is not waited for, and it finalizes
 * nothing unless the deals and t completions still reach it later (otherwise it rejoins
 * by reshare as a receiver). Nodes that decide at different moments follow the first
 * completion they receive; each signs one completion only, so at most one outcome
 * reaches t: a node may fail the round (NO_QUORUM, CONFLICTING_COMPLETION when it lacks
 * the certified deals), but no two nodes finalize different versions.
 *
 * A rejected input throws a ProtocolError and leaves the state as it was, except a
 * rejected deal, which is recorded as a complaint (err.outbound carries it).
 */
import { G2, encodeG2, type G2Point } from '../crypto/points.js';
import { evaluateCommitments, evaluatePolynomial, commitPolynomial, randomPolynomial } from '../crypto/polynomial.js';
import { defaultRandomSource, encodeScalar, type RandomSource } from '../crypto/scalar.js';
import { findInvalidDeals, type DealCheck } from '../crypto/batchVerify.js';
import {
  ackDigest,
  commitmentsHash,
  completionDigest,
  complaintDigest,
  dealerSetHash,
  fromHex,
  shareHash,
  toHex,
} from './digests.js';
import { combineDeals } from './aggregate.js';
import { certificateCompletions, type PendingCompletion } from './certificate.js';
import { judgeCompletions } from './completionQuorum.js';
import { decodeDeal } from './dealDecoding.js';
import { ackState, adoptableDealerSet, chooseDealers, chooseDealersAtDeadline, type DealerState } from './dealerSelection.js';
import { ProtocolError, ProtocolErrorCode, isProtocolError } from './errors.js';
import {
  parseProtocolMessage,
  type AckMessage,
  type CompleteMessage,
  type ComplaintMessage,
  type DealMessage,
  type ProtocolMessage,
} from './messages.js';
import type {
  CompletionCertificate,
  DealerSetDecision,
  FinalizedVersion,
  Hex,
  OperatorAddress,
  ProtocolSessionSnapshot,
  ProtocolSigner,
  ProtocolType,
  RecoverSigner,
  SessionPhase,
  SessionStatus,
  StoredAcknowledgementShape,
} from './types.js';

/** Reshare-only inputs: the previous version every dealer's constant is checked against. */
export interface ReshareContext {
  readonly previousCommitments: readonly G2Point[];
  readonly previousMpk: G2Point;
  readonly previousThreshold: number;
}

/** Validated session parameters, built by createDkgSession / createReshareSession. */
export interface SessionInit {
  readonly type: ProtocolType;
  readonly sessionTimestamp: number;
  /** New operator set, ascending, lowercase. */
  readonly operators: readonly OperatorAddress[];
  readonly ids: ReadonlyMap<OperatorAddress, bigint>;
  readonly self: OperatorAddress;
  readonly signer: ProtocolSigner;
  readonly recoverSigner: RecoverSigner;
  readonly rng: RandomSource | undefined;
  readonly startTime: number;
  readonly msm: boolean;
  readonly batch: boolean;
  /** Who deals, ascending. */
  readonly dealers: readonly OperatorAddress[];
  /** t of the new version. */
  readonly threshold: number;
  /** f_self(0) when this node deals (DKG: random; reshare: its previous share), else null. */
  readonly ownConstant: bigint | null;
  readonly reshare: ReshareContext | null;
  /** Reshare: sourceDigest of the version it starts from, carried by every message; DKG: null. */
  readonly source: Hex | null;
}

interface VerifiedDeal {
  readonly commitments: readonly G2Point[];
  readonly commitmentBytes: readonly Uint8Array[];
  readonly commitmentHash: Hex;
  readonly share: bigint;
}

interface AckRecord {
  readonly shareHash: Hex;
  readonly commitmentHash: Hex;
  readonly signature: Hex;
}

interface CompletionRecord {
  readonly dealers: readonly OperatorAddress[];
  /** hash(D) ‖ hash(C), the value operators must agree on. */
  readonly key: string;
  readonly signature: Hex;
}

interface OwnCompletion {
  readonly dealers: readonly OperatorAddress[];
  readonly key: string;
  readonly share: bigint;
  readonly commitments: readonly Uint8Array[];
}

interface ParsedDeal {
  readonly message: DealMessage;
  readonly commitments: readonly G2Point[];
  readonly commitmentBytes: readonly Uint8Array[];
  readonly share: bigint;
}

/** A deal decoded and checked as part of a handleAll batch. */
interface PreVerified {
  readonly deal: ParsedDeal;
  readonly valid: boolean;
}

interface CollectedDeal {
  /** Position in the batch. */
  readonly index: number;
  readonly deal: ParsedDeal;
  readonly check: DealCheck;
}

/** The deals of a batch to verify together, all dealt to this node (x = its id); see findInvalidDeals. */
export interface DealChecks {
  readonly x: bigint;
  readonly deals: readonly DealCheck[];
  readonly previousCommitments: readonly G2Point[] | null;
}

/** A batch parsed by prepareBatch, waiting for applyBatch. */
export interface PreparedBatch {
  readonly dealChecks: DealChecks | null;
}

const PHASE_NUMBER: Record<Exclude<SessionPhase, 'failed'>, 1 | 2 | 3 | 4> = {
  created: 1,
  acknowledging: 2,
  completing: 3,
  finalized: 4,
};

/** One DKG or reshare session of one operator. Create with createDkgSession / createReshareSession. */
export class ProtocolSession {
  readonly #c: SessionInit;
  readonly #others: readonly OperatorAddress[];
  readonly #dealerSet: ReadonlySet<OperatorAddress>;
  #phase: SessionPhase = 'created';
  #lastPhase: 1 | 2 | 3 | 4 = 1;
  #error: ProtocolError | null = null;
  readonly #dealsSeen = new Set<OperatorAddress>();
  readonly #deals = new Map<OperatorAddress, VerifiedDeal>();
  readonly #acks = new Map<OperatorAddress, Map<OperatorAddress, AckRecord>>();
  readonly #complaints = new Map<OperatorAddress, Set<OperatorAddress>>();
  readonly #excluded = new Map<OperatorAddress, string>();
  readonly #completions = new Map<OperatorAddress, CompletionRecord>();
  readonly #oldImages = new Map<OperatorAddress, G2Point>();
  /** Self and every operator a valid message was accepted from (see dealerSelection.ts). */
  readonly #present: Set<OperatorAddress>;
  #own: OwnCompletion | null = null;
  #result: FinalizedVersion | null = null;
  /** proceed() was called: the dealer set is decided from the acks held (chooseDealersAtDeadline). */
  #deadlinePassed = false;
  /** Why the acks held at the deadline formed no dealer set (reported by status and giveUp). */
  #shortfall: { readonly code: ProtocolErrorCode; readonly message: string } | null = null;
  /** How the dealer set this node completed with was decided. */
  #decision: DealerSetDecision | null = null;
  /** Batches prepared and not yet applied, with what applying them needs. */
  readonly #prepared = new WeakMap<PreparedBatch, { parsed: (ProtocolMessage | null)[]; rejected: { index: number; error: ProtocolError }[]; deals: CollectedDeal[] }>();

  constructor(init: SessionInit) {
    this.#c = init;
    this.#others = init.operators.filter((a) => a !== init.self);
    this.#dealerSet = new Set(init.dealers);
    this.#present = new Set([init.self]);
  }

  get phase(): SessionPhase {
    return this.#phase;
  }

  get type(): ProtocolType {
    return this.#c.type;
  }

  /** Deals (when this node is a dealer) and returns the messages to send. Call once. */
  start(): ProtocolMessage[] {
    this.#assertUsable();
    if (this.#phase !== 'created') {
      throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, `session ${this.#c.sessionTimestamp} was already started`);
    }
    const out: ProtocolMessage[] = [];
    const constant = this.#c.ownConstant;
    this.#setPhase('acknowledging');
    if (constant !== null) {
      const poly = randomPolynomial(constant, this.#c.threshold - 1, this.#c.rng ?? defaultRandomSource);
      const commitments = commitPolynomial(poly);
      const bytes = commitments.map((p) => encodeG2(p));
      const hexes = bytes.map(toHex);
      for (const player of this.#c.operators) {
        const share = evaluatePolynomial(poly, this.#id(player));
        if (player === this.#c.self) {
          this.#dealsSeen.add(player);
          out.push(...this.#acceptDeal(player, { commitments, commitmentBytes: bytes, share, commitmentHash: toHex(commitmentsHash(bytes)) }));
        } else {
          out.push({ ...this.#base('deal', player), commitments: hexes, share: toHex(encodeScalar(share)) });
        }
      }
    } else if (this.#dealerSet.has(this.#c.self)) {
      // A listed previous holder that lost its share says so at once (a complaint about
      // itself), so nobody waits for its deal until a timeout.
      out.push(...this.#withdrawAsDealer());
    }
    out.push(...this.#progress());
    return out;
  }

  /** Validates and applies one message (parsed with parseProtocolMessage first); returns what to send. */
  handle(message: unknown): ProtocolMessage[] {
    this.#assertUsable();
    const msg = parseProtocolMessage(message);
    return this.#dispatch(msg, undefined);
  }

  /**
   * Applies many messages at once. Deals addressed to this node are verified together
   * by a random linear combination (one MSM) before being applied one by one.
   * Rejections are collected, not thrown; their outbound complaints are included.
   */
  handleAll(messages: readonly unknown[]): { outbound: ProtocolMessage[]; rejected: { index: number; error: ProtocolError }[] } {
    const batch = this.prepareBatch(messages);
    return this.applyBatch(batch, batch.dealChecks === null ? null : this.#verifyDeals(batch.dealChecks));
  }

  /**
   * handleAll in two steps, so the caller may run the batch's share verification
   * elsewhere (a worker thread): prepareBatch parses the messages and collects the deals
   * to verify (`dealChecks`, null when none) without changing the session; the caller
   * passes findInvalidDeals' answer for them (or null to verify here) to applyBatch. The
   * session must not be given other input in between.
   */
  prepareBatch(messages: readonly unknown[]): PreparedBatch {
    this.#assertUsable();
    const rejected: { index: number; error: ProtocolError }[] = [];
    const parsed: (ProtocolMessage | null)[] = messages.map((m, index) => {
      try {
        return parseProtocolMessage(m);
      } catch (err) {
        if (!isProtocolError(err)) throw err;
        rejected.push({ index, error: err });
        return null;
      }
    });
    const deals = this.#collectDeals(parsed);
    const reshare = this.#c.reshare;
    const dealChecks = deals.length === 0
      ? null
      : { x: this.#id(this.#c.self), deals: deals.map((d) => d.check), previousCommitments: reshare === null ? null : reshare.previousCommitments };
    const batch: PreparedBatch = { dealChecks };
    this.#prepared.set(batch, { parsed, rejected, deals });
    return batch;
  }

  /** Applies a batch from prepareBatch; `invalidDeals` are findInvalidDeals' indices into its dealChecks (null: verify here). */
  applyBatch(batch: PreparedBatch, invalidDeals: readonly number[] | null): { outbound: ProtocolMessage[]; rejected: { index: number; error: ProtocolError }[] } {
    this.#assertUsable();
    const prepared = this.#prepared.get(batch);
    if (prepared === undefined) throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, 'applyBatch() takes a batch this session prepared, once');
    this.#prepared.delete(batch);
    const { parsed, deals } = prepared;
    const rejected = [...prepared.rejected];
    const bad = new Set(invalidDeals ?? (batch.dealChecks === null ? [] : this.#verifyDeals(batch.dealChecks)));
    // Failures are re-checked alone to get their error code; the decoded points are reused either way.
    const verdicts = new Map<number, PreVerified>(deals.map((d, i) => [d.index, { deal: d.deal, valid: !bad.has(i) }]));
    const outbound: ProtocolMessage[] = [];
    parsed.forEach((msg, index) => {
      if (msg === null) return;
      try {
        outbound.push(...this.#dispatch(msg, verdicts.get(index)));
      } catch (err) {
        if (!isProtocolError(err)) throw err;
        outbound.push(...err.outbound);
        rejected.push({ index, error: err });
      }
    });
    rejected.sort((a, b) => a.index - b.index);
    return { outbound, rejected };
  }

  /**
   * Applies the completions of a certificate forwarded by a peer (or fetched from one),
   * each verified like a completion that came directly; completions already held are
   * skipped. A node that missed completions so finalizes the certified version, provided
   * it completed the same one. Returns what to send; throws WRONG_SESSION for another
   * session's certificate, or the first completion's rejection (those before it stay).
   */
  handleCertificate(cert: CompletionCertificate): ProtocolMessage[] {
    this.#assertUsable();
    const c = this.#c;
    if (cert.type !== c.type || cert.sessionTimestamp !== c.sessionTimestamp) {
      throw new ProtocolError(ProtocolErrorCode.WRONG_SESSION, `certificate of ${cert.type} session ${cert.sessionTimestamp} reached ${c.type} session ${c.sessionTimestamp}`);
    }
    const out: ProtocolMessage[] = [];
    for (const m of certificateCompletions(cert, c.self)) {
      if (this.#completions.has(m.from) || this.#phase === 'finalized') continue;
      out.push(...this.#dispatch(c.source === null ? m : { ...m, source: c.source }, undefined));
    }
    return out;
  }

  /**
   * The ack deadline (the node's first timeout): from now on the dealer set is decided
   * from the dealers acknowledged by every operator heard from this round (operators
   * silent all round are no longer waited for), re-decided as late acks arrive. When too
   * few are acknowledged, the session keeps listening: the dealer set other operators
   * complete with can still be followed until giveUp(). Nothing happens in other phases.
   */
  proceed(): ProtocolMessage[] {
    this.#assertUsable();
    if (this.#phase === 'created') {
      throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, 'proceed() before start()');
    }
    if (this.#phase !== 'acknowledging') return [];
    this.#deadlinePassed = true;
    return this.#progress();
  }

  /**
   * The round's end (the node's last timeout): a session that has not finalized fails,
   * with NOT_ENOUGH_DEALERS (no dealer set was formed; the reason found at the deadline)
   * or NO_QUORUM (t matching completions never arrived). No effect once finalized.
   */
  giveUp(): void {
    this.#assertUsable();
    const ts = this.#c.sessionTimestamp;
    if (this.#phase === 'created') throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, 'giveUp() before start()');
    if (this.#phase === 'acknowledging') {
      const short = this.#shortfall;
      this.#fail(short?.code ?? ProtocolErrorCode.NOT_ENOUGH_DEALERS, short === null ? `session ${ts}: no dealer set was decided before the round ended` : `session ${ts}: ${short.message}`);
    }
    if (this.#phase === 'completing') {
      this.#fail(ProtocolErrorCode.NO_QUORUM, `session ${ts}: gave up waiting for ${this.#c.threshold} matching completions`);
    }
  }

  /**
   * What a certificate can still finalize after the round gave up (finalizeWithCertificate):
   * the completion this node signed, with its new share; null when it signed none or
   * finalized. Secret: keep in memory only.
   */
  pendingCompletion(): PendingCompletion | null {
    const own = this.#own;
    if (own === null || this.#result !== null) return null;
    const c = this.#c;
    return { type: c.type, sessionTimestamp: c.sessionTimestamp, dealers: own.dealers, commitments: own.commitments, threshold: c.threshold, participants: [...c.operators], privateShare: own.share };
  }

  /** The finalized version, or null until phase = finalized. */
  result(): FinalizedVersion | null {
    return this.#result;
  }

  status(): SessionStatus {
    const missingAcks: Record<OperatorAddress, OperatorAddress[]> = {};
    for (const d of this.#c.dealers) {
      if (this.#dealerState(d) !== 'pending') continue;
      const acks = this.#acks.get(d);
      missingAcks[d] = this.#c.operators.filter((p) => acks?.has(p) !== true);
    }
    const ownKey = this.#own?.key;
    let matching = 0;
    for (const rec of this.#completions.values()) if (rec.key === ownKey) matching++;
    const short = this.#phase === 'acknowledging' ? this.#shortfall : null;
    return {
      phase: this.#phase,
      type: this.#c.type,
      sessionTimestamp: this.#c.sessionTimestamp,
      missingDeals: this.#c.dealers.filter((d) => !this.#dealsSeen.has(d) && !this.#excluded.has(d)),
      missingAcks,
      excludedDealers: Object.fromEntries(this.#excluded),
      completions: { matching, received: this.#completions.size, needed: this.#c.threshold },
      dealerSetShortfall: short === null ? null : { code: short.code, message: short.message },
      dealerSetDecision: this.#decision,
      error: this.#error === null ? null : { code: this.#error.code, message: this.#error.message },
    };
  }

  /** Plain data for persistence (ProtocolSessionState shape). Contains received shares: seal at rest. */
  snapshot(): ProtocolSessionSnapshot {
    const shares: Record<OperatorAddress, bigint> = {};
    const commitments: Record<OperatorAddress, readonly Uint8Array[]> = {};
    for (const [d, deal] of this.#deals) {
      shares[d] = deal.share;
      commitments[d] = deal.commitmentBytes.map((b) => b.slice());
    }
    const acknowledgements: Record<OperatorAddress, Record<OperatorAddress, StoredAcknowledgementShape>> = {};
    for (const [dealer, byPlayer] of this.#acks) {
      const row: Record<OperatorAddress, StoredAcknowledgementShape> = {};
      for (const [player, a] of byPlayer) {
        row[player] = { dealer, player, sessionTimestamp: this.#c.sessionTimestamp, ...a };
      }
      acknowledgements[dealer] = row;
    }
    return {
      sessionTimestamp: this.#c.sessionTimestamp,
      type: this.#c.type,
      phase: this.#lastPhase,
      startTime: this.#c.startTime,
      operatorAddresses: [...this.#c.operators],
      shares,
      commitments,
      acknowledgements,
    };
  }

  // ---- message handling ------------------------------------------------------------

  #dispatch(msg: ProtocolMessage, verdict: PreVerified | undefined): ProtocolMessage[] {
    this.#checkEnvelope(msg);
    let out: ProtocolMessage[];
    switch (msg.type) {
      case 'deal':
        out = this.#onDeal(msg, verdict);
        break;
      case 'ack':
        out = this.#onAck(msg);
        break;
      case 'complaint':
        out = this.#onComplaint(msg);
        break;
      case 'complete':
        out = this.#onComplete(msg);
        break;
    }
    // Only a message that was accepted whole counts: a rejected one may be forged or stale.
    this.#present.add(msg.from);
    return out;
  }

  #checkEnvelope(msg: ProtocolMessage): void {
    const details = { type: msg.type, from: msg.from, sessionTimestamp: msg.sessionTimestamp };
    if (msg.sessionTimestamp !== this.#c.sessionTimestamp || msg.protocol !== this.#c.type) {
      throw new ProtocolError(
        ProtocolErrorCode.WRONG_SESSION,
        `${msg.type} for ${msg.protocol} session ${msg.sessionTimestamp} reached ${this.#c.type} session ${this.#c.sessionTimestamp}`,
        { details },
      );
    }
    if ((msg.source ?? null) !== this.#c.source) {
      // Built on another version (a lagging or restarted node): not a participant of this
      // round at all, rejected the same way by every node; it counts as absent.
      throw new ProtocolError(
        ProtocolErrorCode.WRONG_SOURCE,
        `${msg.type} from ${msg.from} reshares ${msg.source ?? 'no version (DKG)'}, this session reshares ${this.#c.source ?? 'nothing (DKG)'}`,
        { details, fix: 'the sender rejoins as a receiver once it learns the agreed version' },
      );
    }
    if (msg.to !== this.#c.self) {
      throw new ProtocolError(ProtocolErrorCode.WRONG_RECIPIENT, `${msg.type} addressed to ${msg.to}, this node is ${this.#c.self}`, { details });
    }
    if (!this.#c.ids.has(msg.from) || msg.from === this.#c.self) {
      throw new ProtocolError(ProtocolErrorCode.UNKNOWN_SENDER, `${msg.type} from ${msg.from}, which is not another operator of this session`, { details });
    }
  }

  #parseDeal(msg: DealMessage): ParsedDeal {
    const details = { type: 'deal', from: msg.from };
    if (!this.#dealerSet.has(msg.from)) {
      throw new ProtocolError(ProtocolErrorCode.UNKNOWN_SENDER, `deal from ${msg.from}, which is not a dealer of this session`, { details });
    }
    if (this.#dealsSeen.has(msg.from)) {
      throw new ProtocolError(ProtocolErrorCode.DUPLICATE_MESSAGE, `second deal from ${msg.from}`, { details });
    }
    return { message: msg, ...decodeDeal(msg, this.#c.threshold) };
  }

  /** The well-formed deals of a batch, to verify at once (findInvalidDeals); none when batching is off. */
  #collectDeals(parsed: readonly (ProtocolMessage | null)[]): CollectedDeal[] {
    if (!this.#c.batch) return [];
    const deals: CollectedDeal[] = [];
    const seen = new Set<OperatorAddress>();
    const reshare = this.#c.reshare;
    parsed.forEach((msg, index) => {
      if (msg?.type !== 'deal' || seen.has(msg.from)) return;
      try {
        this.#checkEnvelope(msg);
        const d = this.#parseDeal(msg);
        const check: DealCheck = reshare === null
          ? { share: d.share, commitments: d.commitments }
          : { share: d.share, commitments: d.commitments, dealerId: this.#id(msg.from) };
        deals.push({ index, deal: d, check });
        seen.add(msg.from);
      } catch (err) {
        if (!isProtocolError(err)) throw err;
        // Rejected again, with its error, when applied one by one.
      }
    });
    return deals;
  }

  #verifyDeals(checks: DealChecks): number[] {
    return findInvalidDeals(checks.x, checks.deals, checks.previousCommitments, this.#c.rng ?? defaultRandomSource);
  }

  #onDeal(msg: DealMessage, pre: PreVerified | undefined): ProtocolMessage[] {
    let deal: ParsedDeal;
    try {
      if (pre !== undefined && this.#dealsSeen.has(msg.from)) {
        throw new ProtocolError(ProtocolErrorCode.DUPLICATE_MESSAGE, `second deal from ${msg.from}`, { details: { type: 'deal', from: msg.from } });
      }
      deal = pre?.deal ?? this.#parseDeal(msg);
    } catch (err) {
      if (isProtocolError(err) && (err.code === ProtocolErrorCode.INVALID_COMMITMENT || err.code === ProtocolErrorCode.INVALID_SHARE)) {
        this.#dealsSeen.add(msg.from);
        this.#complain(msg.from, err);
      }
      throw err;
    }
    this.#dealsSeen.add(msg.from);
    if (pre?.valid !== true) {
      const self = this.#id(this.#c.self);
      const image = evaluateCommitments(deal.commitments, self, { msm: this.#c.msm });
      if (!(deal.share === 0n ? G2.ZERO : G2.BASE.multiply(deal.share)).equals(image)) {
        this.#complain(msg.from, new ProtocolError(ProtocolErrorCode.INVALID_SHARE, `share from ${msg.from} does not match its commitments`, {
          details: { type: 'deal', from: msg.from, field: 'share' },
        }));
      }
      const c0 = deal.commitments[0];
      if (this.#c.reshare !== null && c0 !== undefined && !c0.equals(this.#oldImage(msg.from))) {
        this.#complain(msg.from, new ProtocolError(
          ProtocolErrorCode.INVALID_COMMITMENT,
          `dealer ${msg.from} committed to a constant other than its share of the previous version`,
          { details: { type: 'deal', from: msg.from, field: 'commitments' } },
        ));
      }
    }
    return this.#acceptDeal(msg.from, {
      commitments: deal.commitments,
      commitmentBytes: deal.commitmentBytes,
      commitmentHash: toHex(commitmentsHash(deal.commitmentBytes)),
      share: deal.share,
    });
  }

  #withdrawAsDealer(): ProtocolMessage[] {
    const c = this.#c;
    const reason = 'NO_PREVIOUS_SHARE';
    const signature = toHex(c.signer.sign(complaintDigest(c.type, c.sessionTimestamp, c.self, c.self, reason)));
    this.#dealsSeen.add(c.self);
    this.#recordComplaint(c.self, c.self, reason);
    return this.#others.map(
      (to) => ({ ...this.#base('complaint', to), dealer: c.self, player: c.self, reason, signature }),
    );
  }

  /** Records a rejected deal as this node's complaint, broadcasts it, and throws (never returns). */
  #complain(dealer: OperatorAddress, err: ProtocolError): never {
    const c = this.#c;
    const digest = complaintDigest(c.type, c.sessionTimestamp, dealer, c.self, err.code);
    const signature = toHex(c.signer.sign(digest));
    this.#recordComplaint(dealer, c.self, err.code);
    const out: ProtocolMessage[] = this.#others.map(
      (to) => ({ ...this.#base('complaint', to), dealer, player: c.self, reason: err.code, signature }),
    );
    try {
      out.push(...this.#progress());
    } catch (progressErr) {
      if (!isProtocolError(progressErr)) throw progressErr;
      throw new ProtocolError(progressErr.code, progressErr.message, { outbound: out, details: progressErr.details, cause: err });
    }
    throw new ProtocolError(err.code, err.message, { outbound: out, details: err.details, cause: err.cause });
  }

  #acceptDeal(dealer: OperatorAddress, deal: VerifiedDeal): ProtocolMessage[] {
    const c = this.#c;
    this.#deals.set(dealer, deal);
    const sh = toHex(shareHash(c.type, c.sessionTimestamp, dealer, c.self, encodeScalar(deal.share)));
    const digest = ackDigest(c.type, c.sessionTimestamp, dealer, c.self, fromHex(sh), fromHex(deal.commitmentHash));
    const signature = toHex(c.signer.sign(digest));
    this.#ackRow(dealer).set(c.self, { shareHash: sh, commitmentHash: deal.commitmentHash, signature });
    const out: ProtocolMessage[] = this.#others.map(
      (to) =>
        ({ ...this.#base('ack', to), dealer, player: c.self, shareHash: sh, commitmentHash: deal.commitmentHash, signature }),
    );
    out.push(...this.#progress());
    return out;
  }

  #onAck(msg: AckMessage): ProtocolMessage[] {
    const details = { type: 'ack', from: msg.from, dealer: msg.dealer };
    if (msg.player !== msg.from) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_ACK, `ack from ${msg.from} names player ${msg.player}; players send their own acks`, { details });
    }
    if (!this.#dealerSet.has(msg.dealer)) {
      throw new ProtocolError(ProtocolErrorCode.UNKNOWN_SENDER, `ack names ${msg.dealer}, which is not a dealer of this session`, { details });
    }
    if (this.#acks.get(msg.dealer)?.has(msg.player) === true) {
      throw new ProtocolError(ProtocolErrorCode.DUPLICATE_MESSAGE, `second ack from ${msg.player} for dealer ${msg.dealer}`, { details });
    }
    const digest = ackDigest(this.#c.type, this.#c.sessionTimestamp, msg.dealer, msg.player, fromHex(msg.shareHash), fromHex(msg.commitmentHash));
    this.#checkSignature(digest, msg.signature, msg.player, ProtocolErrorCode.INVALID_ACK_SIGNATURE, details);
    this.#ackRow(msg.dealer).set(msg.player, { shareHash: msg.shareHash, commitmentHash: msg.commitmentHash, signature: msg.signature });
    return this.#progress();
  }

  #onComplaint(msg: ComplaintMessage): ProtocolMessage[] {
    const details = { type: 'complaint', from: msg.from, dealer: msg.dealer };
    if (msg.player !== msg.from) {
      throw new ProtocolError(ProtocolErrorCode.INVALID_COMPLAINT, `complaint from ${msg.from} names player ${msg.player}`, { details });
    }
    if (!this.#dealerSet.has(msg.dealer)) {
      throw new ProtocolError(ProtocolErrorCode.UNKNOWN_SENDER, `complaint names ${msg.dealer}, which is not a dealer of this session`, { details });
    }
    if (this.#complaints.get(msg.dealer)?.has(msg.player) === true) {
      throw new ProtocolError(ProtocolErrorCode.DUPLICATE_MESSAGE, `second complaint from ${msg.player} about ${msg.dealer}`, { details });
    }
    const digest = complaintDigest(this.#c.type, this.#c.sessionTimestamp, msg.dealer, msg.player, msg.reason);
    this.#checkSignature(digest, msg.signature, msg.player, ProtocolErrorCode.INVALID_COMPLAINT_SIGNATURE, details);
    this.#recordComplaint(msg.dealer, msg.player, msg.reason);
    return this.#progress();
  }

  #onComplete(msg: CompleteMessage): ProtocolMessage[] {
    const details = { type: 'complete', from: msg.from };
    if (this.#completions.has(msg.from)) {
      throw new ProtocolError(ProtocolErrorCode.DUPLICATE_MESSAGE, `second completion from ${msg.from}`, { details });
    }
    const ascending = msg.dealers.every((d, i) => i === 0 || (msg.dealers[i - 1] ?? '') < d);
    if (!ascending || !msg.dealers.every((d) => this.#dealerSet.has(d))) {
      throw new ProtocolError(
        ProtocolErrorCode.INVALID_COMPLETION,
        `completion from ${msg.from} names a dealer set that is not an ascending subset of this session's dealers`,
        { details: { ...details, field: 'dealers' } },
      );
    }
    const setHash = dealerSetHash(msg.dealers);
    const digest = completionDigest(this.#c.type, this.#c.sessionTimestamp, msg.from, setHash, fromHex(msg.commitmentsHash));
    this.#checkSignature(digest, msg.signature, msg.from, ProtocolErrorCode.INVALID_COMPLETION_SIGNATURE, details);
    this.#completions.set(msg.from, { dealers: [...msg.dealers], key: `${toHex(setHash)}:${msg.commitmentsHash}`, signature: msg.signature });
    return this.#progress();
  }

  #checkSignature(
    digest: Uint8Array,
    signature: Hex,
    expected: OperatorAddress,
    code: ProtocolErrorCode,
    details: Record<string, string>,
  ): void {
    let signer: string;
    try {
      signer = this.#c.recoverSigner(digest, fromHex(signature)).toLowerCase();
    } catch (cause) {
      throw new ProtocolError(code, `${details.type ?? 'message'} signature from ${expected} does not recover`, { cause, details });
    }
    if (signer !== expected) {
      throw new ProtocolError(code, `${details.type ?? 'message'} signed by ${signer}, expected ${expected}`, { details });
    }
  }

  // ---- progress ------------------------------------------------------------------

  /**
   * A dealer's state on the fast path (acked by every operator). Conflicting commitments
   * exclude it for good.
   */
  #dealerState(dealer: OperatorAddress): DealerState {
    if (this.#excluded.has(dealer)) return 'excluded';
    const deal = this.#deals.get(dealer);
    const acks = this.#acks.get(dealer);
    if (acks !== undefined && deal !== undefined) {
      for (const a of acks.values()) {
        if (a.commitmentHash !== deal.commitmentHash) {
          // The dealer showed different commitments to different players: never usable.
          this.#excluded.set(dealer, 'CONFLICTING_COMMITMENTS');
          return 'excluded';
        }
      }
    }
    return ackState(deal !== undefined, acks, this.#c.operators);
  }

  /**
   * The dealer set to complete with, or null to keep waiting. A set other operators
   * already completed with (best supported first) is followed whenever this node holds
   * its deals: who decides first decides for all, so views that differ in timing do not
   * split. Otherwise: before the deadline, every dealer acknowledged by every operator
   * (chooseDealers); after it, from the acks held (chooseDealersAtDeadline).
   */
  #selectDealers(): readonly OperatorAddress[] | null {
    const c = this.#c;
    const rule = { threshold: c.threshold, previousThreshold: c.reshare?.previousThreshold ?? null };
    const followed = adoptableDealerSet(this.#completions.values(), rule, (d) => this.#deals.has(d) && !this.#excluded.has(d), 1);
    if (followed !== null) {
      this.#decision = 'followed';
      return followed;
    }
    if (!this.#deadlinePassed) {
      const selection = chooseDealers(c.dealers.map((d) => [d, this.#dealerState(d)] as const), rule, false);
      if (selection.kind === 'wait') return null;
      // Every dealer is decided and too few are usable: no later message changes that.
      if (selection.kind === 'short') this.#fail(selection.code, selection.message);
      this.#decision = 'all-acked';
      return selection.dealers;
    }
    const selection = chooseDealersAtDeadline({
      dealers: c.dealers,
      excluded: (d) => this.#excluded.has(d),
      hasDeal: (d) => this.#deals.has(d),
      ackedBy: (d) => this.#acks.get(d),
      present: this.#present,
    }, rule);
    if (selection.kind === 'chosen') {
      this.#decision = 'deadline';
      return selection.dealers;
    }
    this.#shortfall = selection.kind === 'short' ? { code: selection.code, message: selection.message } : null;
    return null;
  }

  #progress(): ProtocolMessage[] {
    if (this.#phase === 'acknowledging') {
      const dealers = this.#selectDealers();
      if (dealers === null) return [];
      return this.#complete(dealers);
    }
    if (this.#phase === 'completing') this.#checkQuorum();
    return [];
  }

  /** This node's share and the joint commitments over `dealers` (fails the session when they do not combine). */
  #combine(dealers: readonly OperatorAddress[]): { share: bigint; commitments: Uint8Array[]; key: string; setHash: Uint8Array; cHash: Uint8Array } {
    const c = this.#c;
    const deals = dealers.flatMap((d) => {
      const deal = this.#deals.get(d);
      return deal === undefined ? [] : [{ dealerId: this.#id(d), share: deal.share, commitments: deal.commitments }];
    });
    const combined = combineDeals({ deals, threshold: c.threshold, selfId: this.#id(c.self), msm: c.msm, previousMpk: c.reshare?.previousMpk ?? null });
    if (!combined.ok) this.#fail(combined.code, `session ${c.sessionTimestamp}: ${combined.message}`);
    const commitments = combined.commitments.map((p) => encodeG2(p));
    const setHash = dealerSetHash(dealers);
    const cHash = commitmentsHash(commitments);
    return { share: combined.share, commitments, key: `${toHex(setHash)}:${toHex(cHash)}`, setHash, cHash };
  }

  #complete(dealers: readonly OperatorAddress[]): ProtocolMessage[] {
    const c = this.#c;
    const { share, commitments, key, setHash, cHash } = this.#combine(dealers);
    const signature = toHex(c.signer.sign(completionDigest(c.type, c.sessionTimestamp, c.self, setHash, cHash)));
    this.#own = { dealers: [...dealers], key, share, commitments };
    this.#completions.set(c.self, { dealers: [...dealers], key, signature });
    this.#shortfall = null;
    this.#setPhase('completing');
    const out: ProtocolMessage[] = this.#others.map(
      (to) => ({ ...this.#base('complete', to), dealers: [...dealers], commitmentsHash: toHex(cHash), signature }),
    );
    this.#checkQuorum();
    return out;
  }

  /**
   * Finalizes once t completions carry one key. When it is not the key this node signed
   * (it decided from another view), the node still finalizes it from the deals it holds,
   * adding no signature; without those deals it fails and rejoins at the next reshare.
   */
  #checkQuorum(): void {
    const own = this.#own;
    if (own === null) return;
    const c = this.#c;
    const verdict = judgeCompletions([...this.#completions.values()].map((rec) => rec.key), c.threshold, c.operators.length);
    if (verdict.kind === 'unreachable') {
      this.#fail(ProtocolErrorCode.NO_QUORUM, `session ${c.sessionTimestamp} cannot reach ${c.threshold} matching completions (at most ${verdict.best} match, ${verdict.outstanding} outstanding)`);
    }
    if (verdict.kind !== 'finalize') return;
    if (verdict.key === own.key) {
      this.#finalize(own);
      return;
    }
    const dealers = [...this.#completions.values()].find((rec) => rec.key === verdict.key)?.dealers ?? [];
    const missing = dealers.filter((d) => !this.#deals.has(d) || this.#excluded.has(d));
    if (missing.length > 0) {
      this.#fail(ProtocolErrorCode.CONFLICTING_COMPLETION, `${verdict.count} operators completed session ${c.sessionTimestamp} with dealers whose valid deals this node lacks (${missing.join(', ')})`);
    }
    const certified = this.#combine(dealers);
    if (certified.key !== verdict.key) {
      this.#fail(ProtocolErrorCode.CONFLICTING_COMPLETION, `${verdict.count} operators completed session ${c.sessionTimestamp} with commitments other than the deals this node holds`);
    }
    this.#finalize({ dealers, key: certified.key, share: certified.share, commitments: certified.commitments });
  }

  #finalize(outcome: OwnCompletion): void {
    const c = this.#c;
    const signatures = [...this.#completions]
      .filter(([, rec]) => rec.key === outcome.key)
      .map(([operator, rec]) => ({ operator, signature: rec.signature }))
      .sort((a, b) => (a.operator < b.operator ? -1 : 1));
    this.#result = {
      epoch: c.sessionTimestamp,
      privateShare: outcome.share,
      commitments: outcome.commitments,
      masterPublicKey: outcome.commitments[0] ?? new Uint8Array(0),
      threshold: c.threshold,
      participants: [...c.operators],
      dealers: outcome.dealers,
      certificate: {
        type: c.type,
        sessionTimestamp: c.sessionTimestamp,
        dealers: outcome.dealers,
        commitments: outcome.commitments,
        threshold: c.threshold,
        participants: [...c.operators],
        signatures,
      },
    };
    this.#setPhase('finalized');
  }

  // ---- helpers -------------------------------------------------------------------

  #recordComplaint(dealer: OperatorAddress, player: OperatorAddress, reason: string): void {
    const set = this.#complaints.get(dealer) ?? new Set<OperatorAddress>();
    set.add(player);
    this.#complaints.set(dealer, set);
    if (!this.#excluded.has(dealer)) this.#excluded.set(dealer, `COMPLAINT:${reason}`);
  }

  #oldImage(dealer: OperatorAddress): G2Point {
    const r = this.#c.reshare;
    if (r === null) throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, 'previous commitments exist only in a reshare');
    let img = this.#oldImages.get(dealer);
    if (img === undefined) {
      img = evaluateCommitments(r.previousCommitments, this.#id(dealer), { msm: this.#c.msm });
      this.#oldImages.set(dealer, img);
    }
    return img;
  }

  #ackRow(dealer: OperatorAddress): Map<OperatorAddress, AckRecord> {
    let row = this.#acks.get(dealer);
    if (row === undefined) {
      row = new Map();
      this.#acks.set(dealer, row);
    }
    return row;
  }

  #id(address: OperatorAddress): bigint {
    const id = this.#c.ids.get(address);
    if (id === undefined) throw new ProtocolError(ProtocolErrorCode.UNKNOWN_SENDER, `${address} is not an operator of this session`);
    return id;
  }

  #base<T extends ProtocolMessage['type']>(type: T, to: OperatorAddress): { type: T; protocol: ProtocolType; sessionTimestamp: number; from: OperatorAddress; to: OperatorAddress; source?: Hex } {
    const base = { type, protocol: this.#c.type, sessionTimestamp: this.#c.sessionTimestamp, from: this.#c.self, to };
    return this.#c.source === null ? base : { ...base, source: this.#c.source };
  }

  #setPhase(phase: Exclude<SessionPhase, 'failed'>): void {
    this.#phase = phase;
    this.#lastPhase = PHASE_NUMBER[phase];
  }

  #fail(code: ProtocolErrorCode, message: string): never {
    const err = new ProtocolError(code, message, {
      details: { sessionTimestamp: this.#c.sessionTimestamp, type: this.#c.type },
      fix: 'the node retries at the next boundary (rejoining by reshare if others finalized)',
    });
    this.#phase = 'failed';
    this.#error = err;
    throw err;
  }

  #assertUsable(): void {
    if (this.#phase === 'failed') {
      throw new ProtocolError(ProtocolErrorCode.INVALID_STATE, `session ${this.#c.sessionTimestamp} has failed (${this.#error?.code ?? 'unknown'})`, {
        cause: this.#error,
      });
    }
  }
}
