/**
 * IPv6 virtual servers on the nftables backend, in network namespaces: a
 * client, a director running `belay keepalived` and two nginx real
 * servers. NAT (the director is the real servers' gateway; its own `table
 * ip6`) and DR (the real servers hold the VIP on lo; `fwd ip6` at netdev
 * ingress). ULA addresses (fdXX::/64) on the lab's own bridge only.
 *
 * Needs root, nft, nginx, curl; fails loudly without them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { BELAY_BIN, killNginx, makeWorkDir, requireKeepalivedLab, startDaemon, startNginx, stopDaemon, type DaemonHandle } from '../../src/lab/keepalived-demo.js';
import { poolOf } from '../../src/lab/lvs-demo.js';
import { waiter } from '../wait.js';

const dist = path.resolve(BELAY_BIN, '..', '..', 'dist');
const waitFor = waiter(30000, 250);

let lab: Lab | null = null;
let work = '';
const daemons: DaemonHandle[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await stopDaemon(d, 3000);
  await lab?.destroy();
  lab = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

const sh = async (l: Lab, host: string, cmd: string) => {
  const r = await l.exec(host, ['sh', '-c', cmd]);
  return String(r.stdout);
};

/** `n` requests from the client, each answered with the real server's name or FAIL. */
async function requests(l: Lab, url: string, n: number): Promise<string[]> {
  return (await sh(l, 'client', `for i in $(seq ${n}); do curl -g -s -m 3 '${url}' || echo FAIL; done`)).trim().split('\n');
}

const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

function conf(vip: string, kind: 'NAT' | 'DR', rs: string[]): string {
  const servers = rs.map((ip) => `  real_server ${ip} 80 {\n    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n`).join('');
  return `global_defs {\n  router_id lvs6\n}\nvirtual_server ${vip} 80 {\n  delay_loop 2\n  lb_algo rr\n  lb_kind ${kind}\n  protocol TCP\n${servers}}\n`;
}

async function setup(): Promise<Lab> {
  requireKeepalivedLab('the IPv6 LVS lab test');
  requireCommands('the IPv6 LVS lab test', { nft: 'nftables' });
  if (!existsSync(path.join(dist, 'cli', 'belay.js'))) throw new Error('run `npm run build` first: dist/cli/belay.js is missing');
  lab = await Lab.create({ tag: `v6-${process.pid % 10000}` });
  work = makeWorkDir('blv-lab6-');
  for (const h of ['dir1', 'rs1', 'rs2', 'client']) {
    await lab.addHost(h);
    await lab.exec(h, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.all.accept_redirects=0', 'net.ipv6.conf.eth0.accept_redirects=0']);
  }
  return lab;
}

/** The pool, the spread, a real server leaving and coming back, as the IPv4 lab test does. */
async function scenario(l: Lab, d: DaemonHandle, url: string, rs: string[], kind: 'NAT' | 'DR'): Promise<void> {
  await waitFor('both real servers in the pool', async () => poolOf(d).sort().join(), (x) => x === [...rs].sort().join());
  const spread = count(await requests(l, url, 20));
  // NAT's rr takes turns (numgen); DR's hashes each connection (no conntrack at ingress), so only both are used.
  if (kind === 'NAT') expect(spread, JSON.stringify(spread)).toEqual({ rs1: 10, rs2: 10 });
  else {
    expect(spread.FAIL, JSON.stringify(spread)).toBeUndefined();
    expect(Math.min(spread.rs1 ?? 0, spread.rs2 ?? 0), JSON.stringify(spread)).toBeGreaterThan(0);
  }
  killNginx(l, 'rs1');
  await waitFor('rs1 out of the pool', async () => poolOf(d).join(), (x) => x === rs[1]);
  expect(count(await requests(l, url, 10))).toEqual({ rs2: 10 });
  startNginx(l, 'rs1', work, { ipv6: true });
  await waitFor('rs1 back in the pool', async () => poolOf(d).sort().join(), (x) => x === [...rs].sort().join());
  const back = count(await requests(l, url, 20));
  expect(back.FAIL, JSON.stringify(back)).toBeUndefined();
  expect(back.rs1, JSON.stringify(back)).toBeGreaterThan(0);
}

describe('IPv6 virtual servers, nftables data plane', () => {
  it('NAT: the director (the real servers\' gateway) spreads, drops a failed server, takes it back; -Ln and conntrack counts', async () => {
    const l = await setup();
    const p = (process.pid % 0xff00).toString(16);
    const front = `fd01:${p}::`;
    const back = `fd02:${p}::`;
    const vip = `${front}100`;
    const rs = [`${back}21`, `${back}22`];
    await sh(l, 'client', `ip -6 addr add ${front}2/64 dev eth0 nodad`);
    await sh(l, 'dir1', `ip -6 addr add ${front}1/64 dev eth0 nodad && ip -6 addr add ${vip}/64 dev eth0 nodad && ip -6 addr add ${back}1/64 dev eth0 nodad && sysctl -qw net.ipv6.conf.all.forwarding=1`);
    for (const [k, r] of ['rs1', 'rs2'].entries()) {
      await sh(l, r, `ip -6 addr add ${rs[k]}/64 dev eth0 nodad && ip -6 route add default via ${back}1`);
      startNginx(l, r, work, { ipv6: true });
    }
    const file = path.join(work, 'keepalived-dir1.conf');
    writeFileSync(file, conf(vip, 'NAT', rs));
    const d = startDaemon(l, 'dir1', 'belay', file, work);
    daemons.push(d);
    await scenario(l, d, `http://[${vip}]/`, rs, 'NAT');

    // The table as ipvsadm -Ln writes it, with the connections just made counted from conntrack.
    const ln = String((await l.exec('dir1', [process.execPath, BELAY_BIN, 'lvs', '-Ln', '--status-file', d.statusFile])).stdout);
    expect(ln).toContain(`TCP  [${vip}]:80 rr\n`);
    const row = ln.split('\n').find((x) => x.startsWith(`  -> [${rs[1]}]:80`));
    expect(row, ln).toMatch(/Masq +1 +\d+ +(\d+)/);
    const inactive = Number(/Masq +1 +\d+ +(\d+)/.exec(row!)![1]);
    expect(inactive, ln).toBeGreaterThan(0);
  }, 240000);

  it('DR: the real servers hold the VIP on lo; frames are forwarded at ingress with fwd ip6', async () => {
    const l = await setup();
    const p = (process.pid % 0xff00).toString(16);
    const net = `fd03:${p}::`;
    const vip = `${net}100`;
    const rs = [`${net}21`, `${net}22`];
    await sh(l, 'client', `ip -6 addr add ${net}2/64 dev eth0 nodad`);
    // The VIP deprecated (preferred_lft 0): still answered, never the source of the director's own checks, whose
    // replies would go to the real servers' lo instead (Linux prefers the newest address of a prefix).
    await sh(l, 'dir1', `ip -6 addr add ${net}1/64 dev eth0 nodad && ip -6 addr add ${vip}/64 dev eth0 nodad preferred_lft 0`);
    expect(await sh(l, 'dir1', `ip -6 route get ${rs[0]}`)).toContain(`src ${net}1 `);
    for (const [k, r] of ['rs1', 'rs2'].entries()) {
      // The VIP on lo: IPv6 answers neighbour solicitations only for addresses of the interface asked, so the director alone answers for it.
      await sh(l, r, `ip -6 addr add ${rs[k]}/64 dev eth0 nodad && ip -6 addr add ${vip}/128 dev lo nodad`);
      startNginx(l, r, work, { ipv6: true });
    }
    const file = path.join(work, 'keepalived-dir1.conf');
    writeFileSync(file, conf(vip, 'DR', rs));
    const d = startDaemon(l, 'dir1', 'belay', file, work);
    daemons.push(d);
    await scenario(l, d, `http://[${vip}]/`, rs, 'DR');
  }, 240000);
});
