/**
 * The LVS half of keepalived.conf as a typed model: `virtual_server`,
 * `virtual_server_group`, `real_server` and their checkers (spec.ts types).
 * Plain data with file and line, produced by src/lvs/conf.ts. Times are ms.
 */
import type { CheckSpec } from './check/spec.js';

/** keepalived's `lvs_schedulers` list (ipvsadm's schedulers). */
export const LB_ALGOS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;
export type LbAlgo = (typeof LB_ALGOS)[number];
export type LbKind = 'NAT' | 'DR';
export type Protocol = 'TCP' | 'UDP';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface RealServerConf extends Endpoint {
  weight: number;
  /** `inhibit_on_failure` (of the real server, else of the virtual server): weight 0 instead of removal. */
  inhibitOnFailure: boolean;
  notifyUp?: string;
  notifyDown?: string;
  /** Every checker of the real server; none = always up (as keepalived). */
  checks: CheckSpec[];
  file: string;
  line: number;
}

export interface SorryServerConf extends Endpoint {
  /** `sorry_server_inhibit`: kept in the table with weight 0 while real servers serve. */
  inhibit: boolean;
}

/** What a virtual service matches: an address and port, a firewall mark, or a group of those. */
export type VsMatch = { kind: 'addr'; ip: string; port: number } | { kind: 'fwmark'; fwmark: number } | { kind: 'group'; name: string };

export interface VirtualServerConf {
  match: VsMatch;
  protocol: Protocol;
  lbAlgo: LbAlgo;
  lbKind: LbKind;
  /** `persistence_timeout` in seconds (keepalived's default 360 when written without a value). */
  persistenceTimeoutS?: number;
  /** `persistence_granularity` netmask. */
  persistenceGranularity?: string;
  delayLoopMs: number;
  alpha: boolean;
  omega: boolean;
  /** Sum of weights of live real servers needed to be "quorum up" (default 1). */
  quorum: number;
  hysteresis: number;
  quorumUp?: string;
  quorumDown?: string;
  inhibitOnFailure: boolean;
  /** `ha_suspend`: checks run only while this node is MASTER of the VRRP instance holding the address. */
  haSuspend: boolean;
  sorryServer?: SorryServerConf;
  virtualhost?: string;
  realServers: RealServerConf[];
  file: string;
  line: number;
}

export type VsgEntry = { kind: 'addr'; ip: string; port: number } | { kind: 'fwmark'; fwmark: number };

export interface VirtualServerGroupConf {
  name: string;
  entries: VsgEntry[];
  file: string;
  line: number;
}

/** The name ipvsadm would print for a virtual service: "TCP  10.0.0.1:80" / "FWM  1". */
export function vsName(vs: VirtualServerConf): string {
  const m = vs.match;
  if (m.kind === 'addr') return `${vs.protocol} ${hostPort(m)}`;
  if (m.kind === 'fwmark') return `FWM ${m.fwmark}`;
  return `group ${m.name}`;
}

export function rsName(rs: Endpoint): string {
  return hostPort(rs);
}

/** "10.0.0.1:80", "[fd00::1]:80": an address and port as ipvsadm writes them. */
export function hostPort(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}
