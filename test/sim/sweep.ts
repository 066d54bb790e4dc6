/** Shared by the cluster simulator's CI files: sweep seeds, report failing ones with the replay command. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ALL_INVARIANTS, ciProfile, runCluster, type ClusterSimOptions, type ClusterSimResult } from '../../src/sim/cluster.js';

export const SEEDS = Number(process.env.CLUSTER_SIM_SEEDS ?? 1000);
export const BASE = Number(process.env.CLUSTER_SIM_BASE ?? 1);

/** Every invariant (dc-without-quorum too: fixed with the fencing work). */
export const CI_CHECKS = [...ALL_INVARIANTS];

/** The CI profile (src/sim/cluster.ts ciProfile). */
export const ciOptions = ciProfile;

/**
 * The ratchet: seeds of the CI profile known to fail today, each with a
 * one-line cause (known-failing.json, seed -> cause). Any OTHER failing seed
 * fails the sweep (a regression); a listed seed that now passes is printed so
 * the list can shrink. The list only ever names open faults; it never hides a
 * new one.
 */
export const KNOWN_FAILING_PATH = join(import.meta.dirname, 'known-failing.json');
/** The same for the default profile's seeds in CI (test/sim/cluster-long.test.ts). */
export const KNOWN_FAILING_LONG_PATH = join(import.meta.dirname, 'known-failing-long.json');

/** `belay sim`'s default profile: 15 to 30 s of faults by seed, fencing power-off, every invariant. */
export function longOptions(_seed: number): ClusterSimOptions {
  return { check: CI_CHECKS };
}

export type Profile = 'ci' | 'long';
const PROFILES: Record<Profile, { options: (seed: number) => ClusterSimOptions; known: string; replay: (seed: number) => string }> = {
  ci: {
    options: ciOptions,
    known: KNOWN_FAILING_PATH,
    replay: (seed) => {
      const o = ciOptions(seed);
      return `belay sim --seed ${seed} --chaos-ms ${o.chaosMs} --fencing ${o.fencing} --verbose`;
    },
  },
  long: { options: longOptions, known: KNOWN_FAILING_LONG_PATH, replay: (seed) => `belay sim --seed ${seed} --verbose` },
};

export function knownFailing(path = KNOWN_FAILING_PATH): Map<number, string> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('//')) continue;
    const seed = Number(k);
    if (!Number.isInteger(seed) || typeof v !== 'string' || v.length === 0) throw new Error(`${path}: entry "${k}" must be a seed with a one-line cause`);
    out.set(seed, v);
  }
  return out;
}

export function sweep(from: number, count: number, profile: Profile = 'ci'): void {
  const p = PROFILES[profile];
  const failed: ClusterSimResult[] = [];
  let transitions = 0;
  let operations = 0;
  let rings = 0;
  for (let s = from; s < from + count; s++) {
    const r = runCluster(s, p.options(s));
    transitions += r.stats.transitions;
    operations += r.stats.operations;
    rings += r.stats.rings;
    if (r.violations.length > 0) failed.push(r);
  }
  const known = knownFailing(p.known);
  const failedSeeds = new Set(failed.map((f) => f.seed));
  const nowPassing = [...known.keys()].filter((s) => s >= from && s < from + count && !failedSeeds.has(s));
  if (nowPassing.length > 0) {
    console.log(`known-failing seeds that now PASS (remove them from ${p.known}): ${nowPassing.join(' ')}`);
  }
  for (const f of failed) {
    const cause = known.get(f.seed);
    console.error(
      (cause !== undefined ? `known-failing seed ${f.seed} (${cause})` : `FAILING SEED ${f.seed} (a regression: not in ${p.known})`) +
        ` (replay: ${p.replay(f.seed)}):\n  ` +
        f.violations.map((v) => `${v.code} at ${v.at} ms: ${v.message.slice(0, 400)}`).join('\n  '),
    );
  }
  // Regressions: failing seeds that are not on the known list.
  expect(failed.map((f) => f.seed).filter((s) => !known.has(s))).toEqual([]);
  // The runs did real work: rings formed, the DC ran transitions, agents ran operations.
  expect(rings).toBeGreaterThan(count * 2);
  expect(transitions).toBeGreaterThan(count * 2);
  expect(operations).toBeGreaterThan(count * 20);
}
