#!/usr/bin/env node
/**
 * VRRP failover benchmark: belay keepalived vs stock keepalived, same
 * keepalived.conf, same lab, same run.
 *
 * Two LB hosts (nginx + the VRRP daemon) and a client polling the VIP over
 * HTTP every 10 ms (100 ms timeout), in network namespaces. Scenarios:
 *   crash     Lab.crash of the master: every process killed, link down
 *   graceful  SIGTERM to the master's daemon (priority-0 advert)
 *   script    nginx killed on the master; chk_nginx (interval 1, fall 2,
 *             weight -20) lowers its priority below the backup's
 * Gap = first request answered by the new master − last request answered
 * by the old one. Both daemons speak VRRP on the wire (IP protocol 112).
 * Pairs: `belay` (belay on both LB hosts), `keepalived` (stock keepalived on
 * both), `mixed` (keepalived MASTER on lb1, belay BACKUP on lb2: one VRRP
 * group, belay taking over from keepalived).
 *
 * Usage (root, after `npm run build`):
 *   node bench/vrrp-failover.mjs [--keep] [--runs N] [--pairs belay,keepalived,mixed] [--configs v2_1s,v3_100ms] [--scenarios crash,graceful,script]
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Lab } from '../dist/lab/netns.js';
import {
  STOCK_KEEPALIVED,
  VipPoller,
  hasVip,
  keepalivedConf,
  killNginx,
  makeWorkDir,
  requireKeepalivedLab,
  sleep,
  startDaemon,
  startNginx,
  stopDaemon,
  waitFor,
  writeCheckScript,
} from '../dist/lab/keepalived-demo.js';
import { requireCommands } from '../dist/lab/netns.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('runs', '5'));
const PAIRS = opt('pairs', opt('only', '') || 'belay,keepalived,mixed').split(',');
const CONFIGS = opt('configs', 'v2_1s,v3_100ms').split(',');
const SCENARIOS = opt('scenarios', 'crash,graceful,script').split(',');
const KEEP = args.includes('--keep');

requireKeepalivedLab('the VRRP failover benchmark');
if (PAIRS.some((p) => p !== 'belay')) requireCommands('the VRRP failover benchmark', { [STOCK_KEEPALIVED]: 'keepalived' });

const CONFIG_DEFS = {
  v2_1s: { version: 2, advertInt: 1, label: 'VRRPv2 advert_int 1' },
  v3_100ms: { version: 3, advertInt: 0.1, label: 'VRRPv3 advert_int 0.1' },
};

const daemonsToRun = PAIRS;
/** Which daemon runs on which LB host in a pair. */
const impl = (pair, host) => (pair === 'mixed' ? (host === 'lb1' ? 'keepalived' : 'belay') : pair);

async function oneRun(lab, work, daemon, cfgName, scenario, runNo) {
  const cfg = CONFIG_DEFS[cfgName];
  const vip = `${lab.subnet}.100`;
  // Fresh hosts: nothing running, no VIP, links up.
  for (const h of ['lb1', 'lb2']) {
    lab.killAll(h);
    await lab.setLink(h, true);
  }
  await sleep(200);
  for (const h of ['lb1', 'lb2']) await lab.exec(h, ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0'], { reject: false });
  const runDir = path.join(work, `${daemon}-${cfgName}-${scenario}-${runNo}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(runDir, { recursive: true });
  const check = writeCheckScript(runDir);
  const handles = {};
  for (const [h, state, priority] of [
    ['lb1', 'MASTER', 101],
    ['lb2', 'BACKUP', 100],
  ]) {
    startNginx(lab, h, runDir);
    const conf = path.join(runDir, `keepalived-${h}.conf`);
    writeFileSync(
      conf,
      keepalivedConf({ state, priority, advertInt: cfg.advertInt, version: cfg.version, vip, checkScript: { path: check, interval: 1, weight: -20, fall: 2, rise: 2 } }),
    );
    handles[h] = startDaemon(lab, h, impl(daemon, h), conf, runDir);
  }
  const poller = new VipPoller(lab, 'client', vip, runDir);
  try {
    await waitFor(() => hasVip(lab, 'lb1', vip), 20000, `${daemon}: lb1 to hold the VIP`);
    await waitFor(() => poller.lastOk()?.who === 'lb1', 10000, `${daemon}: lb1 to answer`);
    // The backup must be up and following lb1 before the failure (belay's node start is slower than keepalived's).
    await waitFor(() => backupReady(handles.lb2, impl(daemon, 'lb2'), lab.host('lb1').address), 20000, `${daemon}: lb2 to follow lb1 as BACKUP`);
    // A steady second before the failure, at a random phase of the advert interval.
    await sleep(500 + Math.floor(Math.random() * cfg.advertInt * 1000));
    const t = Date.now();
    if (KEEP) writeFileSync(path.join(runDir, 'event-at.txt'), `${new Date(t).toISOString()}\n`);
    if (scenario === 'crash') await lab.crash('lb1');
    else if (scenario === 'graceful') handles.lb1.child.kill('SIGTERM');
    else if (scenario === 'script') killNginx(lab, 'lb1');
    await waitFor(() => poller.gap(t, 'lb1'), 20000, `${daemon}: lb2 to answer after ${scenario}`);
    // Let requests still in flight (100 ms timeout) land before counting failures.
    await sleep(300);
    return poller.gap(t, 'lb1');
  } finally {
    await poller.stop();
    for (const h of ['lb1', 'lb2']) await stopDaemon(handles[h], 1500);
    lab.killAll('lb1');
    lab.killAll('lb2');
  }
}

function backupReady(h, kind, masterAddress) {
  try {
    if (kind === 'belay') {
      const s = JSON.parse(readFileSync(h.statusFile, 'utf8'));
      return s.status.instances[0]?.state === 'BACKUP' && s.status.instances[0]?.masterAddress === masterAddress;
    }
    return readFileSync(h.logFile, 'utf8').includes('Entering BACKUP STATE');
  } catch {
    return false;
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const med = s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
  return { min: s[0], median: med, max: s[s.length - 1] };
};

const results = [];
const t0 = Date.now();
for (const daemon of daemonsToRun) {
  const lab = await Lab.create({ tag: `vb${process.pid % 10000}${daemon[0]}` });
  const work = makeWorkDir(`belay-vbench-${daemon}-`);
  try {
    await lab.addHost('lb1');
    await lab.addHost('lb2');
    await lab.addHost('client');
    for (const cfgName of CONFIGS) {
      for (const scenario of SCENARIOS) {
        const gaps = [];
        const failed = [];
        let errors = 0;
        for (let r = 0; r < RUNS; r++) {
          try {
            const g = await oneRun(lab, work, daemon, cfgName, scenario, r);
            gaps.push(g.gapMs);
            failed.push(g.failed);
            process.stderr.write(`  ${daemon} ${cfgName} ${scenario} run ${r + 1}: gap ${g.gapMs} ms, ${g.failed} failed requests\n`);
          } catch (err) {
            errors++;
            process.stderr.write(`  ${daemon} ${cfgName} ${scenario} run ${r + 1}: ERROR ${err.message}\n`);
          }
        }
        results.push({ daemon, cfgName, scenario, gap: stats(gaps), failed: stats(failed), runs: gaps.length, errors });
      }
    }
  } finally {
    await lab.destroy();
    if (KEEP) process.stderr.write(`  logs kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (s) => (s ? `${s.median} (${s.min}–${s.max})` : 'n/a');
console.log(`\nVRRP failover, client polling the VIP over HTTP every 10 ms; ${RUNS} runs per cell; ${Math.round((Date.now() - t0) / 1000)} s total`);
console.log(`command: node bench/vrrp-failover.mjs ${args.join(' ')}`.trim());
console.log('');
console.log('| config | scenario | belay gap ms, median (min–max) | belay failed req | keepalived gap ms, median (min–max) | keepalived failed req | belay/keepalived | mixed (keepalived→belay) gap ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const cfgName of CONFIGS) {
  for (const scenario of SCENARIOS) {
    const b = results.find((r) => r.daemon === 'belay' && r.cfgName === cfgName && r.scenario === scenario);
    const k = results.find((r) => r.daemon === 'keepalived' && r.cfgName === cfgName && r.scenario === scenario);
    const m = results.find((r) => r.daemon === 'mixed' && r.cfgName === cfgName && r.scenario === scenario);
    const ratio = b?.gap && k?.gap ? (b.gap.median / k.gap.median).toFixed(2) : 'n/a';
    const err = (x) => (x && x.errors ? ` [${x.errors} run(s) failed]` : '');
    console.log(
      `| ${CONFIG_DEFS[cfgName].label} | ${scenario} | ${fmt(b?.gap)}${err(b)} | ${b?.failed ? b.failed.median : 'n/a'} | ${fmt(k?.gap)}${err(k)} | ${k?.failed ? k.failed.median : 'n/a'} | ${ratio} | ${fmt(m?.gap)}${err(m)} |`,
    );
  }
}
const anyErrors = results.some((r) => r.errors > 0);
process.exitCode = anyErrors ? 1 : 0;
