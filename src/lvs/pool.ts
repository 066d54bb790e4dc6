/**
 * The pool core: from the configuration and each real server's health (as
 * the checkers report it) to the desired table of virtual services and
 * their destinations, as keepalived's check daemon keeps IPVS:
 *  - a real server is in the pool while up, with its weight (or the weight a
 *    `misc_dynamic` MISC_CHECK gave); a down one is removed, or kept with
 *    weight 0 under `inhibit_on_failure`;
 *  - quorum: the live weight sum must reach `quorum + hysteresis` to gain
 *    quorum and fall below `quorum - hysteresis` to lose it; `quorum_up` /
 *    `quorum_down` run on the transitions; while quorum is lost and a
 *    `sorry_server` is set, the sorry server alone serves (keepalived's
 *    perform_quorum_state removes the live real servers);
 *  - `ha_suspend`: checkers run only while this node is MASTER of the VRRP
 *    instance holding the virtual address.
 * Pure: no I/O, no clock.
 */
import type { RealServerHealth } from './check/spec.js';
import type { LbAlgo, LbKind, Protocol, RealServerConf, VirtualServerConf, VirtualServerGroupConf, VsgEntry } from './model.js';
import { rsName } from './model.js';

export interface Destination {
  ip: string;
  port: number;
  /** The weight in the table: 0 = no new connections (inhibited, or weight 0 configured). */
  weight: number;
  configuredWeight: number;
  up: boolean;
  sorry: boolean;
  /** The health line of its checkers (for status). */
  reason: string;
}

export interface DesiredService {
  /** Stable name for this virtual service in the table ("vs0", "vs1"…), by configuration order. */
  id: string;
  /** What traffic it takes: addresses and ports, or firewall marks (a group expands to several). */
  matches: VsgEntry[];
  protocol: Protocol;
  lbAlgo: LbAlgo;
  lbKind: LbKind;
  persistenceTimeoutS?: number;
  destinations: Destination[];
  quorumUp: boolean;
  file: string;
  line: number;
}

export type PoolEvent = { kind: 'quorum_up' | 'quorum_down'; service: string; command?: string; liveWeight: number };

export function serviceMatches(vs: VirtualServerConf, groups: VirtualServerGroupConf[]): VsgEntry[] {
  const m = vs.match;
  if (m.kind === 'addr') return [{ kind: 'addr', ip: m.ip, port: m.port }];
  if (m.kind === 'fwmark') return [{ kind: 'fwmark', fwmark: m.fwmark }];
  return groups.find((g) => g.name === m.name)?.entries ?? [];
}

/** The health a real server is taken to have before its checkers said anything. */
export function initialHealth(rs: RealServerConf): RealServerHealth {
  if (rs.checks.length === 0) return { up: true, reason: 'no checker: always up' };
  // alpha: down until the first successful check (every checker must be up).
  const alpha = rs.checks.some((c) => c.alpha);
  return alpha ? { up: false, reason: 'alpha: down until checked' } : { up: true, reason: 'not checked yet' };
}

export function effectiveWeight(rs: RealServerConf, h: RealServerHealth): number {
  return h.dynamicWeight ?? rs.weight;
}

/**
 * One virtual service's desired state. `prevQuorumUp` is the state of the
 * previous evaluation (undefined at start: taken from the live weight
 * without hysteresis, and no event).
 */
export function evaluateService(
  id: string,
  vs: VirtualServerConf,
  groups: VirtualServerGroupConf[],
  health: (rs: RealServerConf) => RealServerHealth | undefined,
  prevQuorumUp: boolean | undefined,
): { service: DesiredService; events: PoolEvent[] } {
  const rows = vs.realServers.map((rs) => {
    const h = health(rs) ?? initialHealth(rs);
    return { rs, h, w: effectiveWeight(rs, h) };
  });
  const liveWeight = rows.filter((r) => r.h.up).reduce((n, r) => n + r.w, 0);
  let quorumUp: boolean;
  const events: PoolEvent[] = [];
  if (prevQuorumUp === undefined) quorumUp = liveWeight >= vs.quorum;
  else if (prevQuorumUp) quorumUp = !(liveWeight < vs.quorum - vs.hysteresis);
  else quorumUp = liveWeight >= vs.quorum + vs.hysteresis;
  if (prevQuorumUp !== undefined && quorumUp !== prevQuorumUp) {
    const command = quorumUp ? vs.quorumUp : vs.quorumDown;
    events.push({ kind: quorumUp ? 'quorum_up' : 'quorum_down', service: id, liveWeight, ...(command ? { command } : {}) });
  }
  const destinations: Destination[] = [];
  const sorryServes = !quorumUp && vs.sorryServer !== undefined;
  for (const { rs, h, w } of rows) {
    if (sorryServes) continue;
    if (h.up) destinations.push({ ip: rs.ip, port: rs.port, weight: w, configuredWeight: rs.weight, up: true, sorry: false, reason: h.reason });
    else if (rs.inhibitOnFailure) destinations.push({ ip: rs.ip, port: rs.port, weight: 0, configuredWeight: rs.weight, up: false, sorry: false, reason: h.reason });
  }
  if (vs.sorryServer) {
    const s = vs.sorryServer;
    const port = s.port || (vs.match.kind === 'addr' ? vs.match.port : 0);
    if (sorryServes) destinations.push({ ip: s.ip, port, weight: 1, configuredWeight: 1, up: true, sorry: true, reason: 'quorum lost: sorry server' });
    else if (s.inhibit) destinations.push({ ip: s.ip, port, weight: 0, configuredWeight: 1, up: true, sorry: true, reason: 'sorry server, inhibited while quorum is up' });
  }
  return {
    service: {
      id,
      matches: serviceMatches(vs, groups),
      protocol: vs.protocol,
      lbAlgo: vs.lbAlgo,
      lbKind: vs.lbKind,
      ...(vs.persistenceTimeoutS !== undefined ? { persistenceTimeoutS: vs.persistenceTimeoutS } : {}),
      destinations,
      quorumUp,
      file: vs.file,
      line: vs.line,
    },
    events,
  };
}

export interface PoolState {
  quorumUp: Map<string, boolean>;
}

/** Every virtual service; health is keyed by service id and real server "ip:port". */
export function evaluatePool(
  vss: VirtualServerConf[],
  groups: VirtualServerGroupConf[],
  health: Map<string, RealServerHealth>,
  prev: PoolState,
): { table: DesiredService[]; events: PoolEvent[]; state: PoolState } {
  const table: DesiredService[] = [];
  const events: PoolEvent[] = [];
  const state: PoolState = { quorumUp: new Map() };
  vss.forEach((vs, k) => {
    const id = `vs${k}`;
    const r = evaluateService(id, vs, groups, (rs) => health.get(healthKey(id, rs)), prev.quorumUp.get(id));
    table.push(r.service);
    events.push(...r.events);
    state.quorumUp.set(id, r.service.quorumUp);
  });
  return { table, events, state };
}

export function healthKey(serviceId: string, rs: { ip: string; port: number }): string {
  return `${serviceId}/${rsName(rs)}`;
}

/**
 * ha_suspend: whether the checkers of a virtual server run, given which
 * addresses this node holds as VRRP MASTER. Without ha_suspend: always.
 */
export function checksEnabled(vs: VirtualServerConf, groups: VirtualServerGroupConf[], masterAddresses: Set<string>): boolean {
  if (!vs.haSuspend) return true;
  const addrs = serviceMatches(vs, groups).flatMap((m) => (m.kind === 'addr' ? [m.ip] : []));
  // A fwmark service has no address of its own: keepalived suspends it only with an address; keep checking.
  if (addrs.length === 0) return true;
  return addrs.some((a) => masterAddresses.has(a));
}
