/**
 * belay keepalived and stock keepalived 2.2.7 in ONE VRRP group, on the
 * wire protocol (IP protocol 112), in network namespaces. Each cell is its
 * own lab (own switch namespace), cells run a few at a time. Every step waits
 * for the event it expects (VIP on an interface, a state in belay's status
 * file or keepalived's log); after every convergence both daemons' states
 * and the VIP holders are watched for two advert intervals: never two
 * masters. The matrix is printed as a table.
 *
 * Needs root, keepalived, tcpdump (fails with a clear message without them).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import {
  BELAY_BIN,
  hasVip,
  makeWorkDir,
  requireKeepalivedLab,
  sleep,
  startDaemon,
  stopDaemon,
  waitFor,
  type DaemonHandle,
} from '../../src/lab/keepalived-demo.js';

type Impl = 'belay' | 'keepalived';
type State = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'INIT';

interface NodeConf {
  state: 'MASTER' | 'BACKUP';
  priority: number;
  nopreempt?: boolean;
  preemptDelay?: number;
  /** vrrp_script testing a file's presence, with this weight. */
  trackFile?: { path: string; weight: number };
}

interface CellConf {
  version: 2 | 3;
  unicast: boolean;
  vrid: number;
  vip: string;
}

const ADVERT_INT = 1;

function conf(c: CellConf, n: NodeConf, self: string, peer: string): string {
  const l: string[] = ['global_defs {', `  router_id r_${self.replace(/\./g, '_')}`, `  vrrp_version ${c.version}`, '  script_user root', '}'];
  if (n.trackFile) {
    l.push('vrrp_script chk {', `  script "/usr/bin/test -f ${n.trackFile.path}"`, '  interval 1', `  weight ${n.trackFile.weight}`, '  fall 1', '  rise 1', '}');
  }
  l.push('vrrp_instance VI_1 {', `  state ${n.state}`, '  interface eth0', `  virtual_router_id ${c.vrid}`, `  priority ${n.priority}`, `  advert_int ${ADVERT_INT}`);
  if (n.nopreempt) l.push('  nopreempt');
  if (n.preemptDelay !== undefined) l.push(`  preempt_delay ${n.preemptDelay}`);
  if (c.version === 2) l.push('  authentication {', '    auth_type PASS', '    auth_pass s3cr3t', '  }');
  if (c.unicast) l.push(`  unicast_src_ip ${self}`, '  unicast_peer {', `    ${peer}`, '  }');
  l.push('  virtual_ipaddress {', `    ${c.vip}/24 dev eth0`, '  }');
  if (n.trackFile) l.push('  track_script {', '    chk', '  }');
  l.push('}');
  return `${l.join('\n')}\n`;
}

class Node {
  handle: DaemonHandle | null = null;
  constructor(
    readonly lab: Lab,
    readonly host: string,
    readonly impl: Impl,
    readonly address: string,
    readonly confFile: string,
    readonly work: string,
  ) {}

  start(): void {
    this.handle = startDaemon(this.lab, this.host, this.impl, this.confFile, this.work);
  }

  async stop(): Promise<void> {
    if (this.handle) await stopDaemon(this.handle, 5000);
  }

  get child(): ChildProcess | null {
    return this.handle?.child ?? null;
  }

  log(): string {
    return this.handle && existsSync(this.handle.logFile) ? readFileSync(this.handle.logFile, 'utf8') : '';
  }

  /** belay: its status file; keepalived: the last "Entering X STATE" of its log. */
  state(): State | null {
    if (!this.handle || this.handle.child.exitCode !== null || this.handle.child.signalCode !== null) return 'STOP';
    if (this.impl === 'belay') {
      try {
        const s = JSON.parse(readFileSync(this.handle.statusFile, 'utf8')) as { status: { instances: { state: State }[] } };
        return s.status.instances[0]?.state ?? null;
      } catch {
        return null;
      }
    }
    const m = [...this.log().matchAll(/\(VI_1\) Entering (MASTER|BACKUP|FAULT) STATE/g)];
    return (m.at(-1)?.[1] as State | undefined) ?? null;
  }

  hasVip(vip: string): Promise<boolean> {
    return hasVip(this.lab, this.host, vip);
  }
}

interface Row {
  cell: string;
  result: 'pass' | 'FAIL';
  detail: string;
}
const rows: Row[] = [];

interface Ctx {
  lab: Lab;
  nodes: Node[];
  cell: CellConf;
  steps: string[];
  work: string;
}

/** Wait until `master` holds the VIP and reports MASTER, every other node BACKUP without it; then watch two intervals. */
async function converge(ctx: Ctx, master: Node, what: string, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  const live = () => ctx.nodes.filter((n) => n.handle && n.child?.exitCode === null && n.child?.signalCode === null);
  await waitFor(
    async () => {
      for (const n of live()) {
        const want = n === master;
        if ((await n.hasVip(ctx.cell.vip)) !== want) return false;
        if (n.state() !== (want ? 'MASTER' : 'BACKUP')) return false;
      }
      return true;
    },
    timeoutMs,
    `${what}: ${master.impl} on ${master.host} MASTER with the VIP, the others BACKUP`,
    100,
  );
  const took = Date.now() - t0;
  // Never two masters after convergence: watch for two advert intervals.
  const until = Date.now() + 2 * ADVERT_INT * 1000 + 500;
  while (Date.now() < until) {
    const holders: string[] = [];
    const masters: string[] = [];
    for (const n of live()) {
      if (await n.hasVip(ctx.cell.vip)) holders.push(n.host);
      if (n.state() === 'MASTER') masters.push(n.host);
    }
    expect(holders, `${what}: VIP holders`).toEqual([master.host]);
    expect(masters, `${what}: MASTERs`).toEqual([master.host]);
    await sleep(150);
  }
  ctx.steps.push(`${what} ${(took / 1000).toFixed(1)}s`);
  return took;
}

async function withCell(name: string, cell: CellConf, nodes: { impl: Impl; conf: NodeConf }[], body: (ctx: Ctx) => Promise<void>): Promise<void> {
  const work = makeWorkDir('belay-interop-');
  const lab = await Lab.create({ tag: `io${cell.vrid}` });
  const ctx: Ctx = { lab, nodes: [], cell, steps: [], work };
  try {
    const hosts = [];
    for (let i = 0; i < nodes.length; i++) hosts.push(await lab.addHost(`n${i + 1}`));
    for (let i = 0; i < nodes.length; i++) {
      const self = hosts[i]!.address;
      const peer = hosts[(i + 1) % nodes.length]!.address;
      const file = path.join(work, `n${i + 1}.conf`);
      writeFileSync(file, conf(cell, nodes[i]!.conf, self, peer));
      ctx.nodes.push(new Node(lab, `n${i + 1}`, nodes[i]!.impl, self, file, work));
    }
    await body(ctx);
    // keepalived accepted every belay advert: no "invalid"/"mismatch" in its log.
    for (const n of ctx.nodes) {
      if (n.impl !== 'keepalived') continue;
      const bad = n.log().split('\n').filter((line) => /invalid|mismatch|bad /i.test(line));
      expect(bad, `keepalived on ${n.host} complained about adverts`).toEqual([]);
    }
    rows.push({ cell: name, result: 'pass', detail: ctx.steps.join('; ') });
  } catch (err) {
    rows.push({ cell: name, result: 'FAIL', detail: `${ctx.steps.join('; ')} | ${(err as Error).message.split('\n')[0]}` });
    for (const n of ctx.nodes) process.stderr.write(`--- ${name}: ${n.impl} on ${n.host} (${n.address})\n${n.log().split('\n').slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    for (const n of ctx.nodes) await n.stop();
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

let vridSeq = 10;
const nextCell = (version: 2 | 3, unicast: boolean): CellConf => {
  const vrid = vridSeq++;
  return { version, unicast, vrid, vip: `198.18.0.${200 + (vrid % 50)}` };
};

const other = (i: Impl): Impl => (i === 'belay' ? 'keepalived' : 'belay');

describe('interop with stock keepalived 2.2.7 on IP protocol 112', () => {
  const ready = (() => {
    try {
      requireKeepalivedLab('the keepalived interop matrix');
      requireCommands('the keepalived interop matrix', { tcpdump: 'tcpdump', iptables: 'iptables' });
      if (!existsSync(path.resolve(BELAY_BIN, '..', '..', 'dist', 'cli', 'belay.js'))) return 'run `npm run build` first: dist/cli/belay.js is missing';
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  })();

  afterAll(() => {
    const w = Math.max(...rows.map((r) => r.cell.length), 4);
    const lines = [`${'cell'.padEnd(w)}  result  steps (time to converge)`, ...rows.map((r) => `${r.cell.padEnd(w)}  ${r.result.padEnd(6)}  ${r.detail}`)];
    process.stdout.write(`\nVRRP interop matrix (belay keepalived x keepalived 2.2.7, advert_int ${ADVERT_INT}):\n${lines.join('\n')}\n\n`);
  });

  const cells: { name: string; run: () => Promise<void> }[] = [];

  // Election by priority, priority-0 handover on a clean stop, preemption back: both roles, v2+PASS and v3, multicast and unicast.
  for (const version of [2, 3] as const) {
    for (const unicast of [false, true]) {
      for (const masterImpl of ['belay', 'keepalived'] as Impl[]) {
        const name = `v${version}${version === 2 ? '+PASS' : ''} ${unicast ? 'unicast' : 'multicast'} ${masterImpl} MASTER / ${other(masterImpl)} BACKUP`;
        cells.push({
          name,
          run: () =>
            withCell(name, nextCell(version, unicast), [
              { impl: masterImpl, conf: { state: 'MASTER', priority: 150 } },
              { impl: other(masterImpl), conf: { state: 'BACKUP', priority: 100 } },
            ], async (ctx) => {
              const [m, b] = ctx.nodes as [Node, Node];
              // Capture what belay sends, in the other namespace, from the start.
              const belayNode = m.impl === 'belay' ? m : b;
              const watcher = belayNode === m ? b : m;
              const filter = `ip proto 112 and src ${belayNode.address}`;
              const cap = ctx.lab.spawn(watcher.host, ['tcpdump', '-n', '-v', '-l', '-c', '2', '-i', 'eth0', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
              let capText = '';
              cap.stdout?.on('data', (d: Buffer) => (capText += d.toString()));
              await sleep(300);
              b.start();
              m.start();
              await converge(ctx, m, 'elected');
              // Clean stop of the master: priority-0 advert, the backup takes over.
              await m.stop();
              await converge(ctx, b, 'stop->handover');
              // keepalived does not log a received priority 0; belay does.
              if (b.impl === 'belay') expect(b.log()).toMatch(/received priority 0 advertisement/);
              // The master comes back and preempts.
              m.start();
              await converge(ctx, m, 'back->preempt');
              // belay has been MASTER by now (from the start, or after the handover).
              await waitFor(() => cap.exitCode !== null || capText.split('\n').filter((x) => /VRRPv/.test(x)).length >= 2, 15_000, 'tcpdump saw two adverts from belay', 100);
              if (cap.exitCode === null) cap.kill('SIGTERM');
              expect(capText).toMatch(/ttl 255, .*proto VRRP \(112\)/);
              const dst = unicast ? (belayNode === m ? b.address : m.address) : '224.0.0.18';
              expect(capText).toContain(`${belayNode.address} > ${dst}: VRRPv${version}, Advertisement`);
              if (version === 2) expect(capText).toMatch(/authtype simple/);
              expect(capText).not.toMatch(/bad vrrp cksum/);
              ctx.steps.push('tcpdump: proto 112 ttl 255');
            }),
        });
      }
    }
  }

  // Equal priorities: two masters at once (each cut off from the other by a
  // firewall rule on protocol 112), then reconnected: the lower address yields.
  for (const highImpl of ['belay', 'keepalived'] as Impl[]) {
    const name = `v3 multicast tie by address: ${highImpl} has the higher address`;
    cells.push({
      name,
      run: () =>
        withCell(name, nextCell(3, false), [
          { impl: other(highImpl), conf: { state: 'BACKUP', priority: 100 } },
          { impl: highImpl, conf: { state: 'BACKUP', priority: 100 } },
        ], async (ctx) => {
          const [low, high] = ctx.nodes as [Node, Node];
          const rule = ['INPUT', '-p', '112', '-j', 'DROP'];
          for (const n of ctx.nodes) await ctx.lab.exec(n.host, ['iptables', '-w', '-I', ...rule]);
          low.start();
          high.start();
          await waitFor(async () => low.state() === 'MASTER' && high.state() === 'MASTER' && (await low.hasVip(ctx.cell.vip)) && (await high.hasVip(ctx.cell.vip)), 20_000, 'both MASTER while cut off', 100);
          ctx.steps.push('cut off: both MASTER');
          for (const n of ctx.nodes) await ctx.lab.exec(n.host, ['iptables', '-w', '-D', ...rule]);
          await converge(ctx, high, 'reconnected->higher address');
        }),
    });
  }

  // nopreempt: a higher-priority router joining a running master does not take over.
  for (const holder of ['belay', 'keepalived'] as Impl[]) {
    const name = `v2+PASS multicast nopreempt: ${holder} master keeps it`;
    cells.push({
      name,
      run: () =>
        withCell(name, nextCell(2, false), [
          { impl: holder, conf: { state: 'BACKUP', priority: 100, nopreempt: true } },
          { impl: other(holder), conf: { state: 'BACKUP', priority: 200, nopreempt: true } },
        ], async (ctx) => {
          const [h, j] = ctx.nodes as [Node, Node];
          h.start();
          await converge(ctx, h, 'alone');
          j.start();
          await waitFor(() => j.state() === 'BACKUP', 15_000, 'joiner BACKUP', 100);
          await converge(ctx, h, 'higher joins, no preemption');
          await sleep(4000); // longer than Master_Down_Interval: still no takeover
          await converge(ctx, h, 'still');
          await h.stop();
          await converge(ctx, j, 'stop->handover');
        }),
    });
  }

  // preempt_delay: the higher-priority router waits before taking over from a lower master.
  for (const delayed of ['belay', 'keepalived'] as Impl[]) {
    const name = `v3 multicast preempt_delay 3: ${delayed} waits, then preempts`;
    cells.push({
      name,
      run: () =>
        withCell(name, nextCell(3, false), [
          { impl: other(delayed), conf: { state: 'BACKUP', priority: 100 } },
          { impl: delayed, conf: { state: 'BACKUP', priority: 200, preemptDelay: 3 } },
        ], async (ctx) => {
          const [low, high] = ctx.nodes as [Node, Node];
          low.start();
          await converge(ctx, low, 'alone');
          const t0 = Date.now();
          high.start();
          await converge(ctx, high, 'preempted after delay', 25_000);
          // A lower bound on a deliberate delay (not a speed limit): it did wait.
          expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
        }),
    });
  }

  // track_script weight moves the master across implementations, and back.
  for (const masterImpl of ['belay', 'keepalived'] as Impl[]) {
    const name = `v2+PASS multicast track_script weight -60: ${masterImpl} master fails over`;
    cells.push({
      name,
      run: async () => {
        const cell = nextCell(2, false);
        const flag = path.join(makeWorkDir('belay-interop-flag-'), 'up');
        writeFileSync(flag, '');
        try {
          await withCell(name, cell, [
            { impl: masterImpl, conf: { state: 'MASTER', priority: 150, trackFile: { path: flag, weight: -60 } } },
            { impl: other(masterImpl), conf: { state: 'BACKUP', priority: 100 } },
          ], async (ctx) => {
            const [m, b] = ctx.nodes as [Node, Node];
            b.start();
            m.start();
            await converge(ctx, m, 'elected');
            rmSync(flag);
            await converge(ctx, b, 'script fails->other impl MASTER');
            writeFileSync(flag, '');
            await converge(ctx, m, 'script ok->back');
          });
        } finally {
          rmSync(path.dirname(flag), { recursive: true, force: true });
        }
      },
    });
  }

  it(`runs ${cells.length} cells, each passes`, async () => {
    if (ready) throw new Error(ready);
    // A few labs at a time: keepalived is light, belay is one node process per router.
    const width = 4;
    const queue = [...cells];
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: width }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          try {
            await c.run();
          } catch (err) {
            failures.push(`${c.name}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 600_000);
});
