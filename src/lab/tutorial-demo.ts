/**
 * The seed tutorial (Corosync + Pacemaker, HAProxy and a floating IP) on
 * belay: two load balancers and two nginx app servers in the lab, the
 * tutorial's own crm commands, crm_mon, then a reboot of the active load
 * balancer while a client asks the floating IP every 10 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp, powerOff, powerOn, saveLabState, type ClusterLabState } from './cluster-lab.js';
import { Lab } from './netns.js';
import { HttpPoller } from './poller.js';

const BIN = (name: string) => fileURLToPath(new URL(`../../bin/${name}`, import.meta.url));

export interface TutorialDemoResult {
  gapMs: number;
  failed: number;
  from: string;
  to: string;
  byApp: Record<string, number>;
  /** `crm_mon -1` on the surviving node after the reboot. */
  crmMonAfter: string;
  /** Nodes holding the floating IP at the end (one, unless split-brained). */
  holdersAfter: string[];
}

export interface TutorialDemoOptions {
  print?: (line: string) => void;
  /** Lab name (default "demo"). */
  name?: string;
  /** How long the rebooted machine stays off (ms). */
  offMs?: number;
}

/**
 * The tutorial's commands, verbatim but for the floating IP: belay's FloatIP
 * with a VRRP router id, so belayd holds the address on the wire with VRRP.
 */
export function tutorialCommands(vip: string): string[][] {
  return [
    ['configure', 'property', 'stonith-enabled=false'],
    ['configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', `ip=${vip}`, 'cidr_netmask=24', 'vrid=50', 'op', 'monitor', 'interval=15s'],
    ['configure', 'primitive', 'haproxy', 'ocf:heartbeat:haproxy', 'op', 'monitor', 'interval=15s'],
    ['configure', 'clone', 'haproxy-clone', 'haproxy'],
    ['configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone'],
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function runTutorialDemo(options: TutorialDemoOptions = {}): Promise<TutorialDemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const work = mkdtempSync(join(tmpdir(), 'belay-demo-'));
  let state: ClusterLabState | undefined;
  let poller: HttpPoller | undefined;
  const crm = async (node: string, args: string[], show = true) => {
    if (show) print(`${node}$ crm ${args.join(' ')}`);
    const r = await labExec(state!, node, [process.execPath, BIN('crm'), ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} failed on ${node}: ${r.all}`);
    return String(r.stdout);
  };
  const crmMon = async (node: string) => {
    print(`${node}$ crm_mon -1`);
    const r = await labExec(state!, node, [process.execPath, BIN('crm_mon'), '-1']);
    print(String(r.all).replace(/^/gm, '    '));
    return String(r.all);
  };
  /** The nodes whose eth0 holds the floating IP. */
  const vipHolders = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const n of state!.nodes) {
      const r = await labExec(state!, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      if (r.exitCode === 0 && String(r.stdout).includes(` ${state!.vip}/`)) out.push(n);
    }
    return out;
  };
  const vipHolder = async () => (await vipHolders())[0];
  try {
    print('== The tutorial: two load balancers with haproxy and a floating IP, two nginx app servers');
    state = await labUp({ name: options.name ?? 'demo', nodes: 2, apps: 2, daemonArgv: belaydArgv() });
    const lab = Lab.attach(state.lab);
    for (const h of state.lab.hosts) print(`   ${h.name.padEnd(7)} ${h.address}`);
    print(`   floating IP ${state.vip}`);
    await until('the two load balancers to form a cluster', async () => ((await crm('n1', ['configure', 'show'], false)).includes('node 2: n2') ? true : undefined), 20_000);
    print('');
    for (const args of tutorialCommands(state.vip)) await crm('n1', args);
    const holder = await until('the floating IP to come up', vipHolder, 30_000);
    await until('haproxy to answer on the floating IP', async () => {
      const r = await labExec(state!, 'client', ['curl', '-s', '-m', '1', `http://${state!.vip}/`]);
      return r.exitCode === 0 && String(r.stdout).startsWith('Droplet') ? true : undefined;
    }, 30_000);
    print('');
    await crmMon('n2');

    print('');
    print(`== A client asks http://${state.vip}/ every 10 ms; now reboot the active load balancer (${holder})`);
    poller = new HttpPoller(lab, 'client', `http://${state.vip}/`, work);
    await sleep(1500);
    const t0 = Date.now();
    await powerOff(state, holder);
    saveLabState(state);
    const other = state.nodes.find((n) => n !== holder)!;
    const first = await until('the floating IP to answer again', async () => poller!.gapAfter(t0), 30_000);
    print(`   ${holder} is off; the floating IP answered again from ${first.after.lb} after ${first.gapMs} ms`);
    await sleep(options.offMs ?? 2000);
    await powerOn(state, holder);
    saveLabState(state);
    print(`   ${holder} is back on`);
    await until(`${holder} to rejoin`, async () => ((await crm(other, ['configure', 'show'], false)) && (await labExec(state!, holder, ['test', '-S', '/run/belay/admin.sock'])).exitCode === 0 ? true : undefined), 30_000);
    await sleep(3000);
    await poller.stop();
    // Counted once the client has stopped: requests sent just before the
    // first new answer were still waiting out their timeout back then.
    const gap = poller.gapAfter(t0)!;
    const tally = poller.tally();
    print('');
    print('== What the client saw');
    for (const [app, n] of [...tally.byApp].sort()) print(`   ${app}: ${n} answers`);
    print(`   failed requests: ${tally.failed}`);
    print(`   failover gap: ${gap.gapMs} ms (from ${gap.before.lb} to ${gap.after.lb})`);
    print('');
    const crmMonAfter = await crmMon(other);
    const holdersAfter = await vipHolders();
    return { gapMs: gap.gapMs, failed: gap.failed, from: gap.before.lb, to: gap.after.lb, byApp: Object.fromEntries(tally.byApp), crmMonAfter, holdersAfter };
  } finally {
    await poller?.stop();
    if (state) await labDown(state);
    rmSync(work, { recursive: true, force: true });
  }
}
