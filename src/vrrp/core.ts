/**
 * The VRRP engine core: RFC 5798 Initialize / Backup / Master per instance,
 * plus keepalived's FAULT state, tracked scripts and interfaces, sync groups.
 *
 * Pure and deterministic, in the shape of a raft core: `step(event, now)`
 * returns the actions the shell must carry out (send a packet, add or remove
 * VIPs, send gratuitous ARPs, run a script or a notify, arm the one timer).
 * No sockets, no clock, no randomness inside: `now` is milliseconds from any
 * monotonic origin, given by the caller.
 */
import { compareAddresses, type Family } from './addr.js';
import { decodeAdvertisement, encodeAdvertisement, type Advertisement } from './packet.js';
import {
  DEFAULT_TIMING,
  type InstanceSpec,
  type RouterSpec,
  type ScriptSpec,
  type TimingOptions,
  type VipSpec,
  type VrrpState,
} from './types.js';

export type VrrpEvent =
  | { type: 'start' }
  /** A packet as received: `ttl` when the transport can see it (a raw socket does, UDP does not). */
  | { type: 'packet'; bytes: Uint8Array; src: string; dst: string; family: Family; ttl?: number; ifname?: string }
  /** The timer armed by the last `arm-timer` fired (or any time: ticks are idempotent). */
  | { type: 'tick' }
  | { type: 'script-result'; script: string; ok: boolean; detail?: string }
  | { type: 'link'; interface: string; up: boolean }
  /** track_file: the integer the file holds now; track_process: how many matching processes run. */
  | { type: 'track-file'; name: string; value: number }
  | { type: 'track-process'; name: string; running: number }
  /** Embedders (FloatIP) drive the base priority directly. */
  | { type: 'set-priority'; instance: string; priority: number }
  /** The cluster placed this address here: become MASTER now, no election wait. */
  | { type: 'claim'; instance: string }
  /**
   * The cluster moves the address away: priority-0 advert, keep the VIPs
   * until another master is heard (or lingerMs passes), and never take over
   * again on our own until claimed (make-before-break handover).
   */
  | { type: 'release'; instance: string; lingerMs: number }
  /**
   * Stop every instance. With `lingerMs`, a MASTER sends its priority-0
   * advert but keeps its VIPs until another master is heard (then
   * HANDOVER_TAIL_MS more) or lingerMs passes: clients keep being answered
   * until the new master's gratuitous ARPs have moved them (make-before-break).
   * `isStopped()` tells when the last VIP is gone.
   */
  | { type: 'shutdown'; lingerMs?: number };

export type VrrpAction =
  /** `ttl`: the TTL / hop limit to send with when not 255 (unicast_ttl). */
  | { type: 'send'; instance: string; dst: string; bytes: Uint8Array; family: Family; ttl?: number }
  | { type: 'add-vips'; instance: string; vips: VipSpec[] }
  | { type: 'remove-vips'; instance: string; vips: VipSpec[] }
  | { type: 'garp'; instance: string; vips: VipSpec[]; repeat: number; spacingMs?: number }
  | { type: 'notify'; instance: string; state: VrrpState; priority: number }
  | { type: 'group-notify'; group: string; state: VrrpState }
  | { type: 'run-script'; script: string }
  | { type: 'log'; message: string }
  | { type: 'arm-timer'; at: number };

export type DropReason =
  | 'malformed'
  | 'ttl'
  | 'version'
  | 'checksum'
  | 'auth'
  | 'interval'
  | 'addresses'
  /** Unicast instance: the source is not one of its unicast_peer addresses. */
  | 'peer'
  /** Sent to a multicast group that is not the instance's (or multicast to a unicast instance). */
  | 'group'
  | 'own';

export interface InstanceStats {
  advertRcvd: number;
  advertSent: number;
  becomeMaster: number;
  releaseMaster: number;
  priorityZeroRcvd: number;
  priorityZeroSent: number;
  dropped: Record<DropReason, number>;
}

export interface ScriptStatus {
  name: string;
  /** true: OK, false: KO. */
  ok: boolean;
  consecutiveOk: number;
  consecutiveFail: number;
  running: boolean;
  lastDetail: string;
  runs: number;
}

export interface InstanceStatus {
  name: string;
  vrid: number;
  interface: string;
  state: VrrpState;
  basePriority: number;
  effectivePriority: number;
  advertIntMs: number;
  masterAddress: string | null;
  vips: string[];
  preempt: boolean;
  syncGroup: string | null;
  faultReasons: string[];
  stats: InstanceStats;
}

export interface RouterStatus {
  routerId: string;
  instances: InstanceStatus[];
  scripts: ScriptStatus[];
  /** Packets that matched no instance (wrong VRID, or no instance of that VRID on the interface they came in on) or failed to decode. */
  unmatched: { wrongVrid: number; wrongInterface: number; malformed: number };
}

interface Instance {
  spec: InstanceSpec;
  state: VrrpState;
  basePriority: number;
  effPriority: number;
  masterAdverIntCs: number;
  masterAddress: string | null;
  downAt: number | null;
  adverAt: number | null;
  garpAt: number[];
  garpRefreshAt: number | null;
  startedAt: number;
  lowerSeenAt: number | null;
  group: string | null;
  faultReasons: string[];
  stats: InstanceStats;
  /** Last time we re-asserted against a lower-priority master (rate limit). */
  reassertAt: number;
  mismatchLogged: Set<string>;
  /** Released by the cluster: a backup that never promotes itself. */
  passive: boolean;
  /** Released while MASTER: the VIPs stay until this time (or soon after a new master is heard). */
  lingerUntil: number | null;
}

interface ScriptRt {
  spec: ScriptSpec;
  status: ScriptStatus;
  nextRunAt: number;
}

function emptyStats(): InstanceStats {
  return {
    advertRcvd: 0,
    advertSent: 0,
    becomeMaster: 0,
    releaseMaster: 0,
    priorityZeroRcvd: 0,
    priorityZeroSent: 0,
    dropped: { malformed: 0, ttl: 0, version: 0, checksum: 0, auth: 0, interval: 0, addresses: 0, peer: 0, group: 0, own: 0 },
  };
}

export class VrrpRouter {
  private spec: RouterSpec;
  private timing: TimingOptions;
  private readonly instances = new Map<string, Instance>();
  private readonly scripts = new Map<string, ScriptRt>();
  private readonly links = new Map<string, boolean>();
  private readonly fileValues = new Map<string, number>();
  private readonly processCounts = new Map<string, number>();
  private readonly groupState = new Map<string, VrrpState>();
  private readonly unmatched = { wrongVrid: 0, wrongInterface: 0, malformed: 0 };
  private started = false;
  private stopped = false;
  /** Shut down, some VIPs still held for the handover (STOP instances with lingerUntil). */
  private stopping = false;
  private out: VrrpAction[] = [];

  constructor(spec: RouterSpec) {
    this.spec = spec;
    this.timing = { ...DEFAULT_TIMING, ...spec.timing };
    this.load(spec, 0);
  }

  /** Feed one event; returns what the shell must do, ending with the next wake-up. */
  step(event: VrrpEvent, now: number): VrrpAction[] {
    this.out = [];
    switch (event.type) {
      case 'start':
        this.start(now);
        break;
      case 'packet':
        this.onPacket(event, now);
        break;
      case 'tick':
        break;
      case 'script-result':
        this.onScriptResult(event.script, event.ok, event.detail ?? '', now);
        break;
      case 'link':
        this.links.set(event.interface, event.up);
        this.refreshAll(now);
        break;
      case 'track-file':
        this.fileValues.set(event.name, event.value);
        this.refreshAll(now);
        break;
      case 'track-process':
        this.processCounts.set(event.name, event.running);
        this.refreshAll(now);
        break;
      case 'set-priority': {
        const inst = this.instances.get(event.instance);
        if (inst && !this.stopped && !this.stopping) {
          inst.basePriority = Math.max(1, Math.min(255, Math.round(event.priority)));
          this.refreshAll(now);
        }
        break;
      }
      case 'claim': {
        const inst = this.instances.get(event.instance);
        if (inst && this.started && !this.stopped && !this.stopping) {
          inst.passive = false;
          inst.lingerUntil = null;
          if (inst.state === 'BACKUP' || inst.state === 'INIT') {
            this.enter(inst, 'MASTER', now, 'claimed by the cluster');
          } else if (inst.state === 'MASTER') {
            this.sendAdvert(inst, inst.effPriority);
            inst.adverAt = now + inst.spec.advertIntCs * 10;
          }
        }
        break;
      }
      case 'release': {
        const inst = this.instances.get(event.instance);
        if (inst && this.started && !this.stopped && !this.stopping) {
          inst.passive = true;
          if (inst.state === 'MASTER') {
            this.sendAdvert(inst, 0);
            this.log(`(${inst.spec.name}) sent 0 priority (released by the cluster; keeping VIPs for the handover)`);
            inst.lingerUntil = now + Math.max(0, event.lingerMs);
            this.enter(inst, 'BACKUP', now, 'released', false, true);
          }
          inst.downAt = null;
        }
        break;
      }
      case 'shutdown':
        this.shutdown(now, event.lingerMs ?? 0);
        break;
    }
    if (this.started && !this.stopped) this.runTimers(now);
    const wake = this.nextWake();
    if (wake !== null) this.out.push({ type: 'arm-timer', at: wake });
    return this.out;
  }

  /** Replace the configuration (SIGHUP): instances kept by name keep their state and VIPs. */
  reconfigure(spec: RouterSpec, now: number): VrrpAction[] {
    this.out = [];
    const old = new Map(this.instances);
    const oldScripts = new Map(this.scripts);
    this.spec = spec;
    this.timing = { ...DEFAULT_TIMING, ...spec.timing };
    this.instances.clear();
    this.scripts.clear();
    this.load(spec, now);
    for (const [name, rt] of this.scripts) {
      const prev = oldScripts.get(name);
      if (prev) {
        rt.status = prev.status;
        rt.nextRunAt = Math.min(prev.nextRunAt, now + rt.spec.intervalMs);
      }
    }
    for (const [name, prev] of old) {
      const inst = this.instances.get(name);
      const same = inst && inst.spec.vrid === prev.spec.vrid && inst.spec.interface === prev.spec.interface;
      if (!inst || !same) {
        // Gone (or changed identity): release it as on shutdown.
        this.stopInstance(prev, now);
        continue;
      }
      inst.state = prev.state;
      inst.stats = prev.stats;
      inst.masterAddress = prev.masterAddress;
      inst.masterAdverIntCs = prev.masterAdverIntCs;
      inst.downAt = prev.downAt;
      inst.adverAt = prev.adverAt;
      inst.startedAt = prev.startedAt;
      inst.faultReasons = prev.faultReasons;
      inst.effPriority = prev.effPriority;
      inst.passive = prev.passive;
      inst.lingerUntil = prev.lingerUntil;
      if (prev.state === 'MASTER') {
        const key = (v: VipSpec) => `${v.address}/${v.prefix}@${v.dev}`;
        const newKeys = new Set(inst.spec.vips.map(key));
        const oldKeys = new Set(prev.spec.vips.map(key));
        const removed = prev.spec.vips.filter((v) => !newKeys.has(key(v)));
        const added = inst.spec.vips.filter((v) => !oldKeys.has(key(v)));
        if (removed.length) this.out.push({ type: 'remove-vips', instance: name, vips: removed });
        if (added.length) {
          this.out.push({ type: 'add-vips', instance: name, vips: added });
          this.out.push({ type: 'garp', instance: name, vips: added, repeat: inst.spec.garpMasterRepeat });
        }
        inst.adverAt = now;
      }
    }
    if (this.started) {
      for (const inst of this.instances.values()) {
        if (!old.has(inst.spec.name) || old.get(inst.spec.name)!.spec.vrid !== inst.spec.vrid) this.startInstance(inst, now);
      }
      this.refreshAll(now);
      this.runTimers(now);
    }
    const wake = this.nextWake();
    if (wake !== null) this.out.push({ type: 'arm-timer', at: wake });
    return this.out;
  }

  status(): RouterStatus {
    return {
      routerId: this.spec.routerId,
      instances: [...this.instances.values()].map((i) => ({
        name: i.spec.name,
        vrid: i.spec.vrid,
        interface: i.spec.interface,
        state: i.state,
        basePriority: i.basePriority,
        effectivePriority: i.effPriority,
        advertIntMs: i.spec.advertIntCs * 10,
        masterAddress: i.state === 'MASTER' ? i.spec.primaryAddress : i.masterAddress,
        vips: i.spec.vips.map((v) => `${v.address}/${v.prefix}`),
        preempt: i.spec.preempt,
        syncGroup: i.group,
        faultReasons: [...i.faultReasons],
        stats: structuredClone(i.stats),
      })),
      scripts: [...this.scripts.values()].map((s) => ({ ...s.status })),
      unmatched: { ...this.unmatched },
    };
  }

  state(instance: string): VrrpState | undefined {
    return this.instances.get(instance)?.state;
  }

  /** Shut down and every VIP released (after the handover, when lingering). */
  isStopped(): boolean {
    return this.stopped;
  }

  // ---------------------------------------------------------------- setup

  private load(spec: RouterSpec, now: number): void {
    const groupOf = new Map<string, string>();
    for (const g of spec.syncGroups) for (const m of g.members) groupOf.set(m, g.name);
    for (const s of spec.instances) {
      this.instances.set(s.name, {
        spec: s,
        state: 'INIT',
        basePriority: s.priority,
        effPriority: s.priority,
        masterAdverIntCs: s.advertIntCs,
        masterAddress: null,
        downAt: null,
        adverAt: null,
        garpAt: [],
        garpRefreshAt: null,
        startedAt: now,
        lowerSeenAt: null,
        group: groupOf.get(s.name) ?? null,
        faultReasons: [],
        stats: emptyStats(),
        reassertAt: -Infinity,
        mismatchLogged: new Set(),
        passive: false,
        lingerUntil: null,
      });
    }
    // Only scripts some instance tracks are run, as keepalived does.
    const tracked = new Set(spec.instances.flatMap((i) => i.trackScripts.map((t) => t.script)));
    for (const s of spec.scripts) {
      if (!tracked.has(s.name)) continue;
      this.scripts.set(s.name, {
        spec: s,
        status: {
          name: s.name,
          ok: !s.initFail,
          consecutiveOk: 0,
          consecutiveFail: 0,
          running: false,
          lastDetail: '',
          runs: 0,
        },
        nextRunAt: now,
      });
    }
  }

  private start(now: number): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.scripts.values()) s.nextRunAt = now;
    for (const inst of this.instances.values()) this.startInstance(inst, now);
    // Sync groups start as one: a fault anywhere holds the group in FAULT.
    this.refreshAll(now);
  }

  private startInstance(inst: Instance, now: number): void {
    inst.startedAt = now;
    inst.effPriority = this.computePriority(inst).priority;
    inst.faultReasons = this.computePriority(inst).faults;
    if (inst.faultReasons.length) {
      this.enter(inst, 'FAULT', now, inst.faultReasons.join(', '));
      return;
    }
    if (inst.basePriority === 255) {
      // The address owner skips the election (RFC 5798 §6.4.1).
      this.enter(inst, 'MASTER', now, 'address owner');
      return;
    }
    // keepalived logs the removal even when none are set: clears leftovers of a crash.
    this.log(`(${inst.spec.name}) removing VIPs.`);
    this.out.push({ type: 'remove-vips', instance: inst.spec.name, vips: inst.spec.vips });
    this.enter(inst, 'BACKUP', now, 'init');
  }

  // -------------------------------------------------------------- packets

  private onPacket(ev: Extract<VrrpEvent, { type: 'packet' }>, now: number): void {
    if (this.stopped || !this.started) return;
    // Find candidate instances by VRID (byte 1) even when decoding fails, to count drops per instance.
    const vrid = ev.bytes.length >= 2 ? ev.bytes[1]! : -1;
    const sameVrid = [...this.instances.values()].filter((i) => i.spec.vrid === vrid && i.spec.family === ev.family);
    // The transport tells which interface a packet came in on: only that interface's instances see it.
    const candidates = ev.ifname === undefined ? sameVrid : sameVrid.filter((i) => listensOn(i.spec, ev.ifname!));
    let dec = decodeAdvertisement(ev.bytes, { family: ev.family, src: ev.src, dst: ev.dst });
    if (!dec.ok && dec.error === 'bad-checksum' && ev.family === 4 && ev.bytes[0]! >>> 4 === 3) {
      // Checksums some peers compute differently: without the pseudo-header
      // (v3_checksum_as_v2), or, for unicast, over the multicast group
      // (keepalived before 1.3.6; keepalived 2.x still accepts those).
      for (const i of candidates) {
        const alt = i.spec.v3ChecksumAsV2
          ? decodeAdvertisement(ev.bytes, { family: 4, src: ev.src, dst: ev.dst, plain: true })
          : i.spec.peers.length && i.spec.oldUnicastChecksum !== 'never'
            ? decodeAdvertisement(ev.bytes, { family: 4, src: ev.src, dst: i.spec.mcastGroup })
            : null;
        if (alt?.ok) {
          dec = alt;
          break;
        }
      }
    }
    if (!dec.ok) {
      if (candidates.length === 0) this.unmatched.malformed++;
      for (const inst of candidates) {
        const reason: DropReason = dec.error === 'bad-checksum' ? 'checksum' : dec.error === 'bad-version' ? 'version' : 'malformed';
        inst.stats.dropped[reason]++;
        this.log(`(${inst.spec.name}) dropping packet from ${ev.src}: ${dec.detail}`);
      }
      return;
    }
    if (candidates.length === 0) {
      if (sameVrid.length) this.unmatched.wrongInterface++;
      else this.unmatched.wrongVrid++;
      return;
    }
    for (const inst of candidates) this.onAdvert(inst, dec.packet, ev, now);
  }

  private onAdvert(inst: Instance, pkt: Advertisement, ev: Extract<VrrpEvent, { type: 'packet' }>, now: number): void {
    const s = inst.spec;
    const name = s.name;
    if (ev.src === s.primaryAddress) {
      inst.stats.dropped.own++;
      return;
    }
    if (s.peers.length > 0 && !s.peers.includes(ev.src)) {
      inst.stats.dropped.peer++;
      this.log(`(${name}) advert from ${ev.src}, not a configured unicast_peer - discarding`);
      return;
    }
    if (isMulticast(ev.dst) && (s.peers.length > 0 || ev.dst !== s.mcastGroup)) {
      inst.stats.dropped.group++;
      this.log(`(${name}) advert from ${ev.src} to ${ev.dst}, not our ${s.peers.length ? 'unicast peers' : `group ${s.mcastGroup}`} - discarding`);
      return;
    }
    // TTL / hop limit 255 proves the advert was not routed; unicast adverts may
    // be (unicast_ttl), so they are checked only against a peer's min_ttl/max_ttl.
    if (ev.ttl !== undefined && s.peers.length === 0 && ev.ttl !== 255) {
      inst.stats.dropped.ttl++;
      this.log(`(${name}) invalid TTL/HL. Received ${ev.ttl} and expect 255 - discarding advert from ${ev.src}`);
      return;
    }
    const range = s.peerTtl?.[ev.src];
    if (ev.ttl !== undefined && range && (ev.ttl < range.min || ev.ttl > range.max)) {
      inst.stats.dropped.ttl++;
      this.log(`(${name}) TTL/HL ${ev.ttl} not in range ${range.min} - ${range.max} - discarding advert from ${ev.src}`);
      return;
    }
    if (pkt.version !== s.version) {
      inst.stats.dropped.version++;
      this.log(`(${name}) received version ${pkt.version} advert, ours is ${s.version} - discarding`);
      return;
    }
    if (s.version === 2) {
      const wantPass = s.authPass !== undefined;
      const wantType = wantPass ? 'pass' : 'none';
      const pass = (s.authPass ?? '').slice(0, 8);
      if (pkt.authType !== wantType || (wantPass && pkt.authData !== pass)) {
        inst.stats.dropped.auth++;
        this.log(`(${name}) received an invalid passwd! - discarding advert from ${ev.src}`);
        return;
      }
      if (pkt.advertIntCs !== Math.max(100, Math.round(s.advertIntCs / 100) * 100)) {
        inst.stats.dropped.interval++;
        this.log(`(${name}) advertisement interval mismatch mine=${s.advertIntCs / 100} sec rcv'd=${pkt.advertIntCs / 100} sec - discarding`);
        return;
      }
    }
    if (pkt.priority !== 0 && !sameAddressSet(pkt.addresses, s.vips.filter((v) => v.family === s.family).map((v) => v.address))) {
      // keepalived drops these only in strict mode; otherwise it logs and goes on.
      if (s.strict) {
        inst.stats.dropped.addresses++;
        this.log(`(${name}) received an invalid ip number count associated with VRID! - discarding advert from ${ev.src}`);
        return;
      }
      if (!inst.mismatchLogged.has(ev.src)) {
        inst.mismatchLogged.add(ev.src);
        this.log(`(${name}) ip address associated with VRID ${s.vrid} not present in MASTER advert from ${ev.src}`);
      }
    }
    inst.stats.advertRcvd++;
    if (pkt.priority === 0) inst.stats.priorityZeroRcvd++;

    switch (inst.state) {
      case 'BACKUP':
        this.backupReceive(inst, pkt, ev.src, now);
        break;
      case 'MASTER':
        this.masterReceive(inst, pkt, ev.src, now);
        break;
      case 'STOP':
        // Shut down but still holding the VIPs: the new master heard ends the handover soon.
        if (inst.lingerUntil !== null && pkt.priority !== 0) {
          inst.masterAddress = ev.src;
          inst.lingerUntil = Math.min(inst.lingerUntil, now + HANDOVER_TAIL_MS);
        }
        break;
      default:
        break; // INIT, FAULT, STOP: not listening
    }
  }

  private backupReceive(inst: Instance, pkt: Advertisement, src: string, now: number): void {
    const name = inst.spec.name;
    if (inst.passive) {
      // Released: never take over. A new master heard ends the handover soon
      // (a moment for the client's ARP cache and requests in flight).
      if (pkt.priority !== 0) {
        inst.masterAddress = src;
        if (inst.lingerUntil !== null) inst.lingerUntil = Math.min(inst.lingerUntil, now + HANDOVER_TAIL_MS);
      }
      return;
    }
    if (pkt.priority === 0) {
      // The master let go: take over after a short priority-ordered wait (RFC: Skew_Time).
      this.log(`(${name}) Backup received priority 0 advertisement`);
      inst.masterAddress = null;
      const at = now + this.fastWait(inst);
      inst.downAt = inst.downAt === null ? at : Math.min(inst.downAt, at);
      return;
    }
    const higherOrEqual = pkt.priority >= inst.effPriority;
    if (higherOrEqual || !inst.spec.preempt || !this.preemptAllowed(inst, now)) {
      if (!higherOrEqual && inst.lowerSeenAt === null) inst.lowerSeenAt = now;
      if (higherOrEqual) inst.lowerSeenAt = null;
      if (inst.spec.version === 3) inst.masterAdverIntCs = pkt.advertIntCs;
      inst.masterAddress = src;
      inst.downAt = now + this.masterDownMs(inst);
      return;
    }
    // A lower-priority master and we may preempt: the RFC waits out the
    // master-down timer; we take over after a short priority-ordered wait.
    this.log(`(${name}) received lower priority (${pkt.priority}) advert from ${src} - discarding`);
    const at = now + this.fastWait(inst);
    inst.downAt = inst.downAt === null ? at : Math.min(inst.downAt, at);
  }

  private masterReceive(inst: Instance, pkt: Advertisement, src: string, now: number): void {
    const name = inst.spec.name;
    if (pkt.priority === 0) {
      // Someone released: answer at once so backups see a master (RFC 5798 §6.4.3).
      this.sendAdvert(inst, inst.effPriority);
      inst.adverAt = now + inst.spec.advertIntCs * 10;
      return;
    }
    const cmp = pkt.priority - inst.effPriority;
    if (cmp > 0 || (cmp === 0 && compareAddresses(src, inst.spec.primaryAddress) > 0)) {
      this.log(
        cmp > 0
          ? `(${name}) Master received advert from ${src} with higher priority ${pkt.priority}, ours ${inst.effPriority}`
          : `(${name}) Master received advert from ${src} with same priority ${pkt.priority} but higher IP address than ours`,
      );
      if (inst.spec.version === 3) inst.masterAdverIntCs = pkt.advertIntCs;
      inst.masterAddress = src;
      this.enter(inst, 'BACKUP', now, '');
      return;
    }
    // Two masters and we win: re-assert at once (advert + gratuitous ARP), so
    // the network's ARP caches follow the winner, not the one stepping down.
    if (now - inst.reassertAt >= inst.spec.advertIntCs * 10) {
      inst.reassertAt = now;
      this.log(`(${name}) received lower priority (${pkt.priority}) advert from ${src} - discarding`);
      this.sendAdvert(inst, inst.effPriority);
      // keepalived's garp_lower_prio_repeat (default: garp_master_repeat) now, and a second set after garp_lower_prio_delay.
      this.out.push({ type: 'garp', instance: name, vips: inst.spec.vips, repeat: inst.spec.garpLowerPrioRepeat ?? inst.spec.garpMasterRepeat, ...this.spacing(inst) });
      const delay = inst.spec.garpLowerPrioDelayMs ?? inst.spec.garpMasterDelayMs;
      if (delay > 0) inst.garpAt = [...inst.garpAt, now + delay].sort((a, b) => a - b);
    }
  }

  private spacing(inst: Instance): { spacingMs?: number } {
    return inst.spec.garpIntervalMs !== undefined ? { spacingMs: inst.spec.garpIntervalMs } : {};
  }

  private preemptAllowed(inst: Instance, now: number): boolean {
    if (inst.spec.preemptDelayMs <= 0) return true;
    if (now < inst.startedAt + inst.spec.preemptDelayMs) return false;
    if (inst.lowerSeenAt !== null && now < inst.lowerSeenAt + inst.spec.preemptDelayMs) return false;
    return true;
  }

  // --------------------------------------------------------------- timers

  private runTimers(now: number): void {
    if (this.stopping) {
      this.endHandovers(now);
      return;
    }
    for (const s of this.scripts.values()) {
      if (!s.status.running && s.nextRunAt <= now) {
        s.status.running = true;
        s.nextRunAt = now + s.spec.intervalMs;
        this.out.push({ type: 'run-script', script: s.spec.name });
      }
    }
    for (const inst of this.instances.values()) {
      if (inst.state === 'BACKUP' && inst.lingerUntil !== null && inst.lingerUntil <= now) {
        inst.lingerUntil = null;
        this.log(`(${inst.spec.name}) handover over, removing VIPs.`);
        this.out.push({ type: 'remove-vips', instance: inst.spec.name, vips: inst.spec.vips });
      }
      if (inst.state === 'BACKUP' && !inst.passive && inst.downAt !== null && inst.downAt <= now) {
        inst.downAt = null;
        this.log(`(${inst.spec.name}) Receive advertisement timeout`);
        this.enter(inst, 'MASTER', now, '');
      }
      if (inst.state === 'MASTER') {
        if (inst.adverAt !== null && inst.adverAt <= now) {
          this.sendAdvert(inst, inst.effPriority);
          inst.adverAt = now + inst.spec.advertIntCs * 10;
        }
        if (inst.garpAt.length && inst.garpAt[0]! <= now) {
          inst.garpAt = inst.garpAt.filter((t) => t > now);
          this.garp(inst);
        }
        if (inst.garpRefreshAt !== null && inst.garpRefreshAt <= now) {
          inst.garpRefreshAt = now + inst.spec.garpMasterRefreshMs;
          this.out.push({ type: 'garp', instance: inst.spec.name, vips: inst.spec.vips, repeat: inst.spec.garpMasterRefreshRepeat ?? 1, ...this.spacing(inst) });
        }
      }
    }
  }

  private nextWake(): number | null {
    if (!this.started || this.stopped) return null;
    let t = Infinity;
    if (this.stopping) {
      for (const inst of this.instances.values()) if (inst.lingerUntil !== null) t = Math.min(t, inst.lingerUntil);
      return Number.isFinite(t) ? t : null;
    }
    for (const s of this.scripts.values()) if (!s.status.running) t = Math.min(t, s.nextRunAt);
    for (const inst of this.instances.values()) {
      if (inst.state === 'BACKUP' && !inst.passive && inst.downAt !== null) t = Math.min(t, inst.downAt);
      if (inst.state === 'BACKUP' && inst.lingerUntil !== null) t = Math.min(t, inst.lingerUntil);
      if (inst.state === 'MASTER') {
        if (inst.adverAt !== null) t = Math.min(t, inst.adverAt);
        if (inst.garpAt.length) t = Math.min(t, inst.garpAt[0]!);
        if (inst.garpRefreshAt !== null) t = Math.min(t, inst.garpRefreshAt);
      }
    }
    return Number.isFinite(t) ? t : null;
  }

  /**
   * Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time. With no
   * master heard yet (start-up, after a fault) it is the RFC's, so routers
   * starting together elect by priority with the RFC's margin; once a master
   * is known, its loss is a failover and the skew is scaled (TimingOptions).
   */
  private masterDownMs(inst: Instance): number {
    const scale = inst.masterAddress === null ? 1 : this.timing.downSkewScale;
    return 3 * inst.masterAdverIntCs * 10 + this.skewMs(inst) * scale;
  }

  /** Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256. */
  private skewMs(inst: Instance): number {
    return ((256 - inst.effPriority) * inst.masterAdverIntCs * 10) / 256;
  }

  private fastWait(inst: Instance): number {
    return this.skewMs(inst) * this.timing.fastSkewScale;
  }

  // ------------------------------------------------------------ scripts

  private onScriptResult(name: string, ok: boolean, detail: string, now: number): void {
    const s = this.scripts.get(name);
    if (!s) return;
    s.status.running = false;
    s.status.runs++;
    s.status.lastDetail = detail;
    if (ok) {
      s.status.consecutiveOk++;
      s.status.consecutiveFail = 0;
      if (!s.status.ok && s.status.consecutiveOk >= s.spec.rise) {
        s.status.ok = true;
        this.log(`VRRP_Script(${name}) succeeded`);
        this.refreshAll(now);
      }
    } else {
      s.status.consecutiveFail++;
      s.status.consecutiveOk = 0;
      if (s.status.ok && s.status.consecutiveFail >= s.spec.fall) {
        s.status.ok = false;
        this.log(`VRRP_Script(${name}) failed${detail ? ` (${detail})` : ''}`);
        this.refreshAll(now);
      }
    }
  }

  private computePriority(inst: Instance): { priority: number; faults: string[] } {
    const faults: string[] = [];
    if (this.links.get(inst.spec.interface) === false) faults.push(`interface ${inst.spec.interface} down`);
    let delta = 0;
    for (const t of inst.spec.trackScripts) {
      const s = this.scripts.get(t.script);
      if (!s) continue;
      if (t.weight === 0) {
        if (!s.status.ok) faults.push(`script ${t.script} failed`);
      } else if (t.weight > 0 && s.status.ok) delta += t.weight;
      else if (t.weight < 0 && !s.status.ok) delta += t.weight;
    }
    for (const t of inst.spec.trackInterfaces) {
      const up = this.links.get(t.name) !== false;
      if (t.weight === 0) {
        if (!up) faults.push(`interface ${t.name} down`);
      } else if (t.weight > 0 && up) delta += t.weight;
      else if (t.weight < 0 && !up) delta += t.weight;
    }
    // keepalived track_file: weight 0 → a non-zero value is a FAULT; otherwise value × weight (reverse: −).
    for (const t of inst.spec.trackFiles ?? []) {
      const v = this.fileValues.get(t.name) ?? 0;
      if (t.weight === 0) {
        if (v !== 0) faults.push(`track_file ${t.name} = ${v}`);
      } else delta += v * t.weight * (t.reverse ? -1 : 1);
    }
    // track_process: up while quorum..quorum_max processes match (reverse: the other way); weights as for scripts.
    for (const t of inst.spec.trackProcesses ?? []) {
      const n = this.processCounts.get(t.name) ?? 0;
      const inQuorum = n >= t.quorum && n <= (t.quorumMax ?? Infinity);
      const up = t.reverse ? !inQuorum : inQuorum;
      if (t.weight === 0) {
        if (!up) faults.push(`process ${t.name} not running`);
      } else if (t.weight > 0 && up) delta += t.weight;
      else if (t.weight < 0 && !up) delta += t.weight;
    }
    // The owner keeps 255; everyone else is clamped to 1..254 as keepalived does.
    const priority = inst.basePriority === 255 ? 255 : Math.max(1, Math.min(254, inst.basePriority + delta));
    return { priority, faults };
  }

  /** Re-evaluate priorities and faults of every instance after a script/link/priority change. */
  private refreshAll(now: number): void {
    if (!this.started || this.stopped || this.stopping) return;
    for (const inst of this.instances.values()) {
      if (inst.state === 'STOP') continue;
      const { priority, faults } = this.computePriority(inst);
      inst.faultReasons = faults;
      if (priority !== inst.effPriority) {
        this.log(`(${inst.spec.name}) Changing effective priority from ${inst.effPriority} to ${priority}`);
        inst.effPriority = priority;
        // Tell the others at once instead of at the next interval, so a backup can preempt now.
        if (inst.state === 'MASTER') {
          this.sendAdvert(inst, priority);
          inst.adverAt = now + inst.spec.advertIntCs * 10;
        }
      }
    }
    // Faults, including a sync group's: any member in fault holds the group in FAULT.
    for (const inst of this.instances.values()) {
      if (inst.state === 'STOP') continue;
      const groupFault = inst.group !== null && this.groupMembers(inst.group).some((m) => m.faultReasons.length > 0);
      const fault = inst.faultReasons.length > 0 || groupFault;
      if (fault && inst.state !== 'FAULT') {
        this.enter(inst, 'FAULT', now, inst.faultReasons.join(', ') || `sync group ${inst.group} in fault`, true);
      } else if (!fault && inst.state === 'FAULT') {
        if (inst.basePriority === 255) this.enter(inst, 'MASTER', now, 'address owner', true);
        else this.enter(inst, 'BACKUP', now, 'fault cleared', true);
      }
    }
  }

  private groupMembers(group: string): Instance[] {
    const g = this.spec.syncGroups.find((x) => x.name === group);
    if (!g) return [];
    return g.members.map((m) => this.instances.get(m)).filter((x): x is Instance => x !== undefined);
  }

  // -------------------------------------------------------- transitions

  private enter(inst: Instance, to: VrrpState, now: number, reason: string, noSync = false, keepVips = false): void {
    const from = inst.state;
    if (from === to) return;
    const name = inst.spec.name;
    if (from === 'MASTER') {
      // Leaving MASTER: tell the backups (priority 0) when we go away, then drop VIPs.
      if (to === 'FAULT' || to === 'STOP') {
        this.sendAdvert(inst, 0);
        this.log(`(${name}) sent 0 priority`);
      }
      inst.stats.releaseMaster++;
      if (!keepVips) {
        this.log(`(${name}) removing VIPs.`);
        this.out.push({ type: 'remove-vips', instance: name, vips: inst.spec.vips });
      }
      inst.garpAt = [];
      inst.garpRefreshAt = null;
      inst.adverAt = null;
    }
    if (from === 'BACKUP' && inst.lingerUntil !== null && to !== 'MASTER') {
      this.log(`(${name}) removing VIPs.`);
      this.out.push({ type: 'remove-vips', instance: name, vips: inst.spec.vips });
      inst.lingerUntil = null;
    }
    inst.state = to;
    switch (to) {
      case 'MASTER': {
        inst.lingerUntil = null;
        inst.downAt = null;
        inst.masterAddress = null;
        inst.stats.becomeMaster++;
        this.log(`(${name}) Entering MASTER STATE`);
        this.sendAdvert(inst, inst.effPriority);
        inst.adverAt = now + inst.spec.advertIntCs * 10;
        this.log(`(${name}) setting VIPs.`);
        this.out.push({ type: 'add-vips', instance: name, vips: inst.spec.vips });
        this.garp(inst);
        if (inst.spec.garpMasterDelayMs > 0) inst.garpAt = [now + inst.spec.garpMasterDelayMs];
        inst.garpRefreshAt = inst.spec.garpMasterRefreshMs > 0 ? now + inst.spec.garpMasterRefreshMs : null;
        break;
      }
      case 'BACKUP':
        this.log(`(${name}) Entering BACKUP STATE${reason === 'init' ? ' (init)' : ''}`);
        inst.masterAdverIntCs = inst.masterAddress ? inst.masterAdverIntCs : inst.spec.advertIntCs;
        inst.downAt = now + this.masterDownMs(inst);
        break;
      case 'FAULT':
        this.log(`(${name}) Entering FAULT STATE${reason ? ` (${reason})` : ''}`);
        inst.downAt = null;
        break;
      case 'STOP':
        inst.downAt = null;
        break;
      case 'INIT':
        break;
    }
    this.out.push({ type: 'notify', instance: name, state: to, priority: inst.effPriority });
    // vrrp_sync_group: the members follow one another between MASTER and BACKUP.
    if (!noSync && inst.group !== null && (to === 'MASTER' || to === 'BACKUP')) {
      for (const m of this.groupMembers(inst.group)) {
        if (m !== inst && m.state !== to && m.state !== 'FAULT' && m.state !== 'STOP') {
          this.log(`(${m.spec.name}) following sync group ${inst.group} to ${to}`);
          this.enter(m, to, now, 'sync group', true);
        }
      }
    }
    if (inst.group !== null) this.groupNotify(inst.group);
  }

  /** A group's notify runs when all its members have reached one state. */
  private groupNotify(group: string): void {
    const members = this.groupMembers(group);
    const first = members[0]?.state;
    if (first === undefined || !members.every((m) => m.state === first)) return;
    if (this.groupState.get(group) === first) return;
    this.groupState.set(group, first);
    this.out.push({ type: 'group-notify', group, state: first });
  }

  private garp(inst: Instance): void {
    this.log(`(${inst.spec.name}) Sending/queueing gratuitous ARPs on ${inst.spec.interface} for ${inst.spec.vips.map((v) => v.address).join(' ')}`);
    this.out.push({ type: 'garp', instance: inst.spec.name, vips: inst.spec.vips, repeat: inst.spec.garpMasterRepeat, ...this.spacing(inst) });
  }

  private sendAdvert(inst: Instance, priority: number): void {
    const s = inst.spec;
    const dsts = s.peers.length > 0 ? s.peers : [s.mcastGroup];
    const addresses = s.vips.filter((v) => v.family === s.family).map((v) => v.address);
    for (const dst of dsts) {
      const bytes = encodeAdvertisement(
        {
          version: s.version,
          family: s.family,
          vrid: s.vrid,
          priority,
          advertIntCs: s.advertIntCs,
          addresses,
          authType: s.version === 2 && s.authPass !== undefined ? 'pass' : 'none',
          authPass: s.authPass,
        },
        {
          family: s.family,
          src: s.primaryAddress,
          dst: s.peers.length > 0 && s.oldUnicastChecksum === 'send' ? s.mcastGroup : dst,
          ...(s.v3ChecksumAsV2 ? { plain: true } : {}),
        },
      );
      this.out.push({ type: 'send', instance: s.name, dst, bytes, family: s.family, ...(s.peers.length && s.unicastTtl !== undefined ? { ttl: s.unicastTtl } : {}) });
    }
    inst.stats.advertSent++;
    if (priority === 0) inst.stats.priorityZeroSent++;
  }

  // ------------------------------------------------------------ shutdown

  private stopInstance(inst: Instance, now: number): void {
    if (inst.state === 'STOP') return;
    this.enter(inst, 'STOP', now, 'stop', true);
  }

  private shutdown(now: number, lingerMs: number): void {
    if (this.stopped || this.stopping) return;
    this.stopping = true;
    for (const inst of this.instances.values()) {
      // A master (or a released one still handing over) keeps its VIPs for the handover.
      const linger = lingerMs > 0 && inst.spec.vips.length > 0 && (inst.state === 'MASTER' || inst.lingerUntil !== null);
      const until = Math.min(now + lingerMs, inst.lingerUntil ?? Infinity);
      if (linger) {
        inst.lingerUntil = null;
        this.enter(inst, 'STOP', now, 'stop', true, true);
        inst.lingerUntil = until;
        this.log(`(${inst.spec.name}) keeping VIPs until the new master is heard (at most ${Math.round(until - now)} ms)`);
      } else this.stopInstance(inst, now);
    }
    this.endHandovers(now);
  }

  /** Shutting down: VIPs kept for a handover go when it is over; then the router is stopped. */
  private endHandovers(now: number): void {
    for (const inst of this.instances.values()) {
      if (inst.lingerUntil !== null && inst.lingerUntil <= now) {
        inst.lingerUntil = null;
        this.log(`(${inst.spec.name}) handover over, removing VIPs.`);
        this.out.push({ type: 'remove-vips', instance: inst.spec.name, vips: inst.spec.vips });
      }
    }
    if ([...this.instances.values()].every((i) => i.lingerUntil === null)) this.stopped = true;
  }

  private log(message: string): void {
    this.out.push({ type: 'log', message });
  }
}

/** After a released master hears the new one, it keeps the VIPs this long more. */
const HANDOVER_TAIL_MS = 100;

function sameAddressSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const norm = (x: string) => x.toLowerCase();
  const sb = new Set(b.map(norm));
  return a.every((x) => sb.has(norm(x)));
}

function isMulticast(addr: string): boolean {
  return /^ff/i.test(addr) || /^2(2[4-9]|3\d)\./.test(addr);
}

/** Adverts come in on the instance's interface, or on the base interface under its VMAC with vmac_xmit_base. */
function listensOn(spec: InstanceSpec, ifname: string): boolean {
  return (spec.xmitInterface ?? spec.interface) === ifname;
}
