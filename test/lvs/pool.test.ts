import { describe, expect, it } from 'vitest';
import { parseKeepalivedConf, type ConfigSource } from '../../src/vrrp/keepalived-conf.js';
import { checksEnabled, evaluatePool, healthKey, type PoolState } from '../../src/lvs/pool.js';
import type { RealServerHealth } from '../../src/lvs/check/spec.js';

function conf(text: string) {
  const src: ConfigSource = { read: () => text, glob: () => [], dirname: () => '/', resolve: (_d, p) => p };
  return parseKeepalivedConf('k.conf', src);
}

const rs = (ip: string, weight: number, extra = '') => `  real_server ${ip} 80 {\n    weight ${weight}\n${extra}    TCP_CHECK {\n    }\n  }\n`;
const up: RealServerHealth = { up: true, reason: 'ok' };
const down: RealServerHealth = { up: false, reason: 'TCP connection failed' };

function run(text: string, steps: Record<string, RealServerHealth>[]) {
  const cfg = conf(text);
  let state: PoolState = { quorumUp: new Map() };
  return steps.map((h) => {
    const health = new Map(Object.entries(h).map(([ip, v]) => [healthKey('vs0', { ip, port: 80 }), v]));
    const r = evaluatePool(cfg.virtualServers, cfg.virtualServerGroups, health, state);
    state = r.state;
    return { dests: r.table[0]!.destinations.map((d) => `${d.ip}:${d.weight}${d.sorry ? 's' : ''}`), events: r.events.map((e) => `${e.kind}${e.command ? ` ${e.command}` : ''}`), quorumUp: r.table[0]!.quorumUp };
  });
}

describe('pool core', () => {
  it('a down real server leaves the pool and comes back; weights are kept', () => {
    const text = `virtual_server 10.0.0.1 80 {\n lb_algo wrr\n${rs('10.0.0.2', 1)}${rs('10.0.0.3', 2)}}\n`;
    expect(run(text, [{}, { '10.0.0.2': down }, { '10.0.0.2': up }])).toEqual([
      { dests: ['10.0.0.2:1', '10.0.0.3:2'], events: [], quorumUp: true },
      { dests: ['10.0.0.3:2'], events: [], quorumUp: true },
      { dests: ['10.0.0.2:1', '10.0.0.3:2'], events: [], quorumUp: true },
    ]);
  });

  it('inhibit_on_failure keeps a down server with weight 0; misc_dynamic weight is used', () => {
    const text = `virtual_server 10.0.0.1 80 {\n inhibit_on_failure\n${rs('10.0.0.2', 1)}${rs('10.0.0.3', 2)}}\n`;
    expect(run(text, [{ '10.0.0.2': down, '10.0.0.3': { up: true, dynamicWeight: 7, reason: 'exit 9' } }])[0]!.dests).toEqual(['10.0.0.2:0', '10.0.0.3:7']);
  });

  it('quorum with hysteresis: quorum_down below quorum-hysteresis, quorum_up at quorum+hysteresis; the sorry server serves meanwhile', () => {
    const servers = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
    const text = `virtual_server 10.0.0.1 80 {\n quorum 3\n hysteresis 1\n quorum_up /bin/up\n quorum_down /bin/down\n sorry_server 10.0.0.9 8080\n${servers.map((s) => rs(s, 1)).join('')}}\n`;
    const all = (n: number) => Object.fromEntries(servers.map((s, k) => [s, k < n ? up : down]));
    const r = run(text, [all(4), all(2), all(1), all(3), all(4)]);
    expect(r.map((x) => [x.quorumUp, x.events.join()])).toEqual([
      [true, ''],
      [true, ''], // 2 is not below 3 - 1
      [false, 'quorum_down /bin/down'],
      [false, ''], // 3 is not 3 + 1
      [true, 'quorum_up /bin/up'],
    ]);
    expect(r[2]!.dests).toEqual(['10.0.0.9:1s']);
    expect(r[3]!.dests).toEqual(['10.0.0.9:1s']);
    expect(r[4]!.dests).toHaveLength(4);
  });

  it('alpha: a checked real server starts down until its first good check', () => {
    const text = `virtual_server 10.0.0.1 80 {\n alpha\n${rs('10.0.0.2', 1)}}\n`;
    expect(run(text, [{}, { '10.0.0.2': up }]).map((x) => x.dests)).toEqual([[], ['10.0.0.2:1']]);
  });

  it('ha_suspend: checks run only while MASTER of the instance holding the address', () => {
    const cfg = conf(`virtual_server 10.0.0.1 80 {\n ha_suspend\n${rs('10.0.0.2', 1)}}\nvirtual_server 10.0.0.7 80 {\n${rs('10.0.0.2', 1)}}\n`);
    expect(checksEnabled(cfg.virtualServers[0]!, [], new Set())).toBe(false);
    expect(checksEnabled(cfg.virtualServers[0]!, [], new Set(['10.0.0.1']))).toBe(true);
    expect(checksEnabled(cfg.virtualServers[1]!, [], new Set())).toBe(true);
  });
});
