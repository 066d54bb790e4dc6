/**
 * `belay keepalived`'s metrics, under the names of the common keepalived
 * exporters (mehdy/keepalived-exporter, formerly cafebazaar's, and
 * gen2brain's): per instance counters labelled {iname, intf, vrid, state},
 * `keepalived_vrrp_state{iname,intf,vrid,ip_address}` per VIP with
 * keepalived's state numbers (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT), and
 * `keepalived_script_status{name}` (0 BAD, 1 GOOD) /
 * `keepalived_script_state{name}` (0 idle, 1 running). Pure: a function of
 * the VRRP engine's status.
 */
import type { RouterStatus } from '../vrrp/core.js';
import type { VrrpState } from '../vrrp/types.js';
import { counter, gauge, renderFamilies, sample, type Family, type Sample } from './exposition.js';

/** keepalived's own numbering (vrrp.h); STOP is reported as FAULT's neighbour, 4. */
const STATE_NUMBER: Record<VrrpState, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 4 };

export function keepalivedFamilies(status: RouterStatus | undefined): Family[] {
  const up = status !== undefined;
  const fams: Family[] = [gauge('keepalived_up', 'Status', [sample(up ? 1 : 0)])];
  if (!status) return fams;
  const per = (pick: (i: RouterStatus['instances'][number]) => number): Sample[] =>
    status.instances.map((i) => sample(pick(i), { iname: i.name, intf: i.interface, vrid: String(i.vrid), state: i.state }));
  const d = (i: RouterStatus['instances'][number], k: keyof RouterStatus['instances'][number]['stats']['dropped']) => i.stats.dropped[k] ?? 0;

  const vipStates: Sample[] = [];
  for (const i of status.instances) {
    for (const vip of i.vips) {
      vipStates.push(sample(STATE_NUMBER[i.state], { iname: i.name, intf: i.interface, vrid: String(i.vrid), ip_address: vip.replace(/\/\d+$/, '') }));
    }
  }
  fams.push(
    gauge('keepalived_vrrp_state', 'State of vrrp', vipStates),
    counter('keepalived_advertisements_received_total', 'Advertisements received', per((i) => i.stats.advertRcvd)),
    counter('keepalived_advertisements_sent_total', 'Advertisements sent', per((i) => i.stats.advertSent)),
    counter('keepalived_become_master_total', 'Became master', per((i) => i.stats.becomeMaster)),
    counter('keepalived_release_master_total', 'Released master', per((i) => i.stats.releaseMaster)),
    counter('keepalived_packet_length_errors_total', 'Packet length errors', per((i) => d(i, 'malformed'))),
    counter('keepalived_advertisements_interval_errors_total', 'Advertisement interval errors', per((i) => d(i, 'interval'))),
    counter('keepalived_ip_ttl_errors_total', 'TTL errors', per((i) => d(i, 'ttl'))),
    counter('keepalived_invalid_type_received_total', 'Invalid type errors', per((i) => d(i, 'version'))),
    counter('keepalived_address_list_errors_total', 'Address list errors', per((i) => d(i, 'addresses'))),
    counter('keepalived_authentication_failure_total', 'Authentication failure', per((i) => d(i, 'auth'))),
    counter('keepalived_priority_zero_received_total', 'Priority zero received', per((i) => i.stats.priorityZeroRcvd)),
    counter('keepalived_priority_zero_sent_total', 'Priority zero sent', per((i) => i.stats.priorityZeroSent)),
    gauge('keepalived_script_status', 'Tracker Script Status', status.scripts.map((s) => sample(s.ok ? 1 : 0, { name: s.name }))),
    gauge('keepalived_script_state', 'Tracker Script State', status.scripts.map((s) => sample(s.running ? 1 : 0, { name: s.name }))),
    // belay's own: every drop reason, and the priorities the elections use.
    counter(
      'belay_vrrp_dropped_packets_total',
      'VRRP packets dropped, by instance and reason',
      status.instances.flatMap((i) => Object.entries(i.stats.dropped).map(([reason, n]) => sample(n, { iname: i.name, vrid: String(i.vrid), reason }))),
    ),
    counter('belay_vrrp_unmatched_packets_total', 'VRRP packets that matched no instance, by reason', [
      sample(status.unmatched.wrongVrid, { reason: 'wrong_vrid' }),
      sample(status.unmatched.wrongInterface, { reason: 'wrong_interface' }),
      sample(status.unmatched.malformed, { reason: 'malformed' }),
    ]),
    gauge('belay_vrrp_effective_priority', 'Priority after tracked scripts and interfaces', per((i) => i.effectivePriority)),
  );
  return fams;
}

export function keepalivedMetricsText(status: RouterStatus | undefined): string {
  return renderFamilies(keepalivedFamilies(status));
}
