/**
 * The LVS manager with fake checkers and a recording data plane: health
 * changes re-apply the table, scripts run on transitions, ha_suspend starts
 * and stops checkers with VRRP mastership, shutdown removes the table.
 */
import { describe, expect, it } from 'vitest';
import { waiter } from '../wait.js';
import { parseKeepalivedConf, type ConfigSource } from '../../src/vrrp/keepalived-conf.js';
import { LvsManager, backendNotes } from '../../src/lvs/manager.js';
import type { DataPlane } from '../../src/lvs/dataplane.js';
import type { CheckerHooks, RealServerHealth, StartRealServerChecks } from '../../src/lvs/check/spec.js';
import type { DesiredService } from '../../src/lvs/pool.js';

function conf(text: string) {
  const src: ConfigSource = { read: () => text, glob: () => [], dirname: () => '/', resolve: (_d, p) => p };
  return parseKeepalivedConf('k.conf', src);
}

function rig(text: string) {
  const cfg = conf(text);
  const applied: string[] = [];
  let removed = 0;
  let kept = 0;
  const dp: DataPlane = {
    name: 'nftables',
    apply: async (t: DesiredService[]) => void applied.push(t.map((s) => `${s.id}:${s.destinations.map((d) => `${d.ip}=${d.weight}`).join(',')}`).join(' ')),
    remove: async () => void removed++,
    connections: () => new Map(),
    keepPersistence: async () => void kept++,
  };
  const hooks = new Map<string, CheckerHooks>();
  const running = new Set<string>();
  const start: StartRealServerChecks = (rs, _checks, h) => {
    hooks.set(rs.ip, h);
    running.add(rs.ip);
    return { health: () => ({ up: true, reason: 'fake' }), stop: () => void running.delete(rs.ip) };
  };
  const scripts: string[] = [];
  const logs: string[] = [];
  const m = new LvsManager({ virtualServers: cfg.virtualServers, groups: cfg.virtualServerGroups, startChecks: start, dataPlane: dp, log: (l) => logs.push(l), runScript: (c) => scripts.push(c) });
  const set = async (ip: string, h: RealServerHealth) => {
    hooks.get(ip)!.onChange(h);
    await m.reevaluate('settle');
  };
  return { cfg, m, applied, removed: () => removed, kept: () => kept, running, scripts, logs, set };
}

const rs = (ip: string, extra = '') => `  real_server ${ip} 80 {\n${extra}    TCP_CHECK {\n    }\n  }\n`;

describe('LVS manager', () => {
  it('applies at start, re-applies on a health change, runs notify and quorum scripts, removes the table on stop', async () => {
    const r = rig(`virtual_server 10.0.0.1 80 {\n quorum_down /bin/qdown\n quorum_up /bin/qup\n${rs('10.0.0.2', '    notify_down /bin/down2\n')}${rs('10.0.0.3')}}\n`);
    await r.m.start();
    expect(r.applied).toEqual(['vs0:10.0.0.2=1,10.0.0.3=1']);
    await r.set('10.0.0.2', { up: false, reason: 'refused' });
    expect(r.applied.at(-1)).toBe('vs0:10.0.0.3=1');
    expect(r.scripts).toEqual(['/bin/down2']);
    await r.set('10.0.0.3', { up: false, reason: 'refused' });
    expect(r.applied.at(-1)).toBe('vs0:');
    expect(r.scripts).toEqual(['/bin/down2', '/bin/qdown']);
    await r.set('10.0.0.3', { up: true, reason: 'ok' });
    expect(r.scripts.at(-1)).toBe('/bin/qup');
    expect(r.m.status().services[0]!.realServers.map((x) => [x.ip, x.up, x.inPool])).toEqual([
      ['10.0.0.2', false, false],
      ['10.0.0.3', true, true],
    ]);
    const n = r.applied.length;
    await r.m.reevaluate('no change');
    expect(r.applied.length).toBe(n); // an unchanged table is not re-applied
    await r.m.stop();
    expect(r.removed()).toBe(1);
    expect(r.running.size).toBe(0);
  });

  it('ha_suspend: checkers run only while MASTER of the virtual address', async () => {
    const r = rig(`virtual_server 10.0.0.1 80 {\n ha_suspend\n${rs('10.0.0.2')}}\n`);
    await r.m.start();
    expect([...r.running]).toEqual([]);
    r.m.setMasterAddresses(new Set(['10.0.0.1']));
    expect([...r.running]).toEqual(['10.0.0.2']);
    r.m.setMasterAddresses(new Set());
    expect([...r.running]).toEqual([]);
    await r.m.stop();
  });

  it('a persistent NAT service has the persistence of live connections kept every half timeout, until stop; others none', async () => {
    const r = rig(`virtual_server 10.0.0.1 80 {\n lb_kind NAT\n persistence_timeout 2\n${rs('10.0.0.2')}}\n`);
    await r.m.start();
    await waiter(20000, 100)('a refresh', async () => r.kept(), (n) => n >= 2);
    await r.m.stop();
    const n = r.kept();
    await new Promise((res) => setTimeout(res, 2500));
    expect(r.kept()).toBe(n);
    const plain = rig(`virtual_server 10.0.0.1 80 {\n lb_kind NAT\n${rs('10.0.0.2')}}\n`);
    await plain.m.start();
    await new Promise((res) => setTimeout(res, 1500));
    expect(plain.kept()).toBe(0);
    await plain.m.stop();
  });

  it('omega: quorum_down runs on shutdown', async () => {
    const r = rig(`virtual_server 10.0.0.1 80 {\n omega\n quorum_down /bin/qdown\n${rs('10.0.0.2')}}\n`);
    await r.m.start();
    await r.m.stop();
    expect(r.scripts).toEqual(['/bin/qdown']);
  });

  it('start-up notes name file:line and what each lb_algo becomes', () => {
    const cfg = conf(`virtual_server 10.0.0.1 80 {\n lb_algo wlc\n${rs('10.0.0.2')}}\nvirtual_server 10.0.0.1 81 {\n lb_algo sh\n lb_kind DR\n${rs('10.0.0.2')}}\n`);
    const notes = backendNotes(cfg.virtualServers, 'nftables');
    expect(notes[0]).toMatch(/^k\.conf:1: virtual_server TCP 10\.0\.0\.1:80: lb_algo wlc - wlc \(connection counting\) falls back to wrr/);
    expect(notes[1]).toMatch(/^k\.conf:8: virtual_server TCP 10\.0\.0\.1:81: lb_algo sh honoured by nftables \(jhash of the client address\); DR/);
  });
});
