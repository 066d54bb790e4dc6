/**
 * The IPVS backend's ipvsadm-restore text and the `ipvsadm -Ln` listing
 * (format of ipvsadm.c's print_title / print_service_entry), and the
 * conntrack counts the nftables backend shows as ActiveConn / InActConn.
 */
import { describe, expect, it } from 'vitest';
import { ipvsadmList, ipvsadmRestoreText } from '../../src/lvs/ipvsadm.js';
import { conntrackCounts } from '../../src/lvs/dataplane.js';
import type { DesiredService } from '../../src/lvs/pool.js';

const d = (ip: string, weight: number, up = true) => ({ ip, port: 80, weight, configuredWeight: 1, up, sorry: false, reason: '' });
const table: DesiredService[] = [
  { id: 'vs0', matches: [{ kind: 'addr', ip: '192.168.4.15', port: 80 }], protocol: 'TCP', lbAlgo: 'wrr', lbKind: 'DR', destinations: [d('192.168.4.100', 1), d('192.168.4.200', 2)], quorumUp: true, file: 'k', line: 1 },
  { id: 'vs1', matches: [{ kind: 'fwmark', fwmark: 1 }], protocol: 'UDP', lbAlgo: 'rr', lbKind: 'NAT', persistenceTimeoutS: 50, destinations: [d('10.0.0.2', 0, false)], quorumUp: true, file: 'k', line: 9 },
];

describe('ipvsadm text', () => {
  it('ipvsadm-restore input: clear, services, destinations with -g/-m and weights (inhibited kept at 0)', () => {
    expect(ipvsadmRestoreText(table)).toBe(
      ['-C', '-A -t 192.168.4.15:80 -s wrr', '-a -t 192.168.4.15:80 -r 192.168.4.100:80 -g -w 1', '-a -t 192.168.4.15:80 -r 192.168.4.200:80 -g -w 2', '-A -f 1 -s rr -p 50', '-a -f 1 -r 10.0.0.2:80 -m -w 0', ''].join('\n'),
    );
  });

  it('ipvsadm -Ln layout', () => {
    const out = ipvsadmList(table, (id, x) => (x.ip === '192.168.4.200' ? { active: 3, inactive: 12 } : { active: 0, inactive: 0 }));
    expect(out.split('\n')).toEqual([
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  192.168.4.15:80 wrr',
      '  -> 192.168.4.100:80             Route   1      0          0         ',
      '  -> 192.168.4.200:80             Route   2      3          12        ',
      'FWM  1 rr persistent 50',
      '  -> 10.0.0.2:80                  Masq    0      0          0         ',
      '',
    ]);
  });

  it('conntrack entries count per destination: ESTABLISHED active, others inactive', () => {
    const nat: DesiredService[] = [{ ...table[0]!, lbKind: 'NAT' }];
    const text = [
      'ipv4     2 tcp      6 431999 ESTABLISHED src=10.9.0.2 dst=192.168.4.15 sport=40000 dport=80 src=192.168.4.100 dst=10.9.0.2 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2',
      'ipv4     2 tcp      6 110 TIME_WAIT src=10.9.0.2 dst=192.168.4.15 sport=40001 dport=80 src=192.168.4.200 dst=10.9.0.2 sport=80 dport=40001 [ASSURED] mark=0 zone=0 use=2',
      'ipv4     2 tcp      6 110 TIME_WAIT src=10.9.0.2 dst=192.168.4.99 sport=40002 dport=80 src=192.168.4.99 dst=10.9.0.2 sport=80 dport=40002 [ASSURED] mark=0 zone=0 use=2',
    ].join('\n');
    const c = conntrackCounts(nat, text);
    expect(c.get('vs0/192.168.4.100:80')).toEqual({ active: 1, inactive: 0 });
    expect(c.get('vs0/192.168.4.200:80')).toEqual({ active: 0, inactive: 1 });
  });

  it('IPv6 conntrack entries count too, however the addresses are spelt (the kernel writes every group in full)', () => {
    const v6: DesiredService[] = [{ ...table[0]!, lbKind: 'NAT', matches: [{ kind: 'addr', ip: 'fd01:7::100', port: 80 }], destinations: [{ ...table[0]!.destinations[0]!, ip: 'fd02:7::21' }] }];
    const text = [
      'ipv6     10 tcp      6 431999 ESTABLISHED src=fd01:0007:0000:0000:0000:0000:0000:0002 dst=fd01:0007:0000:0000:0000:0000:0000:0100 sport=40000 dport=80 src=fd02:0007:0000:0000:0000:0000:0000:0021 dst=fd01:0007:0000:0000:0000:0000:0000:0002 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2',
      'ipv6     10 tcp      6 110 TIME_WAIT src=fd01:7::2 dst=fd01:7::100 sport=40001 dport=80 src=fd02:7::21 dst=fd01:7::2 sport=80 dport=40001 [ASSURED] mark=0 zone=0 use=2',
    ].join('\n');
    expect(conntrackCounts(v6, text).get('vs0/fd02:7::21:80')).toEqual({ active: 1, inactive: 1 });
  });
});
