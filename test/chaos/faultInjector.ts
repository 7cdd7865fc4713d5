/**
 * Carries out one scheduled fault on a real node process: waits for its phase, strikes
 * (SIGKILL, SIGSTOP, or SIGKILL of the node's redis-server), brings the node back
 * (restart on the same data dir, SIGCONT, or the node's own supervisor) and waits until
 * it serves again. The SoakClock knows which slot is open and which nodes are faulty.
 */
import { roundPhaseOf, phaseReached, type RoundPhase } from '../../src/devnet/chaos/roundPhase.js';
import type { ScheduledFault } from '../../src/devnet/chaos/schedule.js';
import type { DevnetOperator } from '../../src/devnet/devnet.js';
import { isServing, nodeHealth, redisServerPid, snapshotCount } from './nodeProbe.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Which boundary slot is open, who is faulty, and when each boundary was mined. */
export class SoakClock {
  private slotIndex = -1;
  private readonly faultyNow = new Set<number>();
  readonly faultyInSlot: Set<number>[] = [];
  private readonly minedTimes: number[] = [];
  private readonly minedWaiters = new Map<number, (() => void)[]>();

  get slot(): number {
    return this.slotIndex;
  }

  faultyCount(): number {
    return this.faultyNow.size;
  }

  isFaulty(node: number): boolean {
    return this.faultyNow.has(node);
  }

  /** Boundary `index` was mined: its slot opens with whoever is still faulty. */
  boundaryMined(index: number): void {
    this.slotIndex = index;
    this.minedTimes[index] = Date.now();
    this.faultyInSlot[index] = new Set(this.faultyNow);
    for (const wake of this.minedWaiters.get(index) ?? []) wake();
    this.minedWaiters.delete(index);
  }

  /** When boundary `index` was mined (epoch ms). */
  minedAt(index: number): number {
    return this.minedTimes[index] ?? Date.now();
  }

  waitMined(index: number): Promise<void> {
    if (this.slotIndex >= index) return Promise.resolve();
    return new Promise((resolve) => { this.minedWaiters.set(index, [...(this.minedWaiters.get(index) ?? []), resolve]); });
  }

  markFaulty(node: number): void {
    this.faultyNow.add(node);
    this.faultyInSlot[this.slotIndex]?.add(node);
  }

  /** The node serves again; returns the first boundary that will be mined after that. */
  markRecovered(node: number): number {
    this.faultyNow.delete(node);
    return this.slotIndex + 1;
  }
}

export interface FaultRun {
  readonly fault: ScheduledFault;
  /** The round phase seen on the nodes when it struck (null for after-boundary / startup). */
  phaseSeen: RoundPhase | null;
  /** False when the planned phase never showed within the wait and the fault struck at the wait's end. */
  phaseReached: boolean;
  /** Why it did not strike (over the n − t budget at its time), or null. */
  skipped: string | null;
  /** For startup faults: the node had not reached phase running when struck the second time. */
  struckDuringStartup: boolean | null;
  /** Strike time after the boundary was mined, and how long the node was faulty (ms). */
  struckAtMs: number | null;
  faultyMs: number | null;
  recoveredBeforeBoundary: number | null;
  error: string | null;
  readonly notes: string[];
}

export interface InjectorContext {
  readonly clock: SoakClock;
  readonly operators: readonly DevnetOperator[];
  readonly maxFaulty: number;
  /** How long to wait for a phase before striking anyway. */
  readonly phaseWaitMs: number;
  /** How long a node may take to serve again before the fault counts as unrecovered. */
  readonly recoveryTimeoutMs: number;
  /** Per node: the session snapshot count read just before the boundary (phase baseline). */
  readonly snapshotsBefore: readonly (number | null)[];
  readonly log: (line: string) => void;
}

/** Runs one fault to its recovery; never throws (failures land in the returned record). */
export async function runFault(fault: ScheduledFault, ctx: InjectorContext): Promise<FaultRun> {
  const run: FaultRun = { fault, phaseSeen: null, phaseReached: true, skipped: null, struckDuringStartup: null, struckAtMs: null, faultyMs: null, recoveredBeforeBoundary: null, error: null, notes: [] };
  const operator = ctx.operators[fault.node];
  if (operator === undefined) throw new Error(`fault ${fault.id} names node ${fault.node}, which does not exist`);
  const name = operator.process.options.name;
  try {
    await waitForPhase(fault, ctx, run);
    await sleep(fault.delayMs);
    // A node from an earlier fault that is slow to serve again still counts against n − t.
    const budgetDeadline = Date.now() + ctx.phaseWaitMs;
    while (ctx.clock.faultyCount() >= ctx.maxFaulty || ctx.clock.isFaulty(fault.node)) {
      if (Date.now() > budgetDeadline || ctx.clock.slot !== fault.boundary) {
        run.skipped = `${ctx.clock.faultyCount()} node(s) still faulty in its slot (at most ${ctx.maxFaulty} at once)`;
        ctx.log(`fault ${fault.id} skipped: ${run.skipped}`);
        return run;
      }
      await sleep(100);
    }
    ctx.clock.markFaulty(fault.node);
    const struckAtMs = Date.now() - ctx.clock.minedAt(fault.boundary);
    run.struckAtMs = struckAtMs;
    ctx.log(`fault ${fault.id}: ${fault.kind} of ${name} at boundary ${fault.boundary + 1}, ${struckAtMs} ms after it (${fault.phase}${run.phaseReached ? '' : ', phase not seen'})`);
    switch (fault.kind) {
      case 'sigkill-restart':
        await killAndRestart(fault, operator, ctx, run);
        break;
      case 'sigstop-across-boundary':
        operator.process.suspend();
        await ctx.clock.waitMined(fault.boundary + 1);
        await sleep(fault.downMs);
        operator.process.resume();
        break;
      case 'redis-sigkill':
        await killRedis(fault, operator, ctx, run);
        break;
    }
    await waitServing(operator, ctx.recoveryTimeoutMs);
    run.recoveredBeforeBoundary = ctx.clock.markRecovered(fault.node);
    run.faultyMs = Date.now() - ctx.clock.minedAt(fault.boundary) - struckAtMs;
    ctx.log(`fault ${fault.id}: ${name} serves again after ${run.faultyMs} ms (before boundary ${run.recoveredBeforeBoundary + 1})`);
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
    ctx.log(`fault ${fault.id}: ${name} did not recover: ${run.error}`);
  }
  return run;
}

async function waitForPhase(fault: ScheduledFault, ctx: InjectorContext, run: FaultRun): Promise<void> {
  if (fault.phase === 'after-boundary' || fault.phase === 'startup') return;
  const deadline = Date.now() + ctx.phaseWaitMs;
  for (;;) {
    const phases = await Promise.all(ctx.operators.map(async (o, i) => {
      const before = ctx.snapshotsBefore[i];
      if (!o.process.isRunning() || ctx.clock.isFaulty(i) || before === null || before === undefined) return null;
      const now = await snapshotCount(o.process.url);
      return now === null ? null : roundPhaseOf(now - before);
    }));
    const seen = phases.filter((p): p is RoundPhase => p !== null);
    if (phaseReached(fault.phase, seen)) {
      run.phaseSeen = seen.includes('completing') ? 'completing' : seen.includes('finalized') ? 'finalized' : 'dealing';
      return;
    }
    if (Date.now() > deadline) {
      run.phaseReached = false;
      return;
    }
    await sleep(50);
  }
}

async function killAndRestart(fault: ScheduledFault, operator: DevnetOperator, ctx: InjectorContext, run: FaultRun): Promise<void> {
  await operator.process.kill();
  if (fault.acrossBoundary) await ctx.clock.waitMined(fault.boundary + 1);
  await sleep(fault.downMs);
  if (fault.phase !== 'startup') {
    await operator.process.start();
    return;
  }
  const starting = operator.process.start();
  starting.catch(() => undefined);
  run.struckDuringStartup = await strikeDuringStartup(operator, () => operator.process.kill().then(() => undefined));
  await starting.then(() => { throw new Error('the start survived a SIGKILL during start-up'); }, () => undefined);
  await operator.process.start();
}

async function killRedis(fault: ScheduledFault, operator: DevnetOperator, ctx: InjectorContext, run: FaultRun): Promise<void> {
  const name = operator.process.options.name;
  const killed: { pid: number | null } = { pid: null };
  const kill = (): Promise<void> => {
    const nodePid = operator.process.pid;
    const pid = nodePid === null ? null : redisServerPid(nodePid);
    if (pid === null) throw new Error(`${name} has no redis-server child to kill`);
    killed.pid = pid;
    process.kill(pid, 'SIGKILL');
    return Promise.resolve();
  };
  if (fault.phase === 'startup') {
    // Strike during start-up: the node itself goes down first, then its redis-server is
    // killed as soon as the restarted node has spawned one.
    await operator.process.kill();
    await sleep(fault.downMs);
    const starting = operator.process.start();
    starting.catch(() => undefined);
    run.struckDuringStartup = await strikeDuringStartup(operator, kill);
    await starting.catch(async (error: unknown) => {
      // What a process supervisor (Kubernetes) would do: start it again.
      run.notes.push(`the node exited when its redis-server died during start-up (${error instanceof Error ? error.message : String(error)}); restarted`);
      await operator.process.start();
    });
  } else {
    await kill();
  }
  // Recovered only once the node's supervisor runs a new redis-server (then /health decides).
  const deadline = Date.now() + ctx.recoveryTimeoutMs;
  for (;;) {
    const nodePid = operator.process.pid;
    const now = nodePid === null ? null : redisServerPid(nodePid);
    if (now !== null && now !== killed.pid) return;
    if (Date.now() > deadline) throw new Error(`${name} started no new redis-server within ${Math.round(ctx.recoveryTimeoutMs / 1000)} s`);
    await sleep(100);
  }
}

/**
 * Waits (up to 60 s) until the starting node has spawned its redis-server, then strikes;
 * returns whether the node was not yet serving at that moment.
 */
async function strikeDuringStartup(operator: DevnetOperator, strike: () => Promise<void>): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pid = operator.process.pid;
    if (pid !== null && redisServerPid(pid) !== null) break;
    if (Date.now() > deadline) throw new Error(`${operator.process.options.name} spawned no redis-server within 60 s of its start`);
    await sleep(20);
  }
  const health = await nodeHealth(operator.process.url);
  await strike();
  return health === null || health.phase !== 'running';
}

async function waitServing(operator: DevnetOperator, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (operator.process.isRunning() && isServing(await nodeHealth(operator.process.url))) return;
    if (Date.now() > deadline) throw new Error(`${operator.process.options.name} did not serve again within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(250);
  }
}
