/**
 * crmsh 4.4.1's regression cases, step by step, belay's `crm` against the
 * real crmsh (Debian `crmsh`, /usr/sbin/crm) on the same CIB file, and
 * against the suite's own expected output (.exp). See cases-harness.ts.
 *
 * Per step: the same accept/reject verdict; where both accept, an
 * equivalent resulting configuration; `show` of crmsh's resulting CIB by
 * belay identical to crmsh's. The figures go to report-crmsh.md; the ratchet
 * (ratchet-crmsh.json) lists WHICH step checks pass, and the test fails when
 * one of them stops passing. RATCHET_UPDATE=1 adds newly passing ones.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { showConfiguration } from '../../src/crmsh/show.js';
import { requireBuild } from '../crm/helpers.js';
import { REAL_CRM, canonicalConfiguration, caseNames, cleanOutput, crmshVersion, expSegments, runCase, type StepResult } from './cases-harness.js';

const here = import.meta.dirname;
const ratchetPath = join(here, 'ratchet-crmsh.json');
const reportPath = join(here, 'report-crmsh.md');

type Check = 'verdict' | 'xml' | 'show' | 'exp';

interface Judged {
  step: StepResult;
  verdict: boolean;
  /** undefined when not applicable (one side rejected, or no CIB to compare). */
  xml?: boolean;
  show?: boolean;
  exp?: boolean;
}

function belayShow(xml: string, sortElements = true): string | undefined {
  try {
    const cib = parseCibXml(xml.slice(xml.indexOf('<cib')));
    return showConfiguration(cib, undefined, { sortElements }).replace(/\n$/, '');
  } catch (e) {
    return `ERROR: ${(e as Error).message}`;
  }
}

/** crmsh's `show` output without the messages (stderr, numbered) that crmsh printed into the same stream. */
function showText(out: string): string {
  return out
    .split('\n')
    .filter((l) => !/^(WARNING|ERROR|INFO|CRIT): \d+: /.test(l))
    .join('\n')
    .replace(/\n+$/, '');
}

function judge(steps: StepResult[], name: string, belayTranscript: string): Judged[] {
  // .exp segments in order, matched to belay's transcript segments by position and input text.
  const exp = expSegments(name);
  const ours: Array<{ inp: string; body: string[] }> = [];
  for (const l of belayTranscript.split('\n')) {
    if (l.startsWith('.INP: ')) ours.push({ inp: l.slice(6), body: [] });
    else if (l.startsWith('.TRY ')) ours.push({ inp: l.slice(5), body: [] });
    else if (ours.length && l !== '') ours[ours.length - 1]!.body.push(l);
  }
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  const expByStep = new Map<StepResult, string[] | undefined>();
  let ei = 0;
  let oi = 0;
  for (const st of steps) {
    // Find the step's statement in both sequences, moving forward.
    while (oi < ours.length && norm(ours[oi]!.inp) !== norm(st.stmt)) oi++;
    let k = ei;
    while (k < exp.length && norm(exp[k]!.inp) !== norm(st.stmt)) k++;
    if (k < exp.length) {
      expByStep.set(st, exp[k]!.body);
      ei = k + 1;
    }
    if (oi < ours.length) oi++;
  }
  return steps.map((st) => {
    const j: Judged = { step: st, verdict: st.error.belay === st.error.crmsh };
    if (!st.error.belay && !st.error.crmsh && st.xml.crmsh !== undefined && st.xml.belay !== undefined) {
      const a = canonicalConfiguration(st.xml.crmsh);
      if (a !== undefined) j.xml = a === canonicalConfiguration(st.xml.belay);
    }
    if (st.show.crmsh !== undefined && st.xml.crmsh !== undefined && st.xml.crmsh.includes('<cib')) {
      j.show = belayShow(st.xml.crmsh, st.sortElements) === showText(st.show.crmsh);
    }
    const e = expByStep.get(st);
    if (e !== undefined) j.exp = norm(cleanOutput(e).join('\n')) === norm(cleanOutput(st.out.belay.split('\n')).join('\n'));
    return j;
  });
}

function rate(js: Judged[], k: Check): [number, number] {
  const app = js.filter((j) => j[k] !== undefined);
  return [app.filter((j) => j[k]).length, app.length];
}

const pct = ([a, b]: [number, number]) => (b ? `${a}/${b} (${((100 * a) / b).toFixed(1)}%)` : '-');

function keyOf(j: Judged, k: Check): string {
  return `${j.step.case}:${j.step.block}:${j.step.line}:${k}`;
}

describe('crmsh 4.4.1 regression cases: belay crm vs real crmsh', () => {
  it(
    'runs every case step by step and keeps every passing check passing',
    () => {
      requireBuild();
      if (!existsSync(REAL_CRM)) throw new Error(`real crmsh is not installed (${REAL_CRM}): apt-get install crmsh (scripts/debian-packages.txt)`);
      const only = process.env['CRMSH_CASES']?.split(',');
      const names = caseNames().filter((n) => !only || only.includes(n));
      expect(caseNames().length).toBeGreaterThan(10);
      const all: Judged[] = [];
      const perCase: string[] = [];
      for (const name of names) {
        const run = runCase(name, process.env['CRMSH_TOOLS'] === 'crmsh' ? ['crmsh'] : ['belay', 'crmsh']);
        const js = judge(run.steps, name, run.transcript.belay);
        all.push(...js);
        perCase.push(`| ${name} | ${js.length} | ${pct(rate(js, 'verdict'))} | ${pct(rate(js, 'xml'))} | ${pct(rate(js, 'show'))} | ${pct(rate(js, 'exp'))} |`);
      }
      const checks: Check[] = ['verdict', 'xml', 'show', 'exp'];
      const lines = [
        '# crmsh regression cases: belay `crm` vs crmsh ' + crmshVersion(),
        '',
        'Generated by `npx vitest run test/crmsh/crmsh-cases.test.ts` (cases: ../shared/crmsh-cases).',
        'A step is a statement at the configure level. verdict: both accept or both reject it;',
        'xml: where both accept, the same configuration (attribute order and empty sections ignored);',
        "show: belay's `show` of crmsh's resulting CIB is crmsh's `show`, byte for byte;",
        "exp: belay's output for the step is the suite's .exp (crmsh's external-call lines and line numbers left out).",
        '',
        '| check | passing |',
        '|---|---|',
        ...checks.map((k) => `| ${k} | ${pct(rate(all, k))} |`),
        '',
        '| case | steps | verdict | xml | show | exp |',
        '|---|---|---|---|---|---|',
        ...perCase,
        '',
        '## Steps that differ',
        '',
      ];
      for (const j of all) {
        const bad = checks.filter((k) => j[k] === false);
        if (!bad.length) continue;
        lines.push(`- ${j.step.case} ${j.step.block}.${j.step.line} \`${j.step.stmt.slice(0, 100).replace(/`/g, "'")}\`: ${bad.join(', ')}` +
          (j.verdict ? '' : ` (crmsh ${j.step.error.crmsh ? 'rejects' : 'accepts'}, belay ${j.step.error.belay ? 'rejects' : 'accepts'}${j.step.error.belay ? ': ' + (j.step.out.belay.split('\n').find((l) => l.startsWith('ERROR')) ?? '').slice(0, 140) : ''})`));
      }
      if (!only) writeFileSync(reportPath, lines.join('\n') + '\n');
      if (process.env['CRMSH_DIFFS']) {
        const d: string[] = [];
        for (const j of all) {
          const bad = checks.filter((k) => j[k] === false);
          if (!bad.length) continue;
          d.push(`=== ${j.step.case} ${j.step.block}.${j.step.line} ${j.step.stmt}: ${bad.join(', ')}`);
          d.push('--- crmsh out', j.step.out.crmsh, '--- belay out', j.step.out.belay);
          if (bad.includes('xml')) d.push('--- crmsh xml', canonicalConfiguration(j.step.xml.crmsh ?? '') ?? '', '--- belay xml', canonicalConfiguration(j.step.xml.belay ?? '') ?? '');
          if (bad.includes('show')) d.push('--- crmsh show', showText(j.step.show.crmsh ?? ''), '--- belay show', belayShow(j.step.xml.crmsh ?? '', j.step.sortElements) ?? '');
        }
        writeFileSync(process.env['CRMSH_DIFFS'], d.join('\n') + '\n');
      }
      const passing = new Set<string>();
      for (const j of all) for (const k of checks) if (j[k] === true) passing.add(keyOf(j, k));
      const ratchet: string[] = existsSync(ratchetPath) ? JSON.parse(readFileSync(ratchetPath, 'utf8')) : [];
      console.log(checks.map((k) => `${k} ${pct(rate(all, k))}`).join(', ') + ` (ratchet: ${ratchet.length} checks)`);
      if (process.env['RATCHET_UPDATE'] === '1' && !only) {
        writeFileSync(ratchetPath, JSON.stringify([...new Set([...ratchet, ...passing])].sort(), null, 1) + '\n');
      }
      const lost = ratchet.filter((k) => !passing.has(k) && (!only || only.includes(k.split(':')[0]!)));
      expect(lost, 'step checks that passed before and fail now (see report-crmsh.md)').toEqual([]);
    },
    1_200_000,
  );
});
