#!/usr/bin/env node
// One totem node for the throughput/latency bench (a child of bench/totem-throughput.mjs).
// Reads a JSON job from argv[2]; reports JSON lines on stdout.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { startTotem } = await import(pathToFileURL(join(root, 'dist/totem/udp.js')).href);
const job = JSON.parse(process.argv[2]);
const key = readFileSync(job.keyFile);
const node = await startTotem(job.config, key);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

let delivered = 0;
let bytes = 0;
let lat = [];
let latOthers = [];
// Absolute time (ms, sub-ms precision) so other processes on this machine can compare.
const absNow = () => performance.timeOrigin + performance.now();
const me = job.config.nodeId;
node.on('confchg', (c) => c.kind === 'regular' && out({ ev: 'ring', members: c.members }));
// Set while flooding: tops the backlog up again once deliveries show the ring took some.
let refill = null;
let refillDue = false;
node.on('deliver', (d) => {
  delivered++;
  if (refill && !refillDue) {
    refillDue = true;
    setImmediate(() => {
      refillDue = false;
      refill?.();
    });
  }
  bytes += d.payload.length;
  if (d.payload.length >= 8) {
    const sentAt = new DataView(d.payload.buffer, d.payload.byteOffset, 8).getFloat64(0);
    (d.origin === me ? lat : latOthers).push(absNow() - sentAt);
  }
});

process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    run(cmd);
  }
});

function payload(size) {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setFloat64(0, absNow());
  return p;
}

async function run(cmd) {
  if (cmd.op === 'reset') {
    delivered = 0;
    bytes = 0;
    lat = [];
    latOthers = [];
    out({ ev: 'reset' });
  } else if (cmd.op === 'stats') {
    out({ ev: 'stats', delivered, bytes, lat: summarize(lat), latOthers: summarize(latOthers), backlog: node.backlog(), counters: node.status().counters });
  } else if (cmd.op === 'flood') {
    // As fast as the ring takes them: keep a bounded backlog, topped up after
    // deliveries (and every ms), not in a busy loop that would take the CPU
    // the three node processes share.
    const end = performance.now() + cmd.ms;
    refill = () => {
      while (node.backlog() < cmd.backlog) node.send(payload(cmd.size));
    };
    const tick = () => {
      if (performance.now() >= end) {
        refill = null;
        return out({ ev: 'flood-done' });
      }
      refill();
      setTimeout(tick, 1);
    };
    tick();
  } else if (cmd.op === 'rate') {
    // A steady rate, in 1 ms slices.
    const start = performance.now();
    const end = start + cmd.ms;
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      if (now >= end) return out({ ev: 'rate-done', sent });
      const due = Math.floor(((now - start) / 1000) * cmd.rate);
      while (sent < due) {
        node.send(payload(cmd.size));
        sent++;
      }
      setTimeout(tick, 1);
    };
    tick();
  } else if (cmd.op === 'stop') {
    await node.stop();
    process.exit(0);
  }
}

function summarize(a) {
  if (a.length === 0) return null;
  const s = [...a].sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}
