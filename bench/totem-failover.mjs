#!/usr/bin/env node
// Time from a member's crash (kill -9) to the survivors delivering the new ring,
// with default totem timers: real `belay totem run` processes on loopback.
//   node bench/totem-failover.mjs [--nodes 3,5] [--runs 10]
// Needs `npm run build`. Each run kills a different member (the representative too),
// waits for the survivors' regular configuration without it, restarts it, waits for all.
import { join } from 'node:path';
import { Child, tempCluster, median, root } from './totem-lib.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const sizes = String(arg('nodes', '3,5')).split(',').map(Number);
const runs = Number(arg('runs', 10));
const belay = join(root, 'bin/belay');
let failed = false;

for (const n of sizes) {
  const c = tempCluster(n);
  const procs = new Map();
  const start = (i) => {
    const p = new Child(`n${i}`, process.execPath, [belay, 'totem', 'run', '-c', c.clusterFile, '-n', `n${i}`, '-s', join(c.dir, `status-${i}.json`), '--quiet-deliveries']);
    procs.set(i, p);
    return p;
  };
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const ringIs = (members) => (e) => e.event === 'confchg' && e.kind === 'regular' && JSON.stringify(e.members) === JSON.stringify(members);
  const times = [];
  try {
    for (const i of all) start(i);
    for (const i of all) await procs.get(i).waitFor(ringIs(all), 15_000, `ring of ${n}`);
    for (let r = 0; r < runs; r++) {
      const victim = all[r % n];
      const survivors = all.filter((i) => i !== victim);
      await new Promise((res) => setTimeout(res, 300)); // let the ring settle
      for (const i of survivors) procs.get(i).events.length = 0;
      const t0 = Date.now();
      procs.get(victim).kill('SIGKILL');
      let worst = 0;
      for (const i of survivors) {
        const ev = await procs.get(i).waitFor(ringIs(survivors), 15_000, `ring without n${victim}`);
        worst = Math.max(worst, ev.t - t0);
      }
      times.push(worst);
      await procs.get(victim).exited();
      start(victim);
      for (const i of all) await procs.get(i).waitFor(ringIs(all), 15_000, `ring of ${n} again`);
      for (const i of all) procs.get(i).events.length = 0;
    }
    const s = [...times].sort((a, b) => a - b);
    console.log(`${n} nodes: crash -> new ring delivered (all survivors), ${runs} runs: median ${median(times)} ms, min ${s[0]} ms, max ${s[s.length - 1]} ms  [${times.join(' ')}]`);
  } catch (err) {
    failed = true;
    console.error(`${n} nodes: ${err.message}`);
  } finally {
    for (const p of procs.values()) p.kill('SIGKILL');
    await Promise.all([...procs.values()].map((p) => p.exited()));
    c.cleanup();
  }
}
console.log('defaults: token 300 ms, token_retransmits_before_loss_const 4 (retransmit 71 ms, hold 28 ms), consensus 360 ms, join 50 ms, merge 200 ms, max_messages 17');
process.exit(failed ? 1 : 0);
