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
      for (const v of r.violations) failures.push(`seed ${seed}: ${v.code}: ${v.message.slice(0, 300)}`);
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
