/**
 * Bad replicated input: 10,000 mutations of real encoded messages (fields of
 * the wrong type, missing or unknown fields, huge arrays, __proto__ /
 * constructor keys, another kind or sender, damaged bytes) broadcast into a
 * simulated 3-node cluster through totem. Every node must drop the same ones,
 * no exception may escape a core, and the replicas must stay equal.
 */
import { describe, expect, it } from 'vitest';
import { runCluster } from '../../src/sim/cluster.js';
import { mutateMessage } from '../../src/sim/mutate.js';

const RUNS = 20;

/**
 * Runs known to show a replica divergence, seed -> cause. A divergence in
 * any other run fails; an exception never is excused; a listed run that is
 * clean is printed so the list can shrink. Empty: the two runs once listed
 * (13, 18) were the checker comparing a transitional configuration's
 * deliveries, where EVS skips a message only the crashed member held.
 */
const KNOWN_DIVERGENT: Record<number, string> = {};
const PER_RUN = 560;

describe('fuzzed cluster messages', () => {
  it(`over 10,000 mutated messages: 0 exceptions, 0 divergent replicas`, () => {
    let fuzzed = 0;
    let invalid = 0;
    let delivered = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = runCluster(seed, {
        nodes: 3,
        chaosMs: 6000,
        settleMs: 5_000,
        fuzz: { messages: PER_RUN, mutate: mutateMessage },
        check: ['exception', 'replica-divergence'],
      });
      fuzzed += r.stats.fuzzed;
      invalid += r.stats.invalidMessages;
      delivered += r.stats.delivered;
      const excused = (code: string) => code === 'replica-divergence' && KNOWN_DIVERGENT[seed] !== undefined;
      for (const v of r.violations) {
        if (excused(v.code)) console.error(`known-divergent run ${seed} (${KNOWN_DIVERGENT[seed]}): ${v.message.slice(0, 300)}`);
        else failures.push(`seed ${seed}: ${v.code}: ${v.message.slice(0, 300)}`);
      }
      if (KNOWN_DIVERGENT[seed] !== undefined && !r.violations.some((v) => excused(v.code))) {
        console.log(`known-divergent run ${seed} is now clean: remove it from KNOWN_DIVERGENT`);
      }
    }
    expect(failures).toEqual([]);
    expect(fuzzed).toBeGreaterThanOrEqual(10_000);
    // Most mutations are refused (each node counts each refusal), some valid ones get through.
    expect(invalid).toBeGreaterThan(fuzzed);
    expect(delivered).toBeGreaterThan(0);
    // No prototype was polluted on the way.
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  }, 600_000);
});
