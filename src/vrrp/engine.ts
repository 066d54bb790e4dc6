/**
 * The thin shell around the pure core: one VrrpRouter, a transport, the
 * host's network operations, one timer, scripts and notify commands run as
 * child processes without blocking the engine.
 *
 * This is the embedding API: `belay keepalived` builds a RouterSpec from
 * keepalived.conf; the cluster daemon's FloatIP can build one instance per
 * VIP and steer it with `setPriority` (placement) and `onStateChange`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, existsSync, openSync, readdirSync, readFileSync, watch, writeFileSync, writeSync, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { VrrpRouter, type RouterStatus, type VrrpAction } from './core.js';
import { IpNetOps, runCommand, type NetOps } from './netops.js';
import { type Membership, type ReceivedPacket, type VrrpTransport } from './transport.js';
import { RawTransport } from './raw-transport.js';
import { processMatches, QuorumTracker, type ProcessInfo } from './track-process.js';
import { needsShell, splitCommand, type NotifyConf } from './keepalived-conf.js';
import type { RouterSpec, VipSpec, VrrpState } from './types.js';

export interface StateChange {
  instance: string;
  state: VrrpState;
  priority: number;
}

export interface EngineOptions {
  spec: RouterSpec;
  transport?: VrrpTransport;
  netops?: NetOps;
  /** One line per event, keepalived's wording (without the timestamp). */
  log?: (line: string) => void;
  onStateChange?: (change: StateChange) => void;
  instanceNotify?: Map<string, NotifyConf>;
  groupNotify?: Map<string, NotifyConf>;
  /** Link poll period for the instances' and tracked interfaces (ms). */
  linkPollMs?: number;
  /** Time limit for one notify command (keepalived has none; a hung one must not pile up). */
  notifyTimeoutMs?: number;
  /** keepalived `script_user`: scripts and notify commands run with these ids. */
  scriptCredentials?: { uid: number; gid: number } | null;
}

export class VrrpEngine {
  private router: VrrpRouter;
  private spec: RouterSpec;
  private readonly transport: VrrpTransport;
  private readonly netops: NetOps;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | null = null;
  private linkTimer: NodeJS.Timeout | null = null;
  private readonly links = new Map<string, boolean>();
  private readonly held = new Map<string, VipSpec>();
  /** use_vmac interfaces we made, by name: what they were made as (MAC, base) and how to undo them. */
  private readonly vmacs = new Map<string, { key: string; undo: () => Promise<void> }>();
  private readonly trackWatchers: FSWatcher[] = [];
  private trackTimer: NodeJS.Timeout | null = null;
  private readonly trackSeen = new Map<string, number>();
  private readonly quorums = new Map<string, QuorumTracker>();
  private quorumTimer: NodeJS.Timeout | null = null;
  private fifoFd: number | null = null;
  private fifoScript: ChildProcess | null = null;
  private netQueue: Promise<void> = Promise.resolve();
  private notifyQueue: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private instanceNotify: Map<string, NotifyConf>;
  private groupNotify: Map<string, NotifyConf>;
  private running = false;
  /** stop() called: the handover may still hold VIPs; no reloads or new work. */
  private stopping = false;
  private stoppedWaiter: (() => void) | null = null;
  private reloadQueue: Promise<void> = Promise.resolve();
  private readonly t0 = performance.now();
  private readonly listeners: ((c: StateChange) => void)[] = [];
  private statusListeners: (() => void)[] = [];

  constructor(private readonly opts: EngineOptions) {
    this.spec = opts.spec;
    this.router = new VrrpRouter(opts.spec);
    this.log = opts.log ?? (() => {});
    this.transport = opts.transport ?? new RawTransport({ log: this.log });
    this.netops = opts.netops ?? new IpNetOps(this.log);
    this.instanceNotify = opts.instanceNotify ?? new Map();
    this.groupNotify = opts.groupNotify ?? new Map();
    if (opts.onStateChange) this.listeners.push(opts.onStateChange);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  onStateChange(fn: (c: StateChange) => void): void {
    this.listeners.push(fn);
  }

  /** Called after every step (for status files). */
  onStatus(fn: () => void): void {
    this.statusListeners.push(fn);
  }

  async start(): Promise<void> {
    await this.createVmacs(this.spec);
    await this.transport.open(this.memberships(this.spec), (p) => this.onPacket(p));
    this.running = true;
    this.pollLinks(true);
    this.linkTimer = setInterval(() => this.pollLinks(false), this.opts.linkPollMs ?? 100);
    this.startTracking();
    this.openNotifyFifo();
    this.apply(this.router.step({ type: 'start' }, this.now()));
  }

  // ------------------------------------------------ track_file, track_process, notify_fifo

  private startTracking(): void {
    for (const f of this.spec.trackFiles ?? []) {
      if (f.init && (f.init.overwrite || !existsSync(f.path))) {
        try {
          writeFileSync(f.path, `${f.init.value}\n`);
        } catch (err) {
          this.log(`track_file ${f.name}: cannot initialise ${f.path}: ${(err as Error).message}`);
        }
      }
      try {
        // inotify on the directory: the file may be replaced (rename) or created later.
        const w = watch(path.dirname(f.path), (_ev, name) => {
          if (name === null || name === path.basename(f.path)) this.pollTracked();
        });
        w.on('error', () => {});
        this.trackWatchers.push(w);
      } catch {
        /* the 1 s poll below still covers it */
      }
    }
    if ((this.spec.trackFiles?.length ?? 0) + (this.spec.trackProcesses?.length ?? 0) === 0) return;
    this.pollTracked();
    this.trackTimer = setInterval(() => this.pollTracked(), this.spec.trackProcesses?.length ? PROCESS_POLL_MS : 1000);
  }

  private pollTracked(): void {
    if (!this.running && this.trackSeen.size > 0) return;
    for (const f of this.spec.trackFiles ?? []) {
      let value = 0;
      try {
        // keepalived reads an integer; anything else counts as 0.
        const n = parseInt(readFileSync(f.path, 'utf8').trim(), 10);
        value = Number.isFinite(n) ? n : 0;
      } catch {
        value = 0;
      }
      this.emitTracked(`file:${f.name}`, value, () => this.router.step({ type: 'track-file', name: f.name, value }, this.now()));
    }
    if (this.spec.trackProcesses?.length) {
      const procs = listProcesses();
      const now = this.now();
      for (const p of this.spec.trackProcesses) {
        const running = procs.filter((x) => processMatches(p, x)).length;
        let q = this.quorums.get(p.name);
        if (!q) this.quorums.set(p.name, (q = new QuorumTracker(p)));
        // fork_delay / terminate_delay: a count that changes up/down is reported once the delay holds.
        if (q.sample(running, now) !== q.inQuorum(running)) {
          const due = q.dueAt();
          if (due !== null && !this.quorumTimer) {
            this.quorumTimer = setTimeout(() => {
              this.quorumTimer = null;
              this.pollTracked();
            }, Math.max(0, due - now));
          }
          continue;
        }
        this.emitTracked(`proc:${p.name}`, running, () => this.router.step({ type: 'track-process', name: p.name, running }, this.now()));
      }
    }
  }

  private emitTracked(key: string, value: number, step: () => VrrpAction[]): void {
    if (this.trackSeen.get(key) === value) return;
    this.trackSeen.set(key, value);
    const actions = step();
    if (this.running) this.apply(actions);
  }

  private stopTracking(): void {
    for (const w of this.trackWatchers.splice(0)) w.close();
    if (this.trackTimer) clearInterval(this.trackTimer);
    this.trackTimer = null;
    if (this.quorumTimer) clearTimeout(this.quorumTimer);
    this.quorumTimer = null;
  }

  private openNotifyFifo(): void {
    const fifo = this.spec.notifyFifo;
    if (!fifo) return;
    try {
      if (!existsSync(fifo.path)) execFileSync('mkfifo', ['-m', '0600', fifo.path]);
      // Read-write and non-blocking, as keepalived opens it: never blocks without a reader.
      this.fifoFd = openSync(fifo.path, fsc.O_RDWR | fsc.O_NONBLOCK);
    } catch (err) {
      this.log(`notify_fifo ${fifo.path}: ${(err as Error).message}`);
      return;
    }
    if (fifo.script) {
      const argv = [...splitCommand(fifo.script), fifo.path];
      this.fifoScript = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', ...(this.opts.scriptCredentials ?? {}) });
      this.fifoScript.on('error', (err) => this.log(`notify_fifo_script: ${err.message}`));
    }
  }

  private fifoLine(line: string): void {
    if (this.fifoFd === null) return;
    try {
      writeSync(this.fifoFd, `${line}\n`);
    } catch (err) {
      this.log(`notify_fifo: line dropped (${(err as Error).message})`);
    }
  }

  private closeNotifyFifo(): void {
    if (this.fifoFd !== null) closeSync(this.fifoFd);
    this.fifoFd = null;
    if (this.fifoScript && this.fifoScript.exitCode === null) this.fifoScript.kill('SIGTERM');
    this.fifoScript = null;
  }

  /**
   * Release: priority-0 adverts, notify_stop run, VIPs removed; then close.
   * A master keeps its VIPs until the new master is heard (make-before-break)
   * for at most `handoverMs` (default: handoverBoundMs); 0 removes them at once.
   */
  async stop(opts: { handoverMs?: number } = {}): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    if (this.linkTimer) clearInterval(this.linkTimer);
    this.stopTracking();
    const lingerMs = opts.handoverMs ?? handoverBoundMs(this.spec);
    this.apply(this.router.step({ type: 'shutdown', lingerMs }, this.now()));
    if (!this.router.isStopped()) {
      // Packets and the timer still run the handover; the bound is the core's, plus slack for a late timer.
      let bound: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.stoppedWaiter = resolve;
        bound = setTimeout(resolve, lingerMs + 1000);
      });
      clearTimeout(bound);
    }
    this.stoppedWaiter = null;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.drain();
    // Anything still held (e.g. a failed removal) goes too: we never leave a VIP behind.
    for (const vip of [...this.held.values()]) await this.netops.delVip(vip);
    this.held.clear();
    await this.notifyQueue;
    this.closeNotifyFifo();
    this.netops.close();
    await this.transport.close();
    for (const v of [...this.vmacs.values()].reverse()) await v.undo().catch(() => {});
    this.vmacs.clear();
  }

  /**
   * use_vmac: the macvlans exist (and are up) before sockets bind to them.
   * Returns the names re-made with another MAC or base (a VRID changed
   * under a fixed name): sockets bound to the old interface must be re-opened.
   */
  private async createVmacs(spec: RouterSpec): Promise<Set<string>> {
    const remade = new Set<string>();
    // A renamed VMAC (same MAC on the same base): the old one goes first, two macvlans cannot share a MAC.
    const wanted = new Map<string, string>(spec.instances.flatMap((i) => (i.vmac ? [[i.vmac.name, `${i.vmac.mac}@${i.vmac.base}`] as const] : [])));
    const wantedKeys = new Set(wanted.values());
    for (const [name, v] of [...this.vmacs]) {
      if (wanted.has(name) || !wantedKeys.has(v.key)) continue;
      await v.undo();
      this.vmacs.delete(name);
      remade.add(name);
      this.log(`VMAC ${name} removed (its MAC moves to another name)`);
    }
    for (const i of spec.instances) {
      if (!i.vmac) continue;
      const key = `${i.vmac.mac}@${i.vmac.base}`;
      const have = this.vmacs.get(i.vmac.name);
      if (have?.key === key) continue;
      if (!this.netops.createVmac) throw new Error(`(${i.name}) use_vmac needs network operations that can create interfaces`);
      if (have) {
        await have.undo();
        this.vmacs.delete(i.vmac.name);
        remade.add(i.vmac.name);
      }
      this.vmacs.set(i.vmac.name, { key, undo: await this.netops.createVmac({ ...i.vmac, family: i.family }) });
      this.log(`(${i.name}) VMAC ${i.vmac.name} (${i.vmac.mac}) on ${i.vmac.base}`);
    }
    return remade;
  }

  /**
   * SIGHUP: new configuration; instances kept by name keep their state and
   * VIPs. As keepalived does on a reload, a newly added use_vmac (or one
   * whose VRID, hence name or MAC, changed) gets its macvlan first, and a
   * VMAC no instance uses any more is deleted once its VIPs are gone.
   */
  reload(spec: RouterSpec, instanceNotify?: Map<string, NotifyConf>, groupNotify?: Map<string, NotifyConf>): Promise<void> {
    // One at a time: a second SIGHUP waits for the first one's interfaces.
    const p = this.reloadQueue.then(() => this.reloadNow(spec, instanceNotify, groupNotify));
    this.reloadQueue = p.catch(() => {});
    return p;
  }

  private async reloadNow(spec: RouterSpec, instanceNotify?: Map<string, NotifyConf>, groupNotify?: Map<string, NotifyConf>): Promise<void> {
    if (this.stopping) return;
    const remade = await this.createVmacs(spec);
    if (this.stopping) return;
    if (remade.size) {
      // Sockets bound to an interface that was deleted and made again see nothing: open them anew.
      this.transport.update(this.memberships(this.spec).filter((m) => !remade.has(m.ifname)));
      // Likewise what `ip` cached about it; after the network changes already queued.
      this.queueNet(async () => this.netops.interfacesChanged?.());
    }
    this.spec = spec;
    if (instanceNotify) this.instanceNotify = instanceNotify;
    if (groupNotify) this.groupNotify = groupNotify;
    this.transport.update(this.memberships(spec));
    this.apply(this.router.reconfigure(spec, this.now()));
    this.pollLinks(true);
    const used = new Set(spec.instances.flatMap((i) => (i.vmac ? [i.vmac.name] : [])));
    for (const [name, v] of [...this.vmacs]) {
      if (used.has(name)) continue;
      this.vmacs.delete(name);
      // After the queued VIP removals of the instance that had it.
      this.queueNet(async () => {
        await v.undo();
        this.log(`VMAC ${name} removed (no instance uses it)`);
      });
    }
  }

  /** The cluster placed this instance's address here: MASTER now. */
  claim(instance: string): void {
    this.apply(this.router.step({ type: 'claim', instance }, this.now()));
  }

  /** The cluster moves the address away: priority-0 advert, VIPs kept until the next holder is heard (≤ lingerMs). */
  release(instance: string, lingerMs: number): void {
    this.apply(this.router.step({ type: 'release', instance, lingerMs }, this.now()));
  }

  setPriority(instance: string, priority: number): void {
    this.apply(this.router.step({ type: 'set-priority', instance, priority }, this.now()));
  }

  status(): RouterStatus {
    return this.router.status();
  }

  /** Wait until queued network changes and sends are done (tests, shutdown). */
  async drain(): Promise<void> {
    await this.netQueue;
    await Promise.allSettled([...this.pending]);
  }

  private memberships(spec: RouterSpec): Membership[] {
    const out: Membership[] = [];
    for (const i of spec.instances) {
      // Unicast instances listen on their interface too, without a group.
      out.push({ family: i.family, ...(i.peers.length ? {} : { group: i.mcastGroup }), localAddress: i.primaryAddress, ifname: i.xmitInterface ?? i.interface });
    }
    return out;
  }

  private onPacket(p: ReceivedPacket): void {
    if (!this.running) return;
    const extra = { ...(p.ttl !== undefined ? { ttl: p.ttl } : {}), ...(p.ifname !== undefined ? { ifname: p.ifname } : {}) };
    if (p.dst !== undefined) {
      this.apply(this.router.step({ type: 'packet', bytes: p.bytes, src: p.src, dst: p.dst, family: p.family, ...extra }, this.now()));
      return;
    }
    // UDP does not tell us the destination; each instance knows what it listens on.
    const vrid = p.bytes.length >= 2 ? p.bytes[1] : -1;
    const dsts = new Set(
      this.spec.instances.filter((i) => i.vrid === vrid && i.family === p.family).map((i) => (i.peers.length ? i.primaryAddress : i.mcastGroup)),
    );
    if (dsts.size === 0) dsts.add(p.family === 4 ? '224.0.0.18' : 'ff02::12');
    for (const dst of dsts) {
      this.apply(this.router.step({ type: 'packet', bytes: p.bytes, src: p.src, dst, family: p.family, ...extra }, this.now()));
    }
  }

  private pollLinks(initial: boolean): void {
    const names = new Set<string>();
    for (const i of this.spec.instances) {
      names.add(i.interface);
      for (const t of i.trackInterfaces) names.add(t.name);
    }
    for (const name of names) {
      const up = this.netops.linkUp(name) ?? false;
      if (initial || this.links.get(name) !== up) {
        const changed = this.links.has(name) && this.links.get(name) !== up;
        this.links.set(name, up);
        if (changed) this.log(`Netlink reports ${name} ${up ? 'up' : 'down'}`);
        if (this.running) this.apply(this.router.step({ type: 'link', interface: name, up }, this.now()));
      }
    }
  }

  private apply(actions: VrrpAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'log':
          this.log(a.message);
          break;
        case 'send': {
          const inst = this.spec.instances.find((i) => i.name === a.instance);
          const local = inst?.primaryAddress ?? '0.0.0.0';
          const p = this.transport.send(a.bytes, a.dst, a.family, local, inst?.xmitInterface ?? inst?.interface ?? '', a.ttl).catch((err: Error) => this.log(`(${a.instance}) send to ${a.dst} failed: ${err.message}`));
          this.track(p);
          break;
        }
        case 'add-vips':
          for (const v of a.vips) this.held.set(vipKey(v), v);
          this.queueNet(async () => {
            await Promise.all(a.vips.map((v) => this.netops.addVip(v)));
          });
          break;
        case 'remove-vips':
          for (const v of a.vips) this.held.delete(vipKey(v));
          this.queueNet(async () => {
            await Promise.all(a.vips.map((v) => this.netops.delVip(v)));
          });
          break;
        case 'garp':
          this.queueNet(async () => {
            for (const v of a.vips) {
              if (!this.held.has(vipKey(v))) continue;
              this.log(v.family === 6 ? `Sending unsolicited Neighbour Adverts on ${v.dev} for ${v.address}` : `Sending gratuitous ARP on ${v.dev} for ${v.address}`);
              this.netops.garp(v, a.repeat, a.spacingMs, () => this.held.has(vipKey(v)));
            }
          });
          break;
        case 'notify':
          this.notify(a.instance, a.state, a.priority);
          break;
        case 'group-notify':
          this.fifoLine(`GROUP "${a.group}" ${a.state}`);
          this.runNotify(this.groupNotify.get(a.group), 'GROUP', a.group, a.state, undefined);
          break;
        case 'run-script':
          this.runScript(a.script);
          break;
        case 'arm-timer':
          this.arm(a.at);
          break;
      }
    }
    for (const fn of this.statusListeners) fn();
    if (this.stoppedWaiter && this.router.isStopped()) this.stoppedWaiter();
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    if (!this.running) return;
    const delay = Math.max(0, at - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) this.apply(this.router.step({ type: 'tick' }, this.now()));
    }, delay);
  }

  private queueNet(fn: () => Promise<void>): void {
    this.netQueue = this.netQueue.then(fn).catch((err: Error) => this.log(`network change failed: ${err.message}`));
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private runScript(name: string): void {
    const s = this.spec.scripts.find((x) => x.name === name);
    if (!s) return;
    // Scripts written for CentOS assume /bin/sh is bash (e.g. `</dev/tcp/127.0.0.1/80`).
    const argv = s.argv[0] === '/bin/sh' && BASH ? [BASH, ...s.argv.slice(1)] : s.argv;
    const p = runCommand(argv, s.timeoutMs, process.env, this.opts.scriptCredentials ?? undefined).then((r) => {
      if (!this.running) return;
      this.apply(this.router.step({ type: 'script-result', script: name, ok: r.ok, detail: r.detail }, this.now()));
    });
    this.track(p);
  }

  private notify(instance: string, state: VrrpState, priority: number): void {
    for (const fn of this.listeners) fn({ instance, state, priority });
    this.fifoLine(`INSTANCE "${instance}" ${state} ${priority}`);
    this.runNotify(this.instanceNotify.get(instance), 'INSTANCE', instance, state, priority);
  }

  private runNotify(conf: NotifyConf | undefined, kind: 'INSTANCE' | 'GROUP', name: string, state: VrrpState, priority: number | undefined): void {
    if (!conf) return;
    const specific = state === 'MASTER' ? conf.master : state === 'BACKUP' ? conf.backup : state === 'FAULT' ? conf.fault : state === 'STOP' ? conf.stop : undefined;
    const cmds: string[][] = [];
    if (specific?.[0]) cmds.push(commandArgv(specific[0]));
    if (conf.generic?.[0]) {
      const extra = [kind, name, state];
      if (priority !== undefined) extra.push(String(priority));
      cmds.push([...commandArgv(conf.generic[0]), ...extra]);
    }
    const timeout = this.opts.notifyTimeoutMs ?? 30_000;
    for (const argv of cmds) {
      // In order, one after another, so a MASTER notify never overtakes the BACKUP before it.
      // After the queued VIP changes, as keepalived runs notify_master once the VIPs are set.
      const net = this.netQueue;
      this.notifyQueue = this.notifyQueue.then(() => net).then(async () => {
        const r = await runCommand(argv, timeout, process.env, this.opts.scriptCredentials ?? undefined);
        if (!r.ok) this.log(`notify ${argv.join(' ')}: ${r.detail}`);
      });
    }
  }
}

/**
 * How long a stopping master keeps its VIPs at most, waiting for the new
 * master's advert: one advertisement interval, as a backup (keepalived's
 * too) takes over within Skew_Time < Master_Adver_Interval of the
 * priority-0 advert; at least 500 ms for a loaded host, at most 3 s so a
 * lone router still stops promptly.
 */
export function handoverBoundMs(spec: RouterSpec): number {
  const adverMs = Math.max(0, ...spec.instances.map((i) => i.advertIntCs * 10));
  return Math.min(3000, Math.max(500, adverMs));
}

const BASH = existsSync('/bin/bash') ? '/bin/bash' : null;

function vipKey(v: VipSpec): string {
  return `${v.address}/${v.prefix}@${v.dev}`;
}

/** keepalived execs notify commands directly; shell syntax gets /bin/sh -c. */
function commandArgv(text: string): string[] {
  return needsShell(text) ? ['/bin/sh', '-c', `${text} "$@"`, 'sh'] : splitCommand(text);
}

/**
 * track_process polls /proc this often. keepalived learns of fork, exec and
 * exit from the kernel's proc connector at once; polling adds up to this
 * much to its reaction.
 */
const PROCESS_POLL_MS = 250;

/** Running processes: comm (the Name: keepalived matches) and argv. */
function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
      // Kernel threads have an empty cmdline; a trailing NUL ends the last argument.
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
      out.push({ comm, argv: argv.length === 1 && argv[0] === '' ? [] : argv });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
