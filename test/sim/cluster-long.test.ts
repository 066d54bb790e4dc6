/**
 * The whole cluster in the simulator with `belay sim`'s default profile:
 * fault phases of 15 to 30 s (the CI quarters use 3 to 6 s), so partitions,
 * crashes, stalls and edits pile up as they do in the longer sweeps that
 * found the open faults of docs/simulator.md. 100 seeds by default
 * (CLUSTER_SIM_LONG_SEEDS).
 */
import { describe, it } from 'vitest';
import { sweep } from './sweep.js';

const count = Number(process.env.CLUSTER_SIM_LONG_SEEDS ?? 100);

describe('cluster simulator, long fault phases', () => {
  it(`seeds 1..${count}: no invariant violated`, () => sweep(1, count, 'long'), 900_000);
});
