/**
 * Keepalived + LVS in the lab: the seeds' keepalived.conf files adapted to
 * lab addresses (shared by test/lvs/lab.test.ts and the demo), and the
 * demo's LVS part: seed 002 (wrr, DR, TCP_CHECK) on two directors, two nginx
 * real servers, a real server failing and coming back.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Lab, requireCommands } from './netns.js';
import { BELAY_BIN, hasVip, killNginx, makeWorkDir, requireKeepalivedLab, startDaemon, startNginx, stopDaemon, waitFor, type DaemonHandle } from './keepalived-demo.js';
import type { LvsStatus } from '../lvs/manager.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const seeds = path.join(root, 'test', 'vrrp', 'fixtures');

function swapper(name: string, text: string) {
  let t = text;
  return {
    swap(a: string, b: string) {
      if (!t.includes(a)) throw new Error(`${name} text has no '${a}'`);
      t = t.split(a).join(b);
    },
    text: () => t,
  };
}

/** Seed 002's lvs1 keepalived.conf, addresses adapted; `backup` makes it the BACKUP (priority 50). */
export function seed002Conf(o: { vips: string[]; vs: string; rs1: string; rs2: string; kind: 'NAT' | 'DR'; backup: boolean; extra?: string }): string {
  const s = swapper('seed 002', readFileSync(path.join(seeds, 'seed002-lvs1.conf'), 'utf8'));
  s.swap('{ 192.168.4.80  }', `{\n${o.vips.map((v) => `        ${v}`).join('\n')}\n      }`);
  s.swap('192.168.4.15', o.vs);
  s.swap('192.168.4.100', o.rs1);
  s.swap('192.168.4.200', o.rs2);
  s.swap('lb_kind DR', `lb_kind ${o.kind}`);
  if (o.backup) {
    s.swap('state MASTER', 'state BACKUP');
    s.swap('priority 100', 'priority 50');
  }
  return s.text() + (o.extra ?? '');
}

/** Seed 000's keepalived.conf (DR, rr, HTTP_GET; its virtual_server sits inside the vrrp_instance, a lost brace), addresses adapted. */
export function seed000Conf(o: { vip: string; rs1: string; rs2: string; backup: boolean }): string {
  const s = swapper('seed 000', readFileSync(path.join(seeds, 'seed000-nginx-keepalived.conf'), 'utf8'));
  s.swap('10.33.100.11/16', `${o.vip}/24`);
  s.swap('10.33.100.11 80', `${o.vip} 80`);
  s.swap('10.33.100.15', o.rs1);
  s.swap('10.33.100.16', o.rs2);
  if (o.backup) {
    s.swap('state MASTER', 'state BACKUP');
    s.swap('priority 99', 'priority 50');
  }
  return s.text();
}

/** The real servers in a director's pool, from its status file. */
export function poolOf(d: DaemonHandle, service = 0): string[] {
  try {
    const lvs = (JSON.parse(readFileSync(d.statusFile, 'utf8')) as { lvs?: LvsStatus }).lvs;
    return (lvs?.services[service]?.realServers ?? []).filter((r) => r.inPool).map((r) => r.ip);
  } catch {
    return [];
  }
}

/** seed 000's realserver.sh: the VIP on lo, no ARP answers or announcements for it. */
export async function realServerDr(lab: Lab, host: string, vip: string): Promise<void> {
  await lab.exec(host, ['sh', '-c', `ip addr add ${vip}/32 dev lo && sysctl -qw net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2`]);
}

/** The demo's LVS part. Needs root, nft, nginx, curl. */
export async function runLvsDemo(print: (l: string) => void = (l) => console.log(l)): Promise<void> {
  requireKeepalivedLab('the LVS demo');
  requireCommands('the LVS demo', { nft: 'nftables' });
  const lab = await Lab.create({ tag: `lv${process.pid}` });
  const work = makeWorkDir('belay-lvsdemo-');
  const daemons: DaemonHandle[] = [];
  try {
    for (const h of ['dir1', 'dir2', 'rs1', 'rs2', 'client']) await lab.addHost(h);
    const vip = `${lab.subnet}.100`;
    const [rs1, rs2] = [lab.host('rs1').address, lab.host('rs2').address];
    for (const r of ['rs1', 'rs2']) {
      await realServerDr(lab, r, vip);
      startNginx(lab, r, work);
    }
    for (const [h, backup] of [['dir1', false], ['dir2', true]] as const) {
      const file = path.join(work, `keepalived-${h}.conf`);
      writeFileSync(file, seed002Conf({ vips: [vip], vs: vip, rs1, rs2, kind: 'DR', backup }));
      daemons.push(startDaemon(lab, h, 'belay', file, work));
    }
    print(`lab: directors dir1 (MASTER) and dir2 (BACKUP) run \`belay keepalived\` with seed 002's keepalived.conf (wrr, lb_kind DR, TCP_CHECK); nginx on rs1 ${rs1} (weight 1) and rs2 ${rs2} (weight 2), VIP ${vip} on their lo`);
    await waitFor(() => hasVip(lab, 'dir1', vip), 20000, 'dir1 to hold the VIP');
    await waitFor(() => poolOf(daemons[0]!).length === 2, 30000, 'both real servers in the pool');
    const ln = await lab.exec('dir1', [process.execPath, BELAY_BIN, 'lvs', '-Ln', '--status-file', daemons[0]!.statusFile]);
    print(`dir1$ belay lvs -Ln   (the kernel has no IPVS: the table is nftables')\n${String(ln.stdout).trimEnd()}`);
    const ask = async (n: number) => {
      const r = await execa('ip', ['netns', 'exec', lab.host('client').netns, 'sh', '-c', `for i in $(seq ${n}); do curl -s -m 3 http://${vip}/ || echo FAIL; done`]);
      const counts = new Map<string, number>();
      for (const w of String(r.stdout).trim().split('\n')) counts.set(w, (counts.get(w) ?? 0) + 1);
      return [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
    };
    print(`client: 30 requests to ${vip}: ${await ask(30)}`);
    const t = Date.now();
    killNginx(lab, 'rs1');
    print('nginx on rs1 killed');
    await waitFor(() => poolOf(daemons[0]!).join() === rs2, 40000, 'rs1 to leave the pool');
    print(`rs1 left the pool after ${((Date.now() - t) / 1000).toFixed(1)} s (seed 002's TCP_CHECK: its nb_get_retry is ignored, as keepalived 2.2.7 ignores it there, so connect_timeout 3 + retry 1 × delay_before_retry 3 + delay_loop 6 = 12 s at most); 20 requests: ${await ask(20)}`);
    startNginx(lab, 'rs1', work);
    await waitFor(() => poolOf(daemons[0]!).length === 2, 40000, 'rs1 to come back');
    print(`nginx on rs1 started again: back in the pool; 30 requests: ${await ask(30)}`);
  } finally {
    for (const d of daemons) await stopDaemon(d, 2000);
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
