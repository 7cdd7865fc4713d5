/**
 * n = 10 (t = 7) DKG, in its own file so jest runs it beside the other suites. Delivered
 * in per-recipient batches (handleAll), i.e. the batched verification path.
 */
import { interpolateAtZero } from '../crypto/lagrange.js';
import { operatorId } from '../crypto/operatorId.js';
import { G2, decodeG2 } from '../crypto/points.js';
import { partialSign, publicShare, recoverAppKey, verifyAppKey, verifyPartial } from '../crypto/signatures.js';
import { createSimulatedOperators, runSimulatedDkg, seededRandomSources } from './simulation.js';

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head as T, ...s]), ...subsets(rest, k)];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DKG n=10', () => {
  it('all finalize with one MPK; all 120 7-subsets recover it, no 6-subset does; app keys recover from different subsets', () => {
    const n = 10;
    const t = 7;
    const { operators, sessions, report } = runSimulatedDkg(
      { signers: createSimulatedOperators(n, 'dkg-10'), sessionTimestamp: 1_700_000_010, rng: seededRandomSources('10') },
      { batch: true },
    );
    expect(report.rejected).toEqual([]);
    const rs = operators.map((a) => sessions.get(a)!.result()!);
    for (const r of rs) {
      expect(r.threshold).toBe(t);
      expect(hex(r.masterPublicKey)).toBe(hex(rs[0]!.masterPublicKey));
      expect(r.commitments.map(hex)).toEqual(rs[0]!.commitments.map(hex));
      expect(r.dealers).toEqual(operators);
    }
    const commitments = rs[0]!.commitments.map((b) => decodeG2(b));
    const shares = rs.map((r, i) => ({ x: operatorId(operators[i]!), y: r.privateShare }));
    const all = subsets(shares, t);
    expect(all).toHaveLength(120);
    const secrets = new Set(all.map((s) => interpolateAtZero(s)));
    expect(secrets.size).toBe(1);
    const secret = [...secrets][0]!;
    expect(G2.BASE.multiply(secret).equals(commitments[0]!)).toBe(true);
    for (const s of subsets(shares, t - 1)) expect(interpolateAtZero(s)).not.toBe(secret);
    const appId = 'app-n10';
    const partials = shares.map((s) => ({ id: s.x, signature: partialSign(s.y, appId) }));
    expect(verifyPartial(partials[3]!.signature, appId, publicShare(commitments, partials[3]!.id))).toBe(true);
    const key = recoverAppKey(partials.slice(0, t), t);
    expect(recoverAppKey(partials.slice(3), t).equals(key)).toBe(true);
    expect(recoverAppKey([0, 2, 4, 6, 8, 9, 1].map((i) => partials[i]!), t).equals(key)).toBe(true);
    expect(verifyAppKey(key, appId, commitments[0]!)).toBe(true);
  });
});
