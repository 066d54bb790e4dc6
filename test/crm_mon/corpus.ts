/**
 * crm_mon against Pacemaker 2.1.5's crm_mon on every CIB of the scheduler
 * corpus (../shared/scheduler-cases), four option sets. Pacemaker's
 * `/usr/sbin/crm_mon` runs as a process (CIB_file=FILE) in parallel batches;
 * belay's runs in-process through the same function bin/crm_mon calls for
 * CIB_file. Only the clock ("Last updated") and version strings are masked.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crmMonFileArgs } from '../../src/cli/crm_mon.js';
import { OPTION_ALIASES } from '../../src/scheduler/unpack.js';

export const CASES_ROOT = join(import.meta.dirname, '..', '..', '..', 'shared', 'scheduler-cases');
export const PACEMAKER_CRM_MON = '/usr/sbin/crm_mon';

export const OPTION_SETS: Record<string, string[]> = {
  '-1': ['-1'],
  '-1 -r -f -A': ['-1', '-r', '-f', '-A'],
  '-1 -m': ['-1', '-m'],
  '--output-as=xml': ['--output-as=xml'],
};

export interface MonCase {
  tier: string;
  name: string;
  file: string;
}

export function corpusCases(): MonCase[] {
  const out: MonCase[] = [];
  for (const tier of ['tier1', 'tier2']) {
    const dir = join(CASES_ROOT, tier);
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.xml')) out.push({ tier, name: f.slice(0, -4), file: join(dir, f) });
  }
  return out;
}

/** The clock and version strings: the only parts that may differ. */
export function mask(text: string): string {
  return text
    .replace(/Last updated: .*/g, 'Last updated: <time>')
    .replace(/\(version [^)]*\)/g, '(version <version>)')
    .replace(/<last_update time="[^"]*"/g, '<last_update time="<time>"')
    .replace(/(<current_dc [^>]*?)version="[^"]*"/g, '$1version="<version>"')
    .replace(/api-version="[^"]*"/g, 'api-version="<version>"')
    .replace(/request="[^"]*"/g, 'request="<request>"');
}

export interface RunOut {
  stdout: string;
  code: number;
}

const ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };

/** CRM_MON_PCMK_CACHE=DIR keeps Pacemaker's outputs between runs (for working on the view; CI runs it afresh). */
const CACHE = process.env['CRM_MON_PCMK_CACHE'];

/**
 * The corpus CIBs use the cluster option names of Pacemaker 3 (fencing-enabled,
 * ...), which 2.1.5 does not know and would ignore (taking fencing as
 * enabled). Pacemaker 2.1.5 is given a copy with the 2.x names of the same
 * options, so that both sides see the same configuration; belay reads the
 * original (it knows both names).
 */
export function pacemakerInput(file: string): string {
  const xml = readFileSync(file, 'utf8');
  let out = xml;
  for (const [now, old] of Object.entries(OPTION_ALIASES)) out = out.split(`name="${now}"`).join(`name="${old}"`);
  if (out === xml) return file;
  const dir = join(tmpdir(), `belay-crm_mon-corpus-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, file.replace(/[^A-Za-z0-9.-]/g, '_'));
  writeFileSync(copy, out);
  return copy;
}

export async function runPacemaker(file: string, args: string[]): Promise<RunOut> {
  if (CACHE) {
    const key = join(CACHE, `${basename(file)}__${args.join('_').replace(/[^A-Za-z0-9-]/g, '_')}.json`);
    if (existsSync(key)) return JSON.parse(readFileSync(key, 'utf8')) as RunOut;
    const r = await runPacemakerNow(file, args);
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(key, JSON.stringify(r));
    return r;
  }
  return runPacemakerNow(file, args);
}

function runPacemakerNow(file: string, args: string[]): Promise<RunOut> {
  return new Promise((resolve) => {
    execFile(PACEMAKER_CRM_MON, args, { env: { ...ENV, CIB_file: file }, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ stdout, code });
    });
  });
}

export function runBelay(file: string, args: string[], now: number): RunOut {
  const r = crmMonFileArgs(args, file, now);
  return { stdout: r.stdout, code: r.code };
}

/** Runs fn over items, at most `width` at once. */
export async function inBatches<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

export interface MonResult {
  case: MonCase;
  set: string;
  ok: boolean;
  /** First differing line, for the report. */
  diff: string;
}

export function firstDiff(want: string, got: string): string {
  const a = want.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: want ${JSON.stringify(a[i] ?? '<end>')} got ${JSON.stringify(b[i] ?? '<end>')}`;
  }
  return '';
}

export async function compareAll(cases: MonCase[], sets: string[], width = 4): Promise<MonResult[]> {
  if (!existsSync(PACEMAKER_CRM_MON)) {
    throw new Error(`${PACEMAKER_CRM_MON} is missing: install the Debian package pacemaker-cli-utils (scripts/debian-packages.txt)`);
  }
  const jobs = cases.flatMap((c) => sets.map((set) => ({ c, set })));
  const inputs = new Map(cases.map((c) => [c.file, pacemakerInput(c.file)]));
  const pcmk = await inBatches(jobs, width, (j) => runPacemaker(inputs.get(j.c.file)!, OPTION_SETS[j.set]!));
  rmSync(join(tmpdir(), `belay-crm_mon-corpus-${process.pid}`), { recursive: true, force: true });
  const now = Math.floor(Date.now() / 1000);
  return jobs.map((j, i) => {
    const want = pcmk[i]!;
    let got: RunOut;
    try {
      got = runBelay(j.c.file, OPTION_SETS[j.set]!, now);
    } catch (e) {
      got = { stdout: `crash: ${(e as Error).stack ?? String(e)}`, code: -2 };
    }
    const w = mask(want.stdout);
    const g = mask(got.stdout);
    const ok = w === g && want.code === got.code;
    const diff = ok ? '' : w === g ? `exit code: want ${want.code} got ${got.code}` : firstDiff(w, g);
    return { case: j.c, set: j.set, ok, diff };
  });
}

export function readJson<T>(path: string, dflt: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : dflt;
}
