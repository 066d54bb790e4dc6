/**
 * FloatIP backed by VRRP: when the cluster starts a FloatIP that has a
 * `vrid`, this node's VRRP instance for it claims mastership at once
 * (advert + gratuitous ARP); stop hands the address over with a priority-0
 * advert and keeps it until the new master is heard (make-before-break,
 * bounded). Nodes the cluster did not place it on run no instance, so an
 * address never comes up without the cluster's decision; if two nodes ever
 * claim it (a membership split while the wire still connects), VRRP's
 * election on the wire leaves it with one.
 *
 * A belayd that crashed (kill -9) leaves its addresses on the interface:
 * the host did not go down, only the daemon. So the probe and the monitor
 * look at the interface, not only at this process's memory: an address
 * found there without a claim is reported active and adopted (its VRRP
 * instance claims it again), and a stop removes it, so the cluster's
 * multiple-active handling and recovery decide, as for any agent whose
 * service outlived the daemon.
 *
 * belayd runs these operations itself (no agent process on the failover
 * path); the shell agent agents/resource.d/belay/FloatIP covers FloatIPs
 * without a vrid and clusters that are not belay.
 */
import { execFile, execFileSync } from 'node:child_process';
import { isIPv4, isIPv6 } from 'node:net';
import { FLOATIP_DEFAULT_PRIORITY, FLOATIP_HANDOVER_MS, floatIpInstance, VrrpEngine, type InstanceSpec, type RouterSpec } from '../vrrp/index.js';

export interface VipOpResult {
  rc: number;
  reason?: string;
}

interface Claim {
  spec: InstanceSpec;
  /** Set while the address is being handed over after a stop. */
  releasedAt?: number;
}

/**
 * The FloatIP parameters belayd reads when it holds the address with VRRP;
 * the agent's meta-data (agents/resource.d/belay/FloatIP) documents each.
 */
export const FLOATIP_VRRP_PARAMS = ['ip', 'nic', 'cidr_netmask', 'vrid', 'advert_int', 'priority', 'vrrp_version', 'vrrp_multicast', 'vrrp_unicast_peer', 'vrrp_auth_pass'] as const;

export class VipManager {
  private engine: VrrpEngine | undefined;
  private readonly claims = new Map<string, Claim>();
  private readonly monitors = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly self: { name: string; address: string },
    private readonly peers: string[],
    private readonly log: (line: string) => void,
  ) {}

  /** True when belayd runs this FloatIP itself (it has a vrid). */
  static handles(agent: string, params: Record<string, string>): boolean {
    return agent === 'ocf:belay:FloatIP' && params['vrid'] !== undefined && params['vrid'] !== '';
  }

  async operate(rsc: string, task: string, params: Record<string, string>): Promise<VipOpResult> {
    switch (task) {
      case 'start':
        return this.start(rsc, params);
      case 'stop':
        return this.stop(rsc, params);
      case 'monitor':
        return this.monitor(rsc, params);
      case 'validate-all': {
        const bad = checkParams(params);
        return bad ? { rc: 6, reason: bad } : { rc: 0 };
      }
      default:
        return { rc: 3, reason: `FloatIP (VRRP) does not implement ${task}` };
    }
  }

  /** Recurring monitor: report the first result and every change. */
  startMonitor(rsc: string, intervalMs: number, params: Record<string, string>, report: (r: VipOpResult) => void): void {
    this.cancelMonitor(rsc);
    let last: number | undefined;
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      this.monitor(rsc, params).then(
        (r) => {
          busy = false;
          if (!this.monitors.has(rsc)) return; // cancelled meanwhile
          if (r.rc !== last) {
            last = r.rc;
            report(r);
          }
        },
        (err: Error) => {
          busy = false;
          report({ rc: 1, reason: err.message });
        },
      );
    };
    this.monitors.set(rsc, setInterval(tick, intervalMs));
    tick();
  }

  cancelMonitor(rsc: string): void {
    clearInterval(this.monitors.get(rsc));
    this.monitors.delete(rsc);
  }

  status(): unknown {
    return this.engine?.status() ?? null;
  }

  async close(): Promise<void> {
    for (const rsc of [...this.monitors.keys()]) this.cancelMonitor(rsc);
    await this.engine?.stop();
    this.engine = undefined;
  }

  private async start(rsc: string, params: Record<string, string>): Promise<VipOpResult> {
    const bad = checkParams(params);
    if (bad) return { rc: 6, reason: bad };
    const nic = params['nic'] || interfaceOf(this.self.address);
    if (!nic) return { rc: 6, reason: `no nic given and no interface holds ${this.self.address}` };
    const family = isIPv6(params['ip']!) ? 6 : 4;
    const spec = floatIpInstance({
      name: rsc,
      vrid: Number(params['vrid']),
      interface: nic,
      primaryAddress: this.self.address,
      vip: params['ip']!,
      prefix: params['cidr_netmask'] ? Number(params['cidr_netmask']) : family === 4 ? 32 : 128,
      priority: params['priority'] ? Number(params['priority']) : FLOATIP_DEFAULT_PRIORITY,
      advertIntMs: Math.round(Number(params['advert_int'] || '1') * 1000),
      ...vrrpWireParams(params, this.peers),
    });
    this.claims.set(rsc, { spec });
    await this.apply();
    this.engine!.claim(rsc);
    // The claim is immediate; give the address a moment to be set.
    for (let i = 0; i < 100; i++) {
      const st = this.instanceState(rsc);
      if (st === 'MASTER') {
        this.log(`FloatIP ${rsc}: holding ${params['ip']} on ${nic} (VRRP vrid ${params['vrid']}, MASTER)`);
        return { rc: 0 };
      }
      if (st === 'FAULT') return { rc: 1, reason: `VRRP instance for ${rsc} is in FAULT (is ${nic} up?)` };
      await new Promise((r) => setTimeout(r, 10));
    }
    return { rc: 1, reason: `VRRP instance for ${rsc} did not become MASTER` };
  }

  private async stop(rsc: string, params: Record<string, string>): Promise<VipOpResult> {
    this.cancelMonitor(rsc);
    const claim = this.claims.get(rsc);
    if (!claim) {
      // Not ours in memory, but an earlier belayd may have left it on the interface.
      const left = params['ip'] ? await findAddress(params['ip']) : undefined;
      if (left) {
        this.log(`FloatIP ${rsc}: removing ${params['ip']} from ${left.dev} (left by an earlier belayd)`);
        const r = await ipCommand(['addr', 'del', `${params['ip']}/${left.prefix}`, 'dev', left.dev]);
        if (!r.ok) return { rc: 1, reason: `cannot remove ${params['ip']} from ${left.dev}: ${r.stderr.trim()}` };
      }
      return { rc: 0 };
    }
    if (claim.releasedAt !== undefined) return { rc: 0 };
    claim.releasedAt = Date.now();
    this.engine?.release(rsc, FLOATIP_HANDOVER_MS);
    // The instance goes once the handover is over; the stop itself is done.
    setTimeout(() => {
      const c = this.claims.get(rsc);
      if (c && c.releasedAt !== undefined) {
        this.claims.delete(rsc);
        void this.apply();
      }
    }, FLOATIP_HANDOVER_MS + 200).unref();
    return { rc: 0 };
  }

  private async monitor(rsc: string, params: Record<string, string>): Promise<VipOpResult> {
    const claim = this.claims.get(rsc);
    if (!claim) return this.adoptLeftover(rsc, params);
    if (claim.releasedAt !== undefined) return { rc: 7 };
    const st = this.instanceState(rsc);
    if (st === 'MASTER') return { rc: 0 };
    // Claimed but another node won the election on the wire: the address is
    // held (by it), which is what the cluster wants from a FloatIP.
    if (st === 'BACKUP') return { rc: 0, reason: 'another node holds the address (VRRP)' };
    return { rc: 7, reason: `VRRP instance is ${st ?? 'gone'}` };
  }

  /**
   * No claim in memory: is the address on this host anyway (a belayd killed
   * with -9 left it)? Then it is running here, as an agent's probe would
   * say; its VRRP instance takes it again so it is advertised and the
   * cluster's stop removes it.
   */
  private async adoptLeftover(rsc: string, params: Record<string, string>): Promise<VipOpResult> {
    if (checkParams(params)) return { rc: 7 };
    const left = await findAddress(params['ip']!);
    if (!left) return { rc: 7 };
    if (this.claims.has(rsc)) return this.monitor(rsc, params); // adopted meanwhile
    this.log(`FloatIP ${rsc}: found ${params['ip']} on ${left.dev}, left by an earlier belayd; adopting it`);
    const r = await this.start(rsc, { ...params, nic: params['nic'] || left.dev });
    return r.rc === 0 ? { rc: 0, reason: `${params['ip']} found on ${left.dev}` } : r;
  }

  private instanceState(rsc: string): string | undefined {
    return this.engine?.status().instances.find((i) => i.name === rsc)?.state;
  }

  /** Make the engine run exactly the claimed instances. */
  private async apply(): Promise<void> {
    const spec: RouterSpec = { routerId: this.self.name, instances: [...this.claims.values()].map((c) => c.spec), scripts: [], syncGroups: [] };
    if (!this.engine) {
      if (spec.instances.length === 0) return;
      this.engine = new VrrpEngine({ spec, log: (line) => this.log(`vrrp: ${line}`) });
      await this.engine.start();
      return;
    }
    await this.engine.reload(spec);
  }
}

function checkParams(params: Record<string, string>): string | undefined {
  const ip = params['ip'];
  if (!ip || (!isIPv4(ip) && !isIPv6(ip))) return `FloatIP needs ip= an IPv4 or IPv6 address (got '${ip ?? ''}')`;
  const vrid = Number(params['vrid']);
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) return `vrid must be 1..255 (got '${params['vrid']}')`;
  const max = isIPv4(ip) ? 32 : 128;
  if (params['cidr_netmask'] !== undefined && params['cidr_netmask'] !== '') {
    const p = Number(params['cidr_netmask']);
    if (!Number.isInteger(p) || p < 1 || p > max) return `cidr_netmask must be 1..${max} (got '${params['cidr_netmask']}')`;
  }
  if (params['advert_int'] !== undefined && params['advert_int'] !== '') {
    const a = Number(params['advert_int']);
    if (!(a >= 0.01 && a <= 40.95)) return `advert_int must be 0.01..40.95 seconds (got '${params['advert_int']}')`;
  }
  if (params['priority'] !== undefined && params['priority'] !== '') {
    const p = Number(params['priority']);
    if (!Number.isInteger(p) || p < 1 || p > 254) return `priority must be 1..254 (got '${params['priority']}')`;
  }
  // A misspelt VRRP parameter would silently change nothing: name it.
  for (const k of Object.keys(params)) {
    if (k.startsWith('vrrp_') && !(FLOATIP_VRRP_PARAMS as readonly string[]).includes(k)) {
      return `unknown FloatIP parameter '${k}' (VRRP parameters: ${FLOATIP_VRRP_PARAMS.filter((x) => x.startsWith('vrrp_')).join(', ')})`;
    }
  }
  const v = params['vrrp_version'];
  if (v && v !== '2' && v !== '3') return `vrrp_version must be 2 or 3 (got '${v}')`;
  if (v === '2' && isIPv6(ip)) return 'vrrp_version 2 is IPv4 only';
  const m = params['vrrp_multicast'];
  if (m && !/^(yes|no|true|false|1|0)$/i.test(m)) return `vrrp_multicast must be yes or no (got '${m}')`;
  for (const p of splitList(params['vrrp_unicast_peer'])) {
    if (isIPv4(ip) ? !isIPv4(p) : !isIPv6(p)) return `vrrp_unicast_peer '${p}' is not an IPv${isIPv4(ip) ? 4 : 6} address`;
  }
  return undefined;
}

function ipCommand(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr || err?.message || '') }));
  });
}

/** Where an address is configured on this host, if anywhere. */
async function findAddress(address: string): Promise<{ dev: string; prefix: number } | undefined> {
  const r = await ipCommand(['-o', 'addr', 'show']);
  for (const line of r.stdout.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet6?\s+([^/\s]+)\/(\d+)/.exec(line);
    if (m && m[2] === address) return { dev: m[1]!.replace(/@.*$/, ''), prefix: Number(m[3]) };
  }
  return undefined;
}

function splitList(v: string | undefined): string[] {
  return (v ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * How the FloatIP's VRRP instance speaks on the wire, so that it can share
 * its VRID with keepalived boxes or routers: unicast to the cluster peers
 * (default) plus `vrrp_unicast_peer`, or multicast to 224.0.0.18 / ff02::12
 * with `vrrp_multicast=yes` (keepalived's default); `vrrp_version` 2 with
 * `vrrp_auth_pass` for keepalived's auth_type PASS.
 */
function vrrpWireParams(params: Record<string, string>, clusterPeers: string[]): { peers: string[]; version?: 2 | 3; authPass?: string } {
  const multicast = /^(yes|true|1)$/i.test(params['vrrp_multicast'] ?? '');
  const peers = multicast ? [] : [...new Set([...clusterPeers, ...splitList(params['vrrp_unicast_peer'])])];
  return {
    peers,
    ...(params['vrrp_version'] === '2' ? { version: 2 as const } : {}),
    ...(params['vrrp_auth_pass'] ? { authPass: params['vrrp_auth_pass'] } : {}),
  };
}

/** The interface that holds an address (the node's cluster address, by default). */
function interfaceOf(address: string): string | undefined {
  try {
    const out = execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const m = /^\d+:\s+(\S+)\s+inet6?\s+([^/\s]+)/.exec(line);
      if (m && m[2] === address) return m[1]!.replace(/@.*$/, '');
    }
  } catch {
    /* no ip command: the caller reports it */
  }
  return undefined;
}
