import { brokenInvariants, soakFigures, type BoundaryObservation, type SoakObservations } from './soakMetrics.js';

const MPK = '0xaa';

function boundary(index: number, faulty: number[], producedOn: number[], activeAfter: (number | null)[]): BoundaryObservation {
  return { index, sessionTimestamp: 1000 + index * 10, faulty, producedOn, activeAfter };
}

function observations(over: Partial<SoakObservations>): SoakObservations {
  return { nodes: 4, threshold: 3, boundaries: [], faults: [], initialMasterPublicKey: MPK, masterPublicKeysSeen: [], activated: [], ...over };
}

test('liveness counts boundaries whose every live node got the new version, among those with ≤ n − t faulty', () => {
  const o = observations({
    boundaries: [
      boundary(0, [], [0, 1, 2, 3], [1000, 1000, 1000, 1000]),
      boundary(1, [2], [0, 1, 3], [1010, 1010, 1000, 1010]), // the faulty node is excused
      boundary(2, [2], [0, 1], [1010, 1010, 1000, 1010]), // node 4 was live and missed it
      boundary(3, [1, 2], [0, 3], [1030, 1010, 1000, 1030]), // over budget: not counted
      boundary(4, [], [0, 1, 2, 3], [1040, 1040, 1040, 1040]),
    ],
  });
  const f = soakFigures(o);
  expect([f.eligibleBoundaries, f.liveBoundaries, f.overBudgetBoundaries]).toEqual([4, 3, 1]);
  expect(f.livenessRatio).toBe(0.75);
});

test('reconvergence: boundaries from the recovery to the first round that includes the node (p50, max, never)', () => {
  const o = observations({
    boundaries: [
      boundary(0, [1], [0, 2, 3], [0, 0, 0, 0]),
      boundary(1, [], [0, 1, 2, 3], [0, 0, 0, 0]),
      boundary(2, [3], [0, 1, 2], [0, 0, 0, 0]),
      boundary(3, [], [0, 1, 2], [0, 0, 0, 0]),
      boundary(4, [], [0, 1, 2, 3], [0, 0, 0, 0]),
      boundary(5, [0], [1, 2, 3], [0, 0, 0, 0]),
    ],
    faults: [
      { id: 1, node: 1, boundary: 0, recoveredBeforeBoundary: 1 },
      { id: 2, node: 3, boundary: 2, recoveredBeforeBoundary: 3 },
      { id: 3, node: 0, boundary: 5, recoveredBeforeBoundary: null },
    ],
  });
  const r = soakFigures(o).reconvergence;
  expect(r.perFault).toEqual([{ id: 1, boundaries: 1 }, { id: 2, boundaries: 2 }, { id: 3, boundaries: null }]);
  expect([r.p50, r.max, r.notReconverged]).toEqual([1, 2, 1]);
  expect(brokenInvariants(o)).toEqual(['fault 3 (node 1) never recovered within the run']);
});

test('convergence after the last fault must come within 2 boundaries', () => {
  const active = (v: number): number[] => [v, v, v, v];
  const late = observations({
    boundaries: [
      boundary(0, [1], [0, 2, 3], [1000, 0, 1000, 1000]),
      boundary(1, [], [0, 2, 3], [1010, 0, 1010, 1010]),
      boundary(2, [], [0, 2, 3], [1020, 0, 1020, 1020]),
      boundary(3, [], [0, 1, 2, 3], active(1030)),
    ],
    faults: [{ id: 1, node: 1, boundary: 0, recoveredBeforeBoundary: 1 }],
  });
  expect(soakFigures(late).convergedAfterLastFault).toBe(3);
  expect(brokenInvariants(late)).toEqual(['the nodes did not converge on one active version within 2 boundaries after the last fault (took 3)']);
  const inTime = observations({ ...late, boundaries: [...late.boundaries.slice(0, 2), boundary(2, [], [0, 1, 2, 3], active(1020))] });
  expect(soakFigures(inTime).convergedAfterLastFault).toBe(2);
  expect(brokenInvariants(inTime)).toEqual([]);
});

test('an MPK change and a lost version are counted and reported, naming node and value', () => {
  const o = observations({
    boundaries: [boundary(0, [], [0, 1, 2, 3], [1000, 1000, 1000, 1000])],
    masterPublicKeysSeen: [{ node: 0, masterPublicKey: MPK }, { node: 2, masterPublicKey: '0xbb' }],
    activated: [{ node: 0, version: 1000, heldAtEnd: true }, { node: 3, version: 990, heldAtEnd: false }],
  });
  const f = soakFigures(o);
  expect([f.mpkChanges, f.lostVersions]).toEqual([1, 1]);
  expect(brokenInvariants(o)).toEqual(['node 3 served MPK 0xbb, not the network\'s 0xaa', 'node 4 lost version 990, which it had activated']);
});

test('a clean run breaks nothing and has ratio 1', () => {
  const o = observations({ boundaries: [boundary(0, [], [0, 1, 2, 3], [1000, 1000, 1000, 1000])] });
  expect(soakFigures(o).livenessRatio).toBe(1);
  expect(brokenInvariants(o)).toEqual([]);
});
