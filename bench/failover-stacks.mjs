/**
 * The three stacks of bench/failover.mjs, each on the same lab topology
 * (src/lab/cluster-lab.ts: load balancers n1 n2 running haproxy with the
 * seed tutorial's haproxy.cfg, app servers app1 app2 running nginx, a
 * client): belay (belayd + the tutorial's crm commands), stock Pacemaker 2.1
 * + Corosync 3 (src/lab/pacemaker-lab.ts) and stock keepalived (VRRP only,
 * haproxy started by hand as in the Keepalived seeds).
 *
 * A stack driver: up() builds and configures it; holders() lists the nodes
 * whose eth0 has the VIP; crash(n)/recoverCrash(n) power-cycle a node;
 * graceful(n)/recoverGraceful(n) are `crm node standby|online` (keepalived:
 * stop and start the daemon); settled() says the cluster is whole again;
 * memory() gives the idle RSS of the cluster daemons per node; down().
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp, powerOff, powerOn } from '../dist/lab/cluster-lab.js';
import { machineSpawn } from '../dist/lab/machine.js';
import { Lab } from '../dist/lab/netns.js';
import { STOCK_KEEPALIVED, keepalivedConf, startDaemon, stopDaemon } from '../dist/lab/keepalived-demo.js';
import { pacemakerLabUp, pacemakerPowerOn, pacemakerTutorialCommands, stockCrm } from '../dist/lab/pacemaker-lab.js';
import { tutorialCommands } from '../dist/lab/tutorial-demo.js';

const BIN = (name) => fileURLToPath(new URL(`../bin/${name}`, import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, probe, timeoutMs, everyMs = 200) {
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

async function vipHolders(state) {
  const out = [];
  for (const n of state.nodes) {
    if (state.init[n] === undefined) continue;
    const r = await labExec(state, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    if (r.exitCode === 0 && String(r.stdout).includes(` ${state.vip}/`)) out.push(n);
  }
  return out;
}

async function clientAnswers(state) {
  const r = await labExec(state, state.client, ['curl', '-s', '-m', '1', '-D', '-', `http://${state.vip}/`]);
  if (r.exitCode !== 0) return undefined;
  return /x-served-by: (\S+)/i.exec(String(r.stdout))?.[1];
}

// ------------------------------------------------------------ process memory

function procInfo(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return { pid, ppid, rssKb, cmdline, comm };
  } catch {
    return undefined;
  }
}

/**
 * RSS (MB) of the process trees of a host rooted at processes matching
 * `isRoot`: the daemon and every child it has at that moment.
 */
export function treeRssMb(state, host, isRoot) {
  const lab = Lab.attach(state.lab);
  const procs = lab.pids(host).map(procInfo).filter(Boolean);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const inTree = (p) => {
    for (let q = p; q; q = byPid.get(q.ppid)) if (isRoot(q)) return true;
    return false;
  };
  const members = procs.filter(inTree);
  return { mb: members.reduce((s, p) => s + p.rssKb, 0) / 1024, processes: members.map((p) => p.comm) };
}

// ------------------------------------------------------------------- belay

export function belayStack(name, log) {
  let state;
  const crm = async (node, args) => {
    const r = await labExec(state, node, [process.execPath, BIN('crm'), ...args]);
    if (r.exitCode !== 0) throw new Error(`belay: crm ${args.join(' ')} on ${node}: ${String(r.all).trim()}`);
    return String(r.stdout);
  };
  const crmMon = async (node) => String((await labExec(state, node, [process.execPath, BIN('crm_mon'), '-1'])).all);
  return {
    name: 'belay',
    get state() {
      return state;
    },
    async up() {
      state = await labUp({ name, nodes: 2, apps: 2, daemonArgv: belaydArgv() });
      await until('belay: the two nodes to form a cluster', async () => (await crm('n1', ['configure', 'show'])).includes('node 2: n2'), 30_000, 300);
      for (const args of tutorialCommands(state.vip)) {
        log(`  belay n1$ crm ${args.join(' ')}`);
        await crm('n1', args);
      }
    },
    holders: () => vipHolders(state),
    clientAnswers: () => clientAnswers(state),
    async settled() {
      const other = state.nodes.find((n) => state.init[n] !== undefined);
      const mon = await crmMon(other);
      return mon.includes('Online: [ n1 n2 ]') && mon.includes('Started: [ n1 n2 ]') && /FloatIP\s.*Started/.test(mon);
    },
    crash: (n) => powerOff(state, n),
    recoverCrash: (n) => powerOn(state, n),
    graceful: (n) => crm(n === 'n1' ? 'n2' : 'n1', ['node', 'standby', n]),
    recoverGraceful: (n) => crm(n === 'n1' ? 'n2' : 'n1', ['node', 'online', n]),
    memory() {
      return state.nodes.map((n) => ({ node: n, belayd: treeRssMb(state, n, (p) => p.cmdline.includes(BIN('belay')) && p.cmdline.includes(' daemon')) }));
    },
    async down() {
      if (state) await labDown(state);
    },
    logs: () => state?.dir,
  };
}

// --------------------------------------------------------------- pacemaker

export function pacemakerStack(name, log) {
  let state;
  const crm = async (node, args) => {
    const r = await stockCrm(state, node, args);
    if (r.exitCode !== 0) throw new Error(`pacemaker: crm ${args.join(' ')} on ${node}: ${String(r.all).trim()}`);
    return String(r.stdout);
  };
  const crmMon = async (node) => String((await labExec(state, node, ['crm_mon', '-1'])).all);
  return {
    name: 'pacemaker',
    get state() {
      return state;
    },
    async up() {
      state = await pacemakerLabUp({ name, nodes: 2, apps: 2 });
      await until('pacemaker: the two nodes to form a cluster', async () => (await crmMon('n1')).includes('Online: [ n1 n2 ]'), 60_000, 500);
      for (const args of pacemakerTutorialCommands(state.vip)) {
        log(`  pacemaker n1$ crm ${args.join(' ')}`);
        await crm('n1', args);
      }
    },
    holders: () => vipHolders(state),
    clientAnswers: () => clientAnswers(state),
    async settled() {
      const other = state.nodes.find((n) => state.init[n] !== undefined);
      const mon = await crmMon(other);
      return mon.includes('Online: [ n1 n2 ]') && mon.includes('Started: [ n1 n2 ]') && /FloatIP\s.*Started/.test(mon);
    },
    crash: (n) => powerOff(state, n),
    recoverCrash: (n) => pacemakerPowerOn(state, n),
    graceful: (n) => crm(n === 'n1' ? 'n2' : 'n1', ['node', 'standby', n]),
    recoverGraceful: (n) => crm(n === 'n1' ? 'n2' : 'n1', ['node', 'online', n]),
    memory() {
      return state.nodes.map((n) => ({
        node: n,
        corosync: treeRssMb(state, n, (p) => p.comm === 'corosync'),
        pacemaker: treeRssMb(state, n, (p) => p.comm === 'pacemakerd'),
      }));
    },
    async down() {
      if (state) await labDown(state);
    },
    logs: () => state?.dir,
  };
}

// -------------------------------------------------------------- keepalived

/**
 * Stock keepalived, the Nginx/HAProxy + Keepalived seeds' way: haproxy runs
 * on both balancers all the time, VRRP (advert_int 1, n1 MASTER 101, n2
 * BACKUP 100, preempt) decides who holds the VIP.
 */
export function keepalivedStack(name, log, workDir, advertInt = 1) {
  let state;
  const daemons = {};
  const startNode = (n) => {
    const lab = Lab.attach(state.lab);
    machineSpawn(state.init[n], ['haproxy', '-db', '-f', '/etc/haproxy/haproxy.cfg'], path.join(state.dir, n, 'haproxy.out'));
    const dir = path.join(workDir, `keepalived-${n}`);
    mkdirSync(dir, { recursive: true });
    const conf = path.join(dir, 'keepalived.conf');
    const master = n === 'n1';
    writeFileSync(conf, keepalivedConf({ state: master ? 'MASTER' : 'BACKUP', priority: master ? 101 : 100, advertInt, vip: state.vip, mcastSrcIp: lab.host(n).address }));
    daemons[n] = startDaemon(lab, n, 'keepalived', conf, dir);
    startedAt[n] = Date.now();
  };
  // A (re)started keepalived waits master_down_interval (3 × advert_int + skew) before it preempts:
  // the pair is settled only once that has passed, else the preemption would fall inside a run.
  const startedAt = {};
  const settleMs = (3 * advertInt + 2) * 1000;
  return {
    name: 'keepalived',
    get state() {
      return state;
    },
    async up() {
      state = await labUp({ name, nodes: 2, apps: 2 });
      log(`  keepalived: ${STOCK_KEEPALIVED} advert_int ${advertInt} on n1 (MASTER 101) and n2 (BACKUP 100), haproxy on both`);
      for (const n of state.nodes) startNode(n);
    },
    holders: () => vipHolders(state),
    clientAnswers: () => clientAnswers(state),
    async settled() {
      return state.nodes.every((n) => daemons[n] && daemons[n].child.exitCode === null && daemons[n].child.signalCode === null && Date.now() - startedAt[n] > settleMs);
    },
    crash: (n) => powerOff(state, n),
    async recoverCrash(n) {
      await powerOn(state, n);
      startNode(n);
    },
    graceful: (n) => stopDaemon(daemons[n], 5000),
    async recoverGraceful(n) {
      const lab = Lab.attach(state.lab);
      const dir = path.join(workDir, `keepalived-${n}`);
      daemons[n] = startDaemon(lab, n, 'keepalived', path.join(dir, 'keepalived.conf'), dir);
      startedAt[n] = Date.now();
    },
    memory() {
      return state.nodes.map((n) => ({ node: n, keepalived: treeRssMb(state, n, (p) => p.comm === 'keepalived') }));
    },
    async down() {
      for (const d of Object.values(daemons)) await stopDaemon(d, 1000).catch(() => undefined);
      if (state) await labDown(state);
    },
    logs: () => workDir,
  };
}
