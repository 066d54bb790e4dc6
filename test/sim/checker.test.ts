/**
 * The checker itself: runs replay exactly, a deliberately broken controller or
 * agent is caught, and the known "DC without quorum" fault is reported.
 */
import { describe, expect, it } from 'vitest';
import { runCluster } from '../../src/sim/cluster.js';

describe('cluster simulator checker', () => {
  it('replays a seed exactly', () => {
    const a = runCluster(42, { chaosMs: 4000 });
    const b = runCluster(42, { chaosMs: 4000 });
    expect(b.stats).toEqual(a.stats);
    expect(b.violations).toEqual(a.violations);
    expect(b.convergedAfter).toEqual(a.convergedAfter);
    expect(a.stats.transitions).toBeGreaterThan(0);
  }, 120_000);

  const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

  it.each([
    ['a controller whose graphs move resources without stopping them', 'skip-stops'],
    ['an agent whose stop says success and leaves the process running', 'stop-lies'],
  ] as const)('catches %s: a resource active on two nodes', (_what, broken) => {
    const caught: number[] = [];
    for (const seed of SEEDS) {
      const r = runCluster(seed, { chaosMs: 4000, settleMs: 20_000, broken, check: ['double-active'] });
      if (r.violations.some((v) => v.code === 'double-active' && /is active on .* and /.test(v.message))) caught.push(seed);
    }
    // Not every run moves a resource; a good share must, and each is caught.
    expect(caught.length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('the same seeds are clean with the real controller and agents', () => {
    const bad: string[] = [];
    for (const seed of SEEDS) {
      const r = runCluster(seed, { chaosMs: 4000, settleMs: 20_000, check: ['double-active'] });
      for (const v of r.violations) bad.push(`seed ${seed}: ${v.message}`);
    }
    expect(bad).toEqual([]);
  }, 300_000);

  // Fencing "stonith": the controller's own fencing against a simulated power switch.
  const STONITH_SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

  it('catches a controller that recovers before the fence is confirmed (fencing stonith)', () => {
    const caught: number[] = [];
    for (const seed of STONITH_SEEDS) {
      const r = runCluster(seed, { chaosMs: 6000, fencing: 'stonith', broken: 'skip-fence-wait', check: ['double-active'] });
      if (r.violations.some((v) => v.code === 'double-active' && /CIB says it may run on UNCLEAN/.test(v.message))) caught.push(seed);
    }
    expect(caught.length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('the same seeds are clean with the real controller (fencing stonith)', () => {
    const bad: string[] = [];
    for (const seed of STONITH_SEEDS) {
      const r = runCluster(seed, { chaosMs: 6000, fencing: 'stonith' });
      for (const v of r.violations) bad.push(`seed ${seed}: ${v.code} ${v.message}`);
    }
    expect(bad).toEqual([]);
  }, 300_000);

  // Fixed with the fencing work: a partition without quorum has no DC
  // (src/controller/replica.ts chooseDc), and the CI sweep checks it too.
  it('no node is DC of a partition without quorum (seed 1)', () => {
    const r = runCluster(1, { chaosMs: 4000, settleMs: 20_000, check: ['dc-without-quorum'] });
    expect(r.violations).toEqual([]);
  }, 120_000);
});
