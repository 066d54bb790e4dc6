#!/usr/bin/env node
// Scheduler benchmark: belay's crm_simulate vs Pacemaker's /usr/sbin/crm_simulate
// on the same generated CIBs (N nodes x R resources), both computing the
// transition only (-R) and simulating it (-S). Prints wall time, peak RSS and
// the ratio. Usage:
//   node bench/scheduler.mjs [--sizes 4x100,16x1000,32x5000,32x10000]
//                            [--pacemaker-run-max 16000] [--pacemaker-sim-max 400]
// Pacemaker runs only where N*R <= the given maximum (its -S takes minutes at
// 16x1000); "skipped" is printed otherwise. Needs `npm run build` first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCib } from './scheduler-gen.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizes = opt('--sizes', '4x100,16x1000,32x5000,32x10000').split(',').map((s) => s.split('x').map(Number));
const pmRunMax = Number(opt('--pacemaker-run-max', '16000'));
const pmSimMax = Number(opt('--pacemaker-sim-max', '400'));
const PACEMAKER = '/usr/sbin/crm_simulate';
const OURS = join(root, 'bin', 'crm_simulate');
if (!existsSync(join(root, 'dist', 'cli', 'crm_simulate.js'))) {
  console.error('bench: belay is not built; run: npm run build');
  process.exit(2);
}

/** Run under /usr/bin/time: wall seconds and peak RSS (KiB). */
function measure(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, CIB_file: undefined } });
  const lines = (r.stderr || '').trim().split('\n');
  const last = lines[lines.length - 1] || '';
  const m = /^([\d.]+) (\d+)$/.exec(last.trim());
  if (!m) return { ok: false, err: (r.stderr || '').slice(-300) };
  const ok = r.status === 0;
  return { ok, wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: r.stdout, err: ok ? '' : lines.slice(-3).join(' | ') };
}

const fmt = (x) => (x === undefined ? '-' : x.wall.toFixed(2) + ' s / ' + x.rssMiB.toFixed(0) + ' MiB');
const dir = mkdtempSync(join(tmpdir(), `belay-bench-${process.pid}-`));
console.log(`scheduler bench: belay (${OURS}) vs Pacemaker (${PACEMAKER}), wall time / peak RSS`);
console.log('size        CIB MiB  mode  belay                 pacemaker               ratio (pacemaker/belay time)');
try {
  for (const [N, R] of sizes) {
    const file = join(dir, `cib-${N}x${R}.xml`);
    writeFileSync(file, generateCib(N, R));
    const mib = statSync(file).size / (1 << 20);
    for (const mode of ['-R', '-S']) {
      const ours = measure(OURS, ['-x', file, mode, '-Q']);
      const max = mode === '-R' ? pmRunMax : pmSimMax;
      let pm;
      if (N * R <= max) pm = measure(PACEMAKER, ['-x', file, mode, '-Q']);
      const ratio = pm && pm.ok && ours.ok ? (pm.wall / Math.max(ours.wall, 0.01)).toFixed(1) + 'x' : '-';
      const pmText = pm ? (pm.ok ? fmt(pm) : 'error ' + pm.err) : `skipped (N*R > ${max})`;
      console.log(`${(N + 'x' + R).padEnd(11)} ${mib.toFixed(1).padStart(7)}  ${mode}    ${(ours.ok ? fmt(ours) : 'error ' + ours.err).padEnd(21)} ${pmText.padEnd(23)} ${ratio}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
