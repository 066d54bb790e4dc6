#!/usr/bin/env node
// Seed sweep of the whole-cluster simulator (src/sim/cluster.ts): per seed N
// nodes of the real totem stack, controller and scheduler under faults, every
// invariant checked after every event. Prints seeds/s, simulated time, and
// each failing seed with its replay command. Every invariant, as CI checks
// them; --no-dc-quorum leaves dc-without-quorum out (as runs before its fix did);
// --vrrp adds the FloatIP run by each node's real VRRP core (src/sim/cluster.ts).
//   node bench/cluster-sim.mjs [--seeds 100000] [--from 1] [--workers 2] [--minutes M] [--no-dc-quorum] [--vrrp]
// --minutes stops after M minutes and reports the seeds actually run.
// Needs `npm run build`.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const simPath = join(root, 'dist/sim/cluster.js');

/** The profile of the CI sweep (src/sim/cluster.ts ciProfile); without `all`, dc-without-quorum is left out. */
function options(ciProfile, seed, all, vrrp) {
  const o = { ...ciProfile(seed), ...(vrrp ? { vrrp: true } : {}) };
  return all ? o : { ...o, check: o.check.filter((c) => c !== 'dc-without-quorum') };
}

if (isMainThread) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const seeds = arg('seeds', 100_000);
  const from = arg('from', 1);
  const workers = Math.max(1, arg('workers', 2));
  const minutes = arg('minutes', Infinity);
  const all = !process.argv.includes('--no-dc-quorum');
  const vrrp = process.argv.includes('--vrrp');
  if (!existsSync(simPath)) {
    console.error(`cluster-sim: ${simPath} is missing; run: npm run build`);
    process.exit(2);
  }
  const t0 = Date.now();
  const deadline = t0 + minutes * 60_000;
  let done = 0;
  const failed = [];
  let simMs = 0;
  let transitions = 0;
  let operations = 0;
  const conv = [];
  let lastReport = Date.now();
  // Seeds are handed out one at a time, so --minutes stops everywhere at once.
  let next = from;
  const end = from + seeds;
  await Promise.all(
    Array.from({ length: workers }, () => new Promise((resolve, reject) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { simUrl: pathToFileURL(simPath).href, all, vrrp } });
      const feed = () => {
        if (next >= end || Date.now() > deadline) {
          w.postMessage(null);
          return;
        }
        w.postMessage(next++);
      };
      w.on('message', (r) => {
        done++;
        simMs += r.simMs;
        transitions += r.transitions;
        operations += r.operations;
        if (r.convergedAfter !== null) conv.push(r.convergedAfter);
        if (r.violations.length > 0) {
          failed.push(r.seed);
          const o = r.options;
          console.log(`FAILING SEED ${r.seed}: ${r.violations[0].code}: ${r.violations[0].message.slice(0, 300)}`);
          console.log(`  replay: belay sim --seed ${r.seed} --chaos-ms ${o.chaosMs} --fencing ${o.fencing}${vrrp ? ' --vrrp' : ''}${all ? '' : ' --ignore dc-without-quorum'} --verbose`);
        }
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          console.error(`  ${done} seeds, ${failed.length} failing, ${(done / ((Date.now() - t0) / 1000)).toFixed(1)} seeds/s`);
        }
        feed();
      });
      w.on('error', reject);
      w.on('exit', resolve);
      feed();
    })),
  );
  const secs = (Date.now() - t0) / 1000;
  conv.sort((a, b) => a - b);
  const pct = (p) => (conv.length ? (conv[Math.min(conv.length - 1, Math.floor((p / 100) * conv.length))] / 1000).toFixed(2) : '-');
  console.log(`cluster simulator: ${done} seeds (${from}..${from + done - 1}) in ${secs.toFixed(1)} s with ${workers} workers: ${(done / secs).toFixed(1)} seeds/s`);
  console.log(`  simulated ${(simMs / 3_600_000).toFixed(1)} h of cluster time, ${transitions} transitions, ${operations} agent operations`);
  console.log(`  convergence after the faults stop (simulated s): median ${pct(50)}, p99 ${pct(99)}, max ${pct(100)}`);
  console.log(`  failing seeds: ${failed.length}${failed.length ? ` (${failed.slice(0, 30).join(', ')})` : ''}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
} else {
  const { runCluster, ciProfile } = await import(workerData.simUrl);
  parentPort.on('message', (seed) => {
    if (seed === null) {
      parentPort.close();
      return;
    }
    const o = options(ciProfile, seed, workerData.all, workerData.vrrp);
    const r = runCluster(seed, o);
    parentPort.postMessage({
      seed,
      options: { chaosMs: o.chaosMs, fencing: o.fencing },
      violations: r.violations,
      simMs: r.simMs,
      convergedAfter: r.convergedAfter,
      transitions: r.stats.transitions,
      operations: r.stats.operations,
    });
  });
}
