/**
 * The nftables data plane, as text for `nft -f`: one table per family owned
 * by belay (`table ip belay_lvs` for NAT, `table netdev belay_lvs_dr` for
 * DR), written whole and applied in one transaction. Pure.
 *
 * NAT: a `nat` prerouting chain sends each virtual service to its chain,
 * which picks a real server for the first packet of a connection
 * (conntrack keeps the choice): rr = `numgen inc mod N`, wrr = `numgen inc`
 * over the weight sum (ranges per server), sh = `jhash ip saddr` over the
 * weight sum; the real server's chain DNATs. persistence_timeout: each
 * real server has a timeout set of client addresses, refreshed on every new
 * connection and looked up before the scheduler (kube-proxy's session
 * affinity does the same). For TCP the client's element is refreshed again
 * when the connection ends (a FIN or RST forwarded either way, in the
 * `forward` chain), so the client keeps its real server for the timeout
 * after its last connection, as an IPVS persistence template does.
 *
 * DR: at netdev ingress (no conntrack), frames for the virtual service are
 * sent on with `fwd ip to RS device DEV`, which resolves the real server's
 * MAC and keeps the IP header (the real server holds the VIP on lo). The
 * choice must be the same for every packet of a connection, so rr/wrr hash
 * the connection (saddr . sport) and sh hashes the source.
 *
 * NAT fast path: with flowtable devices given, the NAT table also has a
 * software flowtable and a forward chain that adds the virtual services'
 * established connections to it (`flow add`): their later packets are
 * forwarded and NATed from the ingress hook, skipping the rest of the
 * netfilter path. Only the first packets of a connection pass the `nat`
 * chain anyway, so scheduling, persistence and the pool are untouched;
 * conntrack keeps the entries (marked [OFFLOAD]), so connection counts too.
 * The flowtable's name carries a hash of its devices: a device change makes
 * a new one rather than redefining the hooks of one in use.
 *
 * Set elements survive a re-apply (`flush table` leaves them), so clients
 * stay on their real server while it stays in the pool. A set's name carries
 * its timeout: a reload with another persistence_timeout makes new sets
 * rather than redefining one.
 */
import { hostPort, type LbAlgo, type VsgEntry } from './model.js';
import type { DesiredService, Destination } from './pool.js';
import { connectionLives, type ConntrackEntry } from './conntrack.js';
import { canonicalAddress } from '../vrrp/addr.js';

export const NAT_TABLE = 'belay_lvs';
export const DR_TABLE = 'belay_lvs_dr';

/** How the nftables backend schedules each lb_algo. */
export function nftSchedule(algo: LbAlgo): { as: 'rr' | 'wrr' | 'sh'; note?: string } {
  switch (algo) {
    case 'rr':
      return { as: 'rr' };
    case 'wrr':
      return { as: 'wrr' };
    case 'sh':
      return { as: 'sh' };
    case 'mh':
      return { as: 'sh', note: 'mh (Maglev hashing) falls back to sh: a jhash of the client address over the weights' };
    case 'dh':
      return { as: 'wrr', note: 'dh (destination hashing) falls back to wrr: every connection of a virtual service has the same destination' };
    default:
      return { as: 'wrr', note: `${algo} (connection counting) falls back to wrr: nftables keeps no per-server connection count, weights are honoured` };
  }
}

function ident(d: { ip: string; port: number }): string {
  return `${d.ip.replace(/[.:]/g, '_')}_${d.port}`;
}

function l4(protocol: 'TCP' | 'UDP'): 'tcp' | 'udp' {
  return protocol === 'TCP' ? 'tcp' : 'udp';
}

/** nftables' address families: `ip` (IPv4) and `ip6`; a NAT table of each. */
export type Family = 'ip' | 'ip6';

function familyOf(ip: string): Family {
  return ip.includes(':') ? 'ip6' : 'ip';
}

/** A DNAT target: `[addr]:port` for IPv6, as nft writes it; the address alone without a port. */
function target(ip: string, port: number): string {
  return port ? hostPort({ ip, port }) : ip;
}

/** Serving destinations of one family: weight > 0. */
function serving(s: DesiredService, f: Family): Destination[] {
  return s.destinations.filter((d) => d.weight > 0 && familyOf(d.ip) === f);
}

/** The vmap of a scheduler over `n` chains with weights. */
function pick(expr: string, chains: { chain: string; weight: number }[], weighted: boolean): string {
  if (chains.length === 1) return `goto ${chains[0]!.chain}`;
  const entries: string[] = [];
  let at = 0;
  for (const c of chains) {
    const w = weighted ? c.weight : 1;
    entries.push(w === 1 ? `${at} : goto ${c.chain}` : `${at}-${at + w - 1} : goto ${c.chain}`);
    at += w;
  }
  return `${expr} mod ${at} vmap { ${entries.join(', ')} }`;
}

export interface NftOptions {
  /** DR: the device each real server is reached on (its on-link route). */
  deviceOf?: (ip: string) => string | undefined;
  /** NAT fast path: the devices of a software flowtable (the director's interfaces); none or empty: no flowtable. */
  flowtableDevices?: string[];
  /** Chains and sets written by the previous apply, to delete those no longer wanted. */
  previous?: NftNames;
}

/** What one family's NAT table holds, for the next apply's clean-up. */
export interface NatNames {
  nat: string[];
  natSets: string[];
  /** The NAT table's flowtable, when it has one. */
  flowtable?: string;
  /** Whether the NAT table has a forward chain (flowtable, persistence refreshed at a connection's end). */
  forward?: boolean;
}

export interface NftNames extends NatNames {
  dr: string[];
  drSets: string[];
  drHooks: string[];
  /** The IPv6 NAT table (`table ip6`), when there is one. */
  ip6?: NatNames;
}

export interface NftRuleset {
  text: string;
  /** Names, for the next apply's clean-up. */
  names: NftNames;
  /** Why a service or destination is not in the tables. */
  notes: string[];
}

/** Whether a ruleset has a flowtable in either NAT table (the kernel may refuse it). */
export function hasFlowtable(names: NftNames): boolean {
  return !!(names.flowtable || names.ip6?.flowtable);
}

/**
 * A service's matches of one family: its addresses of that family, and its
 * fwmarks when it has real servers of that family (IPv4 when it has none).
 */
function familyMatches(s: DesiredService, f: Family): VsgEntry[] {
  const fwmarkHere = s.destinations.length === 0 ? f === 'ip' : s.destinations.some((d) => familyOf(d.ip) === f);
  return s.matches.filter((m) => (m.kind === 'fwmark' ? fwmarkHere : familyOf(m.ip) === f));
}

function matchText(m: VsgEntry, f: Family, proto: 'tcp' | 'udp'): string {
  if (m.kind === 'fwmark') return `meta mark ${m.fwmark} meta l4proto ${proto}`;
  return m.port ? `${f} daddr ${m.ip} ${proto} dport ${m.port}` : `${f} daddr ${m.ip} meta l4proto ${proto}`;
}

/** Real servers of the other family than the service's addresses: NAT and DR keep the family, so they get nothing. */
function crossFamilyNotes(s: DesiredService, notes: string[]): void {
  const families = new Set(s.matches.flatMap((m) => (m.kind === 'addr' ? [familyOf(m.ip)] : [])));
  if (families.size === 0) return;
  for (const d of s.destinations) {
    if (!families.has(familyOf(d.ip))) notes.push(`${s.id} (${s.file}:${s.line}): real server ${d.ip} is ${familyOf(d.ip) === 'ip6' ? 'IPv6' : 'IPv4'} and the virtual address is not: it gets no traffic (${s.lbKind} keeps the address family)`);
  }
}

/** One family's NAT table: entry rules, chains, sets, end-of-connection refreshes, and what the fast path matches. */
function natTable(table: DesiredService[], f: Family) {
  const chains: string[] = [];
  const sets: string[] = [];
  const lines: string[] = [];
  const entry: string[] = [];
  const end: string[] = [];
  const vips = new Set<string>();
  const marks = new Set<number>();
  const setType = f === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const suffix = f === 'ip' ? '' : '_6';
  for (const s of table) {
    if (s.lbKind !== 'NAT') continue;
    const dests = serving(s, f);
    const matches = familyMatches(s, f);
    if (matches.length === 0) continue;
    const sched = nftSchedule(s.lbAlgo).as;
    const proto = l4(s.protocol);
    const persist = s.persistenceTimeoutS;
    const chain = `${s.id}${suffix}`;
    chains.push(chain);
    for (const m of matches) {
      entry.push(`    ${matchText(m, f, proto)} jump ${chain}`);
      if (m.kind === 'fwmark') marks.add(m.fwmark);
      else vips.add(m.ip);
    }
    const body: string[] = [];
    const rsChains = dests.map((d) => ({ chain: `${s.id}_${ident(d)}`, weight: d.weight, d }));
    for (const c of rsChains) {
      chains.push(c.chain);
      const set = `${c.chain}_p${persist}`;
      const rs: string[] = [];
      if (persist) {
        sets.push(set);
        lines.push(`  set ${set} { type ${setType}; flags dynamic,timeout; timeout ${persist}s; }`);
        body.push(`    ${f} saddr @${set} goto ${c.chain}`);
        rs.push(`    update @${set} { ${f} saddr }`);
        if (proto === 'tcp') {
          const to = `${f} daddr ${c.d.ip}${c.d.port ? ` tcp dport ${c.d.port}` : ''}`;
          const from = `${f} saddr ${c.d.ip}${c.d.port ? ` tcp sport ${c.d.port}` : ''}`;
          for (const m of matches) {
            if (m.kind !== 'addr') continue;
            const orig = `ct status dnat ct original ${f} daddr ${m.ip}${m.port ? ` ct original proto-dst ${m.port}` : ''}`;
            end.push(`    ${to} tcp flags & (fin | rst) != 0 ${orig} update @${set} { ${f} saddr }`);
            end.push(`    ${from} tcp flags & (fin | rst) != 0 ${orig} update @${set} { ${f} daddr }`);
          }
        }
      }
      rs.push(`    counter meta l4proto ${proto} dnat ${f} to ${target(c.d.ip, c.d.port)}`);
      lines.push(`  chain ${c.chain} {`, ...rs, '  }');
    }
    if (rsChains.length) {
      const expr = sched === 'sh' ? `jhash ${f} saddr` : 'numgen inc';
      body.push(`    ${pick(expr, rsChains, sched !== 'rr')}`);
    }
    // An empty pool: the packet goes on to the director itself, which refuses it (RST / port unreachable) as IPVS does.
    lines.push(`  chain ${chain} {`, ...body, '  }');
  }
  return { chains, sets, lines, entry, end, vips, marks };
}

/** The text of one family's NAT table, its clean-up after `prev`, and its names. */
function natText(table: DesiredService[], f: Family, ftDevices: string[], prev: NatNames | undefined, out: string[]): NatNames | undefined {
  const t = natTable(table, f);
  const fast: string[] = [];
  if (ftDevices.length) {
    if (t.vips.size) fast.push(`ct original ${f} daddr { ${[...t.vips].join(', ')} }`);
    if (t.marks.size) fast.push(`meta mark { ${[...t.marks].join(', ')} }`);
  }
  const flowtable = fast.length ? `ft_${fnv1a(ftDevices.join(' '))}` : undefined;
  // The IPv4 table is always there (as before IPv6 was handled); the IPv6 one only while it serves something.
  if (f === 'ip6' && t.chains.length === 0) {
    if (prev) out.push(`table ip6 ${NAT_TABLE} {}`, `delete table ip6 ${NAT_TABLE}`);
    return undefined;
  }
  // Create if missing, flush every chain (set elements stay), drop what is gone, write the rest.
  out.push(`table ${f} ${NAT_TABLE} {}`, `flush table ${f} ${NAT_TABLE}`);
  for (const c of (prev?.nat ?? []).filter((c) => !t.chains.includes(c))) out.push(`delete chain ${f} ${NAT_TABLE} ${c}`);
  for (const c of (prev?.natSets ?? []).filter((c) => !t.sets.includes(c))) out.push(`delete set ${f} ${NAT_TABLE} ${c}`);
  const forward = [...t.end, ...(flowtable ? fast.map((m) => `    ${m} ct status dnat ct state established flow add @${flowtable}`) : [])];
  // The forward chain's rules are gone with the flush, so an unwanted chain or flowtable can go.
  if (prev?.forward && !forward.length) out.push(`delete chain ${f} ${NAT_TABLE} forward`);
  if (prev?.flowtable && prev.flowtable !== flowtable) out.push(`delete flowtable ${f} ${NAT_TABLE} ${prev.flowtable}`);
  const ft = flowtable ? [`  flowtable ${flowtable} {`, `    hook ingress priority 0; devices = { ${ftDevices.map((d) => `"${d}"`).join(', ')} };`, '  }'] : [];
  const fwd = forward.length ? ['  chain forward {', '    type filter hook forward priority filter; policy accept;', ...forward, '  }'] : [];
  out.push(`table ${f} ${NAT_TABLE} {`, '  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', ...t.entry, '  }', ...t.lines, ...ft, ...fwd, '}');
  return { nat: t.chains, natSets: t.sets, ...(flowtable ? { flowtable } : {}), ...(forward.length ? { forward: true } : {}) };
}

export function nftRuleset(table: DesiredService[], opts: NftOptions = {}): NftRuleset {
  const drChains: string[] = [];
  const drSets: string[] = [];
  const notes: string[] = [];
  const dr: string[] = [];
  const drEntry = new Map<string, string[]>();

  for (const s of table) {
    crossFamilyNotes(s, notes);
    if (s.lbKind === 'NAT') continue;
    for (const m of s.matches) {
      if (m.kind === 'fwmark') notes.push(`${s.id} (${s.file}:${s.line}): DR with a fwmark is not handled by the nftables backend (the mark is set after the ingress hook)`);
    }
    const sched = nftSchedule(s.lbAlgo).as;
    const proto = l4(s.protocol);
    const persist = s.persistenceTimeoutS;
    for (const f of ['ip', 'ip6'] as const) {
      const addrMatches = s.matches.filter((m) => m.kind === 'addr' && familyOf(m.ip) === f).map((m) => matchText(m, f, proto));
      if (addrMatches.length === 0) continue;
      const rsChains: { chain: string; weight: number; d: Destination; dev: string }[] = [];
      for (const d of serving(s, f)) {
        const dev = opts.deviceOf?.(d.ip);
        if (!dev) {
          notes.push(`${s.id}: real server ${d.ip} has no on-link route here; DR needs it on a directly connected network`);
          continue;
        }
        rsChains.push({ chain: `${s.id}_${ident(d)}`, weight: d.weight, d, dev });
      }
      if (rsChains.length === 0) continue;
      const devs = [...new Set([...rsChains.map((c) => c.dev)])];
      const chain = f === 'ip' ? s.id : `${s.id}_6`;
      drChains.push(chain);
      // The VIP arrives on the device of the real servers' network (one LAN: the DR topology).
      for (const dev of devs) {
        const hooks = drEntry.get(dev) ?? [];
        for (const m of addrMatches) hooks.push(`    meta pkttype host ${m} jump ${chain}`);
        drEntry.set(dev, hooks);
      }
      const body: string[] = [];
      for (const c of rsChains) {
        drChains.push(c.chain);
        const rs: string[] = [];
        if (persist) {
          const set = `${c.chain}_p${persist}`;
          drSets.push(set);
          dr.push(`  set ${set} { type ${f === 'ip' ? 'ipv4_addr' : 'ipv6_addr'}; flags dynamic,timeout; timeout ${persist}s; }`);
          body.push(`    ${f} saddr @${set} goto ${c.chain}`);
          rs.push(`    update @${set} { ${f} saddr }`);
        }
        rs.push(`    fwd ${f} to ${c.d.ip} device "${c.dev}"`);
        dr.push(`  chain ${c.chain} {`, ...rs, '  }');
      }
      const expr = sched === 'sh' || persist ? `jhash ${f} saddr` : `jhash ${f} saddr . ${proto} sport`;
      body.push(`    ${pick(expr, rsChains, sched !== 'rr')}`);
      dr.push(`  chain ${chain} {`, ...body, '  }');
    }
  }

  const prev = opts.previous ?? { nat: [], natSets: [], dr: [], drSets: [], drHooks: [] };
  const drHooks = [...drEntry.keys()].map((dev) => `ingress_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`);
  const ftDevices = [...new Set(opts.flowtableDevices ?? [])].sort();
  const out: string[] = [];
  const ip4 = natText(table, 'ip', ftDevices, prev, out)!;
  const ip6 = natText(table, 'ip6', ftDevices, prev.ip6, out);
  out.push(`table netdev ${DR_TABLE} {}`, `flush table netdev ${DR_TABLE}`);
  for (const c of prev.drHooks.filter((c) => !drHooks.includes(c))) out.push(`delete chain netdev ${DR_TABLE} ${c}`);
  for (const c of prev.dr.filter((c) => !drChains.includes(c))) out.push(`delete chain netdev ${DR_TABLE} ${c}`);
  for (const c of prev.drSets.filter((c) => !drSets.includes(c))) out.push(`delete set netdev ${DR_TABLE} ${c}`);
  if (drEntry.size || dr.length) {
    out.push(`table netdev ${DR_TABLE} {`);
    for (const [dev, hooks] of drEntry) {
      out.push(`  chain ingress_${dev.replace(/[^A-Za-z0-9_]/g, '_')} {`, `    type filter hook ingress device "${dev}" priority -500; policy accept;`, ...hooks, '  }');
    }
    out.push(...dr, '}');
  }
  return { text: `${out.join('\n')}\n`, names: { ...ip4, dr: drChains, drSets, drHooks, ...(ip6 ? { ip6 } : {}) }, notes };
}

/**
 * Persistence while a connection lives: IPVS keeps a persistence template
 * as long as a connection it controls exists, however idle. The timeout
 * sets are refreshed only by packets (a new connection, a connection's
 * end), so an idle connection longer than the timeout would let its
 * client's element expire. This re-adds, with a fresh timeout, the client
 * of every live connection of a persistent NAT service (`add` first so the
 * `delete` always finds it; one transaction). Empty when there is none.
 * fwmark services are not covered (conntrack does not show the mark a
 * packet carried).
 */
export function persistenceKeepText(table: DesiredService[], entries: ConntrackEntry[]): string {
  const keep = new Map<string, { f: Family; clients: Set<string> }>();
  for (const s of table) {
    const persist = s.persistenceTimeoutS;
    if (s.lbKind !== 'NAT' || !persist) continue;
    const proto = l4(s.protocol);
    for (const e of entries) {
      if (e.proto !== proto || !connectionLives(e)) continue;
      if (!s.matches.some((m) => m.kind === 'addr' && canonicalAddress(m.ip) === e.vip && (!m.port || m.port === e.vport))) continue;
      const f = familyOf(e.vip);
      const d = serving(s, f).find((x) => canonicalAddress(x.ip) === e.rs && (!x.port || x.port === e.rsPort));
      if (!d || familyOf(e.client) !== f) continue;
      const set = `${s.id}_${ident(d)}_p${persist}`;
      const k = keep.get(set) ?? { f, clients: new Set<string>() };
      k.clients.add(e.client);
      keep.set(set, k);
    }
  }
  const out: string[] = [];
  for (const [set, { f, clients }] of keep) {
    const elements = `{ ${[...clients].join(', ')} }`;
    for (const verb of ['add', 'delete', 'add']) out.push(`${verb} element ${f} ${NAT_TABLE} ${set} ${elements}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** 32-bit FNV-1a, as 8 hex digits: a short stable name part. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Remove belay's tables (shutdown). */
export function nftRemoveText(): string {
  return ['ip', 'ip6', 'netdev'].map((f) => `table ${f} ${f === 'netdev' ? DR_TABLE : NAT_TABLE} {}\ndelete table ${f} ${f === 'netdev' ? DR_TABLE : NAT_TABLE}\n`).join('');
}
