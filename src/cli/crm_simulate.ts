/**
 * `crm_simulate`: run the policy engine on a CIB file and print what
 * Pacemaker's crm_simulate prints.
 *
 *   crm_simulate -x FILE [-S] [-R] [-s] [-Q] [-t DATE]
 */
import { readFileSync } from 'node:fs';
import { parseCibXml, CibError } from '../cib/xml.js';
import { crmSimulate } from '../status/simulate-output.js';
import { parseIsoDate } from '../scheduler/rules.js';

const USAGE = `Usage: crm_simulate -x FILE [options]
  -x, --xml-file FILE   read the CIB from FILE
  -S, --simulate        simulate the transition and show the revised status
  -R, --run             compute the transition (summary only)
  -s, --show-scores     show allocation scores
  -Q, --quiet           do not show the cluster status
  -t, --set-datetime D  use D (ISO 8601) as the current time
      --compat 2.1|3.0  follow the placement of Pacemaker 2.1 or 3.0 (default 3.0)
`;

function isoZ(sec: number): string {
  return new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export async function main(argv: string[]): Promise<number> {
  let file: string | undefined;
  let simulate = false;
  let run = false;
  let showScores = false;
  let quiet = false;
  let date: string | undefined;
  let compat: '2.1' | '3.0' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`option ${a} needs a value`);
      return v;
    };
    try {
      if (a === '-x' || a === '--xml-file') file = val();
      else if (a.startsWith('--xml-file=')) file = a.slice(11);
      else if (a === '-S' || a === '--simulate') simulate = true;
      else if (a === '-R' || a === '--run') run = true;
      else if (a === '-s' || a === '--show-scores') showScores = true;
      else if (a === '-Q' || a === '--quiet') quiet = true;
      else if (a === '-t' || a === '--set-datetime') date = val();
      else if (a === '--compat' || a.startsWith('--compat=')) {
        const v = a === '--compat' ? val() : a.slice(9);
        if (v !== '2.1' && v !== '3.0') throw new Error(`--compat: unknown release "${v}" (2.1 or 3.0)`);
        compat = v;
      }
      else if (a === '-h' || a === '--help') {
        process.stdout.write(USAGE);
        return 0;
      } else if (/^-[SRsQ]+$/.test(a)) {
        for (const c of a.slice(1)) {
          if (c === 'S') simulate = true;
          if (c === 'R') run = true;
          if (c === 's') showScores = true;
          if (c === 'Q') quiet = true;
        }
      } else {
        process.stderr.write(`crm_simulate: unknown option ${a}\n${USAGE}`);
        return 64;
      }
    } catch (e) {
      process.stderr.write(`crm_simulate: ${(e as Error).message}\n`);
      return 64;
    }
  }
  if (!file) {
    process.stderr.write(`crm_simulate: no input (-x FILE)\n${USAGE}`);
    return 64;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`crm_simulate: cannot read ${file}: ${(e as Error).message}\n`);
    return 66;
  }
  let cib;
  try {
    cib = parseCibXml(text, file);
  } catch (e) {
    process.stderr.write(`crm_simulate: ${e instanceof CibError ? e.message : String(e)}\n`);
    return 65;
  }
  const pre: string[] = [];
  let now = Math.floor(Date.now() / 1000);
  if (date !== undefined) {
    const t = parseIsoDate(date);
    if (Number.isNaN(t)) {
      process.stderr.write(`crm_simulate: invalid date "${date}"\n`);
      return 64;
    }
    now = t;
    pre.push(`Setting effective cluster time: ${date}`);
  } else if (cib.executionDate !== undefined && /^\d+$/.test(cib.executionDate)) {
    now = Number(cib.executionDate);
    pre.push(`Using the original execution date of: ${isoZ(now)}`);
  }
  if (cib.validateWith === 'none') {
    pre.push('Schema validation of configuration is disabled (support for validate-with set to "none" is deprecated and will be removed in a future release)');
  }
  const out = crmSimulate(cib, { simulate, run, showScores, quiet, now, compat });
  const lines = [...pre, ...out.stdout];
  if (quiet && showScores) lines.push(...out.scores);
  process.stdout.write(lines.join('\n') + '\n');
  for (const l of out.stderr) process.stderr.write(l + '\n');
  return 0;
}
