/**
 * The "due to" reasons of the Transition Summary come from the first cause
 * that reaches an action in Pacemaker's depth-first walk of the orderings
 * (src/scheduler/actions.ts, walkOrderings). Pinned here on generated CIBs
 * (bench/scheduler-random.mjs) with the summaries Pacemaker 2.1.5's
 * crm_simulate printed for them, so the check runs without crm_simulate
 * (test/scheduler/differential.test.ts compares live).
 */
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { crmSimulate } from '../../src/status/simulate-output.js';
// @ts-expect-error: a plain ES module without types
import { randomCib } from '../../bench/scheduler-random.mjs';
import { section } from './harness.js';

const NOW = 1_700_000_000;

function summary(seed: number): string[] {
  const out = crmSimulate(parseCibXml(randomCib(seed) as string, `seed-${seed}.xml`), { simulate: true, run: false, showScores: false, quiet: true, now: NOW, compat: '2.1' });
  return section(out.stdout, 'Transition Summary:') ?? [];
}

const norm = (lines: string[]) => lines.map((l) => l.replace(/\s+/g, ' ').trim());

describe("reasons in Pacemaker 2.1.5's order of walking the orderings", () => {
  it('a member restarted by its group predecessor names it, not the resource ordered before the group (seed 359)', () => {
    const s = summary(359);
    expect(s).toContain('* Restart g8m2 ( node1 ) due to required g8m1 start');
    expect(s).toContain('* Restart g8m3 ( node1 ) due to required g8m2 start');
    expect(s).toContain('* Restart c9:0 ( node1 ) due to required grp8 running');
  });

  it('of two groups ordered before a resource, the one remapped last (walked first) gives the reason (seed 190)', () => {
    expect(summary(190)).toContain('* Restart rsc3 ( node1 ) due to required grp2 running');
  });

  it("a nodeless start made for an order constraint is first made required by its own stop (seed 235)", () => {
    expect(summary(235)).toEqual(norm([
      '  * Stop       rsc2    ( node2 )  due to node availability',
      '  * Recover    rsc3    ( node2 )',
      '  * Stop       rsc4    ( node2 )  due to required rsc2 start',
    ]));
  });

  it("a required stop of the 'then' side does not make a primitive 'first' stop (seed 362)", () => {
    expect(summary(362)).toEqual(norm([
      '  * Move       c1:0    ( node1 -> node2 )',
      '  * Stop       c1:1    (          node2 )  due to node availability',
      '  * Start      rsc4    (          node1 )',
    ]));
  });

  it('an interleaved instance left without a partner keeps the reason that reached its start first (seed 530)', () => {
    expect(summary(530)).toEqual(norm([
      '  * Recover    rsc1    ( node2 -> node1 )',
      '  * Recover    c2:0    (          node1 )',
      '  * Stop       c2:1    (          node2 )  due to node availability',
      '  * Stop       c2:2    (          node3 )  due to node availability',
      '  * Restart    c3:0    (          node1 )  due to required rsc1 start',
      '  * Stop       c3:1    (          node2 )  due to required rsc1 start',
    ]));
  });
});
