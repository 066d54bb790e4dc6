/**
 * The scheduler is re-entrant: a run keeps no state between runs and never
 * changes its input, so the controller can run it in a worker thread, again
 * on the same CIB, or interleaved with other runs, and always get the same
 * answer. Each corpus CIB with promotion (role locations are what once lived
 * in module-level arrays) is scheduled fresh, then again interleaved with
 * every other one, and the outputs must be identical.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { parseCibXml } from '../../src/cib/xml.js';
import { schedule } from '../../src/scheduler/index.js';
import { placeResources } from '../../src/scheduler/assign.js';
import { unpack } from '../../src/scheduler/unpack.js';
import { caseNames, CASES_ROOT } from './harness.js';

const NOW = 1_700_000_000;

function fingerprint(r: ReturnType<typeof schedule>): string {
  const placement = [...r.ws.byId.values()].filter((x) => x.kind === 'primitive').map((x) => `${x.id}=${x.assigned?.name ?? '-'}:${x.nextRole ?? ''}`);
  return JSON.stringify({ placement, summary: r.summaryLines, scores: r.scores, actions: r.actions.map((a) => `${a.rsc?.id ?? ''} ${a.task} ${a.node?.name ?? ''}`) });
}

function roleLocationCases(): Array<{ name: string; xml: string }> {
  const out: Array<{ name: string; xml: string }> = [];
  for (const c of caseNames('tier2')) {
    const xml = readFileSync(join(CASES_ROOT, 'tier2', c.name + '.xml'), 'utf8');
    if (/<rsc_location[^>]*role="(Promoted|Master|Unpromoted|Slave)"|<rule[^>]*role="(Promoted|Master)"/.test(xml)) out.push({ name: c.name, xml });
  }
  return out;
}

describe('scheduler re-entrancy', () => {
  const cases = roleLocationCases();

  it('finds corpus CIBs with role-specific locations to test with', () => {
    expect(cases.length).toBeGreaterThan(5);
  });

  it('gives the same result alone, again on the same CIB object, and interleaved with other runs', () => {
    const alone = cases.map((c) => fingerprint(schedule(parseCibXml(c.xml), NOW, { scores: true })));
    const cibs = cases.map((c) => parseCibXml(c.xml));
    const before = cibs.map((c) => JSON.stringify(c));
    // Every CIB twice, in reverse order, on the same objects: nothing may leak from one run into the next.
    for (let round = 0; round < 2; round++) {
      for (let i = cases.length - 1; i >= 0; i--) {
        expect(fingerprint(schedule(cibs[i]!, NOW, { scores: true })), `${cases[i]!.name} round ${round}`).toBe(alone[i]);
      }
    }
    cibs.forEach((c, i) => expect(JSON.stringify(c), `${cases[i]!.name}: the input CIB was changed`).toBe(before[i]));
  });

  it('gives the same result with 2.1 placement whether runs of either release come before or between', () => {
    const alone = cases.map((c) => fingerprint(schedule(parseCibXml(c.xml), NOW, { scores: true, compat: '2.1' })));
    const cibs = cases.map((c) => parseCibXml(c.xml));
    for (let i = cases.length - 1; i >= 0; i--) {
      schedule(cibs[i]!, NOW, { scores: true, compat: '3.0' });
      expect(fingerprint(schedule(cibs[i]!, NOW, { scores: true, compat: '2.1' })), cases[i]!.name).toBe(alone[i]);
    }
  });

  it('placement of two working sets in flight at once does not mix them', () => {
    // Unpack two CIBs, then place the first only after the second was placed:
    // the promotion of the first must still see its own role locations.
    for (let i = 0; i + 1 < cases.length; i += 2) {
      const a = cases[i]!;
      const b = cases[i + 1]!;
      const ref = placeResources(unpack(parseCibXml(a.xml), NOW), true);
      const wsA = unpack(parseCibXml(a.xml), NOW);
      const wsB = unpack(parseCibXml(b.xml), NOW);
      placeResources(wsB, true);
      expect(placeResources(wsA, true), `${a.name} placed after ${b.name}`).toEqual(ref);
    }
  });

  it('keeps nothing of a run once it is over (no module-level state holds its resources)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const refs: Array<WeakRef<object>> = [];
    (() => {
      for (const c of cases) {
        const r = schedule(parseCibXml(c.xml), NOW, { scores: true });
        for (const x of r.ws.byId.values()) refs.push(new WeakRef(x));
      }
    })();
    for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((res) => setImmediate(res));
      gc();
    }
    expect(refs.filter((r) => r.deref() !== undefined).length, 'resources of finished runs still reachable').toBe(0);
  });
});
