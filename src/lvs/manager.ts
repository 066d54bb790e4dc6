/**
 * The LVS daemon piece of `belay keepalived`: runs the checkers of every
 * real server (through the checkers' StartRealServerChecks), keeps their
 * health, re-evaluates the pool core on every change and applies the table
 * to the data plane (serialised, whole table each time). Runs the
 * quorum_up/quorum_down and notify_up/notify_down scripts; `ha_suspend`
 * services check only while this node is MASTER of their address; `omega`
 * runs quorum_down on shutdown.
 */
import { spawn } from 'node:child_process';
import type { CheckerHandle, RealServerHealth, StartRealServerChecks } from './check/spec.js';
import type { DataPlane } from './dataplane.js';
import { connKey } from './dataplane.js';
import { nftSchedule } from './nft.js';
import { checksEnabled, evaluatePool, healthKey, initialHealth, type DesiredService, type PoolEvent, type PoolState } from './pool.js';
import { rsName, vsName, type VirtualServerConf, type VirtualServerGroupConf } from './model.js';
import type { ConnCounts } from './ipvsadm.js';

export interface LvsStatus {
  backend: string;
  services: (Omit<DesiredService, 'destinations'> & {
    name: string;
    checking: boolean;
    realServers: { ip: string; port: number; up: boolean; weight: number; configuredWeight: number; inPool: boolean; reason: string; active: number; inactive: number }[];
    destinations: DesiredService['destinations'];
  })[];
  lastApplyError?: string;
}

export interface LvsManagerOptions {
  virtualServers: VirtualServerConf[];
  groups: VirtualServerGroupConf[];
  startChecks: StartRealServerChecks | undefined;
  dataPlane: DataPlane;
  log: (line: string) => void;
  /** Run a notify/quorum script (default: /bin/sh -c, not waited for). */
  runScript?: (command: string, why: string) => void;
  /** Called after each apply and health change (status file). */
  onStatus?: () => void;
}

function defaultRunScript(log: (l: string) => void) {
  return (command: string, why: string) => {
    log(`Executing [${command}] for ${why}`);
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', detached: false });
    child.on('error', (err) => log(`cannot run [${command}]: ${err.message}`));
  };
}

/** Start-up notes: how the backend schedules each virtual server, by file and line. */
export function backendNotes(vss: VirtualServerConf[], backend: string): string[] {
  const notes: string[] = [];
  for (const vs of vss) {
    const at = `${vs.file}:${vs.line}: virtual_server ${vsName(vs)}`;
    if (backend === 'ipvs') {
      notes.push(`${at}: lb_algo ${vs.lbAlgo}, lb_kind ${vs.lbKind} via IPVS (ipvsadm-restore)`);
      continue;
    }
    const s = nftSchedule(vs.lbAlgo);
    notes.push(`${at}: lb_algo ${vs.lbAlgo}${s.note ? ` - ${s.note}` : ` honoured by nftables (${s.as === 'sh' ? 'jhash of the client address' : s.as === 'rr' ? 'numgen round robin' : 'numgen over the weights'})`}${vs.lbKind === 'DR' ? '; DR: netdev fwd, each connection hashed on client address and port' : '; NAT: DNAT, the director must be the real servers\' gateway'}`);
  }
  return notes;
}

export class LvsManager {
  private readonly health = new Map<string, RealServerHealth>();
  private readonly checkers = new Map<string, CheckerHandle>();
  private state: PoolState = { quorumUp: new Map() };
  private table: DesiredService[] = [];
  private applied = '';
  private chain: Promise<void> = Promise.resolve();
  private masterAddresses = new Set<string>();
  private stopped = false;
  private lastApplyError: string | undefined;
  private readonly runScript: (command: string, why: string) => void;
  private keepTimer: NodeJS.Timeout | undefined;
  private lastKeepError = '';

  constructor(private readonly o: LvsManagerOptions) {
    this.runScript = o.runScript ?? defaultRunScript(o.log);
  }

  async start(why = 'start-up'): Promise<void> {
    if (!this.o.startChecks && this.o.virtualServers.some((v) => v.realServers.some((r) => r.checks.length))) {
      this.o.log('LVS: the health checkers are not available in this build: every real server is taken as up, unchecked');
    }
    this.syncCheckers();
    await this.reevaluate(why);
    this.startKeepingPersistence();
  }

  /**
   * NAT persistence outlives an idle connection, as an IPVS template does:
   * every half persistence_timeout (the shortest; at least 1 s) the clients
   * of live connections get a fresh timeout (DataPlane.keepPersistence).
   */
  private startKeepingPersistence(): void {
    const timeouts = this.o.virtualServers.filter((v) => v.lbKind === 'NAT' && v.persistenceTimeoutS).map((v) => v.persistenceTimeoutS!);
    if (timeouts.length === 0 || this.keepTimer) return;
    const everyMs = Math.max(1000, (Math.min(...timeouts) * 1000) / 2);
    this.keepTimer = setInterval(() => {
      this.chain = this.chain.then(async () => {
        if (this.stopped) return;
        try {
          await this.o.dataPlane.keepPersistence(this.table);
          this.lastKeepError = '';
        } catch (err) {
          const msg = (err as Error).message;
          if (msg !== this.lastKeepError) this.o.log(`LVS: cannot keep the persistence of live connections: ${msg}`);
          this.lastKeepError = msg;
        }
      });
    }, everyMs);
    this.keepTimer.unref();
  }

  /** The addresses this node holds as VRRP MASTER (for ha_suspend). */
  setMasterAddresses(addrs: Set<string>): void {
    this.masterAddresses = addrs;
    if (!this.stopped) this.syncCheckers();
  }

  private syncCheckers(): void {
    this.o.virtualServers.forEach((vs, k) => {
      const id = `vs${k}`;
      const enabled = checksEnabled(vs, this.o.groups, this.masterAddresses);
      for (const rs of vs.realServers) {
        const key = healthKey(id, rs);
        const running = this.checkers.get(key);
        if (!enabled || rs.checks.length === 0 || !this.o.startChecks) {
          if (running) {
            running.stop();
            this.checkers.delete(key);
            this.o.log(`LVS: ha_suspend: checks of [${rsName(rs)}] in ${vsName(vs)} suspended (not MASTER)`);
          }
          continue;
        }
        if (running) continue;
        const handle = this.o.startChecks({ ip: rs.ip, port: rs.port }, rs.checks, {
          log: (l) => this.o.log(l),
          onChange: (h) => {
            if (this.stopped) return;
            const before = this.health.get(key) ?? initialHealth(rs);
            this.health.set(key, h);
            if (before.up !== h.up) {
              this.o.log(`${h.up ? 'Adding' : 'Removing'} service [${rsName(rs)}]:${vs.protocol.toLowerCase()} ${h.up ? 'to' : 'from'} VS [${vsName(vs)}] (${h.reason})`);
              const script = h.up ? rs.notifyUp : rs.notifyDown;
              if (script) this.runScript(script, `real server ${rsName(rs)} ${h.up ? 'up' : 'down'}`);
            }
            void this.reevaluate(`${rsName(rs)} ${h.up ? 'up' : 'down'}`);
          },
        });
        this.checkers.set(key, handle);
        this.health.set(key, handle.health());
      }
    });
  }

  /** Recompute the table; apply it when it changed. Serialised. */
  reevaluate(why: string): Promise<void> {
    const r = evaluatePool(this.o.virtualServers, this.o.groups, this.health, this.state);
    this.state = r.state;
    this.table = r.table;
    for (const e of r.events) this.onEvent(e);
    const text = JSON.stringify(r.table.map((s) => [s.id, s.destinations.map((d) => [d.ip, d.port, d.weight])]));
    this.chain = this.chain.then(async () => {
      if (this.stopped || text === this.applied) return;
      try {
        await this.o.dataPlane.apply(r.table);
        this.applied = text;
        this.lastApplyError = undefined;
        this.o.log(`LVS: ${this.o.dataPlane.name} table applied (${why}): ${r.table.map((s) => `${s.id} ${s.destinations.filter((d) => d.weight > 0).length}/${s.destinations.length} serving`).join(', ')}`);
      } catch (err) {
        this.lastApplyError = (err as Error).message;
        this.o.log(`LVS: cannot apply the ${this.o.dataPlane.name} table (${why}): ${this.lastApplyError}`);
      }
      this.o.onStatus?.();
    });
    this.o.onStatus?.();
    return this.chain;
  }

  private onEvent(e: PoolEvent): void {
    const vs = this.o.virtualServers[Number(e.service.slice(2))]!;
    this.o.log(`${e.kind === 'quorum_up' ? 'Gained' : 'Lost'} quorum ${vs.quorum}${vs.hysteresis ? `+-${vs.hysteresis}` : ''} for VS [${vsName(vs)}] (live weight ${e.liveWeight})`);
    if (e.command) this.runScript(e.command, `${e.kind} of ${vsName(vs)}`);
  }

  status(): LvsStatus {
    const conns = this.o.dataPlane.connections(this.table);
    return {
      backend: this.o.dataPlane.name,
      ...(this.lastApplyError ? { lastApplyError: this.lastApplyError } : {}),
      services: this.table.map((s, k) => {
        const vs = this.o.virtualServers[k]!;
        return {
          ...s,
          name: vsName(vs),
          checking: checksEnabled(vs, this.o.groups, this.masterAddresses),
          realServers: vs.realServers.map((rs) => {
            const h = this.health.get(healthKey(s.id, rs)) ?? initialHealth(rs);
            const d = s.destinations.find((x) => !x.sorry && x.ip === rs.ip && x.port === rs.port);
            const c: ConnCounts = conns.get(connKey(s.id, rs)) ?? { active: 0, inactive: 0 };
            return { ip: rs.ip, port: rs.port, up: h.up, weight: d?.weight ?? 0, configuredWeight: rs.weight, inPool: !!d && d.weight > 0, reason: h.reason, ...c };
          }),
        };
      }),
    };
  }

  desiredTable(): DesiredService[] {
    return this.table;
  }

  /** Stop checking; remove the table unless `keepTable` (a reload, whose next manager replaces it). */
  async stop(opts: { keepTable?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearInterval(this.keepTimer);
    for (const h of this.checkers.values()) h.stop();
    this.checkers.clear();
    this.o.virtualServers.forEach((vs, k) => {
      // omega: quorum_down (and notify_down of live servers) on shutdown.
      if (!vs.omega || opts.keepTable) return;
      if (this.state.quorumUp.get(`vs${k}`) && vs.quorumDown) this.runScript(vs.quorumDown, `omega: shutdown of ${vsName(vs)}`);
      for (const rs of vs.realServers) {
        if ((this.health.get(healthKey(`vs${k}`, rs)) ?? initialHealth(rs)).up && rs.notifyDown) this.runScript(rs.notifyDown, `omega: shutdown, ${rsName(rs)}`);
      }
    });
    await this.chain;
    if (opts.keepTable) return;
    try {
      await this.o.dataPlane.remove();
      this.o.log(`LVS: ${this.o.dataPlane.name} table removed`);
    } catch (err) {
      this.o.log(`LVS: cannot remove the ${this.o.dataPlane.name} table: ${(err as Error).message}`);
    }
  }
}
