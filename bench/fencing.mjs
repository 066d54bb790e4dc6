// Fencing benchmark: the node holding the floating IP is cut off (iptables
// inside it, `belay lab partition`) in a 3-node lab whose fence device is
// the lab's power switch (stonith:fence_belay_lab). The majority must fence
// it (the switch power-cycles it) before it starts FloatIP elsewhere.
// Measured, per run: the client-visible gap (a client asks the VIP every
// 10 ms), when the switch saw the power-off, and samples (ip addr on every
// node every 50 ms) with the VIP on two machines (must be 0).
//
// Side by side in the same run: belay, and stock Pacemaker 2.1 + Corosync 3
// (Debian packages) running the same agent from /usr/sbin, same topology,
// same tutorial configuration (FloatIP as IPaddr2 there).
//
//   npm run build && node bench/fencing.mjs [--runs 5] [--stacks belay,pacemaker]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labPartition, labUp, loadLabState } from '../dist/lab/cluster-lab.js';
import { Lab } from '../dist/lab/netns.js';
import { HttpPoller, VipSampler, answeringRuns } from '../dist/lab/poller.js';
import { missingPacemakerPackages, pacemakerLabUp, pacemakerTutorialCommands, stockCrm } from '../dist/lab/pacemaker-lab.js';
import { fencedTutorialCommands } from '../dist/lab/tutorial-demo.js';

const BIN = (name) => fileURLToPath(new URL(`../bin/${name}`, import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const RUNS = Number(arg('runs', '5'));
const STACKS = arg('stacks', 'belay,pacemaker').split(',');
const NODES = 3;

async function until(what, probe, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last.message})` : ''}`);
    await sleep(everyMs);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const ALL_ONLINE = new RegExp(`Online: \\[ ${Array.from({ length: NODES }, (_, i) => `n${i + 1}`).join(' ')} \\]`);

function belayStack() {
  const name = 'fbb';
  let state;
  const crm = async (node, args) => {
    const r = await labExec(state, node, [process.execPath, BIN('crm'), ...args]);
    if (r.exitCode !== 0) throw new Error(`belay: crm ${args.join(' ')} on ${node}: ${String(r.all).trim()}`);
    return String(r.stdout);
  };
  return {
    name: 'belay',
    labName: name,
    get state() {
      return state;
    },
    async up() {
      state = await labUp({ name, nodes: NODES, apps: 2, daemonArgv: belaydArgv() });
      await until('belay: the nodes to form a cluster', async () => (await crm('n1', ['configure', 'show'])).includes(`node ${NODES}: n${NODES}`), 30_000, 300);
      for (const args of fencedTutorialCommands(state.vip)) await crm('n1', args);
    },
    crmMon: async (node) => String((await labExec(state, node, [process.execPath, BIN('crm_mon'), '-1'])).all),
    down: () => (state ? labDown(state) : undefined),
  };
}

function pacemakerStack() {
  const name = 'fbp';
  let state;
  const crm = async (node, args) => {
    const r = await stockCrm(state, node, args);
    if (r.exitCode !== 0) throw new Error(`pacemaker: crm ${args.join(' ')} on ${node}: ${String(r.all).trim()}`);
    return String(r.stdout);
  };
  const crmMon = async (node) => String((await labExec(state, node, ['crm_mon', '-1'])).all);
  return {
    name: 'pacemaker',
    labName: name,
    get state() {
      return state;
    },
    async up() {
      state = await pacemakerLabUp({ name, nodes: NODES, apps: 2 });
      await until('pacemaker: the nodes to form a cluster', async () => ALL_ONLINE.test(await crmMon('n1')), 90_000, 500);
      const commands = [
        ['configure', 'primitive', 'fence-lab', 'stonith:fence_belay_lab'],
        ['configure', 'property', 'stonith-enabled=true'],
        ['configure', 'rsc_defaults', 'resource-stickiness=100'],
        ...pacemakerTutorialCommands(state.vip).filter((c) => !c.includes('stonith-enabled=false')),
      ];
      for (const args of commands) await crm('n1', args);
    },
    crmMon,
    down: () => (state ? labDown(state) : undefined),
  };
}

async function holders(state) {
  const out = [];
  for (const n of state.nodes) {
    const h = Lab.attach(state.lab).host(n);
    const r = await labExec(state, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.ifname]).catch(() => undefined);
    if (r && r.exitCode === 0 && String(r.stdout).includes(` ${state.vip}/`)) out.push(n);
  }
  return out;
}

async function settled(stack) {
  const state = stack.state;
  const hs = await holders(state);
  if (hs.length !== 1) return false;
  const other = state.nodes.find((n) => n !== hs[0]);
  const mon = await stack.crmMon(other);
  return ALL_ONLINE.test(mon) && /fence-lab\s+\(stonith:fence_belay_lab\):\s+Started/.test(mon) && /FloatIP\s.*Started/.test(mon) && hs[0];
}

async function runStack(stack, work) {
  console.log(`\n== ${stack.name}: ${NODES} nodes, stonith:fence_belay_lab, ${RUNS} runs`);
  const rows = [];
  try {
    await stack.up();
    const state = stack.state;
    const lab = Lab.attach(state.lab);
    await until(`${stack.name}: FloatIP and the fence device to start`, () => settled(stack), 90_000, 500);
    const poller = new HttpPoller(lab, state.client, `http://${state.vip}/`, work);
    try {
      for (let run = 1; run <= RUNS; run++) {
        const holder = await until(`${stack.name}: the cluster to settle before run ${run}`, () => settled(stack), 180_000, 500);
        await until(`${stack.name}: the client to be answered`, async () => poller.lastOk() && Date.now() - poller.lastOk().t < 200, 30_000, 100);
        const cyclesBefore = loadLabState(stack.labName).powerCycles?.[holder] ?? 0;
        const sampler = new VipSampler(lab, state.nodes, state.vip);
        await sleep(500);
        const t0 = Date.now();
        let fencedAt;
        const watchFence = (async () => {
          while (fencedAt === undefined && Date.now() - t0 < 120_000) {
            if ((loadLabState(stack.labName).powerCycles?.[holder] ?? 0) > cyclesBefore) fencedAt = Date.now();
            else await sleep(20);
          }
        })();
        await labPartition(stack.labName, holder);
        const gap = await until(`${stack.name}: the VIP to answer from another node (run ${run})`, async () => {
          const g = poller.gapAfter(t0);
          return g && g.after.lb !== holder ? g : undefined;
        }, 120_000, 100);
        await watchFence;
        // The fenced node boots, rejoins; the cluster must be whole before the next run.
        await until(`${stack.name}: ${holder} to rejoin (run ${run})`, () => settled(stack), 180_000, 500);
        await sampler.stop();
        const final = poller.gapAfter(t0);
        const row = {
          run,
          holder,
          to: final.after.lb,
          gapMs: final.gapMs,
          failed: final.failed,
          fencedMs: fencedAt === undefined ? NaN : fencedAt - t0,
          twoHolders: sampler.twoHolderSamples(t0),
          samples: sampler.samples.length,
          answeredBy: answeringRuns(poller.answers.filter((a) => a.t <= gap.after.t + 2000), t0).join('>'),
        };
        rows.push(row);
        console.log(
          `   run ${run}: ${row.holder} cut off, fenced after ${row.fencedMs} ms, VIP answered from ${row.to} after a ${row.gapMs} ms gap ` +
            `(${row.failed} failed requests), ${row.twoHolders}/${row.samples} samples with two holders`,
        );
      }
    } finally {
      await poller.stop();
    }
  } catch (err) {
    console.log(`   ${stack.name} failed: ${err.message}`);
    if (stack.state) console.log(`   logs were in ${stack.state.dir}`);
    rows.error = err.message;
  } finally {
    await stack.down();
  }
  return rows;
}

if (process.getuid?.() !== 0) {
  console.error('bench/fencing.mjs builds network namespaces and needs root');
  process.exit(1);
}
const work = mkdtempSync(path.join(tmpdir(), 'bench-fencing-'));
const results = {};
try {
  for (const s of STACKS) {
    if (s === 'pacemaker' && missingPacemakerPackages().length) {
      console.log(`\n== pacemaker: skipped, missing Debian packages ${missingPacemakerPackages().join(', ')}`);
      continue;
    }
    const stack = s === 'belay' ? belayStack() : s === 'pacemaker' ? pacemakerStack() : undefined;
    if (!stack) throw new Error(`unknown stack ${s} (belay, pacemaker)`);
    results[s] = await runStack(stack, work);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log('\n== Partition of the FloatIP holder, fenced with fence_belay_lab (3 nodes; medians over runs)');
console.log('stack       runs  gap median (ms)  gap min-max (ms)  fenced after (ms)  failed req.  two-holder samples');
for (const [name, rows] of Object.entries(results)) {
  if (rows.length === 0) {
    console.log(`${name.padEnd(11)} ${'0'.padStart(4)}  failed: ${rows.error ?? 'no runs'}`);
    continue;
  }
  const gaps = rows.map((r) => r.gapMs);
  console.log(
    `${name.padEnd(11)} ${String(rows.length).padStart(4)}  ${String(median(gaps)).padStart(15)}  ${`${Math.min(...gaps)}-${Math.max(...gaps)}`.padStart(16)}  ` +
      `${String(median(rows.map((r) => r.fencedMs))).padStart(17)}  ${String(median(rows.map((r) => r.failed))).padStart(11)}  ` +
      `${String(rows.reduce((s, r) => s + r.twoHolders, 0)).padStart(9)} of ${rows.reduce((s, r) => s + r.samples, 0)}`,
  );
}
const bad = Object.values(results).some((rows) => rows.error || rows.some((r) => r.twoHolders > 0));
process.exitCode = bad ? 1 : 0;
