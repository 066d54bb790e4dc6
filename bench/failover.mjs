#!/usr/bin/env node
/**
 * Failover benchmark: the seed tutorial's topology (two load balancers with
 * a haproxy clone and a floating IP colocated with it, two nginx app
 * servers, a client asking the VIP over HTTP every 10 ms with a 100 ms
 * timeout) on belay, on stock Pacemaker 2.1 + Corosync 3, and on stock
 * keepalived, in network namespaces, same scenarios, same run:
 *
 *   crash     powerOff of the VIP holder: every process killed, link down,
 *             addresses reset (a power failure); powered on again afterwards
 *   graceful  `crm node standby <holder>` (keepalived: SIGTERM to the
 *             holder's daemon, which sends a priority-0 advert), then
 *             `crm node online` (keepalived started again)
 *
 * Gap = first request answered by the other balancer − last request the
 * holder answered. Split-brain observation = after convergence, more than
 * one host with the VIP on eth0, or the client answered by both balancers:
 * from 1 s to 2 s after the switch, and again over a 3 s window once the
 * node is back and the cluster whole (one VIP holder, the same for 3 s).
 *
 * Usage (root, after `npm run build`):
 *   node bench/failover.mjs [--runs 5] [--peers belay,pacemaker,keepalived] [--scenarios crash,graceful] [--keep]
 * The Pacemaker column needs the Debian packages pacemaker, corosync and
 * crmsh (and resource-agents); run as root, the bench installs what is
 * missing (apt-get, with a policy-rc.d that keeps services from starting).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Lab } from '../dist/lab/netns.js';
import { HttpPoller } from '../dist/lab/poller.js';
import { missingPacemakerPackages } from '../dist/lab/pacemaker-lab.js';
import { belayStack, keepalivedStack, pacemakerStack, sleep, until } from './failover-stacks.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('runs', '5'));
const PEERS = opt('peers', 'belay,pacemaker,keepalived').split(',');
const SCENARIOS = opt('scenarios', 'crash,graceful').split(',');
const KEEP = args.includes('--keep');
const log = (s) => process.stderr.write(`${s}\n`);

for (const p of PEERS) if (!['belay', 'pacemaker', 'keepalived'].includes(p)) throw new Error(`--peers: unknown stack '${p}' (belay, pacemaker, keepalived)`);
for (const s of SCENARIOS) if (!['crash', 'graceful'].includes(s)) throw new Error(`--scenarios: unknown scenario '${s}' (crash, graceful)`);
if (!(RUNS >= 1)) throw new Error('--runs must be a number ≥ 1');
if (process.getuid?.() !== 0) {
  console.error('bench/failover.mjs needs root (network namespaces); run it as root after npm run build');
  process.exit(2);
}

/** Pacemaker's Debian packages: installed here when missing (root), else the column says why it is empty. */
function ensurePacemaker() {
  let missing = missingPacemakerPackages();
  if (!missing.length) return undefined;
  log(`installing Debian packages for the Pacemaker column: ${missing.join(' ')}`);
  const policy = '/usr/sbin/policy-rc.d';
  const madePolicy = !existsSync(policy);
  try {
    if (madePolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (err) {
    return `could not install ${missing.join(' ')}: ${err.message}`;
  } finally {
    if (madePolicy) rmSync(policy, { force: true });
  }
  missing = missingPacemakerPackages();
  return missing.length ? `still missing after apt-get: ${missing.join(' ')}` : undefined;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const med = s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
  return { min: s[0], median: med, max: s[s.length - 1] };
};

/** The switch away from `holder` after `t`, read off the client's answers. */
function switchOf(poller, t, holder) {
  const answers = [...poller.answers].sort((a, b) => a.t - b.t);
  const firstNew = answers.find((a) => a.t >= t && a.ok && a.lb !== holder);
  if (!firstNew) return undefined;
  let lastOld;
  for (const a of answers) if (a.ok && a.lb === holder && a.t < firstNew.t) lastOld = a;
  if (!lastOld) return undefined;
  const failures = answers.filter((a) => a.t > lastOld.t && a.t < firstNew.t && !a.ok);
  const why = {};
  for (const f of failures) why[f.error] = (why[f.error] ?? 0) + 1;
  return { gapMs: firstNew.t - lastOld.t, failed: failures.length, why, to: firstNew.lb, at: firstNew.t };
}

/** Balancers that answered the client in [from, to]. */
const answeredBy = (poller, from, to) => [...new Set(poller.answers.filter((a) => a.ok && a.t >= from && a.t <= to).map((a) => a.lb))];

/** One host with the VIP and the client answered by it: the cluster is serving. */
async function steady(stack, what, timeoutMs) {
  const once = async () => {
    const h = await stack.holders();
    if (h.length !== 1) return undefined;
    const lb = await stack.clientAnswers();
    return lb === h[0] && (await stack.settled()) ? h[0] : undefined;
  };
  const end = Date.now() + timeoutMs;
  for (;;) {
    const holder = await until(what, once, Math.max(1000, end - Date.now()), 300);
    const since = Date.now();
    // Still the same holder a few seconds later: no move (preempt, failback) under way.
    await sleep(STABLE_MS);
    if ((await once().catch(() => undefined)) === holder) {
      stack.steadyAt = { holder, at: Date.now() };
      return { holder, since };
    }
  }
}
const STABLE_MS = 3000;

async function oneRun(stack, scenario, runNo, workDir) {
  const state = stack.state;
  const lab = Lab.attach(state.lab);
  // The previous run ended on a steady cluster: go on from there.
  const holder =
    stack.steadyAt && Date.now() - stack.steadyAt.at < 2000 ? stack.steadyAt.holder : (await steady(stack, `${stack.name}: a steady VIP holder`, 90_000)).holder;
  const poller = new HttpPoller(lab, state.client, `http://${state.vip}/`, workDir);
  const splits = [];
  try {
    await until(`${stack.name}: the client answered by ${holder}`, () => poller.lastOk()?.lb === holder, 10_000, 50);
    // A steady second, then the failure at a random phase of the peers' timers.
    await sleep(1000 + Math.floor(Math.random() * 1000));
    const t = Date.now();
    if (scenario === 'crash') await stack.crash(holder);
    else await stack.graceful(holder);
    const sw = await until(`${stack.name}: the other balancer to answer after ${scenario} of ${holder}`, () => switchOf(poller, t, holder), 60_000, 50);
    // Converged: one second after the switch; then look for two holders / two balancers answering.
    await sleep(2000);
    const g = switchOf(poller, t, holder);
    const lbs = answeredBy(poller, sw.at + 1000, Date.now());
    const holders = await stack.holders();
    if (lbs.length > 1) splits.push(`answered by ${lbs.join('+')} after the switch`);
    if (holders.length > 1) splits.push(`VIP on ${holders.join('+')} after the switch`);
    // Bring the node back as it was, and look again once the cluster is whole.
    if (scenario === 'crash') await stack.recoverCrash(holder);
    else await stack.recoverGraceful(holder);
    const whole = await steady(stack, `${stack.name}: the cluster to be whole again after ${scenario} of ${holder}`, 90_000);
    const after = await stack.holders();
    const lbsAfter = answeredBy(poller, whole.since, Date.now());
    if (after.length > 1) splits.push(`VIP on ${after.join('+')} after ${holder} came back`);
    if (lbsAfter.length > 1) splits.push(`answered by ${lbsAfter.join('+')} after ${holder} came back`);
    return { ...g, holder, splits };
  } finally {
    await poller.stop();
  }
}

// ------------------------------------------------------------------ run it

const t0 = Date.now();
const results = {}; // stack -> scenario -> {gaps, failed, splits, errors}
const memory = {};
const skipped = {};
const work = mkdtempSync(path.join(tmpdir(), 'belay-failover-'));
const factories = {
  belay: (n) => belayStack(n, log),
  pacemaker: (n) => pacemakerStack(n, log),
  keepalived: (n) => keepalivedStack(n, log, path.join(work, 'keepalived')),
};

for (const peer of PEERS) {
  if (peer === 'pacemaker') {
    const why = ensurePacemaker();
    if (why) {
      skipped[peer] = why;
      log(`pacemaker: SKIPPED: ${why}`);
      continue;
    }
  }
  const stack = factories[peer](`fb${peer[0]}${process.pid % 10000}`);
  results[peer] = {};
  const ts = Date.now();
  try {
    log(`== ${peer}: lab up`);
    await stack.up();
    await steady(stack, `${peer}: the VIP to answer`, 90_000);
    await sleep(3000); // idle, settled
    memory[peer] = stack.memory();
    for (const scenario of SCENARIOS) {
      const cell = (results[peer][scenario] = { gaps: [], failed: [], splits: [], errors: [] });
      for (let r = 0; r < RUNS; r++) {
        const runDir = mkdtempSync(path.join(work, `${peer}-${scenario}-${r}-`));
        try {
          const g = await oneRun(stack, scenario, r, runDir);
          cell.gaps.push(g.gapMs);
          cell.failed.push(g.failed);
          cell.splits.push(...g.splits);
          log(`  ${peer} ${scenario} run ${r + 1}: ${g.holder} -> ${g.to}: gap ${g.gapMs} ms, ${g.failed} failed requests${g.failed ? ` (${Object.entries(g.why).map(([k, v]) => `${v} ${k}`).join(', ')})` : ''}${g.splits.length ? `, SPLIT BRAIN: ${g.splits.join('; ')}` : ''}`);
        } catch (err) {
          cell.errors.push(err.message);
          log(`  ${peer} ${scenario} run ${r + 1}: ERROR ${err.message}`);
          // The next run starts from whatever state the cluster reaches; give it time.
          await sleep(3000);
        }
      }
    }
  } catch (err) {
    skipped[peer] = `failed: ${err.message}`;
    log(`${peer}: FAILED: ${err.message}`);
  } finally {
    if (KEEP) log(`  ${peer}: lab left up in ${stack.logs?.() ?? '?'}; take it down with: node bin/belay lab down --name ${stack.state?.name}`);
    else await stack.down().catch((e) => log(`${peer}: teardown: ${e.message}`));
    log(`  ${peer}: ${Math.round((Date.now() - ts) / 1000)} s`);
  }
}
if (!KEEP) rmSync(work, { recursive: true, force: true });

// ------------------------------------------------------------------ report

const fmt = (s) => (s ? `${s.median} (${s.min}–${s.max})` : 'n/a');
const cellText = (peer, scenario) => {
  const c = results[peer]?.[scenario];
  if (!c) return { gap: skipped[peer] ? 'n/a' : 'n/a', failed: 'n/a', gapStats: null };
  const err = c.errors.length ? ` [${c.errors.length} run(s) failed]` : '';
  return { gap: `${fmt(stats(c.gaps))}${err}`, failed: fmt(stats(c.failed)), gapStats: stats(c.gaps) };
};
const label = { crash: 'crash / reboot of the VIP holder', graceful: 'graceful: crm node standby (keepalived: daemon stopped)' };

console.log(`\nFailover of the tutorial topology (2 LBs: haproxy clone + floating IP; 2 nginx apps; client every 10 ms, 100 ms timeout)`);
console.log(`${RUNS} runs per cell; ${Math.round((Date.now() - t0) / 1000)} s total; ${new Date().toISOString()}`);
console.log(`command: node bench/failover.mjs ${args.join(' ')}`.trim());
for (const [p, why] of Object.entries(skipped)) console.log(`${p}: ${why}`);
console.log('');
console.log(`| scenario | ${PEERS.map((p) => `${p} gap ms, median (min–max) | ${p} failed req`).join(' | ')} |${PEERS.filter((p) => p !== 'belay').map((p) => ` belay/${p} |`).join('')}`);
console.log(`|---|${PEERS.map(() => '---|---|').join('')}${PEERS.filter((p) => p !== 'belay').map(() => '---|').join('')}`);
for (const s of SCENARIOS) {
  const cells = PEERS.map((p) => cellText(p, s));
  const b = cellText('belay', s).gapStats;
  const ratios = PEERS.filter((p) => p !== 'belay').map((p) => {
    const k = cellText(p, s).gapStats;
    return b && k ? (b.median / k.median).toFixed(2) : 'n/a';
  });
  console.log(`| ${label[s]} | ${cells.map((c) => `${c.gap} | ${c.failed}`).join(' | ')} |${ratios.map((r) => ` ${r} |`).join('')}`);
}
console.log('');
console.log('Split-brain observations (after convergence: VIP on two hosts, or two balancers answering):');
for (const p of PEERS) {
  for (const s of SCENARIOS) {
    const c = results[p]?.[s];
    if (!c) continue;
    console.log(`  ${p} ${s}: ${c.splits.length}${c.splits.length ? ` (${c.splits.join('; ')})` : ''} in ${c.gaps.length} runs`);
  }
}
console.log('');
console.log('Idle memory per node (RSS, MB; the daemon and its child processes):');
const mb = (x) => x.mb.toFixed(1);
for (const [p, nodes] of Object.entries(memory)) {
  for (const n of nodes) {
    if (p === 'belay') console.log(`  belay      ${n.node}: belayd ${mb(n.belayd)} (${n.belayd.processes.join(', ')})`);
    if (p === 'pacemaker') console.log(`  pacemaker  ${n.node}: corosync ${mb(n.corosync)} + pacemaker ${mb(n.pacemaker)} = ${(n.corosync.mb + n.pacemaker.mb).toFixed(1)} (${n.pacemaker.processes.join(', ')})`);
    if (p === 'keepalived') console.log(`  keepalived ${n.node}: keepalived ${mb(n.keepalived)} (${n.keepalived.processes.join(', ')})`);
  }
}
const errors = Object.values(results).some((r) => Object.values(r).some((c) => c.errors.length)) || Object.keys(skipped).length > 0;
process.exitCode = errors ? 1 : 0;
