/**
 * The seed tutorial (Corosync + Pacemaker, HAProxy and a floating IP) on
 * belay, with fencing as Pacemaker wants it: two load balancers and two
 * nginx app servers in the lab, the lab's power switch as fence device
 * (stonith:fence_belay_lab), the tutorial's own crm commands, crm_mon; then
 * the active load balancer's cable is pulled (its network and its line to
 * the power switch) while a client asks the floating IP every 10 ms. The
 * other balancer powers it off through the switch before it takes the
 * floating IP, so no moment has two holders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labPartition, labUp, loadLabState, type ClusterLabState } from './cluster-lab.js';
import { Lab } from './netns.js';
import { answeringRuns, HttpPoller, VipSampler } from './poller.js';

const BIN = (name: string) => fileURLToPath(new URL(`../../bin/${name}`, import.meta.url));

export interface TutorialDemoResult {
  /** Client-visible outage: last answer before the cut to the first after it. */
  gapMs: number;
  failed: number;
  from: string;
  to: string;
  byApp: Record<string, number>;
  /** The balancers that answered the client from the cut on, in order (one handover: [from, to]). */
  answeredBy: string[];
  /** Samples (every 50 ms, `ip addr` on both balancers) with the VIP on two machines at once. */
  twoHolderSamples: number;
  samples: number;
  /** Power cycles of the cut-off balancer, from the lab's switch. */
  powerCycles: number;
  /** `crm_mon -1 -m` on the survivor once the fenced balancer is back. */
  crmMonAfter: string;
  /** Nodes holding the floating IP at the end (one, unless split-brained). */
  holdersAfter: string[];
}

export interface TutorialDemoOptions {
  print?: (line: string) => void;
  /** Lab name (default "demo"). */
  name?: string;
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

/**
 * The tutorial with fencing on: the lab's power switch as the fence device
 * (no parameters needed), and resource stickiness so the floating IP stays
 * on the survivor when the fenced balancer comes back (without it the
 * scheduler moves it back to even out the nodes, a second interruption).
 */
export function fencedTutorialCommands(vip: string): string[][] {
  return [
    ['configure', 'primitive', 'fence-lab', 'stonith:fence_belay_lab'],
    ['configure', 'property', 'stonith-enabled=true'],
    ['configure', 'rsc_defaults', 'resource-stickiness=100'],
    ...tutorialCommands(vip).filter((c) => !c.includes('stonith-enabled=false')),
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
  const name = options.name ?? 'demo';
  let state: ClusterLabState | undefined;
  let poller: HttpPoller | undefined;
  let sampler: VipSampler | undefined;
  const crm = async (node: string, args: string[], show = true) => {
    if (show) print(`${node}$ crm ${args.join(' ')}`);
    const r = await labExec(state!, node, [process.execPath, BIN('crm'), ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} failed on ${node}: ${r.all}`);
    return String(r.stdout);
  };
  const crmMon = async (node: string, args: string[] = ['-1'], show = true) => {
    const r = await labExec(state!, node, [process.execPath, BIN('crm_mon'), ...args]);
    if (show) {
      print(`${node}$ crm_mon ${args.join(' ')}`);
      print(String(r.all).replace(/^/gm, '    '));
    }
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
    print('== The tutorial: two load balancers with haproxy and a floating IP, two nginx app servers, fencing on');
    state = await labUp({ name, nodes: 2, apps: 2, daemonArgv: belaydArgv() });
    const lab = Lab.attach(state.lab);
    for (const h of state.lab.hosts) print(`   ${h.name.padEnd(7)} ${h.address}`);
    print(`   floating IP ${state.vip}; the lab's power switch is the fence device (fence_belay_lab)`);
    await until('the two load balancers to form a cluster', async () => ((await crm('n1', ['configure', 'show'], false)).includes('node 2: n2') ? true : undefined), 20_000);
    print('');
    for (const args of fencedTutorialCommands(state.vip)) await crm('n1', args);
    const holder = await until('the floating IP to come up', vipHolder, 30_000);
    await until('haproxy to answer on the floating IP', async () => {
      const r = await labExec(state!, 'client', ['curl', '-s', '-m', '1', `http://${state!.vip}/`]);
      return r.exitCode === 0 && String(r.stdout).startsWith('Droplet') ? true : undefined;
    }, 30_000);
    const other = state.nodes.find((n) => n !== holder)!;
    await until('the fence device to start', async () => (/fence-lab\s+\(stonith:fence_belay_lab\):\s+Started/.test(await crmMon(other, ['-1'], false)) ? true : undefined), 30_000);
    print('');
    await crmMon(other);

    print('');
    print(`== A client asks http://${state.vip}/ every 10 ms; now pull the active load balancer's cable (${holder}):`);
    print(`   its network and its line to the power switch are cut (belay lab partition ${holder} --cut-switch)`);
    poller = new HttpPoller(lab, 'client', `http://${state.vip}/`, work);
    sampler = new VipSampler(lab, state.nodes, state.vip);
    await sleep(1500);
    const t0 = Date.now();
    await labPartition(name, holder, { cutSwitch: true });
    const first = await until('the floating IP to answer again from the other balancer', async () => {
      const g = poller!.gapAfter(t0);
      return g && g.after.lb !== holder ? g : undefined;
    }, 60_000);
    const cycles = loadLabState(name).powerCycles?.[holder] ?? 0;
    print(`   ${other} powered ${holder} off through the switch (power cycles of ${holder}: ${cycles}),`);
    print(`   then took the floating IP: it answered again from ${first.after.lb} after ${first.gapMs} ms`);
    await until(`${holder} to boot and rejoin`, async () => (/Online: \[ n1 n2 \]/.test(await crmMon(other, ['-1'], false)) ? true : undefined), 60_000);
    print(`   ${holder} booted (its cable is back after the power cycle) and rejoined`);
    await sleep(3000);
    await poller.stop();
    await sampler.stop();
    // Counted once the client has stopped: requests sent just before the
    // first new answer were still waiting out their timeout back then.
    const gap = poller.gapAfter(t0)!;
    const tally = poller.tally();
    const answeredBy = answeringRuns(poller.answers, t0);
    print('');
    print('== What the client saw');
    for (const [app, n] of [...tally.byApp].sort()) print(`   ${app}: ${n} answers`);
    print(`   answered by, in order: ${answeredBy.join(' -> ')} (one holder at a time)`);
    print(`   failed requests: ${tally.failed}`);
    print(`   failover gap: ${gap.gapMs} ms (from ${gap.before.lb} to ${gap.after.lb}: detection, fencing, start)`);
    print(`   samples of ip addr on both balancers: ${sampler.samples.length}, with the VIP on two at once: ${sampler.twoHolderSamples()}`);
    print('');
    const crmMonAfter = await crmMon(other, ['-1', '-m']);
    const holdersAfter = await vipHolders();
    return {
      gapMs: gap.gapMs,
      failed: gap.failed,
      from: gap.before.lb,
      to: gap.after.lb,
      byApp: Object.fromEntries(tally.byApp),
      answeredBy,
      twoHolderSamples: sampler.twoHolderSamples(),
      samples: sampler.samples.length,
      powerCycles: loadLabState(name).powerCycles?.[holder] ?? 0,
      crmMonAfter,
      holdersAfter,
    };
  } finally {
    await poller?.stop();
    await sampler?.stop();
    if (state) await labDown(state);
    rmSync(work, { recursive: true, force: true });
  }
}
