/**
 * The IPVS side, as text: `ipvsadm-restore` input from the desired table
 * (the backend where /proc/net/ip_vs exists), and the `ipvsadm -Ln` listing
 * (ipvsadm.c's print_title / print_service_entry formats) that `belay lvs
 * -Ln` prints for either backend. Pure.
 */
import type { DesiredService, Destination } from './pool.js';
import { hostPort, type VsgEntry } from './model.js';

function svcArg(s: DesiredService, m: VsgEntry): string {
  if (m.kind === 'fwmark') return `-f ${m.fwmark}`;
  return `${s.protocol === 'TCP' ? '-t' : '-u'} ${hostPort(m)}`;
}

/** `ipvsadm-restore` text: clear, then every service and destination (weight 0 kept, as IPVS does for inhibit_on_failure). */
export function ipvsadmRestoreText(table: DesiredService[]): string {
  const out: string[] = ['-C'];
  for (const s of table) {
    for (const m of s.matches) {
      const svc = svcArg(s, m);
      out.push(`-A ${svc} -s ${s.lbAlgo}${s.persistenceTimeoutS ? ` -p ${s.persistenceTimeoutS}` : ''}`);
      for (const d of s.destinations) out.push(`-a ${svc} -r ${hostPort(d)} ${s.lbKind === 'DR' ? '-g' : '-m'} -w ${d.weight}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export interface ConnCounts {
  active: number;
  inactive: number;
}

/**
 * `ipvsadm -L -n`. Connection counts come from the caller (conntrack for
 * the nftables backend): `conns(serviceId, destination)`.
 */
export function ipvsadmList(table: DesiredService[], conns: (serviceId: string, d: Destination) => ConnCounts = () => ({ active: 0, inactive: 0 })): string {
  const out: string[] = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
  for (const s of table) {
    for (const m of s.matches) {
      const head = m.kind === 'fwmark' ? `FWM  ${m.fwmark}` : `${s.protocol}  ${hostPort(m)}`;
      out.push(`${head} ${s.lbAlgo}${s.persistenceTimeoutS ? ` persistent ${s.persistenceTimeoutS}` : ''}`);
      for (const d of s.destinations) {
        const c = conns(s.id, d);
        const fwd = s.lbKind === 'DR' ? 'Route' : 'Masq';
        out.push(`  -> ${hostPort(d).padEnd(28)} ${fwd.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(c.active).padEnd(10)} ${String(c.inactive).padEnd(10)}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
