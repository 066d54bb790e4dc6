/** Shared by the simulator test files: sweep a range of seeds and report failing ones. */
import { expect } from 'vitest';
import { runSeed, type SimResult } from '../../src/sim/sim.js';

export const SEEDS = Number(process.env.TOTEM_SIM_SEEDS ?? 2000);
export const BASE = Number(process.env.TOTEM_SIM_BASE ?? 1);

export function sweep(from: number, count: number, wire: boolean): void {
  const failed: SimResult[] = [];
  let delivered = 0;
  let rings = 0;
  for (let s = from; s < from + count; s++) {
    const r = runSeed(s, { wire });
    delivered += r.delivered;
    rings += r.rings;
    if (r.violations.length > 0) failed.push(r);
  }
  for (const f of failed) {
    console.error(`FAILING SEED ${f.seed} (replay: runSeed(${f.seed}, { trace: true, wire: ${wire} })):\n  ${f.violations.join('\n  ')}`);
  }
  expect(failed.map((f) => f.seed)).toEqual([]);
  // The runs did real work: messages flowed and many rings formed.
  expect(delivered).toBeGreaterThan(count * 50);
  expect(rings).toBeGreaterThan(count * 3);
}
