/**
 * The whole cluster in the simulator, quarter 2 of the CI sweep (the
 * sweep is split so vitest runs the quarters in parallel).
 */
import { describe, it } from 'vitest';
import { BASE, SEEDS, sweep } from './sweep.js';

const per = Math.ceil(SEEDS / 4);
const from = BASE + 1 * per;
const count = Math.max(0, Math.min(per, SEEDS - 1 * per));

describe('cluster simulator', () => {
  it(`seeds ${from}..${from + count - 1}: no invariant violated`, () => sweep(from, count), 600_000);
});
