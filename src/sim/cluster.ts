/**
 * The whole cluster in one process, on simulated time: per node the real
 * totem stack (totem + votequorum, src/totem/stack.ts), the real controller
 * (ControllerCore: replica, transition runner) with the real scheduler
 * (schedulerPort), the daemon's real message codec and schema check — and
 * simulated agents, network, disk and power. Everything random comes from
 * one seed: `runCluster(seed)` replays a run exactly (`belay sim --seed N`).
 *
 * Faults: message loss, duplication, delay and reordering, partitions and
 * heals; node power-off and restart; a crash while writing the CIB (between
 * write and rename, or a torn temporary file: the node restarts from the
 * previous stored CIB); slow nodes (all of one node's steps stalled for
 * seconds); agents that fail, hang until their timeout, or whose process
 * dies (the next monitor says "not running"); admin edits proposed through
 * ControllerCore.propose, whose acknowledgements are recorded.
 *
 * Invariants, checked after every event (see docs/simulator.md):
 *  - double-active: a primitive (or more clone instances than clone-max) is
 *    never active on two powered nodes at once, unless one of them is
 *    UNCLEAN (left the quorate membership and not fenced) or holds it after
 *    a failed stop (blocked there: stonith-enabled=false);
 *  - multiple-active-recovered (fencing "none"): two holders inside one
 *    partition are recovered within a bounded time;
 *  - dc / dc-without-quorum: at most one DC per ring, none without quorum;
 *  - cib-version-back: a node's configuration version (admin_epoch, epoch)
 *    never goes back, in memory or on disk;
 *  - replica-divergence: two nodes that applied the same messages of the same
 *    ring hold the same CIB;
 *  - acked-lost: an acknowledged configuration change is in every node's
 *    configuration once the cluster has converged;
 *  - converge: after the faults stop, the cluster reaches the scheduler's
 *    placement (one ring, synced, scheduler has nothing to do, the agents'
 *    real state is what the CIB says, no operation pending) in bounded time;
 *  - exception: no exception escapes a core.
 */
import { emptyCib, type Cib, type Configuration, type NvSet, type Primitive } from '../cib/model.js';
import { cibToXml, parseCibXml } from '../cib/xml.js';
import { ControllerCore, needsSafeDelivery, type ClusterMessage, type CoreOutput, type LocalExec, type LocalFence, type SchedulePort } from '../controller/core.js';
import { fragment, Reassembler } from '../controller/fragment.js';
import { compareVersions, versionOf, type CibVersion } from '../controller/replica.js';
import { schedulerPort } from '../controller/schedule-port.js';
import { decodeMessage, encodeMessage } from '../daemon/belayd.js';
import { TRANSPORT_MAX_PAYLOAD } from '../daemon/totem-transport.js';
import { schedule as runScheduler } from '../scheduler/index.js';
import { TotemStack, type StackInput, type StackOutput, type StackTimerName } from '../totem/stack.js';
import { VrrpRouter, type VrrpAction, type VrrpEvent } from '../vrrp/core.js';
import { FLOATIP_DEFAULT_PRIORITY, FLOATIP_HANDOVER_MS, floatIpInstance } from '../vrrp/index.js';
import type { RouterSpec } from '../vrrp/types.js';
import { clusterHash, decodePacket, encodePacket, ringKey, type Packet } from '../totem/wire.js';
import { EventHeap } from './heap.js';
import { Rng } from './rng.js';

export type InvariantCode =
  | 'double-active'
  | 'multiple-active-recovered'
  | 'dc'
  | 'dc-without-quorum'
  | 'cib-version-back'
  | 'replica-divergence'
  | 'acked-lost'
  | 'converge'
  | 'exception';

export const ALL_INVARIANTS: readonly InvariantCode[] = [
  'double-active',
  'multiple-active-recovered',
  'dc',
  'dc-without-quorum',
  'cib-version-back',
  'replica-divergence',
  'acked-lost',
  'converge',
  'exception',
];

/**
 * What happens to a node that leaves the quorate membership.
 *  - power-off: it is really dead at once (as if fenced with instant
 *    confirmation): nothing it ran keeps running.
 *  - none: stonith-enabled=false semantics: it keeps running what it ran,
 *    UNCLEAN, until it rejoins; double activity across partitions is allowed,
 *    inside one partition it must be recovered in bounded time.
 *  - stonith: stonith-enabled=true with a fence device, and the controller's
 *    own fencing: the node stays UNCLEAN, running what it ran, until the DC
 *    has it fenced; a member runs the device, which powers the target off
 *    after a delay (and on again: fencing-action=reboot), answers a little
 *    later (the target may be back in the ring by then), and now and then
 *    fails. A resource is never active on two powered nodes.
 */
export type FencingMode = 'power-off' | 'none' | 'stonith';

/** Deliberate bugs, for tests that prove the checker can fail. */
export type Breakage =
  /** The controller's graph loses its stop actions (a move without a stop). */
  | 'skip-stops'
  /** The agent's stop says success and leaves the process running. */
  | 'stop-lies'
  /** fencing "stonith": the fence device says success and leaves the target running. */
  | 'fence-lies'
  /** fencing "stonith": the controller's graphs do not wait for fencing (recovery before the fence). */
  | 'skip-fence-wait'
  /** --vrrp: the FloatIP's stop says success and its VRRP instance keeps the address (no release). */
  | 'vip-no-release';

export interface ClusterSimOptions {
  /** Nodes; default 3. */
  nodes?: number;
  /** Simulated ms of faults; default 15000..30000 by seed. */
  chaosMs?: number;
  /** Fault events during the chaos phase; default about one per 600 ms. */
  steps?: number;
  /** Bound (simulated ms) for convergence after the faults stop. */
  settleMs?: number;
  fencing?: FencingMode;
  /** Invariants to check (default all). */
  check?: readonly InvariantCode[];
  /** Send every packet through the binary totem codec (default true). */
  wire?: boolean;
  /** Record a trace (replay of a failing seed). */
  trace?: boolean;
  broken?: Breakage;
  /**
   * A FloatIP with a vrid (`vip`) in the configuration, run as belayd's
   * VipManager runs it: start claims it in the node's real VRRP core, stop
   * releases it (the address kept until the next holder is heard, at most
   * FLOATIP_HANDOVER_MS), the monitor reads the instance's state; adverts
   * travel the simulated network. The address on a node's interface is
   * that node's real state of `vip` for the invariants.
   */
  vrrp?: boolean;
  /** Admin edits during chaos (default true). */
  edits?: boolean;
  /**
   * Fuzzing: called this many times during chaos with a real encoded message
   * seen earlier in the run; returns bytes a node then broadcasts in its place.
   */
  fuzz?: { messages: number; mutate: (encoded: Uint8Array, rng: Rng) => Uint8Array };
}

export interface ClusterSimResult {
  seed: number;
  nodes: number;
  fencing: FencingMode;
  violations: Array<{ code: InvariantCode; at: number; message: string }>;
  /** Simulated ms from the end of faults to convergence, or null. */
  convergedAfter: number | null;
  simMs: number;
  stats: {
    delivered: number;
    broadcast: number;
    invalidMessages: number;
    operations: number;
    transitions: number;
    rings: number;
    edits: number;
    acked: number;
    crashes: number;
    diskCrashes: number;
    fuzzed: number;
  };
  trace: string[];
}

interface AgentOp {
  key: number;
  exec: LocalExec;
}

interface Monitor {
  exec: LocalExec;
  gen: number;
  lastRc: number | undefined;
}

/** belayd's VipManager for the one FloatIP, around the node's real VRRP core. */
interface SimVip {
  router: VrrpRouter;
  /** The instance is configured (claimed, or released and not yet removed). */
  configured: boolean;
  /** Set by a stop: the address is kept for the handover, then the instance goes. */
  releasedAt: number | undefined;
  timerGen: number;
  /** When the core last ran a step (its timers run at every step). */
  steppedAt: number;
}

interface SimNode {
  id: number;
  name: string;
  powered: boolean;
  incarnation: number;
  stack: TotemStack | null;
  ctl: ControllerCore | null;
  reasm: Reassembler;
  /** On disk: cib.xml (renamed into place whole), and totem's ring sequence. */
  disk: { cibXml: string; storedVersion: CibVersion; ringSeq: number };
  timerGen: Map<string, number>;
  /** Real state of the simulated agents: resource history id -> running. */
  running: Set<string>;
  /**
   * fencing "stonith": for a start run here, the UNCLEAN nodes that were
   * running that resource when it began (what the starting side could not
   * see; after a merge the cluster recovers the double activity).
   */
  startedBesideUnclean: Map<string, number[]>;
  monitors: Map<string, Monitor>;
  pendingOps: Map<number, AgentOp>;
  /** One-shot operations waiting behind a running one of the same resource. */
  rscQueue: Map<string, LocalExec[]>;
  /** Steps of this node wait until then (a slow node). */
  stallUntil: number;
  tickQueued: boolean;
  /** Last configuration version seen in memory (this incarnation). */
  lastVersion: CibVersion | undefined;
  /** Deliveries applied in the current ring (divergence check). */
  ring: string;
  appliedInRing: number;
  /** Inputs waiting while a stack step's events are carried out (as udp.ts). */
  inputs: StackInput[];
  stepping: boolean;
  unclean: boolean;
  invalid: number;
  /** --vrrp: the FloatIP's VRRP side (null until the cluster first starts it here). */
  vip: SimVip | null;
}

type Ev =
  | { time: number; order: number; kind: 'packet'; to: number; from: number; bytes: Uint8Array | null; packet: Packet | null }
  | { time: number; order: number; kind: 'timer'; node: number; inc: number; name: StackTimerName; gen: number }
  | { time: number; order: number; kind: 'node'; node: number; inc: number; act: () => void }
  | { time: number; order: number; kind: 'act'; act: () => void };

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const CLUSTER = clusterHash('belay-sim');
/** --vrrp: the FloatIP, its address and VRID, and each node's own address (n1: 10.0.0.1, ...). */
const VIP_RSC = 'vip';
const VIP_ADDRESS = '192.0.2.10';
const VIP_VRID = 51;
const nodeAddress = (id: number): string => `10.0.0.${id}`;
/** Simulated "now" 0 is this epoch second. */
const EPOCH = 1_800_000_000;
const MONITOR_MS = 10_000;
/** belayd's RECHECK_MS: it ticks its controller every second. */
const RECHECK_MS = 1_000;

/**
 * The CI sweep's profile (test/sim, bench/cluster-sim.mjs): short fault
 * phases (3 to 6 s simulated), every fourth seed through the totem codec,
 * every fifth with fencing "none" and every fifth (the next) with the
 * controller's own fencing ("stonith"); the rest "power-off".
 */
export function ciProfile(seed: number): ClusterSimOptions & { chaosMs: number; fencing: FencingMode } {
  const fencing: FencingMode = seed % 5 === 0 ? 'none' : seed % 5 === 1 ? 'stonith' : 'power-off';
  return { chaosMs: 3000 + (seed % 4) * 1000, wire: seed % 4 === 0, fencing, check: [...ALL_INVARIANTS] };
}

export function runCluster(seed: number, opts: ClusterSimOptions = {}): ClusterSimResult {
  return new ClusterSim(seed, opts).run();
}

/** The configuration every run starts from (the seed varies the rest). */
export function simConfiguration(nodeNames: string[], fencing: FencingMode = 'power-off', vrrp = false): Cib {
  const cib = emptyCib();
  const nv = (id: string, pairs: Record<string, string>): NvSet => ({
    id,
    rules: [],
    nvpairs: Object.entries(pairs).map(([name, value]) => ({ id: `${id}-${name}`, name, value })),
  });
  cib.configuration.crmConfig.push(
    nv('cib-bootstrap-options', { 'stonith-enabled': fencing === 'stonith' ? 'true' : 'false', 'cluster-infrastructure': 'belay', 'cluster-name': 'sim' }),
  );
  nodeNames.forEach((name, i) => cib.configuration.nodes.push({ id: String(i + 1), uname: name, instanceAttributes: [], utilization: [] }));
  const prim = (id: string): Primitive => ({
    tag: 'primitive',
    id,
    class: 'ocf',
    provider: 'heartbeat',
    type: 'Dummy',
    instanceAttributes: [],
    metaAttributes: [],
    utilization: [],
    operations: [
      { id: `${id}-start-0`, name: 'start', interval: '0', timeout: '20s', instanceAttributes: [], metaAttributes: [] },
      { id: `${id}-stop-0`, name: 'stop', interval: '0', timeout: '20s', instanceAttributes: [], metaAttributes: [] },
      { id: `${id}-monitor-10s`, name: 'monitor', interval: '10s', timeout: '20s', instanceAttributes: [], metaAttributes: [] },
    ],
  });
  if (fencing === 'stonith') {
    // The device (a power switch every node can reach): the controller only needs it configured.
    const device: Primitive = { ...prim('fence-sim'), class: 'stonith', type: 'fence_sim' };
    delete device.provider;
    cib.configuration.resources.push(device);
  }
  cib.configuration.resources.push(prim('A'), prim('B'), prim('C'));
  if (vrrp) {
    cib.configuration.resources.push({
      ...prim(VIP_RSC),
      provider: 'belay',
      type: 'FloatIP',
      instanceAttributes: [nv(`${VIP_RSC}-params`, { ip: VIP_ADDRESS, vrid: String(VIP_VRID), advert_int: '1' })],
    });
  }
  cib.configuration.resources.push({ tag: 'group', id: 'G', instanceAttributes: [], metaAttributes: [], children: [prim('G1'), prim('G2')] });
  cib.configuration.resources.push({
    tag: 'clone',
    id: 'web-clone',
    instanceAttributes: [],
    metaAttributes: [nv('web-clone-meta', { 'clone-max': String(Math.max(1, nodeNames.length - 1)) })],
    child: prim('web'),
  });
  cib.configuration.constraints.push({ tag: 'rsc_location', id: 'A-prefers-1', rsc: 'A', node: nodeNames[0]!, score: '50', rules: [], sets: [] });
  cib.configuration.constraints.push({ tag: 'rsc_colocation', id: 'C-with-B', rsc: 'C', withRsc: 'B', score: 'INFINITY', sets: [] });
  cib.configuration.constraints.push({ tag: 'rsc_order', id: 'B-then-C', first: 'B', then: 'C', kind: 'Mandatory', sets: [] });
  return cib;
}

export class ClusterSim {
  readonly rng: Rng;
  private heap = new EventHeap<Ev>();
  private order = 0;
  now = 0;
  readonly nodes: SimNode[] = [];
  private ids: number[] = [];
  private names: string[] = [];
  private violations: ClusterSimResult['violations'] = [];
  private seenViolation = new Set<string>();
  private trace: string[] = [];
  private doTrace: boolean;
  private wire: boolean;
  private check: Set<InvariantCode>;
  private fencing: FencingMode;
  private broken: Breakage | undefined;
  private vrrp: boolean;
  private port: SchedulePort;
  private chaosMs: number;
  private settleMs: number;
  private steps: number;
  private faultsOn = true;
  // Network state.
  private partition = new Map<number, number>();
  private loss = 0;
  private dup = 0;
  private jitter = 0.5;
  private linkDelay = new Map<string, number>();
  // Agents.
  private agentFail = 0;
  private agentHang = 0;
  private opSeq = 0;
  private callId = 0;
  // Bookkeeping for invariants.
  private acked = new Map<string, { marker: string; node: number }>();
  private pendingEdits = new Map<string, string>();
  private editSeq = 0;
  /** ring -> delivery count -> CIB as JSON, for the divergence check. */
  private ringStates = new Map<string, Map<number, string>>();
  private rings = new Set<string>();
  private multiSince = new Map<string, number>();
  private seenEncoded: Uint8Array[] = [];
  private stats: ClusterSimResult['stats'] = {
    delivered: 0,
    broadcast: 0,
    invalidMessages: 0,
    operations: 0,
    transitions: 0,
    rings: 0,
    edits: 0,
    acked: 0,
    crashes: 0,
    diskCrashes: 0,
    fuzzed: 0,
  };
  private fuzz: ClusterSimOptions['fuzz'];
  private initialCib: Cib;

  constructor(
    readonly seed: number,
    private readonly opts: ClusterSimOptions = {},
  ) {
    this.rng = new Rng(seed);
    const n = opts.nodes ?? 3;
    this.doTrace = opts.trace === true;
    this.wire = opts.wire !== false;
    this.check = new Set(opts.check ?? ALL_INVARIANTS);
    this.fencing = opts.fencing ?? 'power-off';
    // Without fencing a cut-off node still believes in its old quorate ring and
    // acknowledges its own edits (agreed delivery needs no one else): split
    // brain loses one side's edits, as in Pacemaker with stonith disabled.
    if (this.fencing === 'none') this.check.delete('acked-lost');
    this.broken = opts.broken;
    this.vrrp = opts.vrrp === true;
    this.chaosMs = opts.chaosMs ?? 15_000 + this.rng.int(15_000);
    this.settleMs = opts.settleMs ?? 90_000;
    this.steps = opts.steps ?? Math.round(this.chaosMs / 600);
    this.fuzz = opts.fuzz;
    for (let i = 1; i <= n; i++) {
      this.ids.push(i);
      this.names.push(`n${i}`);
      for (let j = 1; j <= n; j++) this.linkDelay.set(`${i}>${j}`, this.rng.range(0.05, 1.5));
    }
    this.initialCib = simConfiguration(this.names, this.fencing, this.vrrp);
    this.port = this.broken === 'skip-stops' ? skipStops(schedulerPort) : this.broken === 'skip-fence-wait' ? skipFenceWait(schedulerPort) : schedulerPort;
    const xml = cibToXml(this.initialCib);
    for (let i = 0; i < n; i++) {
      this.nodes.push({
        id: this.ids[i]!,
        name: this.names[i]!,
        powered: false,
        incarnation: 0,
        stack: null,
        ctl: null,
        reasm: new Reassembler(64 * 1024 * 1024),
        disk: { cibXml: xml, storedVersion: versionOf(this.initialCib), ringSeq: 0 },
        timerGen: new Map(),
        running: new Set(),
        startedBesideUnclean: new Map(),
        monitors: new Map(),
        pendingOps: new Map(),
        rscQueue: new Map(),
        stallUntil: 0,
        tickQueued: false,
        lastVersion: undefined,
        ring: '',
        appliedInRing: 0,
        inputs: [],
        stepping: false,
        unclean: false,
        invalid: 0,
        vip: null,
      });
    }
  }

  // ------------------------------------------------------------ plumbing

  private violate(code: InvariantCode, message: string): void {
    if (!this.check.has(code)) return;
    // One report per distinct fault, so a lasting one does not flood the result.
    const key = `${code}:${message}`;
    if (this.seenViolation.has(key)) return;
    this.seenViolation.add(key);
    this.log(`VIOLATION ${code}: ${message}`);
    if (this.violations.length < 30) this.violations.push({ code, at: Math.round(this.now), message });
  }

  private log(s: string): void {
    if (this.doTrace) this.trace.push(`${(this.now / 1000).toFixed(3).padStart(9)} ${s}`);
  }

  private push(ev: DistOmit<Ev, 'order'>): void {
    (ev as Ev).order = this.order++;
    this.heap.push(ev as Ev);
  }

  private at(time: number, act: () => void): void {
    this.push({ time, kind: 'act', act });
  }

  /** An event of one node's incarnation (dropped if the node restarted, deferred while it is stalled). */
  private onNode(node: SimNode, time: number, act: () => void): void {
    this.push({ time, kind: 'node', node: node.id, inc: node.incarnation, act });
  }

  private nowSeconds(): number {
    return EPOCH + Math.floor(this.now / 1000);
  }

  private node(id: number): SimNode {
    return this.nodes[id - 1]!;
  }

  // ------------------------------------------------------------ nodes

  private boot(node: SimNode): void {
    node.incarnation++;
    node.powered = true;
    node.unclean = false;
    node.timerGen = new Map();
    node.running = new Set();
    node.startedBesideUnclean = new Map();
    node.monitors = new Map();
    node.pendingOps = new Map();
    node.rscQueue = new Map();
    node.tickQueued = false;
    node.reasm = new Reassembler(64 * 1024 * 1024);
    node.ring = '';
    node.appliedInRing = 0;
    node.inputs = [];
    node.stepping = false;
    node.stallUntil = 0;
    node.vip = null;
    let stored: Cib;
    try {
      stored = parseCibXml(node.disk.cibXml, `${node.name}:cib.xml`);
    } catch (err) {
      this.violate('exception', `node ${node.name} cannot read its stored CIB: ${(err as Error).message}`);
      stored = structuredClone(this.initialCib);
    }
    node.lastVersion = versionOf(stored);
    this.log(`boot ${node.name} (incarnation ${node.incarnation}, stored CIB ${versionOf(stored).join('.')})`);
    try {
      node.stack = new TotemStack(
        { nodeId: node.id, nodes: this.ids, ringSeq: node.disk.ringSeq },
        { nodeId: node.id, votes: new Map(this.ids.map((i) => [i, 1])) },
      );
      node.ctl = new ControllerCore(
        { id: node.id, name: node.name },
        this.nodes.map((n) => ({ id: n.id, name: n.name })),
        stored,
        this.port,
        String(node.incarnation),
      );
    } catch (err) {
      this.violate('exception', `node ${node.name} failed to start: ${(err as Error).stack ?? err}`);
      return;
    }
    this.stackStep(node, { type: 'start' });
    this.recheckEverySecond(node);
  }

  /** As belayd's 1 s timer: a tick even when nothing happens (action timers, cluster-recheck-interval). */
  private recheckEverySecond(node: SimNode): void {
    this.onNode(node, this.now + RECHECK_MS, () => {
      this.queueTick(node);
      this.recheckEverySecond(node);
    });
  }

  /** Power off: the node and everything it ran stop at once. */
  private powerOff(node: SimNode, why: string): void {
    if (!node.powered) return;
    this.log(`power off ${node.name}: ${why}`);
    node.powered = false;
    node.unclean = false;
    node.stack = null;
    node.ctl = null;
    node.running = new Set();
    node.startedBesideUnclean = new Map();
    node.monitors = new Map();
    node.pendingOps = new Map();
    node.rscQueue = new Map();
    node.vip = null;
    node.incarnation++;
    this.stats.crashes++;
  }

  /** Feed the node's totem stack, carrying its outputs out in order (re-entrant sends wait, as in udp.ts). */
  private stackStep(node: SimNode, input: StackInput): void {
    node.inputs.push(input);
    if (node.stepping) return;
    node.stepping = true;
    const inc = node.incarnation;
    try {
      for (let next = node.inputs.shift(); next; next = node.inputs.shift()) {
        if (!node.stack || node.incarnation !== inc) break;
        let out: StackOutput;
        try {
          out = node.stack.step(next);
        } catch (err) {
          this.violate('exception', `totem stack of ${node.name} threw: ${(err as Error).stack ?? err}`);
          continue;
        }
        this.applyStack(node, out, inc);
      }
    } finally {
      node.stepping = false;
      node.inputs = [];
    }
  }

  private applyStack(node: SimNode, out: StackOutput, inc: number): void {
    if (out.persistRingSeq !== undefined) node.disk.ringSeq = out.persistRingSeq;
    for (const t of out.timers) {
      const gen = (node.timerGen.get(t.name) ?? 0) + 1;
      node.timerGen.set(t.name, gen);
      if (t.ms !== null) this.push({ time: this.now + t.ms, kind: 'timer', node: node.id, inc, name: t.name, gen });
    }
    for (const s of out.send) {
      const dests = s.to === 'all' ? this.ids.filter((i) => i !== node.id) : s.to;
      const bytes = this.wire ? encodePacket(s.packet, CLUSTER) : null;
      for (const d of dests) this.transmit(node.id, d, bytes, s.packet);
    }
    for (const e of out.events) {
      if (node.incarnation !== inc || !node.ctl) return;
      if (e.type === 'deliver') this.onPayload(node, e.delivery.origin, e.delivery.payload, e.delivery.transitional);
      else if (e.type === 'confchg' && e.confchg.kind === 'regular') {
        const ring = ringKey(e.confchg.ring);
        const quorate = e.quorum?.quorate === true;
        this.rings.add(ring);
        this.log(`${node.name}: ring ${ring} [${e.confchg.members.join(' ')}] ${quorate ? 'quorate' : 'NOT quorate'}`);
        node.reasm.reset();
        node.ring = ring;
        node.appliedInRing = 0;
        this.coreCall(node, 'onMembership', () => node.ctl!.onMembership({ ringId: ring, members: [...e.confchg.members].sort((a, b) => a - b), quorate }));
        if (quorate) this.onQuorateRing(e.confchg.members);
      }
    }
  }

  /** A quorate ring was installed: the nodes outside it are lost to it. */
  private onQuorateRing(members: number[]): void {
    for (const other of this.nodes) {
      if (members.includes(other.id) || !other.powered) continue;
      if (this.fencing === 'power-off') {
        // Fenced with fencing-action=reboot: off now, back a little later.
        this.powerOff(other, `left the quorate membership [${members.join(' ')}]`);
        this.restartLater(other);
      }
      // Until it is fenced (stonith) or rejoins.
      else other.unclean = true;
    }
    for (const m of members) this.node(m).unclean = false;
  }

  /** As belayd's onPayload: reassemble, decode (with the schema check), check the sender, apply. */
  private onPayload(node: SimNode, from: number, payload: Uint8Array, transitional: boolean): void {
    let whole: Uint8Array | undefined;
    try {
      whole = node.reasm.push(from, payload);
    } catch (err) {
      this.dropInvalid(node, from, (err as Error).message, transitional);
      return;
    }
    if (!whole) return;
    let msg: ClusterMessage;
    try {
      msg = decodeMessage(whole);
    } catch (err) {
      this.dropInvalid(node, from, (err as Error).message, transitional);
      return;
    }
    if (msg.from !== from) {
      this.dropInvalid(node, from, `claims to be from node ${msg.from}`, transitional);
      return;
    }
    this.stats.delivered++;
    node.appliedInRing++;
    this.coreCall(node, `onDeliver(${msg.kind})`, () => node.ctl!.onDeliver(msg, { transitional }));
    this.checkDivergence(node, transitional);
  }

  private dropInvalid(node: SimNode, from: number, why: string, transitional: boolean): void {
    node.invalid++;
    this.stats.invalidMessages++;
    this.log(`${node.name}: dropped a message from node ${from}: ${why.slice(0, 160)}`);
    // Dropped by every node alike: it counts as a delivery of this ring, so
    // the divergence check compares states at the same position.
    node.appliedInRing++;
    this.checkDivergence(node, transitional);
  }

  private coreCall(node: SimNode, what: string, call: () => CoreOutput): void {
    let out: CoreOutput;
    try {
      out = call();
    } catch (err) {
      this.violate('exception', `controller of ${node.name} threw in ${what}: ${(err as Error).stack ?? err}`);
      return;
    }
    // As belayd: a tick that produced nothing queues no further tick.
    if (what === 'onTick' && !out.broadcast.length && !out.execute.length && !out.log.length && !out.persist && !out.replies.length) return;
    this.handleCore(node, out);
  }

  private handleCore(node: SimNode, out: CoreOutput): void {
    const inc = node.incarnation;
    for (const line of out.log) {
      if (/^transition \d+:/.test(line)) this.stats.transitions++;
      this.log(`${node.name}: ${line}`);
    }
    for (const msg of out.broadcast) this.broadcast(node, msg);
    if (node.incarnation !== inc) return;
    for (const exec of out.execute) this.execute(node, exec);
    if (out.persist) this.persist(node);
    if (node.incarnation !== inc || !node.ctl) return;
    for (const f of out.fence) this.runFenceDevice(node, f);
    if (out.fencedSelf) {
      // fence-reaction=stop: belayd stops everything here and exits; it is started again.
      this.powerOff(node, 'told it was fenced while running');
      this.restartLater(node);
      return;
    }
    for (const r of out.replies) {
      const marker = this.pendingEdits.get(r.requestId);
      if (marker === undefined) continue;
      this.pendingEdits.delete(r.requestId);
      if (r.ok) {
        this.stats.acked++;
        this.acked.set(r.requestId, { marker, node: node.id });
        this.log(`${node.name}: edit ${r.requestId} acknowledged (${marker}) at ${versionOf(node.ctl.cib).join('.')}`);
      } else this.log(`${node.name}: edit ${r.requestId} refused: ${r.error}`);
    }
    this.checkVersion(node);
    this.queueTick(node);
  }

  private broadcast(node: SimNode, msg: ClusterMessage): void {
    let payload: Uint8Array;
    try {
      payload = encodeMessage(msg);
    } catch (err) {
      this.violate('exception', `encoding a ${msg.kind} of ${node.name} threw: ${(err as Error).message}`);
      return;
    }
    if (this.fuzz && this.seenEncoded.length < 2000) this.seenEncoded.push(payload);
    this.stats.broadcast++;
    this.sendPayload(node, payload, needsSafeDelivery([msg]));
  }

  private sendPayload(node: SimNode, payload: Uint8Array, safe = false): void {
    for (const frag of fragment(payload, TRANSPORT_MAX_PAYLOAD)) this.stackStep(node, { type: 'send', payload: frag, safe });
  }

  private queueTick(node: SimNode): void {
    if (node.tickQueued) return;
    node.tickQueued = true;
    this.onNode(node, this.now, () => {
      node.tickQueued = false;
      if (!node.ctl) return;
      this.coreCall(node, 'onTick', () => node.ctl!.onTick(this.nowSeconds()));
    });
  }

  /**
   * The fence device, run by `executor` (fencing "stonith"): after the
   * request's delay plus the device's own time it powers the target off
   * (reboot: on again a little later, as fencing-action=reboot) and answers
   * a moment after. Now and then it fails without touching the target. An
   * executor that dies meanwhile never answers (its peers fail the request).
   */
  private runFenceDevice(executor: SimNode, f: LocalFence): void {
    const target = this.nodes.find((n) => n.name === f.target);
    const fails = this.faultsOn && this.rng.chance(0.05);
    const lies = this.broken === 'fence-lies';
    const actAt = this.now + f.priorityDelayMs + this.rng.range(100, 2500);
    const answerAt = actAt + this.rng.range(0, 2500);
    this.log(`${executor.name}: fence device: ${f.action} ${f.target} (${f.id})${fails ? ', will fail' : ''}`);
    if (!fails && !lies && target) {
      this.at(actAt, () => {
        if (f.action !== 'on') {
          this.powerOff(target, `fenced (${f.action}) by ${executor.name}'s device, request ${f.id}`);
          // reboot: back soon (possibly before the answer is agreed); off: an operator powers it on later.
          if (f.action === 'reboot') this.at(this.now + this.rng.range(200, 3000), () => target.powered || this.boot(target));
          else this.restartLater(target);
        } else if (!target.powered) this.boot(target);
      });
    }
    this.onNode(executor, answerAt, () => {
      if (!executor.ctl) return;
      const result = fails ? { ok: false, devices: ['fence-sim'], reason: 'fence-sim: power switch did not answer' } : { ok: true, devices: ['fence-sim'] };
      // Confirmed: from now on the target is fenced, no longer UNCLEAN (a
      // device that lied leaves it running, a clean holder the checker counts).
      if (!fails && target) target.unclean = false;
      this.coreCall(executor, 'onFenceDone', () => executor.ctl!.onFenceDone(f, result, this.nowSeconds()));
    });
  }

  // ------------------------------------------------------------ disk

  private persist(node: SimNode): void {
    const ctl = node.ctl!;
    const stored: Cib = { ...ctl.cib, status: [] };
    const xml = cibToXml(stored);
    if (this.faultsOn && this.rng.chance(0.01)) {
      // Crash mid-write: the temporary file is torn, or complete but not yet
      // renamed over cib.xml. Either way cib.xml is the previous version.
      const torn = this.rng.chance(0.5);
      this.stats.diskCrashes++;
      this.powerOff(node, torn ? 'crashed writing the CIB (torn temporary file)' : 'crashed between writing the CIB and renaming it');
      this.restartLater(node);
      return;
    }
    const v = versionOf(stored);
    if (compareVersions([v[0], v[1], 0], [node.disk.storedVersion[0], node.disk.storedVersion[1], 0]) < 0) {
      this.violate('cib-version-back', `${node.name} stores CIB ${v.join('.')} over ${node.disk.storedVersion.join('.')}`);
    }
    node.disk.cibXml = xml;
    node.disk.storedVersion = v;
    // The write and its fsync take a moment; then the node tells the cluster.
    const ring = ctl.configRing;
    this.onNode(node, this.now + 1 + this.rng.int(4), () => this.coreCall(node, 'onPersisted', () => node.ctl!.onPersisted(v, ring)));
  }

  private checkVersion(node: SimNode): void {
    if (!node.ctl) return;
    const v = versionOf(node.ctl.cib);
    const last = node.lastVersion;
    if (last && compareVersions([v[0], v[1], 0], [last[0], last[1], 0]) < 0) {
      this.violate('cib-version-back', `${node.name}'s configuration went from ${last.join('.')} back to ${v.join('.')}`);
    }
    node.lastVersion = v;
  }

  // ------------------------------------------------------------ agents

  /** As the real executor: one-shot operations of one resource run one after another. */
  private execute(node: SimNode, exec: LocalExec): void {
    this.stats.operations++;
    const q = node.rscQueue.get(exec.rscId);
    // As the real executor (src/executor/executor.ts serialise): a recurring
    // monitor's first run waits behind the resource's queued operations.
    if (!exec.resolved || (exec.intervalMs > 0 && !q)) {
      this.runOp(node, exec, () => {});
      return;
    }
    if (q) {
      q.push(exec);
      return;
    }
    node.rscQueue.set(exec.rscId, []);
    const next = (): void => {
      const rest = node.rscQueue.get(exec.rscId);
      const e = rest?.shift();
      if (!e) node.rscQueue.delete(exec.rscId);
      else this.runOp(node, e, next);
    };
    this.runOp(node, exec, next);
  }

  private runOp(node: SimNode, exec: LocalExec, done: () => void): void {
    const rsc = exec.rscId;
    if (!exec.resolved) {
      this.report(node, exec, 6, 0, `${rsc} is not configured`);
      return;
    }
    this.log(`${node.name}: exec ${rsc} ${exec.task}${exec.intervalMs ? ` every ${exec.intervalMs} ms` : ''}`);
    if (this.fencing === 'stonith' && exec.task === 'start' && !this.isFenceDevice(rsc)) this.checkStartBesideUnclean(node, rsc);
    if (exec.task === 'stop') {
      // As the executor: a stop cancels the resource's recurring operations, unreported.
      node.monitors.delete(rsc);
    }
    if (exec.intervalMs > 0) {
      const mon: Monitor = { exec, gen: this.opSeq++, lastRc: undefined };
      node.monitors.set(rsc, mon);
      // (belayd runs a FloatIP's monitor itself: no agent latency.)
      this.runMonitor(node, mon, this.vrrp && rsc === VIP_RSC ? this.rng.range(5, 50) : this.latency());
      done();
      return;
    }
    const key = this.opSeq++;
    node.pendingOps.set(key, { key, exec });
    if (this.vrrp && rsc === VIP_RSC) {
      // belayd runs these itself, in its own process (no agent to hang or fail).
      this.onNode(node, this.now + this.rng.range(5, 50), () => {
        node.pendingOps.delete(key);
        const r = this.vipOperation(node, exec.task);
        this.report(node, exec, r.rc, 0, r.reason);
        done();
      });
      return;
    }
    const hang = this.faultsOn && this.rng.chance(this.agentHang);
    const fail = this.faultsOn && this.rng.chance(this.agentFail);
    const timeoutMs = exec.resolved.timeoutMs;
    if (hang) {
      // The agent never answers: the executor kills it at the timeout.
      const leavesRunning = exec.task === 'start' ? this.rng.chance(0.5) : exec.task === 'stop';
      this.onNode(node, this.now + timeoutMs, () => {
        node.pendingOps.delete(key);
        if (leavesRunning) node.running.add(rsc);
        this.log(`${node.name}: ${rsc} ${exec.task} timed out`);
        this.report(node, exec, 1, 2, `${exec.task} timed out after ${timeoutMs} ms`);
        done();
      });
      return;
    }
    this.onNode(node, this.now + this.latency(), () => {
      node.pendingOps.delete(key);
      let rc = 0;
      if (exec.task === 'start') {
        if (fail) rc = 1;
        else node.running.add(rsc);
      } else if (exec.task === 'stop') {
        if (fail) rc = 1;
        else if (this.broken !== 'stop-lies') node.running.delete(rsc);
      } else if (exec.task === 'monitor') {
        rc = node.running.has(rsc) ? 0 : 7;
      }
      this.report(node, exec, rc, 0, rc === 1 ? `${exec.task} failed` : undefined);
      done();
    });
  }

  private runMonitor(node: SimNode, mon: Monitor, delay: number): void {
    this.onNode(node, this.now + delay, () => {
      if (node.monitors.get(mon.exec.rscId) !== mon) return;
      const rc = this.vrrp && mon.exec.rscId === VIP_RSC ? this.vipOperation(node, 'monitor').rc : node.running.has(mon.exec.rscId) ? 0 : 7;
      // The executor reports the first result and every change.
      if (rc !== mon.lastRc) {
        mon.lastRc = rc;
        this.report(node, mon.exec, rc, 0, rc === 7 ? 'not running' : undefined);
      }
      this.runMonitor(node, mon, mon.exec.intervalMs);
    });
  }

  private report(node: SimNode, exec: LocalExec, rc: number, opStatus: number, exitReason?: string): void {
    if (!node.ctl) return;
    const result = { rc, opStatus, callId: ++this.callId, finishedAt: this.nowSeconds(), execTimeMs: 5, ...(exitReason ? { exitReason } : {}) };
    this.coreCall(node, 'onLocalResult', () => node.ctl!.onLocalResult(exec, result));
  }

  // ------------------------------------------------------------ FloatIP over VRRP (--vrrp)

  /** VipManager.operate: start claims, stop releases, monitor reads the instance (src/daemon/vip-manager.ts). */
  private vipOperation(node: SimNode, task: string): { rc: number; reason?: string } {
    if (task === 'start') return this.vipStart(node);
    if (task === 'stop') return this.vipStop(node);
    if (task === 'monitor') return this.vipMonitor(node);
    return { rc: 0 };
  }

  private vipRouterSpec(node: SimNode, withInstance: boolean): RouterSpec {
    const instance = floatIpInstance({
      name: VIP_RSC,
      vrid: VIP_VRID,
      interface: 'eth0',
      primaryAddress: nodeAddress(node.id),
      vip: VIP_ADDRESS,
      priority: FLOATIP_DEFAULT_PRIORITY,
      advertIntMs: 1000,
      peers: this.nodes.filter((n) => n !== node).map((n) => nodeAddress(n.id)),
    });
    return { routerId: node.name, instances: withInstance ? [instance] : [], scripts: [], syncGroups: [] };
  }

  private vipStart(node: SimNode): { rc: number; reason?: string } {
    let v = node.vip;
    if (!v) {
      v = node.vip = { router: new VrrpRouter(this.vipRouterSpec(node, true)), configured: true, releasedAt: undefined, timerGen: 0, steppedAt: this.now };
      this.vrrpStep(node, v, { type: 'start' });
    } else if (!v.configured) {
      v.configured = true;
      this.vrrpStep(node, v, this.vipRouterSpec(node, true));
    }
    v.releasedAt = undefined;
    this.vrrpStep(node, v, { type: 'claim', instance: VIP_RSC });
    const st = v.router.state(VIP_RSC);
    return st === 'MASTER' ? { rc: 0 } : { rc: 1, reason: `VRRP instance for ${VIP_RSC} is ${st ?? 'gone'}` };
  }

  private vipStop(node: SimNode): { rc: number; reason?: string } {
    const v = node.vip;
    if (!v || !v.configured || v.releasedAt !== undefined) return { rc: 0 };
    if (this.broken === 'vip-no-release') return { rc: 0 };
    const at = (v.releasedAt = this.now);
    this.vrrpStep(node, v, { type: 'release', instance: VIP_RSC, lingerMs: FLOATIP_HANDOVER_MS });
    // The instance goes once the handover is over (unless started again meanwhile).
    this.onNode(node, this.now + FLOATIP_HANDOVER_MS + 200, () => {
      if (node.vip !== v || v.releasedAt !== at) return;
      v.configured = false;
      v.releasedAt = undefined;
      this.vrrpStep(node, v, this.vipRouterSpec(node, false));
    });
    return { rc: 0 };
  }

  private vipMonitor(node: SimNode): { rc: number; reason?: string } {
    const v = node.vip;
    if (!v || !v.configured) {
      // No claim in memory: an address found on the interface is adopted.
      return node.running.has(VIP_RSC) ? this.vipStart(node) : { rc: 7 };
    }
    if (v.releasedAt !== undefined) return { rc: 7 };
    const st = v.router.state(VIP_RSC);
    if (st === 'MASTER') return { rc: 0 };
    if (st === 'BACKUP') return { rc: 0, reason: 'another node holds the address (VRRP)' };
    return { rc: 7, reason: `VRRP instance is ${st ?? 'gone'}` };
  }

  /** One step of the node's VRRP core (an event, or a new configuration as VipManager's apply), its actions carried out. */
  private vrrpStep(node: SimNode, v: SimVip, input: VrrpEvent | RouterSpec): void {
    v.steppedAt = this.now;
    this.vrrpApply(node, v, 'type' in input ? v.router.step(input, this.now) : v.router.reconfigure(input, this.now));
  }

  /** Carry out the VRRP core's actions as belayd's VrrpEngine does, on the simulated network and interface. */
  private vrrpApply(node: SimNode, v: SimVip, actions: VrrpAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send': {
          const to = this.nodes.find((n) => nodeAddress(n.id) === a.dst);
          if (!to || to === node || !this.reachable(node.id, to.id) || this.rng.chance(this.loss)) break;
          const bytes = a.bytes.slice();
          const src = nodeAddress(node.id);
          const delay = this.linkDelay.get(`${node.id}>${to.id}`)! + this.rng.next() * this.jitter;
          this.onNode(to, this.now + delay, () => {
            const w = to.vip;
            if (w) this.vrrpStep(to, w, { type: 'packet', bytes, src, dst: a.dst, family: 4, ttl: 255 });
          });
          break;
        }
        case 'add-vips':
          node.running.add(VIP_RSC);
          this.log(`${node.name}: vrrp adds ${a.vips.map((x) => x.address).join(' ')}`);
          break;
        case 'remove-vips':
          node.running.delete(VIP_RSC);
          this.log(`${node.name}: vrrp removes ${a.vips.map((x) => x.address).join(' ')}`);
          break;
        case 'notify':
          this.log(`${node.name}: vrrp ${a.instance} ${a.state} (priority ${a.priority})`);
          break;
        case 'arm-timer': {
          const gen = ++v.timerGen;
          this.onNode(node, Math.max(this.now, a.at), () => {
            if (node.vip === v && v.timerGen === gen) this.vrrpStep(node, v, { type: 'tick' });
          });
          break;
        }
        default:
          break;
      }
    }
  }

  /**
   * A stopped FloatIP keeps its address for the handover (make-before-break):
   * at most FLOATIP_HANDOVER_MS, longer only if the node's VRRP core has not
   * run since (a stalled node: its timer waits with its other steps; every
   * step runs the core's due timers, so one after the handover ends it).
   */
  private vipHandingOver(n: SimNode): boolean {
    const v = n.vip;
    const at = v?.releasedAt;
    return at !== undefined && (this.now - at <= FLOATIP_HANDOVER_MS || v!.steppedAt < at + FLOATIP_HANDOVER_MS);
  }

  private latency(): number {
    return this.rng.range(5, this.faultsOn ? 3000 : 500);
  }

  // ------------------------------------------------------------ network

  private reachable(a: number, b: number): boolean {
    return (this.partition.get(a) ?? 0) === (this.partition.get(b) ?? 0);
  }

  private transmit(from: number, to: number, bytes: Uint8Array | null, packet: Packet): void {
    if (from !== to) {
      if (!this.reachable(from, to)) return;
      if (this.rng.chance(this.loss)) return;
    }
    const copies = from !== to && this.rng.chance(this.dup) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = from === to ? 0.01 : this.linkDelay.get(`${from}>${to}`)! + this.rng.next() * this.jitter;
      this.push({ time: this.now + delay, kind: 'packet', to, from, bytes, packet: bytes ? null : packet });
    }
  }

  // ------------------------------------------------------------ faults

  private restartLater(node: SimNode): void {
    this.at(this.now + this.rng.range(500, 8000), () => {
      if (!node.powered) this.boot(node);
    });
  }

  private fault(): void {
    const r = this.rng.next();
    const up = this.nodes.filter((n) => n.powered);
    const down = this.nodes.filter((n) => !n.powered);
    if (r < 0.1 && up.length > 1) {
      const n = this.rng.pick(up);
      this.powerOff(n, 'crash');
      if (this.rng.chance(0.7)) this.restartLater(n);
    } else if (r < 0.17 && down.length > 0) {
      this.boot(this.rng.pick(down));
    } else if (r < 0.3) {
      const groups = 2 + this.rng.int(2);
      this.partition = new Map(this.ids.map((i) => [i, this.rng.int(groups)]));
      this.log(`partition ${[...this.partition.entries()].map(([n, g]) => `n${n}:${g}`).join(' ')}`);
    } else if (r < 0.42) {
      this.partition.clear();
      this.log('network healed');
    } else if (r < 0.52) {
      this.loss = this.rng.chance(0.5) ? 0 : this.rng.range(0, 0.2);
      this.dup = this.rng.chance(0.5) ? 0 : this.rng.range(0, 0.1);
      this.jitter = this.rng.chance(0.3) ? this.rng.range(1, 15) : 0.5;
      this.log(`network loss ${this.loss.toFixed(2)} dup ${this.dup.toFixed(2)} jitter ${this.jitter.toFixed(1)} ms`);
    } else if (r < 0.6 && up.length > 0) {
      const n = this.rng.pick(up);
      n.stallUntil = this.now + this.rng.range(500, 5000);
      this.log(`${n.name} stalls until ${(n.stallUntil / 1000).toFixed(3)}`);
    } else if (r < 0.7) {
      this.agentFail = this.rng.chance(0.5) ? 0 : this.rng.range(0, 0.3);
      this.agentHang = this.rng.chance(0.7) ? 0 : this.rng.range(0, 0.1);
      this.log(`agents fail ${this.agentFail.toFixed(2)} hang ${this.agentHang.toFixed(2)}`);
    } else if (r < 0.82) {
      // A process dies under its agent: the next monitor finds it not running.
      const holders = up.filter((n) => n.running.size > 0);
      if (holders.length > 0) {
        const n = this.rng.pick(holders);
        const rsc = this.rng.pick([...n.running].sort());
        // (A FloatIP's address has no process; VRRP holds it.)
        if (!(this.vrrp && rsc === VIP_RSC)) {
          n.running.delete(rsc);
          this.log(`${n.name}: process of ${rsc} died`);
        }
      }
    } else if (this.opts.edits !== false) {
      this.adminEdit();
    }
  }

  /** A crm-like edit on a random node: a marker property, and sometimes a resource stopped or started. */
  private adminEdit(): void {
    const candidates = this.nodes.filter((n) => n.ctl && n.ctl.synced);
    if (candidates.length === 0) return;
    const node = this.rng.pick(candidates);
    // The admin's request is a step of that node like any other: a stalled
    // node reads and answers it only when it runs again (by then it may have
    // seen its ring go), and a node that restarted meanwhile never does.
    this.onNode(node, this.now, () => this.proposeEdit(node));
  }

  private proposeEdit(node: SimNode): void {
    const ctl = node.ctl;
    if (!ctl || !ctl.synced) return;
    const configuration: Configuration = structuredClone(ctl.cib.configuration);
    const k = ++this.editSeq;
    const marker = `sim-edit-${k}`;
    let set = configuration.crmConfig.find((s) => s.id === 'sim-markers');
    if (!set) configuration.crmConfig.push((set = { id: 'sim-markers', rules: [], nvpairs: [] }));
    set.nvpairs.push({ id: `sim-markers-${marker}`, name: marker, value: String(k) });
    if (this.rng.chance(0.4)) {
      const prims = configuration.resources.filter((r): r is Primitive => r.tag === 'primitive');
      const p = this.rng.pick(prims);
      const role = this.rng.chance(0.5) ? 'Stopped' : 'Started';
      p.metaAttributes = [{ id: `${p.id}-meta`, rules: [], nvpairs: [{ id: `${p.id}-meta-target-role`, name: 'target-role', value: role }] }];
      this.log(`${node.name}: admin sets ${p.id} target-role=${role}`);
    }
    const requestId = `${node.id}-edit-${k}`;
    this.pendingEdits.set(requestId, marker);
    this.stats.edits++;
    this.log(`${node.name}: admin proposes ${requestId} (${marker}) on ${versionOf(ctl.cib).join('.')}`);
    this.coreCall(node, 'propose', () => ctl.propose(requestId, configuration, { client: 'crm', user: 'root', at: String(this.nowSeconds()) }));
  }

  private injectFuzz(): void {
    const up = this.nodes.filter((n) => n.ctl);
    if (!this.fuzz || up.length === 0 || this.seenEncoded.length === 0) return;
    const bytes = this.fuzz.mutate(this.rng.pick(this.seenEncoded), this.rng);
    // Sent by the node it claims to come from when that one is up, so that
    // most mutations get past the sender check to the schema and the replica.
    const claimed = claimedSender(bytes);
    const node = up.find((n) => n.id === claimed) ?? this.rng.pick(up);
    this.stats.fuzzed++;
    this.sendPayload(node, bytes);
  }

  // ------------------------------------------------------------ invariants

  /** Synced nodes in the same ring that applied the same number of its messages hold the same CIB. */
  private checkDivergence(node: SimNode, transitional: boolean): void {
    // Before the ring is synced a member's status still holds what this node
    // knew before the change (each partition knew something else); the DC
    // schedules nothing until then. From then on the fold must be equal.
    // In a transitional configuration, EVS skips messages of failed members
    // that no survivor holds (one a node delivered to itself just before it
    // crashed): the survivors' count of messages no longer lines up with the
    // failed member's, and the ring is ending; a returning node resyncs.
    if (!this.check.has('replica-divergence') || !node.ctl || !node.ctl.synced || transitional) return;
    let m = this.ringStates.get(node.ring);
    if (!m) this.ringStates.set(node.ring, (m = new Map()));
    const json = fingerprint(node.ctl.cib);
    const seen = m.get(node.appliedInRing);
    if (seen === undefined) m.set(node.appliedInRing, json);
    else if (seen !== json) {
      this.violate('replica-divergence', `${node.name} differs from another member of ring ${node.ring} after its message #${node.appliedInRing}: ${firstDifference(seen, json)}`);
    }
  }

  /** The node's own replica records its last stop of this resource as failed. */
  private stopFailedOn(n: SimNode, rsc: string): boolean {
    const ns = n.ctl?.cib.status?.find((x) => x.id === String(n.id));
    const last = ns?.lrm?.resources.find((r) => r.id === rsc)?.ops.find((o) => o.id === `${rsc}_last_0`);
    return last !== undefined && last.operation === 'stop' && last.opStatus !== '-1' && last.rcCode !== '0';
  }

  /** Run after every event. */
  private checkStep(): void {
    // Double activity, from the agents' real state.
    const holders = new Map<string, SimNode[]>();
    for (const n of this.nodes) {
      if (!n.powered) continue;
      for (const rsc of n.running) {
        if (this.vrrp && rsc === VIP_RSC && this.vipHandingOver(n)) continue;
        const list = holders.get(rsc) ?? [];
        list.push(n);
        holders.set(rsc, list);
      }
    }
    for (const [rsc, list] of holders) {
      const max = this.maxActive(rsc);
      if (list.length <= max) {
        this.multiSince.delete(rsc);
        continue;
      }
      // An instance whose stop failed, with stonith-enabled=false (the sim's
      // CIB): Pacemaker blocks it where it is ("FAILED (blocked)") and
      // cannot do more until an admin cleans it up; it places the other
      // instances without it. It is known activity, not a cluster fault.
      // With fencing (stonith) a failed stop is fenced before the resource
      // starts elsewhere: only UNCLEAN holders (left the quorate ring, not
      // fenced yet) are set aside, and checked below.
      const clean = list.filter((n) => !n.unclean && (this.fencing === 'stonith' || !this.stopFailedOn(n, rsc)));
      if (clean.length > max) {
        // Two clean holders: in power-off mode never; with fencing "none" the
        // cluster must recover it (multiple-active) within a bound.
        // A fence device starts in whichever partition has quorum, without fencing first.
        // Begun beside an UNCLEAN holder the starting side did not know ran
        // it (checkStartBesideUnclean): once they merge, Pacemaker's
        // multiple-active recovery, in bounded time.
        const besideUnclean = clean.some((a) => clean.some((b) => a.startedBesideUnclean.get(rsc)?.includes(b.id)));
        if (this.fencing === 'power-off' || (this.fencing === 'stonith' && !this.isFenceDevice(rsc) && !besideUnclean)) {
          this.violate('double-active', `${rsc} is active on ${list.map((n) => n.name).join(' and ')} (at most ${max})`);
        } else {
          const since = this.multiSince.get(rsc) ?? this.now;
          this.multiSince.set(rsc, since);
          if (this.now - since > 60_000) this.violate('multiple-active-recovered', `${rsc} active on ${list.map((n) => n.name).join(' and ')} for over 60 s`);
        }
      }
    }
    // DCs.
    const dcs = new Map<string, string[]>();
    for (const n of this.nodes) {
      const ctl = n.ctl;
      if (!ctl || !ctl.isDc) continue;
      const ring = ctl.membership.ringId;
      dcs.set(ring, [...(dcs.get(ring) ?? []), n.name]);
      if (!ctl.membership.quorate) this.violate('dc-without-quorum', `${n.name} is DC of ring ${ring} [${ctl.membership.members.join(' ')}] without quorum`);
    }
    for (const [ring, list] of dcs) if (list.length > 1) this.violate('dc', `ring ${ring} has ${list.length} DCs: ${list.join(', ')}`);
  }

  /**
   * fencing "stonith", a start beginning on `node`: the controller must not
   * start a resource while its CIB says it may be active on an UNCLEAN node
   * (fence first, as Pacemaker). A holder no member of the starting side
   * ever learnt of (both freshly booted: Pacemaker's startup-fencing, which
   * belay lacks) cannot be held against it; that start is noted, and once
   * the sides merge the double activity must be recovered in bounded time.
   */
  private checkStartBesideUnclean(node: SimNode, rsc: string): void {
    // Holders, and nodes whose start of it is under way.
    const starting = (u: SimNode): boolean => [...u.pendingOps.values()].some((o) => o.exec.rscId === rsc && o.exec.task === 'start');
    const holders = this.nodes.filter((u) => u !== node && u.powered && (u.running.has(rsc) || starting(u)));
    // Room left (a clone's instances up to clone-max): nothing to check.
    if (holders.length < this.maxActive(rsc)) {
      node.startedBesideUnclean.delete(rsc);
      return;
    }
    for (const u of holders) {
      if (u.unclean && node.ctl && mayBeActiveIn(node.ctl.cib, u.id, rsc)) {
        this.violate('double-active', `${rsc} starts on ${node.name} while ${node.name}'s CIB says it may run on UNCLEAN ${u.name} (not fenced yet)`);
      }
    }
    // An UNCLEAN node starting it (the DC of a ring it has not yet noticed is
    // gone) cannot see the other side's holders either.
    const unseen = holders.filter((u) => u.unclean || node.unclean);
    if (unseen.length > 0) node.startedBesideUnclean.set(rsc, unseen.map((u) => u.id));
    else node.startedBesideUnclean.delete(rsc);
  }

  /** Fence devices start without fencing first (they are what fences). */
  private isFenceDevice(rsc: string): boolean {
    return this.initialCib.configuration.resources.some((r) => r.tag === 'primitive' && r.id === rsc && 'class' in r && r.class === 'stonith');
  }

  private maxActive(rsc: string): number {
    const cfg = this.initialCib.configuration;
    for (const r of cfg.resources) {
      if (r.tag === 'clone' && 'child' in r && r.child.id === rsc) {
        const v = r.metaAttributes.flatMap((s: NvSet) => s.nvpairs).find((p) => p.name === 'clone-max')?.value;
        return v === undefined ? this.nodes.length : Number(v);
      }
    }
    return 1;
  }

  /** Settled: one ring of all nodes, synced, nothing to schedule, agents as the CIB says. Returns what is off. */
  private unsettled(): string | undefined {
    if (this.nodes.some((n) => !n.ctl)) return 'a node is down';
    const ring = this.nodes[0]!.ctl!.membership.ringId;
    for (const n of this.nodes) {
      const ctl = n.ctl!;
      if (ctl.membership.ringId !== ring || ctl.membership.members.length !== this.nodes.length) return `${n.name} is not in one ring of all`;
      if (!ctl.synced) return `${n.name} is not synced`;
      if (n.pendingOps.size > 0 || n.rscQueue.size > 0) return `${n.name} has operations pending`;
      if (n.stack!.core.state !== 'operational') return `${n.name} totem is ${n.stack!.core.state}`;
    }
    const dc = this.nodes.find((n) => n.ctl!.isDc);
    if (!dc) return 'no DC';
    if (dc.ctl!.transitionState?.state === 'running') return 'a transition is running';
    const json = canonical({ ...dc.ctl!.cib, extra: undefined });
    for (const n of this.nodes) if (canonical({ ...n.ctl!.cib, extra: undefined }) !== json) return `${n.name}'s CIB differs from the DC's`;
    let result;
    try {
      result = runScheduler(dc.ctl!.cib, this.nowSeconds());
    } catch (err) {
      return `the scheduler throws: ${(err as Error).message}`;
    }
    const pending = result.actions.filter((a) => !a.pseudo && !a.cluster);
    if (pending.length > 0) return `the scheduler still wants ${pending.length} actions: ${pending.slice(0, 3).map((a) => `${a.task} ${a.rsc?.id ?? ''} on ${a.node?.name ?? ''}`).join(', ')}`;
    // The agents' real state is what the CIB says.
    // A resource whose next action the scheduler cannot run (a failed stop
    // without fencing, or a stop ordered after another resource's blocked
    // stop: "Stop B (n2) blocked", as Pacemaker's crm_simulate says too) stays
    // FAILED where it was: its real state is unknown until an admin cleans it
    // up, and that is the scheduler's placement.
    const blockedByScheduler = new Set(result.summary.filter((l) => !l.action.runnable).map((l) => l.rsc.id));
    for (const rsc of result.ws.byId.values()) {
      if (rsc.kind !== 'primitive') continue;
      if (rsc.blocked || rsc.stopFailedOn.size > 0 || blockedByScheduler.has(rsc.id)) continue;
      for (const n of this.nodes) {
        const historyId = rsc.unique ? rsc.id : rsc.baseId;
        const cibSays = rsc.running.some((s) => s.name === n.name);
        if (cibSays && !n.running.has(historyId)) return `the CIB says ${rsc.id} runs on ${n.name}, its agent says not`;
      }
    }
    for (const n of this.nodes) {
      for (const id of n.running) {
        const known = [...result.ws.byId.values()].some(
          (r) =>
            r.kind === 'primitive' &&
            (r.unique ? r.id : r.baseId) === id &&
            (r.blocked || r.stopFailedOn.size > 0 || blockedByScheduler.has(r.id) || r.running.some((s) => s.name === n.name)),
        );
        if (!known) return `${id} runs on ${n.name} unknown to the CIB`;
      }
    }
    return undefined;
  }

  private checkFinal(): void {
    for (const n of this.nodes) {
      const ctl = n.ctl;
      if (!ctl) continue;
      const names = new Set(ctl.cib.configuration.crmConfig.flatMap((s) => s.nvpairs).map((p) => p.name));
      for (const [req, a] of this.acked) {
        if (!names.has(a.marker)) this.violate('acked-lost', `${n.name}'s configuration lacks acknowledged edit ${req} (${a.marker})`);
      }
    }
  }

  // ------------------------------------------------------------ run

  run(): ClusterSimResult {
    for (const n of this.nodes) this.boot(n);
    for (let i = 0; i < this.steps; i++) this.at(this.rng.range(2000, this.chaosMs), () => this.fault());
    if (this.fuzz) {
      for (let i = 0; i < this.fuzz.messages; i++) this.at(this.rng.range(3000, this.chaosMs), () => this.injectFuzz());
    }
    const healAt = this.chaosMs;
    this.at(healAt, () => {
      this.log('faults stop: network healed, every node powered, agents healthy');
      this.faultsOn = false;
      this.partition.clear();
      this.loss = 0;
      this.dup = 0;
      this.jitter = 0.5;
      this.agentFail = 0;
      this.agentHang = 0;
      for (const n of this.nodes) {
        n.stallUntil = 0;
        if (!n.powered) this.boot(n);
      }
    });
    let convergedAt: number | null = null;
    const endAt = healAt + this.settleMs;
    const probe = () => {
      const off = this.unsettled();
      if (off === undefined) {
        convergedAt = this.now;
        this.log('converged');
        this.checkFinal();
        return;
      }
      if (this.now + 250 <= endAt) this.at(this.now + 250, probe);
      else this.violate('converge', `not converged ${this.settleMs} ms after the faults stopped: ${off}`);
    };
    this.at(healAt + 250, probe);

    while (this.heap.size > 0 && convergedAt === null) {
      const ev = this.heap.pop()!;
      if (ev.time > endAt) break;
      this.now = ev.time;
      this.handle(ev);
      this.checkStep();
    }
    this.stats.rings = this.rings.size;
    return {
      seed: this.seed,
      nodes: this.nodes.length,
      fencing: this.fencing,
      violations: this.violations,
      convergedAfter: convergedAt === null ? null : Math.round(convergedAt - healAt),
      simMs: Math.round(this.now),
      stats: this.stats,
      trace: this.trace,
    };
  }

  private handle(ev: Ev): void {
    if (ev.kind === 'act') {
      ev.act();
      return;
    }
    const node = this.node(ev.kind === 'packet' ? ev.to : ev.node);
    if (ev.kind !== 'packet' && node.incarnation !== ev.inc) return;
    if (!node.powered) return;
    if (node.stallUntil > this.now) {
      // A slow node: its steps wait (in their order) until it runs again.
      const { order: _o, ...rest } = ev;
      this.push({ ...rest, time: node.stallUntil } as DistOmit<Ev, 'order'>);
      return;
    }
    switch (ev.kind) {
      case 'node':
        ev.act();
        return;
      case 'timer':
        if (node.timerGen.get(ev.name) !== ev.gen) return;
        this.stackStep(node, { type: 'timer', name: ev.name } as StackInput);
        return;
      case 'packet': {
        let packet = ev.packet;
        if (ev.bytes) {
          const d = decodePacket(ev.bytes, CLUSTER);
          if (!d.ok) {
            this.violate('exception', `${node.name} could not decode a totem packet: ${d.error}`);
            return;
          }
          packet = d.packet;
        }
        this.stackStep(node, { type: 'packet', packet: packet! });
        return;
      }
    }
  }
}

/** A broken controller for tests of the checker: its graphs move resources without stopping them. */
function skipStops(port: SchedulePort): SchedulePort {
  return (cib, now) => {
    const g = port(cib, now);
    const dropped = new Set(g.actions.filter((a) => a.task === 'stop').map((a) => a.id));
    return { ...g, actions: g.actions.filter((a) => !dropped.has(a.id)).map((a) => ({ ...a, inputs: a.inputs.filter((i) => !dropped.has(i)) })) };
  };
}

/** Breakage skip-fence-wait: nothing in the graph waits for a fencing action. */
function skipFenceWait(port: SchedulePort): SchedulePort {
  return (cib, now) => {
    const g = port(cib, now);
    const fences = new Set(g.actions.filter((a) => a.kind === 'fence').map((a) => a.id));
    return { ...g, actions: g.actions.map((a) => ({ ...a, inputs: a.inputs.filter((i) => !fences.has(i)) })) };
  };
}

function claimedSender(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0) return undefined;
  const m = /"from":(\d+)/.exec(Buffer.from(bytes.buffer, bytes.byteOffset + 1, Math.min(bytes.length - 1, 4096)).toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `…${a.slice(Math.max(0, i - 60), i + 40)}… vs …${b.slice(Math.max(0, i - 60), i + 40)}…`;
}

/**
 * What must be equal on every replica, cheaply: the version, quorum, DC,
 * configuration and status. Not the root's update-origin / cib-last-written
 * (`extra`): a configuration adopted from another node's offer keeps the
 * adopter's own (see docs/simulator.md, known differences).
 */
function fingerprint(cib: Cib): string {
  return JSON.stringify([cib.adminEpoch, cib.epoch, cib.numUpdates, cib.haveQuorum ?? '', cib.dcUuid ?? '', cib.configuration, cib.status]);
}

/** JSON with sorted keys: two replicas are equal whatever order their fields were set in. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}

/** What a CIB says of a resource on a node: active, or may be (an operation pending, a failed stop), from its last one-shot operation. */
function mayBeActiveIn(cib: Cib, nodeId: number, rsc: string): boolean {
  const ns = cib.status?.find((x) => x.id === String(nodeId));
  if (ns?.expected !== 'member' || ns.inCcm === 'true') return false;
  const last = ns.lrm?.resources.find((r) => r.id === rsc)?.ops.find((o) => o.id === `${rsc}_last_0`);
  if (!last) return false;
  if (last.opStatus === '-1') return true;
  if (last.operation === 'stop') return last.rcCode !== '0';
  if (last.operation === 'monitor') return last.rcCode === '0' || last.rcCode === '8';
  return last.rcCode === '0';
}
