/**
 * Differential test against Pacemaker 2.1.5's crm_simulate on seeded random
 * CIBs (bench/scheduler-random.mjs: nodes, primitives, groups, clones,
 * colocations, orders, locations, stickiness, running resources,
 * failures). Per CIB: the Revised Cluster Status and Transition Summary of
 * `crm_simulate -S`, and the allocation scores of `crm_simulate -s -Q`
 * (without the name of the Pacemaker function that printed each line, which
 * differs between releases). The ratchet (ratchet.json, group "generated")
 * lists which seeds agree; a seed that agreed and no longer does fails.
 *
 * DIFF_SEEDS=N (default 500) and DIFF_SEED_BASE=B (default 1) pick the seeds.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCibXml } from '../../src/cib/xml.js';
import { crmSimulate } from '../../src/status/simulate-output.js';
// @ts-expect-error: a plain ES module without types
import { randomCib } from '../../bench/scheduler-random.mjs';
import { eq, firstSetDiff, scoreLines, section } from './harness.js';
import { ratchet } from './ratchet.js';

const CRM_SIMULATE = '/usr/sbin/crm_simulate';
const SEEDS = Number(process.env['DIFF_SEEDS'] ?? 500);
const BASE = Number(process.env['DIFF_SEED_BASE'] ?? 1);
const NOW = 1_700_000_000; // the generated CIBs' execution-date

function run(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(CRM_SIMULATE, args, { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' }, timeout: 120_000, maxBuffer: 64 << 20 }, (_err, stdout) => resolve(stdout));
  });
}

async function inBatches<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

/** Score lines without the "pcmk__xxx_assign: " prefix (the function's name changed across releases). */
const scoresOf = (lines: string[]) => scoreLines(lines).map((l) => l.replace(/^\S+: /, '')).sort();

interface Diff {
  seed: number;
  revised: boolean;
  summary: boolean;
  scores: boolean;
  why: string;
}

describe(`scheduler against Pacemaker 2.1.5's crm_simulate on ${SEEDS} random CIBs`, () => {
  it('agrees on the seeds it agreed on before, and reports the rate', async () => {
    expect(existsSync(CRM_SIMULATE), `${CRM_SIMULATE} is missing: install the Debian package pacemaker-cli-utils`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'belay-diff-'));
    try {
      const seeds = Array.from({ length: SEEDS }, (_, i) => BASE + i);
      const files = seeds.map((s) => {
        const f = join(dir, `seed-${s}.xml`);
        writeFileSync(f, randomCib(s) as string);
        return f;
      });
      const pcmk = await inBatches(files, 4, async (f) => ({ sim: await run(['-x', f, '-S']), scores: await run(['-x', f, '-s', '-Q']) }));
      const diffs: Diff[] = seeds.map((seed, i) => {
        const want = pcmk[i]!;
        const out = crmSimulate(parseCibXml(randomCib(seed) as string, files[i]!), { simulate: true, run: false, showScores: true, quiet: false, now: NOW, compat: '2.1' });
        const w = want.sim.split('\n');
        const d: Diff = { seed, revised: false, summary: false, scores: false, why: '' };
        const wr = section(w, 'Revised Cluster Status:') ?? [];
        const gr = section(out.stdout, 'Revised Cluster Status:') ?? [];
        const ws = section(w, 'Transition Summary:') ?? [];
        const gs = section(out.stdout, 'Transition Summary:') ?? [];
        d.revised = wr.length > 0 && eq(wr, gr);
        d.summary = eq(ws, gs);
        const wsc = scoresOf(want.scores.split('\n'));
        const gsc = scoresOf(out.scores);
        d.scores = wsc.length > 0 && eq(wsc, gsc);
        if (!d.summary) d.why = `summary: want ${JSON.stringify(ws)} got ${JSON.stringify(gs)}`;
        else if (!d.revised) d.why = `revised: want ${JSON.stringify(wr)} got ${JSON.stringify(gr)}`;
        else if (!d.scores) d.why = `scores: ${firstSetDiff(wsc, gsc)}`;
        return d;
      });
      const agree = diffs.filter((d) => d.revised && d.summary);
      const scores = diffs.filter((d) => d.scores);
      const pct = (n: number) => ((100 * n) / diffs.length).toFixed(1);
      console.log(`differential: status+summary agree ${agree.length}/${diffs.length} (${pct(agree.length)}%), scores agree ${scores.length}/${diffs.length} (${pct(scores.length)}%)`);
      const outDir = join(import.meta.dirname, '..', 'out');
      mkdirSync(outDir, { recursive: true });
      writeFileSync(
        join(outDir, 'scheduler-differential.md'),
        ['| seed | revised | summary | scores | first difference |', '|---|---|---|---|---|', ...diffs.filter((d) => !(d.revised && d.summary && d.scores)).map((d) => `| ${d.seed} | ${d.revised ? 'ok' : 'FAIL'} | ${d.summary ? 'ok' : 'FAIL'} | ${d.scores ? 'ok' : 'FAIL'} | ${d.why.replace(/\|/g, '\\|')} |`)].join('\n') + '\n',
      );
      const regressions = BASE === 1 ? ratchet('generated', { agree: agree.map((d) => String(d.seed)), scores: scores.map((d) => String(d.seed)) }).filter((r) => Number(r.split(': ')[1]) < BASE + SEEDS) : [];
      expect(regressions, 'seeds that agreed with Pacemaker before and no longer do (test/out/scheduler-differential.md)').toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
