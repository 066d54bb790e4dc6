/**
 * The seeded simulator over the real totem and votequorum cores, first half of
 * the 2,000 seeds each CI run sweeps (sim-b.test.ts has the rest, so the two
 * halves run on both cores). A failing seed is printed and replays exactly.
 * Packets go through the binary codec in one chunk per file; the others pass
 * packet objects (faster; the codec has its own tests and fuzzing).
 */
import { describe, it } from 'vitest';
import { BASE, SEEDS, sweep } from './sim-sweep.js';

const half = Math.ceil(SEEDS / 2);
const per = Math.min(200, half); // the codec chunk

describe('totem simulator, seeds of the first half', () => {
  it(`seeds ${BASE}..${BASE + per - 1} (wire codec): no invariant violations`, () => sweep(BASE, per, true));
  it(`seeds ${BASE + per}..${BASE + half - 1}: no invariant violations`, () => sweep(BASE + per, half - per, false));
});
