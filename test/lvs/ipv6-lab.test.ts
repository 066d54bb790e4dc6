/**
 * IPv6 virtual servers on the nftables backend, in network namespaces: a
 * client, a director running `belay keepalived` and two nginx real
 * servers. NAT (the director is the real servers' gateway; its own `table
 * ip6`) and DR (the real servers hold the VIP on lo; `fwd ip6` at netdev
 * ingress). ULA addresses (fdXX::/64) on the lab's own bridge only.
 *
 * Needs root, nft, nginx, curl; fails loudly without them.
 */
import { describe, expect, it } from 'vitest';
import { BELAY_BIN, killNginx, startNginx, type DaemonHandle } from '../../src/lab/keepalived-demo.js';
import type { Lab } from '../../src/lab/netns.js';
import { poolOf } from '../../src/lab/lvs-demo.js';
import { waiter } from '../wait.js';
import { count, lvsLab, requests, sh } from './lab-kit.js';

const waitFor = waiter(30000, 250);
const kit = lvsLab('the IPv6 LVS lab test', 'v6');

function conf(vip: string, kind: 'NAT' | 'DR', rs: string[], vrrp = ''): string {
  const servers = rs.map((ip) => `  real_server ${ip} 80 {\n    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n`).join('');
  return `global_defs {\n  router_id lvs6\n}\n${vrrp}virtual_server ${vip} 80 {\n  delay_loop 2\n  lb_algo rr\n  lb_kind ${kind}\n  protocol TCP\n${servers}}\n`;
}

async function setup(): Promise<Lab> {
  const l = await kit.setup(['dir1', 'rs1', 'rs2', 'client']);
  for (const h of ['dir1', 'rs1', 'rs2', 'client']) {
    await l.exec(h, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.all.accept_redirects=0', 'net.ipv6.conf.eth0.accept_redirects=0']);
  }
  return l;
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
  startNginx(l, 'rs1', kit.work, { ipv6: true });
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
      startNginx(l, r, kit.work, { ipv6: true });
    }
    const d = kit.start(l, 'dir1', conf(vip, 'NAT', rs));
    await scenario(l, d, `http://[${vip}]/`, rs, 'NAT');

    // The table as ipvsadm -Ln writes it, with the connections just made counted from conntrack.
    const ln = String((await l.exec('dir1', [process.execPath, BELAY_BIN, 'lvs', '-Ln', '--status-file', d.statusFile])).stdout);
    expect(ln).toContain(`TCP  [${vip}]:80 rr\n`);
    const row = ln.split('\n').find((x) => x.startsWith(`  -> [${rs[1]}]:80`));
    expect(row, ln).toMatch(/Masq +1 +\d+ +(\d+)/);
    const inactive = Number(/Masq +1 +\d+ +(\d+)/.exec(row!)![1]);
    expect(inactive, ln).toBeGreaterThan(0);
  }, 240000);

  it('DR: the VIP held by VRRP with preferred_lft 0, the real servers hold it on lo; frames are forwarded at ingress with fwd ip6', async () => {
    const l = await setup();
    const p = (process.pid % 0xff00).toString(16);
    const net = `fd03:${p}::`;
    const vip = `${net}100`;
    const rs = [`${net}21`, `${net}22`];
    await sh(l, 'client', `ip -6 addr add ${net}2/64 dev eth0 nodad`);
    await sh(l, 'dir1', `ip -6 addr add ${net}1/64 dev eth0 nodad`);
    for (const [k, r] of ['rs1', 'rs2'].entries()) {
      // The VIP on lo: IPv6 answers neighbour solicitations only for addresses of the interface asked, so the director alone answers for it.
      await sh(l, r, `ip -6 addr add ${rs[k]}/64 dev eth0 nodad && ip -6 addr add ${vip}/128 dev lo nodad`);
      startNginx(l, r, kit.work, { ipv6: true });
    }
    // The VIP deprecated (preferred_lft 0): still answered, never the source of the director's own checks, whose
    // replies would go to the real servers' lo instead (Linux prefers the newest address of a prefix).
    const vrrp = `vrrp_instance V6 {\n  state MASTER\n  interface eth0\n  virtual_router_id 61\n  priority 150\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}/64 dev eth0 preferred_lft 0\n  }\n}\n`;
    const d = kit.start(l, 'dir1', conf(vip, 'DR', rs, vrrp));
    await waitFor('dir1 to hold the VIP', async () => sh(l, 'dir1', 'ip -6 addr show dev eth0'), (x) => x.includes(`${vip}/64`));
    expect(await sh(l, 'dir1', 'ip -6 addr show dev eth0')).toMatch(new RegExp(`${vip}/64[^\\n]*\\n\\s+valid_lft forever preferred_lft 0sec`));
    expect(await sh(l, 'dir1', `ip -6 route get ${rs[0]}`)).toContain(`src ${net}1 `);
    await scenario(l, d, `http://[${vip}]/`, rs, 'DR');
  }, 240000);
});
