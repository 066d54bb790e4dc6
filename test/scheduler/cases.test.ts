/**
 * Data-driven: every case of ../shared/scheduler-cases/{tier1,tier2}:
 * Revised Cluster Status, Transition Summary and allocation scores (-s)
 * against Pacemaker's own outputs, with a ratchet (ratchet.json) of WHICH
 * cases pass each check: a case that passed and now fails fails the test.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { caseNames, runCase, report, CASES_ROOT, type CaseResult } from './harness.js';
import { ratchet } from './ratchet.js';

const here = import.meta.dirname;

for (const tier of ['tier1', 'tier2']) {
  describe(`scheduler cases ${tier}`, () => {
    it(`runs every case; every case in the ratchet still passes`, () => {
      expect(existsSync(join(CASES_ROOT, tier)), `missing ${join(CASES_ROOT, tier)}`).toBe(true);
      const results: CaseResult[] = caseNames(tier).map((c) => runCase(tier, c.name, c.args));
      expect(results.length).toBeGreaterThan(0);
      const rep = report(tier, results);
      const outDir = join(here, '..', 'out');
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `scheduler-report-${tier}.md`), rep.md);
      writeFileSync(join(here, `report-${tier}.md`), rep.md);
      const n = results.length;
      console.log(`${tier}: revised ${rep.revised}/${n}, summary ${rep.summary}/${n}, both ${rep.both}/${n}, scores ${rep.scores}/${n}`);
      const names = (f: (r: CaseResult) => boolean) => results.filter(f).map((r) => r.name);
      const regressions = ratchet(tier, {
        revised: names((r) => r.revisedOk),
        summary: names((r) => r.summaryOk),
        scores: names((r) => r.scoresOk),
      });
      expect(regressions, 'cases that passed before and fail now').toEqual([]);
    });
  });
}
