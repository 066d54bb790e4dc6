/**
 * Keepalived + LVS in network namespaces: a client, two directors running
 * `belay keepalived` (VRRP for the VIP + the virtual server; seed 002's
 * configuration for NAT, seed 000's for DR, addresses adapted) and two real
 * servers running nginx.
 * The kernel has no IPVS: the nftables backend carries the traffic.
 *
 * NAT: the client is on another subnet (10.9.x.0/24 on the same wire); the
 * real servers' default gateway is a second VRRP address on the directors.
 * DR: one subnet; the real servers hold the VIP on lo with seed 000's
 * realserver.sh sysctls (arp_ignore=1, arp_announce=2).
 *
 * Needs root, nft, nginx, curl; fails loudly without them.
 */
import { describe, expect, it } from 'vitest';
import { BELAY_BIN, hasVip, killNginx, startNginx, type DaemonHandle } from '../../src/lab/keepalived-demo.js';
import type { Lab } from '../../src/lab/netns.js';
import { waiter } from '../wait.js';
import { poolOf, realServerDr, seed000Conf, seed002Conf } from '../../src/lab/lvs-demo.js';
import { count, lvsLab, requests } from './lab-kit.js';

const waitFor = waiter(30000, 250);
const kit = lvsLab('the LVS lab test', 'v');
const setup = () => kit.setup(['dir1', 'dir2', 'rs1', 'rs2', 'client']);
const sh = (l: Lab, host: string, cmd: string) => l.exec(host, ['sh', '-c', cmd]);
const start = (l: Lab, host: string, conf: string): DaemonHandle => kit.start(l, host, conf);

const inPool = poolOf;

/**
 * keepalived's bound, connect_timeout + retry × delay_before_retry + delay_loop:
 * seed 000's HTTP_GET (nb_get_retry 3): 3 + 3×3 + 6 = 18 s; seed 002's TCP_CHECK,
 * where keepalived 2.2.7 ignores nb_get_retry (retry 1): 3 + 1×3 + 6 = 12 s.
 */
const KEEPALIVED_BOUND_MS = { DR: 18000, NAT: 12000 } as const;
/** The wait allows slack for a loaded CI on top of the bound. */
const SLACK_MS = 20000;

async function scenario(l: Lab, kind: 'NAT' | 'DR', vip: string, url: string, d1: DaemonHandle, d2: DaemonHandle): Promise<void> {
  const rs = [l.host('rs1').address, l.host('rs2').address];
  await waitFor('dir1 to hold the VIP', () => hasVip(l, 'dir1', vip), Boolean);
  await waitFor('both real servers in dir1 pool', async () => inPool(d1).sort().join(), (x) => x === rs.join());
  await waitFor('both real servers in dir2 pool', async () => inPool(d2).sort().join(), (x) => x === rs.join());

  // Spread (seed 002: wrr, weights 1 and 2; seed 000: rr).
  const spread = count(await requests(l, url, 30));
  expect(spread.FAIL, `${kind}: ${JSON.stringify(spread)}`).toBeUndefined();
  expect(spread.rs1, `${kind}: ${JSON.stringify(spread)}`).toBeGreaterThan(0);
  expect(spread.rs2, `${kind}: ${JSON.stringify(spread)}`).toBeGreaterThan(0);

  // nginx stops on rs1: out of the pool, then no request fails.
  const t = Date.now();
  killNginx(l, 'rs1');
  await waitFor('rs1 out of dir1 pool', async () => inPool(d1).join(), (x) => x === rs[1], KEEPALIVED_BOUND_MS[kind] + SLACK_MS);
  const outAfter = Date.now() - t;
  console.log(`${kind}: rs1 out of the pool ${outAfter} ms after nginx was killed (keepalived's bound for these settings: ${KEEPALIVED_BOUND_MS[kind]} ms)`);
  const after = await requests(l, url, 20);
  expect(count(after), `${kind}: after rs1 left the pool (${outAfter} ms)`).toEqual({ rs2: 20 });

  // nginx back: in the pool again, requests spread again.
  startNginx(l, 'rs1', kit.work);
  await waitFor('rs1 back in dir1 pool', async () => inPool(d1).sort().join(), (x) => x === rs.join(), KEEPALIVED_BOUND_MS.DR + SLACK_MS /* the larger bound, for either seed */);
  const back = count(await requests(l, url, 30));
  expect(back.FAIL, `${kind}: ${JSON.stringify(back)}`).toBeUndefined();
  expect(back.rs1, `${kind}: ${JSON.stringify(back)}`).toBeGreaterThan(0);

  // The VIP-holding director crashes (kill -9, cable out): dir2 takes the VIP and serves.
  const crashAt = Date.now();
  process.kill(d1.child.pid!, 'SIGKILL');
  await l.setLink('dir1', false);
  await waitFor('dir2 to take the VIP', () => hasVip(l, 'dir2', vip), Boolean);
  await waitFor('a request through dir2', async () => (await requests(l, url, 1))[0], (x) => x === 'rs1' || x === 'rs2');
  console.log(`${kind}: served through dir2 ${Date.now() - crashAt} ms after dir1 was killed (advert_int 1)`);
  const failover = count(await requests(l, url, 20));
  expect(failover.FAIL, `${kind} after failover: ${JSON.stringify(failover)}`).toBeUndefined();
  expect(Object.keys(failover).length, `${kind} after failover: ${JSON.stringify(failover)}`).toBe(2);
}

describe('LVS with belay keepalived, nftables data plane', () => {
  it('NAT: spread, a failed real server leaves and returns, persistence, director failover', async () => {
    const l = await setup();
    const front = `10.9.${process.pid % 250}`;
    const vip = `${front}.100`;
    const vip2 = `${front}.101`;
    const gw = `${l.subnet}.254`;
    // The client lives on the front subnet only; the directors are on both; the real servers route through the gateway VIP.
    await sh(l, 'client', `ip addr flush dev eth0 && ip addr add ${front}.2/24 dev eth0`);
    for (const [k, d] of ['dir1', 'dir2'].entries()) {
      await sh(l, d, `ip addr add ${front}.${11 + k}/24 dev eth0 && sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0`);
    }
    for (const r of ['rs1', 'rs2']) {
      await sh(l, r, `sysctl -qw net.ipv4.conf.all.accept_redirects=0 && ip route add default via ${gw}`);
      startNginx(l, r, kit.work);
    }
    const rs1 = l.host('rs1').address;
    const rs2 = l.host('rs2').address;
    const persistent = `\nvirtual_server ${vip2} 80 {\n  delay_loop 6\n  lb_algo rr\n  lb_kind NAT\n  persistence_timeout 50\n  protocol TCP\n  real_server ${rs1} 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n  real_server ${rs2} 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n`;
    const conf = (backup: boolean) => seed002Conf({ vips: [vip, gw, vip2], vs: vip, rs1, rs2, kind: 'NAT', backup, extra: persistent });
    const d1 = start(l, 'dir1', conf(false));
    const d2 = start(l, 'dir2', conf(true));
    await waitFor('dir1 to hold the VIP', () => hasVip(l, 'dir1', vip), Boolean);

    // Persistence: every request of this client to the persistent service goes to one real server.
    await waitFor('both real servers in the persistent pool', async () => inPool(d1, 1).length, (n) => n === 2);
    const sticky = count(await requests(l, `http://${vip2}/`, 12));
    expect(Object.keys(sticky), JSON.stringify(sticky)).toHaveLength(1);
    expect(sticky.FAIL).toBeUndefined();

    // --status and belay lvs -Ln show the table.
    const status = await l.exec('dir1', [process.execPath, BELAY_BIN, 'keepalived', '--status', '--status-file', d1.statusFile]);
    expect(String(status.stdout)).toMatch(new RegExp(`Virtual servers \\(nftables backend\\)[\\s\\S]*TCP ${vip.replace(/\./g, '\\.')}:80 wrr NAT[\\s\\S]*${rs1.replace(/\./g, '\\.')}:80 +UP +1/1 +yes`));
    const ln = await l.exec('dir1', [process.execPath, BELAY_BIN, 'lvs', '-Ln', '--status-file', d1.statusFile]);
    expect(String(ln.stdout)).toContain(`TCP  ${vip}:80 wrr\n  -> ${`${rs1}:80`.padEnd(28)} Masq    1      `);
    expect(String(ln.stdout)).toContain(`TCP  ${vip2}:80 rr persistent 50\n`);

    await scenario(l, 'NAT', vip, `http://${vip}/`, d1, d2);
  }, 300000);

  it('DR (seed 000): real servers hold the VIP on lo; spread, a failed real server leaves and returns, director failover', async () => {
    const l = await setup();
    const vip = `${l.subnet}.100`;
    for (const r of ['rs1', 'rs2']) {
      await realServerDr(l, r, vip);
      startNginx(l, r, kit.work);
    }
    const rs1 = l.host('rs1').address;
    const rs2 = l.host('rs2').address;
    const conf = (backup: boolean) => seed000Conf({ vip, rs1, rs2, backup });
    const d1 = start(l, 'dir1', conf(false));
    const d2 = start(l, 'dir2', conf(true));
    await scenario(l, 'DR', vip, `http://${vip}/`, d1, d2);
  }, 300000);
});
