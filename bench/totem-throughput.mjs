#!/usr/bin/env node
// Ordered delivery throughput (1 KiB messages, 3 nodes on loopback, AES-256-GCM + HMAC-SHA256)
// and send -> delivery latency at 50% of the one-sender throughput.
//   node bench/totem-throughput.mjs [--seconds 5] [--size 1024] [--cipher aes256|none]
// Needs `npm run build`.
import { join } from 'node:path';
import { Child, tempCluster, root } from './totem-lib.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const secs = Number(arg('seconds', 5));
const size = Number(arg('size', 1024));
const cipher = String(arg('cipher', 'aes256'));
const n = 3;
const c = tempCluster(n, { cipher });
const nodeScript = join(root, 'bench/totem-node.mjs');
const procs = c.nodes.map(
  (x) =>
    new Child(`n${x.id}`, process.execPath, [
      nodeScript,
      JSON.stringify({
        keyFile: c.keyFile,
        config: { clusterName: 'bench', nodeId: x.id, nodes: c.nodes, cipher, stateDir: join(c.dir, 'state') },
      }),
    ]),
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ask = async (p, op, ev, ms = 60_000, extra = {}) => {
  const before = p.events.length;
  p.write({ op, ...extra });
  return p.waitFor((e) => e.ev === ev && p.events.indexOf(e) >= before, ms, ev);
};

try {
  for (const p of procs) await p.waitFor((e) => e.ev === 'ring' && e.members.length === n, 15_000, 'ring of 3');
  const flood = async (senders) => {
    for (const p of procs) await ask(p, 'reset', 'reset');
    const t0 = Date.now();
    await Promise.all(senders.map((p) => ask(p, 'flood', 'flood-done', secs * 1000 + 30_000, { ms: secs * 1000, size, backlog: 200 })));
    const el = (Date.now() - t0) / 1000;
    const stats = await Promise.all(procs.map((p) => ask(p, 'stats', 'stats')));
    const rates = stats.map((s) => s.delivered / el);
    await sleep(500); // drain
    return Math.min(...rates);
  };
  const one = await flood([procs[0]]);
  console.log(`throughput, 1 sender:  ${one.toFixed(0)} msgs/s delivered per node (${size} B, ${cipher}, ${secs} s)`);
  const three = await flood(procs);
  console.log(`throughput, 3 senders: ${three.toFixed(0)} msgs/s delivered per node`);
  const rate = Math.round(one / 2);
  // From the representative (n1, which releases a held token at once) and from a plain member (n2).
  for (const idx of [0, 1]) {
    for (const p of procs) await ask(p, 'reset', 'reset');
    await ask(procs[idx], 'rate', 'rate-done', secs * 1000 + 30_000, { ms: secs * 1000, size, rate });
    await sleep(300);
    const stats = await Promise.all(procs.map((p) => ask(p, 'stats', 'stats')));
    const us = (x) => (x * 1000).toFixed(0);
    const l = stats[idx].lat;
    const others = stats.filter((_, i) => i !== idx).map((s) => s.latOthers);
    const worst = (k) => Math.max(...others.map((o) => o[k]));
    console.log(
      `latency at ${rate} msgs/s (50% load) from n${idx + 1}${idx === 0 ? ' (representative)' : ''}: ` +
        `at the sender p50 ${us(l.p50)} µs, p99 ${us(l.p99)} µs; at the other members p50 ${us(worst('p50'))} µs, p99 ${us(worst('p99'))} µs (${l.n} msgs)`,
    );
  }
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited()));
  c.cleanup();
}
