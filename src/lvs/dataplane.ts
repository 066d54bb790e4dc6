/**
 * The data plane shells: apply the desired table to the kernel. nftables
 * (`nft -f -`, one transaction; the default where /proc/net/ip_vs is
 * absent) or IPVS (`ipvsadm-restore`, where the kernel has it). Also reads
 * the connection counts `--status` and `belay lvs -Ln` show.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { ipvsadmRestoreText, type ConnCounts } from './ipvsadm.js';
import { hasFlowtable, nftRemoveText, nftRuleset, persistenceKeepText, type NftRuleset } from './nft.js';
import type { DesiredService, Destination } from './pool.js';
import { canonicalAddress } from '../vrrp/addr.js';
import { parseConntrack } from './conntrack.js';

export type BackendName = 'nftables' | 'ipvs';

export interface DataPlane {
  readonly name: BackendName;
  apply(table: DesiredService[]): Promise<void>;
  remove(): Promise<void>;
  /** Active / inactive connections per destination, as far as the backend can tell. */
  connections(table: DesiredService[]): Map<string, ConnCounts>;
  /** Keep the persistence of clients whose connections still live (IPVS does this itself). */
  keepPersistence(table: DesiredService[]): Promise<void>;
}

export function connKey(serviceId: string, d: { ip: string; port: number }): string {
  return `${serviceId}/${d.ip}:${d.port}`;
}

/** IPVS when the kernel has it, else nftables; `BELAY_LVS_BACKEND` overrides. */
export function chooseBackend(env = process.env.BELAY_LVS_BACKEND): BackendName {
  if (env === 'nftables' || env === 'ipvs') return env;
  return existsSync('/proc/net/ip_vs') ? 'ipvs' : 'nftables';
}

async function run(cmd: string, args: string[], input: string): Promise<void> {
  try {
    await execa(cmd, args, { input });
  } catch (err) {
    const e = err as { stderr?: string; shortMessage?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.shortMessage || String(err)).trim()}`);
  }
}

/**
 * The NAT fast path: `BELAY_LVS_FLOWTABLE=off` leaves it out; otherwise
 * (`auto`, the default) the NAT table gets a software flowtable when the
 * kernel has one (CONFIG_NF_FLOW_TABLE), else it is left out and said once.
 */
export function flowtableWanted(env = process.env.BELAY_LVS_FLOWTABLE): boolean {
  if (env === undefined || env === '' || env === 'auto') return true;
  if (env === 'off') return false;
  throw new Error(`BELAY_LVS_FLOWTABLE=${env}: expected auto or off`);
}

/** The director's layer-3 interfaces (up, not loopback, with an IPv4 address): the flowtable's devices. */
function l3Devices(): string[] {
  try {
    const links = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show', 'up'], { encoding: 'utf8' })) as { ifname?: string; flags?: string[]; addr_info?: unknown[] }[];
    return links.filter((l) => l.ifname && !l.flags?.includes('LOOPBACK') && (l.addr_info?.length ?? 0) > 0).map((l) => l.ifname!);
  } catch {
    return [];
  }
}

/** The device a real server is reached on directly (DR needs an on-link route). */
function onLinkDevice(ip: string): string | undefined {
  try {
    const r = JSON.parse(execFileSync('ip', ['-j', 'route', 'get', ip], { encoding: 'utf8' })) as { dev?: string; gateway?: string }[];
    const first = r[0];
    return first && !first.gateway ? first.dev : undefined;
  } catch {
    return undefined;
  }
}

export class NftDataPlane implements DataPlane {
  readonly name = 'nftables' as const;
  private previous: NftRuleset['names'] | undefined;
  private readonly devices = new Map<string, string | undefined>();
  /** Still trying the flowtable: wanted, and the kernel has not refused it. */
  private flowtable: boolean;
  constructor(
    private readonly log: (l: string) => void = () => {},
    flowtable = flowtableWanted(),
  ) {
    this.flowtable = flowtable;
  }

  private deviceOf = (ip: string): string | undefined => {
    if (!this.devices.has(ip)) this.devices.set(ip, onLinkDevice(ip));
    return this.devices.get(ip);
  };

  async apply(table: DesiredService[]): Promise<void> {
    const base = { deviceOf: this.deviceOf, ...(this.previous ? { previous: this.previous } : {}) };
    // The first apply of this process also clears what a killed predecessor left (same transaction: no gap).
    const text = (r: NftRuleset) => (this.previous ? r.text : nftRemoveText() + r.text);
    if (this.flowtable) {
      const r = nftRuleset(table, { ...base, flowtableDevices: l3Devices() });
      try {
        await run('nft', ['-f', '-'], text(r));
        for (const n of r.notes) this.log(`LVS: ${n}`);
        this.previous = r.names;
        return;
      } catch (err) {
        if (!hasFlowtable(r.names)) throw err;
        // Refused as a whole (one transaction): try once more without the fast path; if that loads, the kernel lacks it.
        const plain = nftRuleset(table, base);
        await run('nft', ['-f', '-'], text(plain));
        this.flowtable = false;
        const why = String((err as Error).message).split('\n').find((l) => /Error/.test(l)) ?? String(err);
        this.log(`LVS: NAT without the nftables flowtable fast path: the kernel refused it (${why.trim()}; it needs CONFIG_NF_FLOW_TABLE); BELAY_LVS_FLOWTABLE=off skips the attempt`);
        for (const n of plain.notes) this.log(`LVS: ${n}`);
        this.previous = plain.names;
        return;
      }
    }
    const r = nftRuleset(table, base);
    for (const n of r.notes) this.log(`LVS: ${n}`);
    await run('nft', ['-f', '-'], text(r));
    this.previous = r.names;
  }

  async remove(): Promise<void> {
    await run('nft', ['-f', '-'], nftRemoveText());
    this.previous = undefined;
  }

  connections(table: DesiredService[]): Map<string, ConnCounts> {
    return conntrackCounts(table, readConntrack());
  }

  async keepPersistence(table: DesiredService[]): Promise<void> {
    if (!this.previous || !table.some((s) => s.lbKind === 'NAT' && s.persistenceTimeoutS)) return;
    const text = persistenceKeepText(table, parseConntrack(readConntrack()));
    if (text) await run('nft', ['-f', '-'], text);
  }
}

export class IpvsDataPlane implements DataPlane {
  readonly name = 'ipvs' as const;
  async apply(table: DesiredService[]): Promise<void> {
    await run('ipvsadm-restore', [], ipvsadmRestoreText(table));
  }
  async remove(): Promise<void> {
    await run('ipvsadm', ['-C'], '');
  }
  connections(): Map<string, ConnCounts> {
    return new Map(); // ipvsadm -Ln itself shows them on an IPVS kernel
  }
  async keepPersistence(): Promise<void> {
    // IPVS keeps a persistence template while its connections live.
  }
}

export function makeDataPlane(name: BackendName, log: (l: string) => void): DataPlane {
  return name === 'ipvs' ? new IpvsDataPlane() : new NftDataPlane(log);
}

function readConntrack(): string {
  try {
    return readFileSync('/proc/net/nf_conntrack', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Count /proc/net/nf_conntrack entries per destination: original direction
 * to the virtual address, reply from the real server. ESTABLISHED is
 * active (IPVS's ActiveConn), any other TCP state or UDP is inactive.
 */
export function conntrackCounts(table: DesiredService[], text: string): Map<string, ConnCounts> {
  const out = new Map<string, ConnCounts>();
  const byTuple = new Map<string, { id: string; d: Destination }[]>();
  for (const s of table) {
    for (const m of s.matches) {
      if (m.kind !== 'addr') continue;
      for (const d of s.destinations) {
        const k = `${canonicalAddress(m.ip)}:${m.port}>${canonicalAddress(d.ip)}:${d.port}`;
        byTuple.set(k, [...(byTuple.get(k) ?? []), { id: s.id, d }]);
        out.set(connKey(s.id, d), { active: 0, inactive: 0 });
      }
    }
  }
  for (const e of parseConntrack(text)) {
    const hits = byTuple.get(`${e.vip}:${e.vport}>${e.rs}:${e.rsPort}`);
    if (!hits) continue;
    for (const h of hits) {
      const c = out.get(connKey(h.id, h.d))!;
      if (e.state === 'ESTABLISHED') c.active++;
      else c.inactive++;
    }
  }
  return out;
}
