/**
 * Runs Pacemaker's scheduler regression cases through belay's engine and
 * compares the Revised Cluster Status and Transition Summary sections with
 * Pacemaker's own output (whitespace normalised).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCibXml } from '../../src/cib/xml.js';
import { crmSimulate } from '../../src/status/simulate-output.js';
import { parseIsoDate } from '../../src/scheduler/rules.js';

export const CASES_ROOT = join(import.meta.dirname, '..', '..', '..', 'shared', 'scheduler-cases');

export interface CaseResult {
  name: string;
  revisedOk: boolean;
  summaryOk: boolean;
  /** Allocation and promotion scores identical to NAME.scores (as sorted lines). */
  scoresOk: boolean;
  scoresDiff: string;
  category: string;
  expectedSummary: string[];
  actualSummary: string[];
  expectedRevised: string[];
  actualRevised: string[];
}

const norm = (l: string) => l.replace(/\s+/g, ' ').trim();

/** Lines of a section: from its header to the next top-level header. */
export function section(lines: string[], header: string): string[] | undefined {
  const i = lines.findIndex((l) => l.trim() === header);
  if (i < 0) return undefined;
  const out: string[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (/^[A-Z][A-Za-z ]+:$/.test(l)) break;
    out.push(l);
  }
  return out.map(norm).filter((l) => l !== '');
}

export function caseNames(tier: string): Array<{ name: string; args: string }> {
  const dir = join(CASES_ROOT, tier);
  const tsv = readFileSync(join(dir, 'cases.tsv'), 'utf8').split('\n').slice(1);
  const out: Array<{ name: string; args: string }> = [];
  for (const line of tsv) {
    if (!line.trim()) continue;
    const [name, , args] = line.split('\t');
    if (name && existsSync(join(dir, name + '.xml'))) out.push({ name, args: args ?? '' });
  }
  if (out.length === 0) for (const f of readdirSync(dir)) if (f.endsWith('.xml')) out.push({ name: f.slice(0, -4), args: '' });
  return out;
}

export function runCase(tier: string, name: string, args: string): CaseResult {
  const dir = join(CASES_ROOT, tier);
  const expected = readFileSync(join(dir, name + '.summary'), 'utf8').split('\n');
  const expectedSummary = section(expected, 'Transition Summary:') ?? [];
  const expectedRevised = section(expected, 'Revised Cluster Status:') ?? [];
  const res: CaseResult = { name, revisedOk: false, summaryOk: false, scoresOk: false, scoresDiff: '', category: '', expectedSummary, expectedRevised, actualSummary: [], actualRevised: [] };
  try {
    const cib = parseCibXml(readFileSync(join(dir, name + '.xml'), 'utf8'), name + '.xml');
    let now = Math.floor(Date.now() / 1000);
    const m = /-t\s+(.+)$/.exec(args.trim());
    if (m) now = parseIsoDate(m[1]!);
    else if (cib.executionDate && /^\d+$/.test(cib.executionDate)) now = Number(cib.executionDate);
    const out = crmSimulate(cib, { simulate: true, run: false, showScores: true, quiet: false, now });
    res.actualSummary = section(out.stdout, 'Transition Summary:') ?? [];
    res.actualRevised = section(out.stdout, 'Revised Cluster Status:') ?? [];
    const scoresFile = join(dir, name + '.scores');
    if (existsSync(scoresFile)) {
      const want = scoreLines(readFileSync(scoresFile, 'utf8').split('\n'));
      const got = scoreLines(out.scores);
      res.scoresOk = eq(want, got);
      if (!res.scoresOk) res.scoresDiff = firstSetDiff(want, got);
    }
  } catch (e) {
    res.category = 'crash: ' + String((e as Error).message ?? e).split('\n')[0]!.slice(0, 80);
    return res;
  }
  res.revisedOk = eq(res.actualRevised, expectedRevised);
  res.summaryOk = eq(res.actualSummary, expectedSummary);
  res.category = categorise(res);
  return res;
}

/** Score lines as a sorted list (the .scores files are sorted; a score printed twice counts twice). */
export function scoreLines(lines: string[]): string[] {
  return lines.map(norm).filter((l) => / (allocation|promotion) score (on |\(inactive\))/.test(l)).sort();
}

/** The first line only one side has, for the reports. */
export function firstSetDiff(want: string[], got: string[]): string {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const w = count(want);
  const g = count(got);
  for (const [l, n] of w) if ((g.get(l) ?? 0) < n) return `missing: ${l}`;
  for (const [l, n] of g) if ((w.get(l) ?? 0) < n) return `extra: ${l}`;
  return '';
}

export function eq(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

function categorise(r: CaseResult): string {
  const cats: string[] = [];
  if (!r.revisedOk) {
    const nl = (l: string[]) => l.slice(0, l.indexOf('* Full List of Resources:'));
    if (!eq(nl(r.actualRevised), nl(r.expectedRevised))) cats.push('revised:node-list');
    else if (r.actualRevised.length !== r.expectedRevised.length) cats.push('revised:layout');
    else cats.push('revised:placement');
  }
  if (!r.summaryOk) {
    const strip = (l: string) => l.replace(/ due to .*$/, '').replace(/ blocked$/, '');
    const a = r.actualSummary.map(strip);
    const b = r.expectedSummary.map(strip);
    if (eq(a, b)) cats.push('summary:reason');
    else if (eq([...a].sort(), [...b].sort())) cats.push('summary:order');
    else if (a.length < b.length) cats.push('summary:missing');
    else if (a.length > b.length) cats.push('summary:extra');
    else cats.push('summary:differs');
  }
  return cats.join(', ');
}

export function report(tier: string, results: CaseResult[]): { md: string; revised: number; summary: number; both: number; scores: number } {
  const revised = results.filter((r) => r.revisedOk).length;
  const scores = results.filter((r) => r.scoresOk).length;
  const summary = results.filter((r) => r.summaryOk).length;
  const both = results.filter((r) => r.revisedOk && r.summaryOk).length;
  const n = results.length;
  const pct = (x: number) => (n ? ((100 * x) / n).toFixed(1) : '0');
  const lines = [
    `# Scheduler regression report: ${tier}`,
    '',
    `Cases: ${n}. Revised Cluster Status identical: ${revised} (${pct(revised)}%). Transition Summary identical: ${summary} (${pct(summary)}%). Both: ${both} (${pct(both)}%). Scores (-s) identical: ${scores} (${pct(scores)}%).`,
    '',
    '| case | revised | summary | scores | failure category | first score difference |',
    '|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.revisedOk ? 'ok' : 'FAIL'} | ${r.summaryOk ? 'ok' : 'FAIL'} | ${r.scoresOk ? 'ok' : 'FAIL'} | ${r.category} | ${r.scoresDiff.replace(/\|/g, '\\|')} |`),
    '',
  ];
  return { md: lines.join('\n'), revised, summary, both, scores };
}
