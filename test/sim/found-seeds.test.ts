/**
 * Seeds beyond CI's 1,000 that the long sweeps (bench/cluster-sim.mjs, 100,000
 * CI-profile seeds) found failing, replayed on every run once fixed: each one
 * is the fault's own regression test (docs/simulator.md tells what each was).
 */
import { describe, expect, it } from 'vitest';
import { runCluster } from '../../src/sim/cluster.js';
import { ciOptions } from './sweep.js';

const FOUND: Record<number, string> = {
  20751: 'a failed fence result parked an aborted transition\'s actions again; the DC waited out its 80 s timer',
  26631: 'the same fault as 20751 (no convergence)',
  65826: 'a DC that slept through a partition put back its old record of an UNCLEAN node over a peer\'s newer one, and started a resource the node ran',
  82771: 'the same fault as 65826 (a stale unclean report agreed last)',
  85571: 'the same fault as 65826 (a stale unclean report agreed last)',
};

describe('cluster simulator: seeds found by the long sweeps', () => {
  for (const [seed, cause] of Object.entries(FOUND)) {
    it(`seed ${seed}: ${cause}`, () => {
      const r = runCluster(Number(seed), ciOptions(Number(seed)));
      expect(r.violations.map((v) => `${v.code} at ${v.at}: ${v.message}`)).toEqual([]);
    });
  }
});
