#!/usr/bin/env node
// Seed sweep of the totem simulator: N real totem cores + votequorum per seed,
// faults from the seed, every invariant checked. Prints seeds/s and any failing
// seed (replay: node -e "import('./dist/sim/sim.js').then(m => console.log(m.runSeed(SEED, {trace: true})))").
//   node bench/totem-sim.mjs [--seeds 100000] [--from 1] [--workers 2]
// Needs `npm run build`.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const simPath = join(root, 'dist/sim/sim.js');

if (isMainThread) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const seeds = arg('seeds', 100_000);
  const from = arg('from', 1);
  const workers = Math.max(1, arg('workers', 2));
  if (!existsSync(simPath)) {
    console.error(`totem-sim: ${simPath} is missing; run: npm run build`);
    process.exit(2);
  }
  const t0 = Date.now();
  const per = Math.ceil(seeds / workers);
  let done = 0;
  let failed = [];
  let delivered = 0;
  let rings = 0;
  let simMs = 0;
  const conv = [];
  let lastReport = Date.now();
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const start = from + w * per;
      const count = Math.min(per, from + seeds - start);
      return new Promise((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { start, count } });
        worker.on('message', (m) => {
          done += m.n;
          delivered += m.delivered;
          rings += m.rings;
          simMs += m.simMs;
          conv.push(...m.conv);
          failed.push(...m.failed);
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now();
            console.error(`  ${done}/${seeds} seeds, ${failed.length} failing, ${(done / ((Date.now() - t0) / 1000)).toFixed(0)} seeds/s`);
          }
        });
        worker.on('error', reject);
        worker.on('exit', resolve);
      });
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  conv.sort((a, b) => a - b);
  const q = (p) => conv[Math.min(conv.length - 1, Math.floor(p * conv.length))];
  console.log(`seeds:            ${done} (from ${from}), ${workers} worker(s)`);
  console.log(`wall time:        ${secs.toFixed(1)} s`);
  console.log(`seeds/s:          ${(done / secs).toFixed(1)}`);
  console.log(`simulated time:   ${(simMs / 3_600_000).toFixed(1)} h (${(simMs / 1000 / secs).toFixed(0)}x real time)`);
  console.log(`deliveries:       ${delivered}, rings installed: ${rings}`);
  console.log(`heal -> one ring: median ${q(0.5)?.toFixed(0)} ms, p99 ${q(0.99)?.toFixed(0)} ms, max ${conv[conv.length - 1]?.toFixed(0)} ms (simulated)`);
  console.log(`violations:       ${failed.length} seed(s)${failed.length ? ': ' + failed.slice(0, 20).map((f) => f.seed).join(', ') : ''}`);
  for (const f of failed.slice(0, 5)) console.log(`  seed ${f.seed}: ${f.violations[0]}`);
  process.exit(failed.length ? 1 : 0);
} else {
  const { runSeed } = await import(pathToFileURL(simPath).href);
  const { start, count } = workerData;
  let batch = { n: 0, delivered: 0, rings: 0, simMs: 0, conv: [], failed: [] };
  for (let s = start; s < start + count; s++) {
    const r = runSeed(s);
    batch.n++;
    batch.delivered += r.delivered;
    batch.rings += r.rings;
    batch.simMs += r.simMs;
    if (r.convergedAt !== null) batch.conv.push(r.convergedAt);
    if (r.violations.length) batch.failed.push({ seed: s, violations: r.violations });
    if (batch.n === 500 || s === start + count - 1) {
      parentPort.postMessage(batch);
      batch = { n: 0, delivered: 0, rings: 0, simMs: 0, conv: [], failed: [] };
    }
  }
}
