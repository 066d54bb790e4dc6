/**
 * The seeded cluster simulator: N real totem cores (and votequorum) in one
 * process, on simulated time and a simulated network with per-link delay and
 * jitter, loss, duplication, reordering, partitions and heals, crashes and
 * restarts. Everything random comes from one seed, so a failing seed is a
 * bug report that replays exactly (`runSeed(seed)`).
 *
 * Invariants checked on every run:
 *  - members of the same configuration deliver the same messages in the same
 *    order (each node's sequence is a prefix of the configuration's order;
 *    transitional configurations deliver identical lists);
 *  - no message is delivered twice, nor out of its sender's order;
 *  - all members that install a ring agree on its member list;
 *  - after the network heals and stays quiet, every live node is in one ring
 *    within a bounded simulated time, and messages sent then reach everyone;
 *  - quorum is never held by two nodes whose configurations are disjoint.
 */
import type { TotemCore, TotemTimers } from '../totem/core.js';
import { TotemStack, type StackOutput, type StackTimerName } from '../totem/stack.js';
import { PacketType, clusterHash, decodePacket, encodePacket, ringKey, type Packet } from '../totem/wire.js';
import { EventHeap } from './heap.js';
import { Rng } from './rng.js';

export interface SimOptions {
  /** Number of nodes; default: 2..5 chosen by the seed. */
  nodes?: number;
  /** Simulated ms of faults before the final heal; default 2000..6000 by seed. */
  chaosMs?: number;
  /** Bound (simulated ms) for all live nodes to be in one ring after the heal. */
  convergeMs?: number;
  /** Send every packet through the binary encoder/decoder (default true). */
  wire?: boolean;
  timers?: Partial<TotemTimers>;
  /** Record a trace of events (for replaying a failing seed). */
  trace?: boolean;
  /** Tests of the checker itself: corrupt a node's outputs before the simulator sees them. */
  mutate?: (node: number, out: StackOutput, now: number) => void;
}

export interface SimResult {
  seed: number;
  nodes: number;
  violations: string[];
  delivered: number;
  sent: number;
  rings: number;
  packets: number;
  simMs: number;
  convergedAt: number | null;
  trace: string[];
}

type Ev =
  | { time: number; order: number; kind: 'packet'; to: number; from: number; bytes: Uint8Array | null; packet: Packet | null }
  | { time: number; order: number; kind: 'timer'; node: number; name: StackTimerName; gen: number; inc: number }
  | { time: number; order: number; kind: 'act'; act: () => void };

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface SimNode {
  id: number;
  stack: TotemStack | null;
  /** The stack's totem core (for convergence checks). */
  core: TotemCore | null;
  incarnation: number;
  disk: { ringSeq: number };
  timerGen: Map<string, number>;
  counter: number;
  /** Current configuration key for deliveries. */
  confKey: string;
  confMembers: number[];
  quorate: boolean;
  /** Per (regular or transitional) configuration: how many this node delivered there. */
  posIn: Map<string, number>;
  seen: Set<string>;
  lastFrom: Map<string, number>;
}

const CLUSTER = clusterHash('sim');

export function runSeed(seed: number, opts: SimOptions = {}): SimResult {
  return new Simulator(seed, opts).run();
}

class Simulator {
  private rng: Rng;
  private heap = new EventHeap<Ev>();
  private order = 0;
  now = 0;
  private nodes: SimNode[] = [];
  private ids: number[] = [];
  private violations: string[] = [];
  private trace: string[] = [];
  private doTrace: boolean;
  private wire: boolean;
  // Network state.
  private partition = new Map<number, number>();
  private loss = 0;
  private dup = 0;
  private baseDelay = 0.2;
  private jitter = 0.5;
  private linkDelay = new Map<string, number>();
  // Invariant bookkeeping.
  private orderOf = new Map<string, string[]>();
  private transCount = new Map<string, Map<string, number>>();
  private ringMembers = new Map<string, string>();
  private delivered = 0;
  private sent = 0;
  private packets = 0;
  private finalMsgs = new Set<string>();
  private timers: Partial<TotemTimers>;
  private n: number;
  private chaosMs: number;
  private convergeMs: number;
  private mutate: SimOptions['mutate'];

  constructor(
    readonly seed: number,
    opts: SimOptions,
  ) {
    this.rng = new Rng(seed);
    this.doTrace = opts.trace === true;
    this.wire = opts.wire !== false;
    this.n = opts.nodes ?? 2 + this.rng.int(4);
    this.chaosMs = opts.chaosMs ?? 2000 + this.rng.int(4000);
    this.convergeMs = opts.convergeMs ?? 6000;
    this.timers = opts.timers ?? {};
    this.mutate = opts.mutate;
    for (let i = 1; i <= this.n; i++) {
      this.ids.push(i);
      for (let j = 1; j <= this.n; j++) this.linkDelay.set(`${i}>${j}`, this.rng.range(0.05, 1.5));
    }
  }

  private violate(msg: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now.toFixed(2)}ms ${msg}`);
  }
  private log(s: string): void {
    if (this.doTrace) this.trace.push(`${this.now.toFixed(3)} ${s}`);
  }

  private schedule(ev: DistOmit<Ev, 'order'>): void {
    (ev as Ev).order = this.order++;
    this.heap.push(ev as Ev);
  }
  private at(time: number, act: () => void): void {
    this.schedule({ time, kind: 'act', act });
  }

  // ------------------------------------------------------------ nodes

  private boot(id: number, existing?: SimNode): SimNode {
    const node: SimNode = existing ?? {
      id,
      stack: null,
      core: null,
      incarnation: 0,
      disk: { ringSeq: 0 },
      timerGen: new Map(),
      counter: 0,
      confKey: '',
      confMembers: [],
      quorate: false,
      posIn: new Map(),
      seen: new Set(),
      lastFrom: new Map(),
    };
    node.incarnation++;
    node.counter = 0;
    node.timerGen = new Map();
    node.confKey = '';
    node.confMembers = [];
    node.quorate = false;
    node.posIn = new Map();
    node.seen = new Set();
    node.lastFrom = new Map();
    node.stack = new TotemStack({ nodeId: id, nodes: this.ids, ringSeq: node.disk.ringSeq, timers: this.timers }, { nodeId: id, votes: new Map(this.ids.map((i) => [i, 1])) });
    node.core = node.stack.core;
    this.log(`boot ${id} inc ${node.incarnation}`);
    this.apply(node, node.stack.step({ type: 'start' }));
    return node;
  }

  private crash(node: SimNode): void {
    this.log(`crash ${node.id}`);
    node.stack = null;
    node.core = null;
    node.quorate = false;
    node.timerGen = new Map();
  }

  private apply(node: SimNode, out: StackOutput): void {
    if (this.mutate) this.mutate(node.id, out, this.now);
    if (out.persistRingSeq !== undefined) node.disk.ringSeq = out.persistRingSeq;
    for (const t of out.timers) {
      const gen = (node.timerGen.get(t.name) ?? 0) + 1;
      node.timerGen.set(t.name, gen);
      if (t.ms !== null) this.schedule({ time: this.now + t.ms, kind: 'timer', node: node.id, name: t.name, gen, inc: node.incarnation });
    }
    for (const s of out.send) {
      const dests = s.to === 'all' ? this.ids.filter((i) => i !== node.id) : s.to;
      const bytes = this.wire ? encodePacket(s.packet, CLUSTER) : null;
      for (const d of dests) this.transmit(node.id, d, bytes, s.packet);
    }
    for (const e of out.events) {
      if (e.type === 'deliver') {
        const d = e.delivery;
        const ck = d.transitional ? `T${ringKey(d.ring)}<${ringKey(d.previous!)}` : `R${ringKey(d.ring)}`;
        // A regular delivery belongs to the configuration installed last.
        if (!d.transitional && node.confKey !== ck) this.violate(`node ${node.id} delivered a message of ${ck} while in ${node.confKey || 'no configuration'}`);
        this.onDeliver(node, d.origin, d.payload, ck, d.transitional);
        continue;
      }
      if (e.type === 'quorum') {
        this.onQuorum(node, e.quorum.quorate);
        continue;
      }
      const c = e.confchg;
      const key = ringKey(c.ring);
      if (c.kind === 'transitional') {
        const tk = `T${key}<${ringKey(c.previous)}`;
        node.confKey = tk;
        node.confMembers = c.members;
        // Every member of a transitional configuration delivers the same list there.
        let m = this.transCount.get(tk);
        if (!m) this.transCount.set(tk, (m = new Map()));
        m.set(`${node.id}:${node.incarnation}`, node.posIn.get(tk) ?? 0);
        const tm = c.members.join(',');
        const prevT = this.ringMembers.get(tk);
        if (prevT === undefined) this.ringMembers.set(tk, tm);
        else if (prevT !== tm) this.violate(`transitional ${tk}: node ${node.id} has members [${tm}], another [${prevT}]`);
        if (!c.members.includes(node.id)) this.violate(`node ${node.id} transitional config ${key} without itself`);
      } else {
        node.confKey = `R${key}`;
        node.confMembers = c.members;
        const m = c.members.join(',');
        const prev = this.ringMembers.get(key);
        if (prev === undefined) this.ringMembers.set(key, m);
        else if (prev !== m) this.violate(`ring ${key}: node ${node.id} installed members [${m}], another [${prev}]`);
        if (!c.members.includes(node.id)) this.violate(`node ${node.id} installed ring ${key} without itself`);
        this.log(`node ${node.id} ring ${key} [${m}]`);
        if (!e.quorum) this.violate(`node ${node.id}: regular configuration ${key} without its quorum state`);
        else this.onQuorum(node, e.quorum.quorate);
      }
    }
  }

  private onQuorum(node: SimNode, quorate: boolean): void {
    node.quorate = quorate;
    if (!node.quorate) return;
    for (const other of this.nodes) {
      if (other === node || !other.core || !other.quorate) continue;
      if (!other.confMembers.some((m) => node.confMembers.includes(m))) {
        this.violate(`quorum in disjoint partitions: node ${node.id} [${node.confMembers}] and node ${other.id} [${other.confMembers}]`);
      }
    }
  }

  private onDeliver(node: SimNode, origin: number, payload: Uint8Array, ck: string, _transitional: boolean): void {
    this.delivered++;
    if (payload.length !== 12) {
      this.violate(`node ${node.id} delivered a payload of ${payload.length} bytes`);
      return;
    }
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const from = dv.getUint32(0);
    const inc = dv.getUint32(4);
    const cnt = dv.getUint32(8);
    const id = `${from}:${inc}:${cnt}`;
    if (from !== origin) this.violate(`node ${node.id} delivered ${id} with origin ${origin}`);
    if (node.seen.has(id)) this.violate(`node ${node.id} delivered ${id} twice`);
    node.seen.add(id);
    const sk = `${from}:${inc}`;
    const last = node.lastFrom.get(sk) ?? -1;
    if (cnt <= last) this.violate(`node ${node.id} delivered ${id} after ${sk}:${last} (sender order)`);
    node.lastFrom.set(sk, cnt);
    // The configuration it is delivered in: the regular ring, or the transitional one.
    const pos = node.posIn.get(ck) ?? 0;
    node.posIn.set(ck, pos + 1);
    let list = this.orderOf.get(ck);
    if (!list) this.orderOf.set(ck, (list = []));
    if (pos < list.length) {
      if (list[pos] !== id) this.violate(`node ${node.id} delivered ${id} at #${pos} of ${ck}, others delivered ${list[pos]}`);
    } else list.push(id);
  }

  // ------------------------------------------------------------ network

  private reachable(a: number, b: number): boolean {
    return (this.partition.get(a) ?? 0) === (this.partition.get(b) ?? 0);
  }

  private transmit(from: number, to: number, bytes: Uint8Array | null, packet: Packet): void {
    this.packets++;
    if (from !== to) {
      if (!this.reachable(from, to)) return;
      if (this.rng.chance(this.loss)) return;
    }
    const copies = from !== to && this.rng.chance(this.dup) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = from === to ? 0.01 : this.linkDelay.get(`${from}>${to}`)! * this.baseDelay * 5 + this.rng.next() * this.jitter;
      this.schedule({ time: this.now + delay, kind: 'packet', to, from, bytes, packet: bytes ? null : packet });
    }
  }

  // ------------------------------------------------------------ run

  run(): SimResult {
    for (const id of this.ids) this.nodes.push(this.boot(id));
    this.planChaos();
    const healAt = this.chaosMs;
    let convergedAt: number | null = null;
    const endAt = healAt + this.convergeMs + 1500;
    this.at(healAt, () => {
      this.log('heal all');
      this.partition.clear();
      this.loss = 0;
      this.dup = 0;
      this.jitter = 0.3;
      for (const node of this.nodes) if (!node.core) this.boot(node.id, node);
    });
    // Converged: every node operational in one ring of all nodes.
    const check = () => {
      if (convergedAt !== null) return;
      if (this.converged()) {
        convergedAt = this.now;
        this.log('converged');
        // Messages sent now must reach every node.
        for (const node of this.nodes) for (let k = 0; k < 3; k++) this.appSend(node, true);
        this.at(this.now + 1000, () => this.checkFinal());
        return;
      }
      if (this.now < healAt + this.convergeMs) this.at(this.now + 10, check);
    };
    this.at(healAt + 1, check);

    while (this.heap.size > 0) {
      const ev = this.heap.pop()!;
      if (ev.time > endAt) break;
      this.now = ev.time;
      this.handle(ev);
    }
    this.now = endAt;
    if (convergedAt === null) {
      const states = this.nodes.map((n) => `${n.id}:${n.core ? `${n.core.state}@${n.core.ringName()}[${n.core.members}]` : 'down'}`);
      this.violate(`not one ring ${this.convergeMs} ms after heal: ${states.join(' ')}`);
    }
    for (const [ck, m] of this.transCount) {
      const counts = new Set(m.values());
      if (counts.size > 1) this.violate(`transitional configuration ${ck}: members delivered different counts ${[...m.entries()].join(' ')}`);
    }
    return {
      seed: this.seed,
      nodes: this.n,
      violations: this.violations,
      delivered: this.delivered,
      sent: this.sent,
      rings: [...this.ringMembers.keys()].filter((k) => !k.startsWith('T')).length,
      packets: this.packets,
      simMs: endAt,
      convergedAt: convergedAt === null ? null : convergedAt - healAt,
      trace: this.trace,
    };
  }

  private converged(): boolean {
    const first = this.nodes[0]!.core;
    if (!first) return false;
    return this.nodes.every(
      (n) => n.core && n.core.state === 'operational' && n.core.ring.rep === first.ring.rep && n.core.ring.seq === first.ring.seq && n.core.members.length === this.n,
    );
  }

  private checkFinal(): void {
    for (const node of this.nodes) {
      if (!node.core) continue;
      const missing = [...this.finalMsgs].filter((id) => !node.seen.has(id));
      if (missing.length > 0) this.violate(`node ${node.id} never delivered ${missing.length} messages sent after convergence (e.g. ${missing[0]})`);
    }
  }

  private appSend(node: SimNode, final = false): void {
    if (!node.core) return;
    const payload = new Uint8Array(12);
    const dv = new DataView(payload.buffer);
    dv.setUint32(0, node.id);
    dv.setUint32(4, node.incarnation);
    dv.setUint32(8, node.counter++);
    if (final) this.finalMsgs.add(`${node.id}:${node.incarnation}:${node.counter - 1}`);
    this.sent++;
    this.apply(node, node.stack!.step({ type: 'send', payload, safe: this.rng.chance(0.2) }));
  }

  private planChaos(): void {
    // Application traffic throughout the chaos phase.
    let t = this.rng.range(0, 20);
    while (t < this.chaosMs) {
      this.at(t, () => this.appSend(this.rng.pick(this.nodes)));
      t += this.rng.range(1, 40);
    }
    // Faults.
    t = this.rng.range(50, 400);
    while (t < this.chaosMs - 50) {
      this.at(t, () => this.fault());
      t += this.rng.range(30, 800);
    }
  }

  private fault(): void {
    const r = this.rng.next();
    const live = this.nodes.filter((n) => n.core);
    const dead = this.nodes.filter((n) => !n.core);
    if (r < 0.2 && live.length > 1) {
      this.crash(this.rng.pick(live));
    } else if (r < 0.35 && dead.length > 0) {
      const d = this.rng.pick(dead);
      this.boot(d.id, d);
    } else if (r < 0.55) {
      const groups = 2 + this.rng.int(2);
      this.partition = new Map(this.ids.map((i) => [i, this.rng.int(groups)]));
      this.log(`partition ${[...this.partition.entries()].join(' ')}`);
    } else if (r < 0.7) {
      this.partition.clear();
      this.log('heal');
    } else if (r < 0.85) {
      this.loss = this.rng.chance(0.5) ? 0 : this.rng.range(0, 0.3);
      this.dup = this.rng.chance(0.5) ? 0 : this.rng.range(0, 0.1);
      this.log(`loss ${this.loss.toFixed(2)} dup ${this.dup.toFixed(2)}`);
    } else {
      this.jitter = this.rng.range(0.1, 20);
      this.log(`jitter ${this.jitter.toFixed(1)}`);
    }
  }

  private handle(ev: Ev): void {
    switch (ev.kind) {
      case 'act':
        ev.act();
        return;
      case 'timer': {
        const node = this.nodes[ev.node - 1]!;
        if (node.incarnation !== ev.inc || node.timerGen.get(ev.name) !== ev.gen) return;
        if (!node.stack) return;
        this.log(`node ${node.id} timer ${ev.name} (${node.stack.core.state})`);
        this.apply(node, node.stack.step({ type: 'timer', name: ev.name } as Parameters<TotemStack['step']>[0]));
        return;
      }
      case 'packet': {
        const node = this.nodes[ev.to - 1]!;
        if (!node.core) return;
        let packet = ev.packet;
        if (ev.bytes) {
          const d = decodePacket(ev.bytes, CLUSTER);
          if (!d.ok) {
            this.violate(`node ${ev.to} could not decode a packet from ${ev.from}: ${d.error}`);
            return;
          }
          packet = d.packet;
        }
        if (this.doTrace) this.log(`node ${node.id} <- ${ev.from} ${describe(packet!)} (${node.core.state})`);
        this.apply(node, node.stack!.step({ type: 'packet', packet: packet! }));
        return;
      }
    }
  }
}

function describe(p: Packet): string {
  switch (p.type) {
    case PacketType.Mcast:
      return `mcast ${ringKey(p.body.ring)}#${p.body.seq}${p.body.encap ? ' encap' : ''}`;
    case PacketType.Token:
      return `token ${ringKey(p.body.ring)} ts=${p.body.tokenSeq} seq=${p.body.seq} aru=${p.body.aru} st=${p.body.stable} q=${p.body.quiet}${p.body.done ? ' done' : ''} bl=${p.body.backlog} rtr=${p.body.rtr.length}`;
    case PacketType.Join:
      return `join rs=${p.body.ringSeq} p=[${p.body.proc}] f=[${p.body.fail}]`;
    case PacketType.Commit:
      return `commit ${ringKey(p.body.ring)} ${p.body.members.map((e) => `${e.id}${e.filled ? '+' : '-'}`).join(',')}`;
    case PacketType.HoldCancel:
      return `hold-cancel ${ringKey(p.body.ring)}`;
    default:
      return `merge-detect ${ringKey(p.body.ring)}`;
  }
}
