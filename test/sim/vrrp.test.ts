/**
 * The cluster simulator with the FloatIP run by each node's real VRRP core
 * (`belay sim --vrrp`): start claims the address, stop releases it with a
 * make-before-break handover, the monitor reads the instance, and adverts
 * travel the simulated network, under the same faults as the CI sweep. The
 * address on a node's interface is that node's real state of the FloatIP:
 * on two nodes only during a handover (FLOATIP_HANDOVER_MS of the releasing
 * node's own time) or beside an UNCLEAN holder, as any resource.
 */
import { describe, expect, it } from 'vitest';
import { ciProfile, runCluster } from '../../src/sim/cluster.js';

const COUNT = Number(process.env.CLUSTER_SIM_VRRP_SEEDS ?? 300);

describe('cluster simulator with the FloatIP over VRRP', () => {
  it(`seeds 1..${COUNT} of the CI profile: no invariant violated`, () => {
    const bad: string[] = [];
    let handovers = 0;
    for (let seed = 1; seed <= COUNT; seed++) {
      const o = ciProfile(seed);
      const r = runCluster(seed, { ...o, vrrp: true });
      for (const v of r.violations) bad.push(`seed ${seed} (replay: belay sim --seed ${seed} --chaos-ms ${o.chaosMs} --fencing ${o.fencing} --vrrp --verbose): ${v.code}: ${v.message}`);
      if (seed <= 20) {
        // Moves: the address added on a node other than the one that added it last.
        let last: string | undefined;
        for (const line of runCluster(seed, { ...o, vrrp: true, trace: true }).trace) {
          const m = / (n\d+): vrrp adds /.exec(line);
          if (!m) continue;
          if (last !== undefined && m[1] !== last) handovers++;
          last = m[1];
        }
      }
    }
    expect(bad).toEqual([]);
    // The address really moved between nodes in these runs.
    expect(handovers).toBeGreaterThanOrEqual(5);
  }, 900_000);

  it('catches a FloatIP whose stop leaves its VRRP instance holding the address', () => {
    const caught: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = runCluster(seed, { chaosMs: 5000, vrrp: true, broken: 'vip-no-release', check: ['double-active'] });
      if (r.violations.some((v) => /vip is active on .* and /.test(v.message))) caught.push(seed);
    }
    expect(caught.length).toBeGreaterThanOrEqual(3);
    const clean = caught.filter((seed) => runCluster(seed, { chaosMs: 5000, vrrp: true, check: ['double-active'] }).violations.length === 0);
    expect(clean).toEqual(caught);
  }, 300_000);
});
