/**
 * A simulated LAN for the pure VRRP core: several routers, one clock, a
 * network that delivers every multicast advert to the other routers after a
 * fixed delay. Deterministic: same inputs, same run.
 */
import { VrrpRouter, type VrrpAction, type VrrpEvent } from '../../src/vrrp/core.js';
import type { InstanceSpec, RouterSpec, ScriptSpec, VrrpState } from '../../src/vrrp/types.js';

export interface SimRouterOpts {
  name: string;
  address: string;
  priority: number;
  preempt?: boolean;
  preemptDelayMs?: number;
  advertIntCs?: number;
  version?: 2 | 3;
  authPass?: string;
  vrid?: number;
  scripts?: ScriptSpec[];
  trackScripts?: { script: string; weight: number }[];
  instances?: Partial<InstanceSpec>[];
  syncGroups?: { name: string; members: string[] }[];
  timing?: RouterSpec['timing'];
}

export function instanceSpec(o: SimRouterOpts, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name: 'VI_1',
    interface: 'eth0',
    vrid: o.vrid ?? 51,
    version: o.version ?? 2,
    family: 4,
    priority: o.priority,
    advertIntCs: o.advertIntCs ?? 100,
    initialState: 'BACKUP',
    preempt: o.preempt ?? true,
    preemptDelayMs: o.preemptDelayMs ?? 0,
    ...(o.authPass !== undefined ? { authPass: o.authPass } : {}),
    vips: [{ address: '198.18.0.100', prefix: 24, family: 4, dev: 'eth0' }],
    primaryAddress: o.address,
    peers: [],
    mcastGroup: '224.0.0.18',
    trackScripts: o.trackScripts ?? [],
    trackInterfaces: [],
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    ...over,
  };
}

export interface Delivery {
  at: number;
  seq: number;
  to: string;
  event: VrrpEvent;
}

export class SimNet {
  now = 0;
  readonly routers = new Map<string, { router: VrrpRouter; opts: SimRouterOpts; alive: boolean; wake: number | null }>();
  /** VIPs held per router (by instance). */
  readonly held = new Map<string, Set<string>>();
  readonly log: { at: number; router: string; action: VrrpAction }[] = [];
  private queue: Delivery[] = [];
  private seq = 0;
  latencyMs = 0.2;
  /** Optional tap to rewrite or drop packets in flight. */
  tamper: ((from: string, bytes: Uint8Array) => Uint8Array | null) | null = null;
  /** Script results the shell would produce, by router and script name. */
  scriptOk = new Map<string, boolean>();

  add(o: SimRouterOpts): void {
    const spec: RouterSpec = {
      routerId: o.name,
      instances: o.instances ? o.instances.map((x) => instanceSpec(o, x)) : [instanceSpec(o)],
      scripts: o.scripts ?? [],
      syncGroups: o.syncGroups ?? [],
      ...(o.timing ? { timing: o.timing } : {}),
    };
    this.routers.set(o.name, { router: new VrrpRouter(spec), opts: o, alive: false, wake: null });
    this.held.set(o.name, new Set());
  }

  start(name: string): void {
    const r = this.routers.get(name)!;
    r.alive = true;
    this.deliver(name, { type: 'start' });
  }

  /** Power off: no release, packets stop (the VIPs die with the host). */
  crash(name: string): void {
    const r = this.routers.get(name)!;
    r.alive = false;
    r.wake = null;
    this.held.get(name)!.clear();
    this.queue = this.queue.filter((d) => d.to !== name);
  }

  /** A fresh process on the same host (state lost), as after a reboot. */
  restart(name: string): void {
    const r = this.routers.get(name)!;
    this.crash(name);
    this.routers.delete(name);
    this.add(r.opts);
    this.start(name);
  }

  inject(name: string, event: VrrpEvent, delayMs = 0): void {
    this.queue.push({ at: this.now + delayMs, seq: this.seq++, to: name, event });
  }

  deliver(name: string, event: VrrpEvent): void {
    const r = this.routers.get(name)!;
    if (!r.alive) return;
    const actions = r.router.step(event, this.now);
    for (const a of actions) this.exec(name, a);
  }

  private exec(name: string, a: VrrpAction): void {
    const r = this.routers.get(name)!;
    this.log.push({ at: this.now, router: name, action: a });
    switch (a.type) {
      case 'send': {
        let bytes: Uint8Array | null = a.bytes;
        if (this.tamper) bytes = this.tamper(name, bytes);
        if (!bytes) break;
        for (const [other, o] of this.routers) {
          if (other === name || !o.alive) continue;
          this.queue.push({
            at: this.now + this.latencyMs,
            seq: this.seq++,
            to: other,
            event: { type: 'packet', bytes, src: r.opts.address, dst: a.dst, family: 4, ttl: 255 },
          });
        }
        break;
      }
      case 'add-vips':
        for (const v of a.vips) this.held.get(name)!.add(`${a.instance}:${v.address}`);
        break;
      case 'remove-vips':
        for (const v of a.vips) this.held.get(name)!.delete(`${a.instance}:${v.address}`);
        break;
      case 'run-script': {
        const ok = this.scriptOk.get(`${name}:${a.script}`) ?? true;
        this.queue.push({ at: this.now + 5, seq: this.seq++, to: name, event: { type: 'script-result', script: a.script, ok } });
        break;
      }
      case 'arm-timer':
        r.wake = a.at;
        break;
      default:
        break;
    }
  }

  /** Run the simulation until `until` (absolute ms). */
  runUntil(until: number): void {
    for (;;) {
      let next: { at: number; kind: 'q' | 'w'; name?: string; idx?: number } | null = null;
      for (let i = 0; i < this.queue.length; i++) {
        const d = this.queue[i]!;
        if (!next || d.at < next.at || (d.at === next.at && next.kind === 'q' && d.seq < this.queue[next.idx!]!.seq)) next = { at: d.at, kind: 'q', idx: i };
      }
      for (const [name, r] of this.routers) {
        if (r.alive && r.wake !== null && (!next || r.wake < next.at)) next = { at: r.wake, kind: 'w', name };
      }
      if (!next || next.at > until) break;
      this.now = Math.max(this.now, next.at);
      if (next.kind === 'q') {
        const d = this.queue.splice(next.idx!, 1)[0]!;
        this.deliver(d.to, d.event);
      } else {
        const r = this.routers.get(next.name!)!;
        r.wake = null;
        this.deliver(next.name!, { type: 'tick' });
      }
    }
    this.now = until;
  }

  run(ms: number): void {
    this.runUntil(this.now + ms);
  }

  state(name: string, instance = 'VI_1'): VrrpState | undefined {
    const r = this.routers.get(name);
    if (!r || !r.alive) return undefined;
    return r.router.state(instance);
  }

  masters(instance = 'VI_1'): string[] {
    return [...this.routers.keys()].filter((n) => this.state(n, instance) === 'MASTER');
  }

  holders(instance = 'VI_1'): string[] {
    return [...this.held.entries()].filter(([, s]) => [...s].some((k) => k.startsWith(`${instance}:`))).map(([n]) => n);
  }

  /** Time of the first add-vips by `router` at or after `from`. */
  takeoverAt(router: string, from: number): number | null {
    const e = this.log.find((l) => l.router === router && l.at >= from && l.action.type === 'add-vips');
    return e ? e.at : null;
  }
}
