/**
 * The nftables text from the desired table. Checked as text here; when
 * `nft` is installed it is also loaded with `nft -c` (check only, no
 * change to the kernel's ruleset) in a throwaway network namespace.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { nftRemoveText, nftRuleset, nftSchedule, persistenceKeepText } from '../../src/lvs/nft.js';
import { parseConntrack } from '../../src/lvs/conntrack.js';
import { flowtableWanted } from '../../src/lvs/dataplane.js';
import type { DesiredService } from '../../src/lvs/pool.js';

const d = (ip: string, weight: number) => ({ ip, port: 80, weight, configuredWeight: weight, up: true, sorry: false, reason: 'ok' });
const svc = (over: Partial<DesiredService>): DesiredService => ({
  id: 'vs0',
  matches: [{ kind: 'addr', ip: '10.9.0.100', port: 80 }],
  protocol: 'TCP',
  lbAlgo: 'rr',
  lbKind: 'NAT',
  destinations: [d('198.18.0.21', 1), d('198.18.0.22', 2)],
  quorumUp: true,
  file: 'k.conf',
  line: 1,
  ...over,
});

/** Kernel errors of `nft -c` on text, or [] when it loads. */
function nftErrors(text: string): string[] {
  try {
    nftCheck(text);
    return [];
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err)
      .split('\n')
      .filter((l) => /Error:/.test(l));
  }
}

function nftCheck(text: string): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'blv-nft-'));
  const ns = `blv-nftc${process.pid}`;
  try {
    writeFileSync(path.join(dir, 'r.nft'), text);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', path.join(dir, 'r.nft')], { stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    try {
      execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    } catch {
      /* never made */
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('nftables backend text', () => {
  it('rr NAT: numgen over the serving servers, one DNAT chain each', () => {
    const r = nftRuleset([svc({})]);
    expect(r.text).toContain('    ip daddr 10.9.0.100 tcp dport 80 jump vs0');
    expect(r.text).toContain('numgen inc mod 2 vmap { 0 : goto vs0_198_18_0_21_80, 1 : goto vs0_198_18_0_22_80 }');
    expect(r.text).toContain('counter meta l4proto tcp dnat ip to 198.18.0.22:80');
    nftCheck(r.text);
  });

  it('wrr: ranges by weight; weight 0 (inhibited) servers are left out', () => {
    const r = nftRuleset([svc({ lbAlgo: 'wrr', destinations: [d('198.18.0.21', 1), d('198.18.0.22', 3), { ...d('198.18.0.23', 0), up: false }] })]);
    expect(r.text).toContain('numgen inc mod 4 vmap { 0 : goto vs0_198_18_0_21_80, 1-3 : goto vs0_198_18_0_22_80 }');
    expect(r.text).not.toContain('198.18.0.23');
    nftCheck(r.text);
  });

  it('sh and persistence: jhash of the source, per-server timeout sets looked up first', () => {
    const r = nftRuleset([svc({ lbAlgo: 'sh', persistenceTimeoutS: 50, protocol: 'UDP', matches: [{ kind: 'fwmark', fwmark: 3 }] })]);
    expect(r.text).toContain('meta mark 3 meta l4proto udp jump vs0');
    expect(r.text).toContain('set vs0_198_18_0_21_80_p50 { type ipv4_addr; flags dynamic,timeout; timeout 50s; }');
    expect(r.text).toContain('ip saddr @vs0_198_18_0_21_80_p50 goto vs0_198_18_0_21_80');
    expect(r.text).toContain('update @vs0_198_18_0_21_80_p50 { ip saddr }');
    expect(r.text).toContain('jhash ip saddr mod 3 vmap');
    nftCheck(r.text);
  });

  it('NAT persistence over TCP: the client\'s element is refreshed again when its connection ends (FIN or RST either way)', () => {
    const r = nftRuleset([svc({ persistenceTimeoutS: 50 })]);
    const orig = 'ct status dnat ct original ip daddr 10.9.0.100 ct original proto-dst 80';
    expect(r.text).toContain(`    ip daddr 198.18.0.21 tcp dport 80 tcp flags & (fin | rst) != 0 ${orig} update @vs0_198_18_0_21_80_p50 { ip saddr }`);
    expect(r.text).toContain(`    ip saddr 198.18.0.22 tcp sport 80 tcp flags & (fin | rst) != 0 ${orig} update @vs0_198_18_0_22_80_p50 { ip daddr }`);
    expect(r.names.forward).toBe(true);
    nftCheck(r.text);
    // UDP has no end to see; without persistence there is nothing to refresh: no forward chain.
    expect(nftRuleset([svc({ persistenceTimeoutS: 50, protocol: 'UDP' })]).text).not.toContain('chain forward');
    const plain = nftRuleset([svc({})], { previous: r.names });
    expect(plain.text).toContain('delete chain ip belay_lvs forward\n');
    expect(plain.names.forward).toBeUndefined();
  });

  it('DR: netdev ingress, fwd to the real server on its device, per-connection hash', () => {
    const r = nftRuleset([svc({ lbKind: 'DR', lbAlgo: 'wrr' })], { deviceOf: () => 'eth0' });
    expect(r.text).toContain('type filter hook ingress device "eth0" priority -500; policy accept;');
    expect(r.text).toContain('meta pkttype host ip daddr 10.9.0.100 tcp dport 80 jump vs0');
    expect(r.text).toContain('jhash ip saddr . tcp sport mod 3 vmap');
    expect(r.text).toContain('fwd ip to 198.18.0.22 device "eth0"');
    nftCheck(r.text);
  });

  it('a re-apply deletes the chains and sets of servers that left, and keeps the others', () => {
    const first = nftRuleset([svc({ persistenceTimeoutS: 60 })]);
    const second = nftRuleset([svc({ persistenceTimeoutS: 60, destinations: [d('198.18.0.22', 1)] })], { previous: first.names });
    expect(second.text).toContain('delete chain ip belay_lvs vs0_198_18_0_21_80\n');
    expect(second.text).toContain('delete set ip belay_lvs vs0_198_18_0_21_80_p60\n');
    expect(second.text).not.toContain('delete set ip belay_lvs vs0_198_18_0_22_80_p60');
    expect(second.text).toContain('  chain vs0 {\n    ip saddr @vs0_198_18_0_22_80_p60 goto vs0_198_18_0_22_80\n    goto vs0_198_18_0_22_80\n  }');
  });

  it('a new persistence_timeout gets new sets (a set keeps its timeout), the old ones go', () => {
    const first = nftRuleset([svc({ persistenceTimeoutS: 30 })]);
    const second = nftRuleset([svc({ persistenceTimeoutS: 90 })], { previous: first.names });
    expect(second.text).toContain('delete set ip belay_lvs vs0_198_18_0_21_80_p30\n');
    expect(second.text).toContain('set vs0_198_18_0_21_80_p90 { type ipv4_addr; flags dynamic,timeout; timeout 90s; }');
  });

  it('NAT fast path: a flowtable on the given devices, fed by the virtual services\' established DNAT connections', () => {
    const r = nftRuleset([svc({ matches: [{ kind: 'addr', ip: '10.9.0.100', port: 80 }, { kind: 'fwmark', fwmark: 3 }] })], { flowtableDevices: ['eth1', 'eth0', 'eth0'] });
    const ft = r.names.flowtable!;
    expect(ft).toMatch(/^ft_[0-9a-f]{8}$/);
    expect(r.text).toContain(`  flowtable ${ft} {\n    hook ingress priority 0; devices = { "eth0", "eth1" };\n  }`);
    expect(r.text).toContain('    type filter hook forward priority filter; policy accept;');
    expect(r.text).toContain(`    ct original ip daddr { 10.9.0.100 } ct status dnat ct state established flow add @${ft}`);
    expect(r.text).toContain(`    meta mark { 3 } ct status dnat ct state established flow add @${ft}`);
    // The DNAT chains are unchanged: scheduling and persistence stay on the first packet.
    expect(r.text).toContain('numgen inc mod 2 vmap { 0 : goto vs0_198_18_0_21_80, 1 : goto vs0_198_18_0_22_80 }');
    // No NAT service, or no devices: no flowtable.
    expect(nftRuleset([svc({ lbKind: 'DR' })], { flowtableDevices: ['eth0'], deviceOf: () => 'eth0' }).names.flowtable).toBeUndefined();
    expect(nftRuleset([svc({})], { flowtableDevices: [] }).text).not.toContain('flowtable');
    // Where the kernel has no flowtable (CONFIG_NF_FLOW_TABLE unset) only those lines are refused; the rest loads.
    const errors = nftErrors(r.text);
    for (const e of errors) expect(e).toMatch(/No such file or directory/);
    expect(errors.length === 0 || errors.length === 3, errors.join('\n')).toBe(true);
  });

  it('BELAY_LVS_FLOWTABLE: auto (default) or off; anything else is refused by name', () => {
    expect(flowtableWanted(undefined)).toBe(true);
    expect(flowtableWanted('auto')).toBe(true);
    expect(flowtableWanted('off')).toBe(false);
    expect(() => flowtableWanted('yes')).toThrow(/BELAY_LVS_FLOWTABLE=yes: expected auto or off/);
  });

  it('the flowtable goes when no longer wanted, and a device change makes a new one', () => {
    const first = nftRuleset([svc({})], { flowtableDevices: ['eth0'] });
    const same = nftRuleset([svc({})], { flowtableDevices: ['eth0'], previous: first.names });
    expect(same.names.flowtable).toBe(first.names.flowtable);
    expect(same.text).not.toContain('delete flowtable');
    const moved = nftRuleset([svc({})], { flowtableDevices: ['eth0', 'eth2'], previous: first.names });
    expect(moved.names.flowtable).not.toBe(first.names.flowtable);
    expect(moved.text).toContain(`delete flowtable ip belay_lvs ${first.names.flowtable}\n`);
    expect(moved.text).not.toContain('delete chain ip belay_lvs forward');
    const off = nftRuleset([svc({})], { previous: first.names });
    expect(off.text).toContain(`delete chain ip belay_lvs forward\ndelete flowtable ip belay_lvs ${first.names.flowtable}\n`);
    // A persistent service keeps the forward chain (its end-of-connection refresh) when the flowtable goes.
    const kept = nftRuleset([svc({ persistenceTimeoutS: 9 })], { previous: first.names });
    expect(kept.text).not.toContain('delete chain ip belay_lvs forward');
    expect(kept.text).toContain(`delete flowtable ip belay_lvs ${first.names.flowtable}\n`);
    expect(off.names.flowtable).toBeUndefined();
  });

  it('IPv6 virtual servers: their own `table ip6` for NAT (ip6 matches, [addr]:port DNAT, ipv6_addr sets), `fwd ip6` for DR', () => {
    const v6 = (ip: string, weight: number) => ({ ...d(ip, weight) });
    const nat6 = svc({ id: 'vs1', matches: [{ kind: 'addr', ip: 'fd00:9::100', port: 80 }], destinations: [v6('fd00:12::21', 1), v6('fd00:12::22', 1)], persistenceTimeoutS: 30 });
    const r = nftRuleset([svc({}), nat6]);
    // The IPv4 service is as before, in table ip; the IPv6 one only in table ip6.
    expect(r.text).toContain('table ip belay_lvs {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    ip daddr 10.9.0.100 tcp dport 80 jump vs0\n  }');
    expect(r.text).toContain('table ip6 belay_lvs {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    ip6 daddr fd00:9::100 tcp dport 80 jump vs1_6\n  }');
    expect(r.text).toContain('set vs1_fd00_12__21_80_p30 { type ipv6_addr; flags dynamic,timeout; timeout 30s; }');
    expect(r.text).toContain('ip6 saddr @vs1_fd00_12__21_80_p30 goto vs1_fd00_12__21_80');
    expect(r.text).toContain('counter meta l4proto tcp dnat ip6 to [fd00:12::22]:80');
    expect(r.text).toContain('ct status dnat ct original ip6 daddr fd00:9::100 ct original proto-dst 80 update @vs1_fd00_12__22_80_p30 { ip6 daddr }');
    expect(r.names.ip6?.nat).toEqual(['vs1_6', 'vs1_fd00_12__21_80', 'vs1_fd00_12__22_80']);
    nftCheck(r.text);
    // The IPv6 table goes when its last service does; nftRemoveText removes it too.
    const gone = nftRuleset([svc({})], { previous: r.names });
    expect(gone.text).toContain('table ip6 belay_lvs {}\ndelete table ip6 belay_lvs\n');
    expect(gone.names.ip6).toBeUndefined();
    expect(nftRuleset([svc({})]).text).not.toContain('ip6');
    expect(nftRemoveText()).toContain('delete table ip6 belay_lvs');

    const dr6 = nftRuleset([svc({ lbKind: 'DR', lbAlgo: 'sh', matches: [{ kind: 'addr', ip: 'fd00:9::100', port: 80 }], destinations: [v6('fd00:9::21', 1), v6('fd00:9::22', 1)] })], { deviceOf: () => 'eth0' });
    expect(dr6.text).toContain('meta pkttype host ip6 daddr fd00:9::100 tcp dport 80 jump vs0_6');
    expect(dr6.text).toContain('jhash ip6 saddr mod 2 vmap');
    expect(dr6.text).toContain('fwd ip6 to fd00:9::22 device "eth0"');
    nftCheck(dr6.text);
  });

  it('a real server of the other address family than the virtual address gets no traffic, and a note says so', () => {
    const r = nftRuleset([svc({ destinations: [d('198.18.0.21', 1), d('fd00:12::22', 1)] })]);
    expect(r.text).toContain('goto vs0_198_18_0_21_80');
    expect(r.text).not.toContain('fd00:12::22');
    expect(r.notes).toEqual(['vs0 (k.conf:1): real server fd00:12::22 is IPv6 and the virtual address is not: it gets no traffic (NAT keeps the address family)']);
    // A fwmark service goes to the family of its real servers.
    const mark6 = nftRuleset([svc({ matches: [{ kind: 'fwmark', fwmark: 6 }], destinations: [d('fd00:12::22', 1)] })]);
    expect(mark6.text).toContain('table ip6 belay_lvs {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    meta mark 6 meta l4proto tcp jump vs0_6');
    expect(mark6.text).not.toContain('meta mark 6 meta l4proto tcp jump vs0\n');
    nftCheck(mark6.text);
  });

  it('persistence of live connections: their clients re-added with a fresh timeout, per real server\'s set; ended ones and other services left alone', () => {
    const p = svc({ persistenceTimeoutS: 50 });
    const line = (client: string, rs: string, state: string, proto = 'tcp') =>
      `ipv4     2 ${proto}      6 300 ${state} src=${client} dst=10.9.0.100 sport=40000 dport=80 src=${rs} dst=${client} sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2`;
    const ct = parseConntrack([
      line('10.9.0.2', '198.18.0.21', 'ESTABLISHED'),
      line('10.9.0.3', '198.18.0.21', 'SYN_RECV'),
      line('10.9.0.2', '198.18.0.21', 'ESTABLISHED'),
      line('10.9.0.4', '198.18.0.22', 'TIME_WAIT'),
      line('10.9.0.5', '198.18.0.23', 'ESTABLISHED'),
    ].join('\n'));
    const text = persistenceKeepText([p], ct);
    const set = 'ip belay_lvs vs0_198_18_0_21_80_p50 { 10.9.0.2, 10.9.0.3 }';
    expect(text).toBe(`add element ${set}\ndelete element ${set}\nadd element ${set}\n`);
    // No persistence, DR, or nothing live: nothing to do.
    expect(persistenceKeepText([svc({})], ct)).toBe('');
    expect(persistenceKeepText([svc({ persistenceTimeoutS: 50, lbKind: 'DR' })], ct)).toBe('');
    expect(persistenceKeepText([p], parseConntrack(line('10.9.0.4', '198.18.0.22', 'TIME_WAIT')))).toBe('');
    // The refresh loads after the table (nft -c checks the whole text).
    nftCheck(nftRuleset([p]).text + text);
  });

  it('every lb_algo has a schedule; the fallbacks say what they do', () => {
    expect(nftSchedule('rr')).toEqual({ as: 'rr' });
    expect(nftSchedule('wlc').note).toMatch(/falls back to wrr/);
    expect(nftSchedule('mh').note).toMatch(/falls back to sh/);
    expect(nftRemoveText()).toContain('delete table ip belay_lvs');
  });
});
