import type { Operator } from '../chain/operatorSet.js';
import { normalizeOperatorSet } from '../chain/operatorSet.js';
import { devAccount } from '../devnet/devAccounts.js';
import { silentLogger } from '../logging/logger.js';
import { OperatorSigner } from '../transport/signer.js';
import { NewcomerLookup } from './newcomerLookup.js';

function operators(...indices: number[]): Operator[] {
  return normalizeOperatorSet(indices.map((i) => {
    const account = devAccount(i);
    return { address: account.address, socketUrl: `http://127.0.0.1:${9000 + i}`, signingPublicKey: OperatorSigner.fromPrivateKey(account.privateKey).publicKey };
  }), 'test');
}

function lookupOver(listed: () => Promise<readonly Operator[]>, known: Operator[]) {
  const state = { known, now: 10_000, reads: 0 };
  const lookup = new NewcomerLookup({
    read: () => { state.reads++; return listed(); },
    known: () => state.known,
    adopt: (ops) => { state.known = ops; },
    clock: () => state.now,
    minIntervalMs: 1_000,
    logger: silentLogger(),
  });
  return { lookup, state };
}

describe('NewcomerLookup', () => {
  it('adds operators that joined since the set was read, keeping the ones it knew as they were', async () => {
    const start = operators(1);
    const { lookup, state } = lookupOver(() => Promise.resolve(operators(1, 2, 3)), start);
    expect(await lookup.lookup()).toBe(true);
    expect(state.known.map((o) => o.address)).toEqual(operators(1, 2, 3).map((o) => o.address));
    expect(state.known.find((o) => o.address === start[0]!.address)).toBe(start[0]);
  });

  it('never drops a known operator the chain no longer lists (the next boundary decides that)', async () => {
    const { lookup, state } = lookupOver(() => Promise.resolve(operators(2)), operators(1));
    expect(await lookup.lookup()).toBe(true);
    expect(state.known.map((o) => o.address).sort()).toEqual(operators(1, 2).map((o) => o.address).sort());
  });

  it('answers false when the chain lists no one new', async () => {
    const { lookup, state } = lookupOver(() => Promise.resolve(operators(1)), operators(1));
    expect(await lookup.lookup()).toBe(false);
    expect(state.reads).toBe(1);
  });

  it('reads once for senders arriving together, and at most once per interval', async () => {
    let release: (ops: Operator[]) => void = () => undefined;
    const { lookup, state } = lookupOver(() => new Promise((resolve) => { release = resolve; }), operators(1));
    const together = [lookup.lookup(), lookup.lookup(), lookup.lookup()];
    release(operators(1, 2));
    expect(await Promise.all(together)).toEqual([true, true, true]);
    expect(state.reads).toBe(1);

    state.now += 999;
    expect(await lookup.lookup()).toBe(false);
    expect(state.reads).toBe(1);
    state.now += 1;
    const next = lookup.lookup();
    release(operators(1, 2));
    expect(await next).toBe(false);
    expect(state.reads).toBe(2);
  });

  it('answers false, and changes nothing, when the chain cannot be read', async () => {
    const { lookup, state } = lookupOver(() => Promise.reject(new Error('rpc down')), operators(1));
    expect(await lookup.lookup()).toBe(false);
    expect(state.known.map((o) => o.address)).toEqual(operators(1).map((o) => o.address));
  });
});
