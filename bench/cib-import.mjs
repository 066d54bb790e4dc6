#!/usr/bin/env node
// CIB XML import benchmark: parseCibXml (src/cib/xml.ts) on the scheduler
// bench's generated CIBs (bench/scheduler-gen.mjs, N nodes x R resources,
// N x R operation histories in the status). Each size runs in a fresh child
// process, which reads the file, imports it and exports it again; it prints
// the import time, the export time and the child's peak RSS (after import).
// With --simulate, also times `bin/crm_simulate -x FILE -R -Q` end to end
// (/usr/bin/time: wall time, peak RSS) so the import's share can be seen.
// Usage:
//   node bench/cib-import.mjs [--sizes 4x100,16x1000,32x5000,32x10000]
//                             [--impl DIR] [--simulate 32x10000] [--root DIR] [--runs 1]
// --impl DIR imports DIR/xml.js instead of dist/cib/xml.js, and --root DIR
// runs DIR/bin/crm_simulate (to compare a saved build of an older importer).
// Needs `npm run build` first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateCib } from './scheduler-gen.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

// Child mode: import one file and report as JSON on stdout.
if (args[0] === '--child') {
  const [, impl, file] = args;
  const { readFileSync } = await import('node:fs');
  const { parseCibXml, cibToXml } = await import(pathToFileURL(join(impl, 'xml.js')).href);
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8');
  const t1 = performance.now();
  const cib = parseCibXml(text, file);
  const t2 = performance.now();
  const rssImport = process.resourceUsage().maxRSS / 1024;
  const xml = cibToXml(cib);
  const t3 = performance.now();
  const ops = (cib.status ?? []).reduce((n, ns) => n + (ns.lrm?.resources ?? []).reduce((m, r) => m + r.ops.length, 0), 0);
  process.stdout.write(JSON.stringify({ read: t1 - t0, imp: t2 - t1, exp: t3 - t2, rssImport, ops, outLen: xml.length }) + '\n');
  process.exit(0);
}

const sizes = opt('--sizes', '4x100,16x1000,32x5000,32x10000').split(',').map((s) => s.split('x').map(Number));
const impl = resolve(opt('--impl', join(root, 'dist', 'cib')));
const simulate = opt('--simulate', '');
const runs = Number(opt('--runs', '1'));
const simRoot = resolve(opt('--root', root));
if (!existsSync(join(impl, 'xml.js'))) {
  console.error(`bench: ${join(impl, 'xml.js')} is missing; run: npm run build`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), `belay-cib-import-${process.pid}-`));
const best = (xs, f) => xs.reduce((a, b) => (f(b) < f(a) ? b : a));
console.log(`CIB XML import bench (${join(impl, 'xml.js')}), best of ${runs}`);
console.log('size        CIB MiB   ops      read     import    export   peak RSS after import');
try {
  for (const [N, R] of sizes) {
    const file = join(dir, `cib-${N}x${R}.xml`);
    writeFileSync(file, generateCib(N, R));
    const mib = statSync(file).size / (1 << 20);
    const results = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', impl, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) {
        console.log(`${N}x${R}: error ${(r.stderr || '').slice(-400)}`);
        break;
      }
      results.push(JSON.parse(r.stdout));
    }
    if (results.length === 0) continue;
    const b = best(results, (x) => x.imp);
    const s = (ms) => (ms / 1000).toFixed(2).padStart(6) + ' s';
    console.log(`${(N + 'x' + R).padEnd(11)} ${mib.toFixed(1).padStart(7)}  ${String(b.ops).padStart(7)}  ${s(b.read)}  ${s(b.imp)}  ${s(b.exp)}  ${b.rssImport.toFixed(0).padStart(5)} MiB`);
    if (simulate === `${N}x${R}`) {
      const cmd = join(simRoot, 'bin', 'crm_simulate');
      const t = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, '-x', file, '-R', '-Q'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const m = /([\d.]+) (\d+)\s*$/.exec(t.stderr || '');
      console.log(m && t.status === 0
        ? `  bin/crm_simulate -x FILE -R -Q: ${Number(m[1]).toFixed(2)} s / ${(Number(m[2]) / 1024).toFixed(0)} MiB`
        : `  bin/crm_simulate: error ${(t.stderr || '').slice(-400)}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
