#!/usr/bin/env node
/**
 * Overload: a 3-node belay cluster in the lab with N ocf:belay:Dummy
 * primitives loaded in one `crm configure load update`, then both cores kept
 * busy (one busy loop per core, started and stopped by PID) for a while.
 * Counts what must not happen: membership changes (from every belayd's log)
 * and resource moves (placement before vs after, and any start/stop the DC
 * initiated meanwhile). Reports the longest synchronous step of each belayd
 * and its event-loop delay, and how long the cluster took to start all N.
 *
 * Usage (root, after `npm run build`):
 *   node bench/overload.mjs [--resources 1000] [--seconds 300] [--busy 2] [--monitor 60s] [--json]
 *   --property NAME=VALUE  a cluster property to set as well (repeatable)
 *   --keep-logs DIR  copy each belayd's log there; --start-timeout S  how long all N may take to start
 * Exit code 1 when a membership change or a move was seen.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp } from '../dist/lab/cluster-lab.js';
import { unpack } from '../dist/scheduler/index.js';

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
const N = Number(opt('resources', '1000'));
const SECONDS = Number(opt('seconds', '300'));
const BUSY = Number(opt('busy', String(cpus().length)));
const MONITOR = opt('monitor', '60s');
const JSON_OUT = args.includes('--json');
/** Extra cluster properties, e.g. --property node-action-limit=1000 (repeatable). */
const PROPERTIES = args.flatMap((a, i) => (a === '--property' && args[i + 1] ? [args[i + 1]] : []));
/** Where to copy each belayd's log before the lab goes (default: not kept). */
const KEEP_LOGS = opt('keep-logs', undefined);
const START_TIMEOUT_MS = Number(opt('start-timeout', String(Math.max(300, N * 0.6)))) * 1000;
if (!(N >= 1) || !(SECONDS >= 1) || !(BUSY >= 0)) throw new Error('--resources, --seconds and --busy take numbers');
if (process.getuid?.() !== 0) {
  console.error('bench/overload.mjs needs root (network namespaces); run it as root after npm run build');
  process.exit(2);
}
const CRM = fileURLToPath(new URL('../bin/crm', import.meta.url));
const SOCKET_JS = fileURLToPath(new URL('../dist/admin/socket.js', import.meta.url));
const log = (s) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let lab;
const busy = [];
const work = mkdtempSync(join(tmpdir(), 'belay-overload-'));
const admin = async (node, cmd) => {
  const script = `const { adminCall } = await import(${JSON.stringify(SOCKET_JS)}); process.stdout.write(JSON.stringify(await adminCall('/run/belay/admin.sock', ${JSON.stringify(cmd)}, {}, { timeoutMs: 20000 })));`;
  const r = await labExec(lab, node, [process.execPath, '--input-type=module', '-e', script]);
  if (r.exitCode !== 0) throw new Error(`admin ${cmd} on ${node}: ${r.all}`);
  return JSON.parse(String(r.stdout));
};
/** rsc -> node, as a node's replica says (Dummies only). */
const placement = async (node) => {
  const s = await admin(node, 'status');
  const ws = unpack(s.cib, Math.floor(Date.now() / 1000));
  const out = new Map();
  for (const r of ws.resources) if (r.id.startsWith('d')) out.set(r.id, r.running.map((n) => n.name).sort().join(','));
  return out;
};
const until = async (what, probe, timeoutMs) => {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = String(err);
    }
    await sleep(1000);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 300)})`);
};
const logOf = (n) => readFileSync(join(lab.dir, n, 'belayd.log'), 'utf8');
const count = (text, re) => (text.match(re) ?? []).length;

/** What each node says when something timed out (for the report). */
const diagnose = async () => {
  for (const n of lab?.nodes ?? []) {
    try {
      const s = await admin(n, 'status');
      const ring = await admin(n, 'ring-status');
      log(`${n}: members [${s.membership.members.join(' ')}] synced ${s.synced} dc ${s.dc?.name ?? 'none'} transition ${JSON.stringify(s.transition)} delivered ${ring.counters.delivered} steps ${JSON.stringify(ring.steps)}`);
    } catch (err) {
      log(`${n}: ${err.message}`);
    }
  }
};

const cleanup = async () => {
  for (const p of busy.splice(0)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (lab && KEEP_LOGS) {
    mkdirSync(KEEP_LOGS, { recursive: true });
    for (const n of lab.nodes) copyFileSync(join(lab.dir, n, 'belayd.log'), join(KEEP_LOGS, `${n}-belayd.log`));
    log(`belayd logs kept in ${KEEP_LOGS}`);
  }
  if (lab) await labDown(lab).catch((e) => log(`lab down: ${e.message}`));
  lab = undefined;
  rmSync(work, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  lab = await labUp({ name: `ov${process.pid % 10000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
  await until('a synced 3-node ring', async () => {
    for (const n of lab.nodes) {
      const s = await admin(n, 'status');
      if (s.membership.members.length !== 3 || !s.synced) return undefined;
    }
    return true;
  }, 60_000);
  const lines = [`property stonith-enabled=false${PROPERTIES.map((p) => ` ${p}`).join('')}`, 'rsc_defaults resource-stickiness=1'];
  for (let i = 1; i <= N; i++) lines.push(`primitive d${i} ocf:belay:Dummy params state=/run/overload-d${i}.state op monitor interval=${MONITOR} timeout=20s`);
  const file = join(work, 'overload.crm');
  writeFileSync(file, `${lines.join('\n')}\n`);
  // The node reads the file through its own mount namespace: /tmp is shared.
  const t0 = Date.now();
  const r = await labExec(lab, 'n1', [process.execPath, CRM, 'configure', 'load', 'update', file]);
  if (r.exitCode !== 0) throw new Error(`crm configure load update: ${r.all}`);
  log(`loaded ${N} primitives in ${Date.now() - t0} ms; waiting for all to start`);
  const startLog = Object.fromEntries(lab.nodes.map((n) => [n, logOf(n).length]));
  const started = await until(`all ${N} started`, async () => {
    const p = await placement('n1');
    const up = [...p.values()].filter((v) => v && !v.includes(',')).length;
    return up === N ? p : undefined;
  }, START_TIMEOUT_MS);
  const startMs = Date.now() - t0;
  const ringChangesDuringStart = lab.nodes.reduce((sum, n) => sum + count(logOf(n).slice(startLog[n]), /membership: ring/g), 0);
  log(`all ${N} started after ${startMs} ms (${ringChangesDuringStart} membership events logged meanwhile, all nodes)`);
  await sleep(5000);
  const before = await placement('n1');
  const mark = Object.fromEntries(lab.nodes.map((n) => [n, logOf(n).length]));

  for (let i = 0; i < BUSY; i++) {
    const p = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    busy.push(p);
  }
  log(`${BUSY} busy loops (pids ${busy.map((p) => p.pid).join(' ')}) for ${SECONDS} s`);
  await sleep(SECONDS * 1000);
  for (const p of busy.splice(0)) process.kill(p.pid, 'SIGKILL');
  log('busy loops stopped');
  await sleep(3000);

  const after = await placement('n1');
  const moved = [...before.keys()].filter((k) => before.get(k) !== after.get(k));
  const per = [];
  let membershipChanges = 0;
  let initiated = 0;
  for (const n of lab.nodes) {
    const text = logOf(n).slice(mark[n]);
    const changes = count(text, /membership: ring/g);
    membershipChanges += changes;
    initiated += count(text, /Initiating (start|stop|promote|demote) operation/g);
    const ring = await admin(n, 'ring-status');
    per.push({
      node: n,
      membershipChanges: changes,
      slowSteps: ring.steps.slowSteps,
      longestStepMs: ring.steps.longestStepMs,
      longestStep: ring.steps.longestStep,
      longestStepCpuMs: ring.steps.longestStepCpuMs,
      longestStepCpu: ring.steps.longestStepCpu,
      loopDelayMaxMs: ring.steps.loopDelayMaxMs,
      loopDelayP99Ms: ring.steps.loopDelayP99Ms,
    });
  }
  const result = { resources: N, seconds: SECONDS, busyLoops: BUSY, startAllMs: startMs, ringChangesDuringStart, membershipChanges, resourceMoves: moved.length, startsStopsInitiated: initiated, nodes: per };
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    console.log(`belay overload: ${N} Dummy primitives, 3 nodes, ${BUSY} busy loops for ${SECONDS} s`);
    console.log(`  all started after        ${(startMs / 1000).toFixed(1)} s (membership events meanwhile: ${ringChangesDuringStart})`);
    console.log(`  membership changes       ${membershipChanges}`);
    console.log(`  resource moves           ${moved.length} (starts/stops initiated: ${initiated})`);
    console.log('  node  longest step, wall clock (what)          most CPU in one step (what)              slow steps (>50 ms wall)  loop delay max / p99');
    for (const p of per) {
      console.log(
        `  ${p.node.padEnd(5)} ${`${p.longestStepMs} ms (${p.longestStep})`.padEnd(42)} ${`${p.longestStepCpuMs ?? '?'} ms (${p.longestStepCpu ?? '?'})`.padEnd(40)} ${String(p.slowSteps).padEnd(25)} ${p.loopDelayMaxMs} / ${p.loopDelayP99Ms} ms`,
      );
    }
  }
  process.exitCode = membershipChanges === 0 && moved.length === 0 && initiated === 0 ? 0 : 1;
} catch (err) {
  log(String(err.stack ?? err));
  await diagnose();
  process.exitCode = 1;
} finally {
  await cleanup();
}
