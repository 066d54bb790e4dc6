#!/usr/bin/env node
/**
 * Fault campaign: the tutorial topology (load balancers running belayd with
 * a haproxy clone and a FloatIP (VRRP) colocated with it, two nginx app
 * servers, a client asking the floating IP over HTTP every 10 ms) under
 * random faults, one at a time, seeded:
 *
 *   crash      a load balancer loses power; back on after a few seconds
 *   reboot     power off and straight on again
 *   kill9      kill -9 of belayd; started again 2 s later (systemd Restart=)
 *   partition  the node's traffic dropped both ways (iptables) for 10 s
 *   loss       20% of the node's packets dropped both ways for 20 s
 *              (iptables statistic match in the node's namespace; no netem)
 *   hang       the VIP holder's haproxy stopped (SIGSTOP) for 20 s: a hung
 *              service (the haproxy agent's monitor, every 15 s with a 20 s
 *              timeout, does not see it within 20 s: the client waits it out)
 *   busy       both cores busy (one busy loop per core) for 30 s
 *
 * After each fault (and its repair) the cluster gets up to --settle seconds
 * to converge, then the invariants are checked; a check that does not hold
 * by then is a violation:
 *   - the floating IP is on exactly one host;
 *   - every node's `crm configure show` is identical to before the campaign;
 *   - `crm_mon -1` agrees on every node (its resource and node sections).
 * A false failover is a move of the floating IP after a fault that needs
 * none (any fault on a node that is not the holder, loss, busy).
 *
 * Prints a table: faults, violations, median/max client gap, failed
 * requests (the client's 100 ms timeouts and refusals), false failovers.
 *
 * Usage (root, after `npm run build`):
 *   node bench/faults.mjs [--minutes 5] [--seed N] [--nodes 3] [--faults crash,reboot,...]
 *                         [--fencing] [--settle 60] [--json] [--keep-logs DIR]
 * --fencing: stonith-enabled=true with the lab's power switch as the fence
 * device (stonith:fence_belay_lab); default off (stonith-enabled=false).
 * With two nodes and no fencing a partition is a split brain by design, so
 * the default is three load balancers.
 * Exit code 1 when any violation or false failover was seen.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, heal, labDown, labExec, labUp, partition, powerOff, powerOn, saveLabState } from '../dist/lab/cluster-lab.js';
import { machineSpawn } from '../dist/lab/machine.js';
import { Lab } from '../dist/lab/netns.js';
import { HttpPoller } from '../dist/lab/poller.js';
import { fencedTutorialCommands, tutorialCommands } from '../dist/lab/tutorial-demo.js';

const ALL_FAULTS = ['crash', 'reboot', 'kill9', 'partition', 'loss', 'hang', 'busy'];
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  // The usage is this file's header comment.
  const src = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(`${src.slice(src.indexOf('/**') + 3, src.indexOf('*/')).replace(/^ \* ?/gm, '').trim()}\n`);
  process.exit(0);
}
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const MINUTES = Number(opt('minutes', '5'));
const SEED = Number(opt('seed', String(Date.now() % 100000)));
const NODES = Number(opt('nodes', '3'));
const FAULTS = opt('faults', ALL_FAULTS.join(',')).split(',');
const FENCING = args.includes('--fencing');
const SETTLE_S = Number(opt('settle', '60'));
const JSON_OUT = args.includes('--json');
const KEEP_LOGS = opt('keep-logs', undefined);
for (const f of FAULTS) if (!ALL_FAULTS.includes(f)) throw new Error(`--faults: unknown fault '${f}' (${ALL_FAULTS.join(', ')})`);
if (!(MINUTES > 0) || !(NODES >= 2 && NODES <= 9) || !Number.isInteger(SEED)) throw new Error('--minutes > 0, --nodes 2..9, --seed an integer');
if (process.getuid?.() !== 0) {
  console.error('bench/faults.mjs needs root (network namespaces); run it as root after npm run build');
  process.exit(2);
}
const CRM = fileURLToPath(new URL('../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../bin/crm_mon', import.meta.url));
const log = (s) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: the campaign is replayable from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

let state;
let poller;
const busy = [];
const work = mkdtempSync(join(tmpdir(), 'belay-faults-'));

const on = (n) => state.init[n] !== undefined;
const crm = async (node, cmdArgs) => {
  const r = await labExec(state, node, [process.execPath, CRM, ...cmdArgs]);
  if (r.exitCode !== 0) throw new Error(`crm ${cmdArgs.join(' ')} on ${node}: ${r.all}`);
  return String(r.stdout);
};
const vipHolders = async () => {
  const out = [];
  for (const n of state.nodes) {
    if (!on(n)) continue;
    const r = await labExec(state, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    if (String(r.stdout).includes(` ${state.vip}/`)) out.push(n);
  }
  return out;
};
/** crm_mon's view without the lines that differ by node or time. */
const monView = async (n) => {
  const r = await labExec(state, n, [process.execPath, CRM_MON, '-1']);
  const text = String(r.stdout);
  const from = text.search(/Node List:|Online:/);
  return from < 0 ? `(no crm_mon output: ${String(r.all).slice(0, 200)})` : text.slice(from).trim();
};
const daemonPid = (n) =>
  Lab.attach(state.lab)
    .pids(n)
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
      } catch {
        return false;
      }
    });
const lossRules = (ifname) => [
  ['INPUT', '-i', ifname, '-m', 'statistic', '--mode', 'random', '--probability', '0.2', '-j', 'DROP'],
  ['OUTPUT', '-o', ifname, '-m', 'statistic', '--mode', 'random', '--probability', '0.2', '-j', 'DROP'],
];

/** Everything that must hold once the cluster has settled; [] when it does. */
async function check(baseline) {
  const problems = [];
  const holders = await vipHolders();
  if (holders.length !== 1) problems.push(`floating IP on ${holders.length} hosts (${holders.join(' ') || 'none'})`);
  const up = state.nodes.filter(on);
  const views = new Map();
  for (const n of up) {
    const show = await crm(n, ['configure', 'show']).catch((e) => `(error ${e.message})`);
    if (show !== baseline) problems.push(`${n}: crm configure show differs from before`);
    views.set(n, await monView(n));
  }
  const distinct = new Set(views.values());
  if (distinct.size > 1) problems.push(`crm_mon disagrees: ${[...views].map(([n, v]) => `${n}=${v.replace(/\s+/g, ' ').slice(0, 160)}`).join(' | ')}`);
  return { problems, holders };
}

async function settle(baseline) {
  const end = Date.now() + SETTLE_S * 1000;
  let last;
  for (;;) {
    last = await check(baseline).catch((e) => ({ problems: [`check failed: ${e.message}`], holders: [] }));
    if (last.problems.length === 0 || Date.now() > end) return last;
    await sleep(1000);
  }
}

/**
 * The client's longest wait for an answer since t0: the largest interval
 * between two consecutive good answers (a request timing out or refused
 * in between counts as waiting), from the last good answer before t0.
 */
function clientGap(p, t0) {
  const answers = [...p.answers].sort((a, b) => a.t - b.t);
  let prev;
  for (const a of answers) if (a.ok && a.t < t0) prev = a;
  let gapMs = 0;
  let failed = 0;
  for (const a of answers) {
    if (a.t < t0) continue;
    if (!a.ok) {
      failed++;
      continue;
    }
    if (prev) gapMs = Math.max(gapMs, a.t - prev.t);
    prev = a;
  }
  return { gapMs, failed };
}

async function restartDaemon(n) {
  machineSpawn(state.init[n], state.daemonArgv, join(state.dir, n, 'belayd.log'));
}

/** Inject one fault and repair it; returns what was done. */
async function inject(kind, holder) {
  const target = kind === 'hang' ? holder : pick(state.nodes);
  const lab = Lab.attach(state.lab);
  switch (kind) {
    case 'crash':
      await powerOff(state, target);
      saveLabState(state);
      await sleep(3000 + rand() * 5000);
      await powerOn(state, target);
      saveLabState(state);
      break;
    case 'reboot':
      await powerOff(state, target);
      await powerOn(state, target);
      saveLabState(state);
      break;
    case 'kill9': {
      const pid = daemonPid(target);
      if (pid) process.kill(pid, 'SIGKILL');
      await sleep(2000);
      await restartDaemon(target);
      break;
    }
    case 'partition':
      await partition(state, target);
      await sleep(10_000);
      await heal(state);
      break;
    case 'loss': {
      const ifname = lab.host(target).ifname;
      for (const r of lossRules(ifname)) await labExec(state, target, ['iptables', '-w', '-I', ...r]);
      await sleep(20_000);
      for (const r of lossRules(ifname)) await labExec(state, target, ['iptables', '-w', '-D', ...r]);
      break;
    }
    case 'hang': {
      const pid = Number(String((await labExec(state, target, ['sh', '-c', 'head -n1 /run/resource-agents/haproxy-haproxy.pid 2>/dev/null'])).stdout).trim());
      if (pid > 0) await labExec(state, target, ['kill', '-STOP', String(pid)]);
      await sleep(20_000);
      if (pid > 0) await labExec(state, target, ['kill', '-CONT', String(pid)]);
      break;
    }
    case 'busy': {
      for (let i = 0; i < cpus().length; i++) busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      await sleep(30_000);
      for (const p of busy.splice(0)) process.kill(p.pid, 'SIGKILL');
      return { target: 'all' };
    }
  }
  return { target };
}

async function cleanup() {
  for (const p of busy.splice(0)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await poller?.stop().catch(() => undefined);
  if (state && KEEP_LOGS) {
    mkdirSync(KEEP_LOGS, { recursive: true });
    for (const n of state.nodes) {
      try {
        copyFileSync(join(state.dir, n, 'belayd.log'), join(KEEP_LOGS, `${n}-belayd.log`));
      } catch {
        /* never started */
      }
    }
  }
  if (state) await labDown(state).catch((e) => log(`lab down: ${e.message}`));
  state = undefined;
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

const rows = [];
try {
  state = await labUp({ name: `fa${process.pid % 10000}`, nodes: NODES, apps: 2, daemonArgv: belaydArgv() });
  const until = async (what, probe, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const v = await probe().catch(() => undefined);
      if (v) return v;
      await sleep(500);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  // Every node in one ring before the first edit: an edit made while a late
  // node joins is refused ("the membership changed before a majority of
  // nodes had the change on disk"), as it may not have reached everyone.
  const allOnline = `Online: [ ${Array.from({ length: NODES }, (_, i) => `n${i + 1}`).join(' ')} ]`;
  await until('the cluster to form', async () => String((await labExec(state, 'n1', [process.execPath, CRM_MON, '-1'])).stdout).includes(allOnline), 60_000);
  // With fencing: the tutorial's fenced form (the lab's power switch as the
  // fence device, and resource stickiness: without it the scheduler evens
  // out the nodes when the fence device moves, and moves the floating IP as
  // Pacemaker 2.1.5 does on the same CIB, a move no fault called for).
  for (const c of FENCING ? fencedTutorialCommands(state.vip) : tutorialCommands(state.vip)) await crm('n1', c);
  await until('the floating IP to answer', async () => {
    const r = await labExec(state, 'client', ['curl', '-s', '-m', '1', `http://${state.vip}/`]);
    return r.exitCode === 0 && String(r.stdout).startsWith('Droplet');
  }, 60_000);
  const baseline = await crm('n1', ['configure', 'show']);
  const first = await settle(baseline);
  if (first.problems.length) throw new Error(`the cluster does not settle before any fault: ${first.problems.join('; ')}`);
  poller = new HttpPoller(Lab.attach(state.lab), 'client', `http://${state.vip}/`, work);
  log(`campaign: seed ${SEED}, ${MINUTES} min, ${NODES} load balancers, faults ${FAULTS.join(',')}, fencing ${FENCING ? 'on' : 'off'}`);
  const stopAt = Date.now() + MINUTES * 60_000;
  let holder = first.holders[0];
  while (Date.now() < stopAt) {
    const kind = pick(FAULTS);
    const t0 = Date.now();
    const { target } = await inject(kind, holder);
    const result = await settle(baseline);
    const gap = clientGap(poller, t0);
    const newHolder = result.holders.length === 1 ? result.holders[0] : undefined;
    const needsNone = kind === 'loss' || kind === 'busy' || (target !== holder && target !== 'all');
    const falseFailover = needsNone && newHolder !== undefined && newHolder !== holder;
    rows.push({ kind, target, holderBefore: holder, holderAfter: newHolder ?? result.holders.join('+'), gapMs: gap.gapMs, failedRequests: gap.failed, violations: result.problems, falseFailover, tookMs: Date.now() - t0 });
    log(`${kind.padEnd(9)} ${String(target).padEnd(4)} holder ${holder} -> ${newHolder ?? result.holders.join('+')}  gap ${gap.gapMs} ms (${gap.failed} failed)  ${result.problems.length ? `VIOLATION: ${result.problems.join('; ')}` : 'ok'}${falseFailover ? '  FALSE FAILOVER' : ''}`);
    if (newHolder) holder = newHolder;
    await sleep(2000);
  }
} catch (err) {
  log(String(err.stack ?? err));
  process.exitCode = 1;
} finally {
  await cleanup();
}

const gaps = rows.map((r) => r.gapMs).sort((a, b) => a - b);
const median = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
const summary = {
  seed: SEED,
  minutes: MINUTES,
  nodes: NODES,
  fencing: FENCING,
  faults: rows.length,
  byKind: Object.fromEntries(ALL_FAULTS.map((k) => [k, rows.filter((r) => r.kind === k).length]).filter(([, n]) => n > 0)),
  violations: rows.filter((r) => r.violations.length > 0).length,
  medianGapMs: median,
  maxGapMs: gaps.length ? gaps[gaps.length - 1] : 0,
  falseFailovers: rows.filter((r) => r.falseFailover).length,
  failedRequests: rows.reduce((n, r) => n + r.failedRequests, 0),
  rows,
};
if (JSON_OUT) process.stdout.write(`${JSON.stringify(summary)}\n`);
else {
  console.log(`belay fault campaign: seed ${SEED}, ${MINUTES} min, ${NODES} load balancers, fencing ${FENCING ? 'on' : 'off'}`);
  console.log('| faults | violations | median client gap | max client gap | failed requests | false failovers |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${summary.faults} (${Object.entries(summary.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}) | ${summary.violations} | ${summary.medianGapMs} ms | ${summary.maxGapMs} ms | ${summary.failedRequests} | ${summary.falseFailovers} |`);
  console.log('| fault | count | violations | max client gap | failed requests | false failovers |');
  console.log('|---|---|---|---|---|---|');
  for (const k of ALL_FAULTS) {
    const rs = rows.filter((r) => r.kind === k);
    if (rs.length) console.log(`| ${k} | ${rs.length} | ${rs.filter((r) => r.violations.length).length} | ${Math.max(...rs.map((r) => r.gapMs))} ms | ${rs.reduce((n, r) => n + r.failedRequests, 0)} | ${rs.filter((r) => r.falseFailover).length} |`);
  }
  for (const r of rows.filter((x) => x.violations.length)) console.log(`  violation after ${r.kind} on ${r.target}: ${r.violations.join('; ')}`);
}
if (process.exitCode !== 1) process.exitCode = summary.violations === 0 && summary.falseFailovers === 0 && rows.length > 0 ? 0 : 1;
