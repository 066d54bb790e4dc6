/**
 * Data-driven: every case of ../shared/scheduler-cases/{tier1,tier2}, with a
 * ratchet (ratchet.json) so the pass counts never drop.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { caseNames, runCase, report, CASES_ROOT, type CaseResult } from './harness.js';

const here = import.meta.dirname;
const ratchetPath = join(here, 'ratchet.json');

interface Ratchet {
  [tier: string]: { revised: number; summary: number; both: number };
}

for (const tier of ['tier1', 'tier2']) {
  describe(`scheduler cases ${tier}`, () => {
    it(`runs every case and keeps the pass counts at or above the ratchet`, () => {
      expect(existsSync(join(CASES_ROOT, tier)), `missing ${join(CASES_ROOT, tier)}`).toBe(true);
      const results: CaseResult[] = caseNames(tier).map((c) => runCase(tier, c.name, c.args));
      expect(results.length).toBeGreaterThan(0);
      const rep = report(tier, results);
      const outDir = join(here, '..', 'out');
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `scheduler-report-${tier}.md`), rep.md);
      writeFileSync(join(here, `report-${tier}.md`), rep.md);
      const ratchet: Ratchet = existsSync(ratchetPath) ? JSON.parse(readFileSync(ratchetPath, 'utf8')) : {};
      const last = ratchet[tier] ?? { revised: 0, summary: 0, both: 0 };
      console.log(`${tier}: revised ${rep.revised}/${results.length}, summary ${rep.summary}/${results.length}, both ${rep.both} (ratchet ${JSON.stringify(last)})`);
      if (process.env['RATCHET_UPDATE'] === '1') {
        ratchet[tier] = { revised: Math.max(last.revised, rep.revised), summary: Math.max(last.summary, rep.summary), both: Math.max(last.both, rep.both) };
        writeFileSync(ratchetPath, JSON.stringify(ratchet, null, 2) + '\n');
      }
      expect(rep.revised, 'Revised Cluster Status matches dropped below the ratchet').toBeGreaterThanOrEqual(last.revised);
      expect(rep.summary, 'Transition Summary matches dropped below the ratchet').toBeGreaterThanOrEqual(last.summary);
      expect(rep.both, 'cases matching both dropped below the ratchet').toBeGreaterThanOrEqual(last.both);
    });
  });
}
