/**
 * What a takeover puts on the wire besides adverts, in network namespaces:
 * use_vmac (macvlan vrrp.VRID with 00:00:5e:00:01:VRID, adverts and the
 * gratuitous ARP from the virtual MAC, a neighbour learning the VIP at the
 * virtual MAC, the interface removed on stop) next to stock keepalived, and
 * unsolicited neighbour advertisements for an IPv6 VIP. Needs root,
 * keepalived and tcpdump; `npm run build` first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { BELAY_BIN, hasVip, makeWorkDir, requireKeepalivedLab, sleep, startDaemon, stopDaemon, waitFor, type DaemonHandle } from '../../src/lab/keepalived-demo.js';

let lab: Lab | null = null;
let work = '';
const daemons: DaemonHandle[] = [];
const captures: ChildProcess[] = [];

afterEach(async () => {
  for (const c of captures.splice(0)) if (c.exitCode === null) c.kill('SIGTERM');
  for (const d of daemons.splice(0)) await stopDaemon(d, 3000);
  await lab?.destroy();
  lab = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

async function setup(hosts: string[]): Promise<Lab> {
  requireKeepalivedLab('the announcement tests');
  requireCommands('the announcement tests', { tcpdump: 'tcpdump' });
  if (!existsSync(path.resolve(BELAY_BIN, '..', '..', 'dist', 'cli', 'belay.js'))) throw new Error('run `npm run build` first: dist/cli/belay.js is missing');
  lab = await Lab.create({ tag: `an${process.pid % 10000}` });
  work = makeWorkDir('belay-announce-');
  for (const h of hosts) await lab.addHost(h);
  return lab;
}

function capture(l: Lab, host: string, args: string[]): { text: () => string } {
  let text = '';
  const c = l.spawn(host, ['tcpdump', '-n', '-e', '-v', '-l', '-i', 'eth0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  captures.push(c);
  return { text: () => text };
}

describe('use_vmac next to stock keepalived', () => {
  it('VIP on vrrp.51 with 00:00:5e:00:01:33, adverts and gratuitous ARP from the virtual MAC, keepalived BACKUP, the VMAC removed on stop', async () => {
    const l = await setup(['n1', 'n2', 'client']);
    const vip = `${l.subnet}.51`;
    const conf = (prio: number, vmac: boolean) =>
      `vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority ${prio}\n  advert_int 1\n${vmac ? '  use_vmac\n' : ''}` +
      `  authentication {\n    auth_type PASS\n    auth_pass vm4c\n  }\n  virtual_ipaddress {\n    ${vip}/24\n  }\n}\n`;
    writeFileSync(path.join(work, 'n1.conf'), conf(150, true));
    writeFileSync(path.join(work, 'n2.conf'), conf(100, false));
    const cap = capture(l, 'client', ['vrrp or arp']);
    await sleep(300);
    const ka = startDaemon(l, 'n2', 'keepalived', path.join(work, 'n2.conf'), work);
    daemons.push(ka);
    const belay = startDaemon(l, 'n1', 'belay', path.join(work, 'n1.conf'), work);
    daemons.push(belay);
    await waitFor(
      async () => {
        const r = await l.exec('n1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'vrrp.51'], { reject: false });
        return String(r.stdout).includes(` ${vip}/`) && !(await hasVip(l, 'n2', vip));
      },
      20_000,
      'belay MASTER with the VIP on vrrp.51',
    );
    const link = String((await l.exec('n1', ['ip', '-o', 'link', 'show', 'dev', 'vrrp.51'])).stdout);
    expect(link).toMatch(/link\/ether 00:00:5e:00:01:33/);
    expect(link).toMatch(/vrrp\.51@eth0/);
    expect(String((await l.exec('n1', ['sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout).trim()).toBe('1');
    // The client learns the VIP at the virtual MAC.
    await waitFor(() => /00:00:5e:00:01:33 .*> 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150/.test(cap.text().replace(/\n\s+/g, ' ')), 10_000, 'an advert from the virtual MAC');
    await waitFor(() => new RegExp(`00:00:5e:00:01:33 > ff:ff:ff:ff:ff:ff.*ARP.*Request who-has ${vip.replace(/\./g, '\\.')} tell ${vip.replace(/\./g, '\\.')}`).test(cap.text()), 10_000, 'a gratuitous ARP from the virtual MAC');
    // A fresh resolution: only the VMAC answers ARP for the VIP (arp_ignore on the base).
    await l.exec('client', ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    await l.exec('client', ['ping', '-c', '1', '-W', '2', vip]);
    const neigh = String((await l.exec('client', ['ip', 'neigh', 'show', vip])).stdout);
    const macs = await Promise.all(['n1', 'n2'].map(async (h) => `${h} ${String((await l.exec(h, ['cat', '/sys/class/net/eth0/address'])).stdout).trim()}`));
    expect(neigh, macs.join(', ')).toContain('00:00:5e:00:01:33');
    await waitFor(() => /Entering BACKUP STATE/.test(readFileSync(ka.logFile, 'utf8')), 10_000, 'keepalived BACKUP');
    // Stop: keepalived takes over; the VMAC is gone.
    await stopDaemon(belay, 5000);
    await waitFor(() => hasVip(l, 'n2', vip), 10_000, 'keepalived to take the VIP');
    const gone = await l.exec('n1', ['ip', 'link', 'show', 'dev', 'vrrp.51'], { reject: false });
    expect(gone.exitCode).not.toBe(0);
    expect(String((await l.exec('n1', ['sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout).trim()).toBe('0');
    const bad = readFileSync(ka.logFile, 'utf8').split('\n').filter((x) => /invalid|mismatch|bad /i.test(x));
    expect(bad).toEqual([]);
  }, 90_000);
});

describe('use_vmac on reload (SIGHUP)', () => {
  it('a newly added use_vmac gets its macvlan; a changed VRID makes the new one and removes the old; a fixed name is re-made with the new MAC', async () => {
    const l = await setup(['n1', 'client']);
    const vip = `${l.subnet}.61`;
    const file = path.join(work, 'n1.conf');
    const conf = (vrid: number, vmac: string | null) =>
      `vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id ${vrid}\n  priority 150\n  advert_int 1\n${vmac === null ? '' : `  use_vmac${vmac ? ` ${vmac}` : ''}\n`}` +
      `  virtual_ipaddress {\n    ${vip}/24\n  }\n}\n`;
    const vipOn = async (dev: string) => String((await l.exec('n1', ['ip', '-o', '-4', 'addr', 'show', 'dev', dev], { reject: false })).stdout).includes(` ${vip}/`);
    const linkOf = async (dev: string) => {
      const r = await l.exec('n1', ['ip', '-o', 'link', 'show', 'dev', dev], { reject: false });
      return r.exitCode === 0 ? String(r.stdout) : null;
    };
    /** An advert for `vrid` from `mac` seen by the client after `from` characters of capture. */
    const advertFrom = (mac: string, vrid: number, from: number) => new RegExp(`${mac} > 01:00:5e:00:00:12[^\\n]*\\n[^\\n]*vrid ${vrid},`).test(cap.text().slice(from));
    const cap = capture(l, 'client', ['vrrp']);
    await sleep(300);
    writeFileSync(file, conf(61, null));
    const d = startDaemon(l, 'n1', 'belay', file, work);
    daemons.push(d);
    await waitFor(() => vipOn('eth0'), 20_000, 'the VIP on eth0 (no use_vmac yet)');

    // use_vmac added: vrrp.61 made, the VIP moves onto it, adverts leave from the virtual MAC.
    writeFileSync(file, conf(61, ''));
    let mark = cap.text().length;
    d.child.kill('SIGHUP');
    await waitFor(async () => (await vipOn('vrrp.61')) && !(await vipOn('eth0')), 15_000, 'the VIP on vrrp.61 after the reload');
    expect(await linkOf('vrrp.61')).toMatch(/vrrp\.61@eth0.*link\/ether 00:00:5e:00:01:3d/);
    await waitFor(() => advertFrom('00:00:5e:00:01:3d', 61, mark), 10_000, 'adverts from 00:00:5e:00:01:3d');

    // VRID 61 → 62: vrrp.62 made, the instance elected again on it, vrrp.61 removed.
    writeFileSync(file, conf(62, ''));
    mark = cap.text().length;
    d.child.kill('SIGHUP');
    await waitFor(() => vipOn('vrrp.62'), 15_000, 'the VIP on vrrp.62 after the VRID changed');
    expect(await linkOf('vrrp.62')).toMatch(/link\/ether 00:00:5e:00:01:3e/);
    await waitFor(async () => (await linkOf('vrrp.61')) === null, 10_000, 'vrrp.61 removed');
    await waitFor(() => advertFrom('00:00:5e:00:01:3e', 62, mark), 10_000, 'adverts for VRID 62 from 00:00:5e:00:01:3e');

    // A fixed name (use_vmac vmac0), then its VRID changed: the same name re-made with the new MAC,
    // and the adverts follow it (the socket bound to the old interface is opened anew).
    writeFileSync(file, conf(62, 'vmac0'));
    d.child.kill('SIGHUP');
    await waitFor(async () => (await vipOn('vmac0')) && (await linkOf('vrrp.62')) === null, 15_000, 'the VIP on vmac0, vrrp.62 removed');
    writeFileSync(file, conf(63, 'vmac0'));
    mark = cap.text().length;
    d.child.kill('SIGHUP');
    await waitFor(async () => /link\/ether 00:00:5e:00:01:3f/.test((await linkOf('vmac0')) ?? ''), 15_000, 'vmac0 re-made with 00:00:5e:00:01:3f');
    await waitFor(() => vipOn('vmac0'), 15_000, 'the VIP on the new vmac0');
    await waitFor(() => advertFrom('00:00:5e:00:01:3f', 63, mark), 10_000, 'adverts for VRID 63 from the new vmac0');
    expect(readFileSync(d.logFile, 'utf8')).not.toMatch(/Reload failed|send to .* failed/);

    // Stop: the VMAC and the base's sysctls go.
    await stopDaemon(d, 5000);
    expect(await linkOf('vmac0')).toBeNull();
    expect(String((await l.exec('n1', ['sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout).trim()).toBe('0');
  }, 120_000);
});

describe('IPv6 VIP', () => {
  it('sends unsolicited neighbour advertisements (override flag, target link-layer address) when it becomes MASTER', async () => {
    const l = await setup(['n1', 'client']);
    const vip = '2001:db8:51::51';
    const conf = `vrrp_instance V6 {\n  state MASTER\n  interface eth0\n  virtual_router_id 52\n  priority 200\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}/64\n  }\n}\n`;
    writeFileSync(path.join(work, 'n1.conf'), conf);
    await l.exec('client', ['ip', 'addr', 'add', '2001:db8:51::99/64', 'dev', 'eth0', 'nodad']);
    const cap = capture(l, 'client', ['icmp6 and ip6[40] == 136']);
    await sleep(300);
    daemons.push(startDaemon(l, 'n1', 'belay', path.join(work, 'n1.conf'), work));
    await waitFor(() => cap.text().includes(`${vip} > ff02::1`) && cap.text().includes(`neighbor advertisement, length 32, tgt is ${vip}`), 20_000, 'an unsolicited NA for the VIP');
    const t = cap.text();
    expect(t).toMatch(/hlim 255/);
    expect(t).toMatch(/Flags \[override\]/);
    const mac = String((await l.exec('n1', ['cat', '/sys/class/net/eth0/address'])).stdout).trim();
    expect(t).toContain(`link-address option (2), length 8 (1): ${mac}`);
  }, 60_000);
});
