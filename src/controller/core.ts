/**
 * The controller of one node, as a pure state machine (see docs/belayd.md).
 *
 * Inputs: totem configuration changes, agreed deliveries, results of local
 * operations, admin proposals, and ticks carrying "now". Outputs: messages
 * to broadcast, operations for the local executor, whether to persist the
 * configuration, replies for admin clients. The daemon shell does the I/O;
 * the simulator can run many of these on simulated time.
 */
import type { Cib, Configuration } from '../cib/model.js';
import {
  applyMembership,
  applyMessage,
  applyDispatch,
  compareVersions,
  initialReplica,
  versionOf,
  type ApplyOutcome,
  type CibVersion,
  type ClusterNodeRef,
  type Membership,
  type ReplicaMessage,
  type ReplicaState,
} from './replica.js';
import { actionTimeoutMs, resolveAction, type ResolvedAction } from './resource-info.js';
import { operationDigest } from '../scheduler/digest.js';
import { TransitionRunner, type GraphAction } from './transition.js';
import { clusterProperty, durationProperty, fencingEnabled, noQuorumPolicy } from './cluster-options.js';
import { chooseExecutor, fenceDevices, fencingOptions, NO_DEVICE_ERRORS, priorityDelayMs } from '../fencing/fencer.js';
import type { FenceEvent, FenceRequestAction } from '../fencing/history.js';

/** The DC asks one node to run one action of a transition. */
export interface ExecMessage {
  kind: 'exec';
  from: number;
  node: number;
  transition: number;
  action: number;
  rsc: string;
  task: string;
  intervalMs: number;
  targetRc: number;
  /** The ring the DC dispatched it in: delivered in a later ring (sent while the ring re-formed), it is stale. */
  ring?: string;
  /**
   * The DC's tag: its node id and this run of its controller, the last field
   * of the transition key, as Pacemaker's DC UUID. A DC that restarted
   * numbers its transitions from 1 again: without it, a late result of the
   * old run's transition 1 action 6 completed the new run's own.
   */
  dc?: string;
}

/**
 * A node wrote its configuration to disk: the node that proposed an edit
 * acknowledges it once a majority of the cluster's nodes hold it on disk
 * (else a double failure, one crashing before its rename and the other
 * powered off, loses an edit the user was told is committed).
 */
export interface CibStoredMessage {
  kind: 'cib-stored';
  from: number;
  /** The version written (admin_epoch, epoch, num_updates). */
  version: CibVersion;
  /**
   * The ring that configuration was made or adopted in: only stores of the
   * current ring's own configurations count (a write queued before a ring
   * change may hold another partition's configuration).
   */
  ring: string;
}

export type ClusterMessage = ReplicaMessage | ExecMessage | CibStoredMessage;

/**
 * Configuration changes travel with totem's safe delivery: delivered in the
 * regular configuration only once every member holds them, so a change
 * acknowledged to the user is on every node of the ring and cannot be lost
 * with the one that proposed it.
 */
export function needsSafeDelivery(msgs: readonly ClusterMessage[]): boolean {
  return msgs.some((m) => m.kind === 'cib-update');
}

/** How totem delivered a message. */
export interface DeliveryInfo {
  /** In a transitional configuration (EVS): not known to have reached every member of the old ring. */
  transitional?: boolean;
}

/** An operation for this node's executor. */
export interface LocalExec {
  rscId: string;
  task: string;
  intervalMs: number;
  targetRc: number;
  /** Pacemaker's transition key: action:transition:target-rc:dc. */
  transitionKey: string;
  /** Undefined when the resource is not in this node's configuration. */
  resolved: ResolvedAction | undefined;
}

export interface LocalResult {
  rc: number;
  /** Pacemaker's op-status: 0 done, 1 cancelled, 2 timed out, 4 error, 7 not installed... */
  opStatus: number;
  callId: number;
  /** Seconds since the epoch, from the executing node's clock. */
  finishedAt: number;
  execTimeMs: number;
  exitReason?: string;
}

/** The scheduler as the controller sees it: the CIB and "now" in, a graph out. */
export type SchedulePort = (
  cib: Cib,
  nowSeconds: number,
) => {
  actions: GraphAction[];
  warnings?: string[];
  /** Each node's resource priority (for priority-fencing-delay). */
  nodePriority?: Record<string, number>;
  /** Run again at this time even if nothing changes (a failure-timeout expires), seconds since the epoch. */
  recheckAt?: number;
};

/** A graph from the SchedulePort, or the scheduler's error. */
export type ScheduleResult = ReturnType<SchedulePort> | { error: string };

/** A fencing request this node is to carry out (it was named executor). */
export interface LocalFence {
  id: string;
  target: string;
  action: FenceRequestAction;
  random: number;
  priorityDelayMs: number;
}

export interface CoreOutput {
  /**
   * Asynchronous scheduling (a core built without a SchedulePort): run the
   * scheduler on this CIB and "now" off the event loop, then hand the graph
   * back with onScheduleResult(id, ...).
   */
  scheduleRequest?: { id: number; cib: Cib; nowSeconds: number };
  broadcast: ClusterMessage[];
  execute: LocalExec[];
  /** The configuration changed: write the CIB to disk. */
  persist: boolean;
  replies: Array<{ requestId: string; ok: boolean; error?: string }>;
  log: string[];
  /** Fencing requests to run here (src/daemon/fencer-shell.ts). */
  fence: LocalFence[];
  /** Fencing operations that finished (any node's), for admin clients waiting on them. */
  fenceDone: FenceEvent[];
  /** The cluster confirmed this very node fenced while it still runs: stop now (fence-reaction=stop). */
  fencedSelf?: boolean;
}

function emptyOutput(): CoreOutput {
  return { broadcast: [], execute: [], persist: false, replies: [], log: [], fence: [], fenceDone: [] };
}

/** Pacemaker's default cluster-recheck-interval. */
const DEFAULT_RECHECK_MS = 15 * 60_000;
/** How many of its own one-shot results a node keeps to send again after a stale node-state. */
const SETTLED_KEPT = 512;
/** Pacemaker's defaults: an operation's timeout, and cluster-delay (the allowance for the network and the node). */
const DEFAULT_ACTION_TIMEOUT_MS = 20_000;
const DEFAULT_CLUSTER_DELAY_MS = 60_000;
/**
 * Actions one step sends at most (the rest go at the next tick): a graph of
 * thousands of ready actions would otherwise hold the event loop that
 * carries totem for one long step.
 */
const DISPATCH_SLICE = 200;
/** Cores assumed when the shell does not say (the simulator). */
const DEFAULT_CORES = 2;

/**
 * Pacemaker's batch-limit (actions in flight in the whole cluster; 0: no
 * limit) and node-action-limit (per node; 0 or unset: twice that node's
 * cores, as each node's node-state tells them; the DC's own for a node that
 * has not said). Pacemaker also throttles by load; belay does not.
 */
function actionLimits(cfg: Configuration, coresOf: (node: string) => number): { batch: number; perNode: (node: string) => number } {
  const count = (name: string) => {
    const n = Number.parseInt(clusterProperty(cfg, name) ?? '0', 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  };
  const fixed = count('node-action-limit');
  return { batch: count('batch-limit'), perNode: (node) => fixed || 2 * Math.max(1, coresOf(node)) };
}

/** The rc a popped action timer counts as: unknown error, not the expected rc. */
const ACTION_TIMED_OUT_RC = 1;

export class ControllerCore {
  private state: ReplicaState;
  /** The last field of this controller's transition keys (see ExecMessage.dc). */
  readonly dcTag: string;
  private transition: TransitionRunner | undefined;
  private transitionSeq = 0;
  private needSchedule = false;
  /** Members whose node-state has not arrived since the last configuration change. */
  private awaitingNodeStates = new Set<number>();
  /** Each node's processor cores, from its node-state (node-action-limit's default). */
  private readonly nodeCores = new Map<string, number>();
  /** Actions of earlier transitions still running, by transition:action, with their node. */
  private readonly orphanedInFlight = new Map<string, number>();
  /** The scheduler run asked of the shell and not answered yet (async scheduling). */
  private pendingSchedule: number | undefined;
  private scheduleSeq = 0;
  /** When the scheduler last ran, and when it must run again even if nothing changes. */
  private lastScheduleAt: number | undefined;
  private nextRecheckAt: number | undefined;
  /** The last graph's node priorities (priority-fencing-delay). */
  private nodePriority: Record<string, number> = {};
  /** Fencing requests the transition waits for: request id -> action id of the transition. */
  private readonly fenceWaits = new Map<string, { transition: number; action: number; target: string }>();
  /** Failed fencing attempts per target since the last success or recheck (stonith-max-attempts). */
  private readonly fenceFailures = new Map<string, number>();
  private fenceSeq = 0;
  /** Deterministic pseudo-random numbers for pcmk_delay_max (seeded by the shell's "now"). */
  private randomState = 0;
  /** No DC here (no quorum): this node stops its own resources (no-quorum-policy), once per ring. */
  private localPolicyDone = false;
  /** The "no fence device" errors were logged for this configuration epoch. */
  private noDeviceLoggedFor = '';
  /** Orphaned recurring monitors, by the same key: resource history id (a stop there cancels them unreported). */
  private readonly orphanedMonitors = new Map<string, string>();
  /** One-shot operations run here whose result is not yet agreed, by transition key: told to a new DC as pending (record-pending). */
  private readonly localInFlight = new Map<string, ExecMessage>();
  /**
   * Own one-shot results agreed, by transition key (the latest few hundred):
   * a node-state built before one was agreed (at a ring change, or from a
   * replica an earlier node-state had put back) still lists it pending, and
   * puts it back to pending on every replica when it is agreed.
   */
  private readonly settledSinceNodeState = new Map<string, Extract<ReplicaMessage, { kind: 'op-result' }>>();
  /**
   * Own recurring-monitor results agreed since this node last built its
   * node-state, by operation: that node-state, delivered after them, puts
   * the older result back on every replica, and a monitor reports only
   * changes, so the newer one would be lost for good (a resource that died
   * is never recovered). Sent again once the node-state is agreed.
   */
  private readonly recurringSinceNodeState = new Map<string, Extract<ReplicaMessage, { kind: 'op-result' }>>();
  /**
   * Pacemaker's action timers: an action sent to a node (by transition:action)
   * must be answered by this time (seconds), its timeout plus cluster-delay;
   * else the DC stops waiting for it, as a lost `exec` or result would make
   * it wait for ever.
   */
  private readonly actionDeadlines = new Map<string, { deadline: number; what: string; node: string; timeoutMs: number; exec: ExecMessage }>();
  /** The time of the latest tick (the core has no clock of its own). */
  private lastTickAt = 0;
  /**
   * Own edits applied everywhere in this ring but not yet on a majority's
   * disk, by request id: the configuration version they made, who stored
   * it. A ring change fails them all.
   */
  private readonly awaitingStored = new Map<string, { version: CibVersion; storedBy: Set<number>; needed: number }>();
  /** The ring the current configuration was made or adopted in. */
  private configRingId = '';
  /** What each member of this ring last said it has on disk (of this ring's configurations). */
  private readonly storedInRing = new Map<number, CibVersion>();
  /** The current configuration's version is on a majority's disk (it wins a sync at an equal epoch). */
  private configCommitted = false;

  constructor(
    readonly self: ClusterNodeRef,
    readonly nodes: ClusterNodeRef[],
    storedCib: Cib,
    private readonly schedule: SchedulePort | undefined,
    /** This run of the controller (the shell's pick: a boot id, an incarnation): part of its transition keys. */
    incarnation?: string,
    /** This host's processor cores: node-action-limit defaults to twice as many, as Pacemaker's. */
    private readonly cores = DEFAULT_CORES,
  ) {
    this.dcTag = incarnation ? `${self.id}-${incarnation.replace(/[^A-Za-z0-9]/g, '')}` : String(self.id);
    const cib = structuredClone(storedCib);
    // Status is never trusted from disk: it is rebuilt from the nodes.
    cib.status = [];
    this.state = initialReplica(cib, nodes);
  }

  get cib(): Cib {
    return this.state.cib;
  }

  get membership(): Membership {
    return this.state.membership;
  }

  get dc(): number | undefined {
    return this.state.dc;
  }

  get isDc(): boolean {
    return this.state.dc === this.self.id;
  }

  /** True once offers and node states of the current ring are all in. */
  get synced(): boolean {
    return this.state.sync === undefined && this.awaitingNodeStates.size === 0;
  }

  get transitionState(): { id: number; state: string; inFlight: number } | undefined {
    if (!this.transition) return undefined;
    return { id: this.transition.id, state: this.transition.status, inFlight: this.transition.inFlight().length };
  }

  /** A regular configuration change from totem. */
  onMembership(membership: Membership): CoreOutput {
    const out = emptyOutput();
    const before = this.state;
    const applied = applyMembership(this.state, membership);
    this.state = applied.state;
    for (const w of applied.warnings ?? []) out.log.push(`warning: ${w}`);
    this.localPolicyDone = false;
    for (const [requestId, w] of this.awaitingStored) {
      out.replies.push({
        requestId,
        ok: false,
        error: `the membership changed before a majority of nodes had the change on disk (${w.storedBy.size} of ${w.needed}); it may be lost: check the configuration and apply it again`,
      });
    }
    this.awaitingStored.clear();
    this.awaitingNodeStates = new Set(membership.members);
    this.abortTransition('membership changed');
    for (const [key, node] of this.orphanedInFlight) {
      if (!membership.members.includes(node)) this.orphanedInFlight.delete(key);
    }
    out.log.push(
      `membership: ring ${membership.ringId} members [${membership.members.join(' ')}]` +
        ` ${membership.quorate ? 'with' : 'WITHOUT'} quorum; DC ${this.nameOf(this.state.dc)}` +
        (before.dc !== this.state.dc ? ` (was ${this.nameOf(before.dc)})` : ''),
    );
    // Offer our configuration so the newest wins, and tell what runs here.
    this.storedInRing.clear();
    const offer: ReplicaMessage = {
      kind: 'cib-offer',
      from: this.self.id,
      version: versionOf(this.state.cib),
      configuration: this.state.cib.configuration,
      ring: membership.ringId,
    };
    if (this.configCommitted) offer.committed = true;
    if (this.state.cib.epochRing) offer.epochRing = this.state.cib.epochRing;
    out.broadcast.push(offer);
    const own = this.state.cib.status?.find((s) => s.id === String(this.self.id));
    const transient: Record<string, string> = {};
    for (const set of own?.transientAttributes ?? []) for (const p of set.nvpairs) if (p.value !== undefined) transient[p.name] = p.value;
    const lrm = structuredClone(own?.lrm?.resources ?? []);
    // An operation an earlier DC started here is still running: a new DC must
    // see it (Pacemaker's record-pending), or it starts the resource elsewhere too.
    for (const [key, e] of this.localInFlight) {
      let r = lrm.find((x) => x.id === e.rsc);
      if (!r) lrm.push((r = { id: e.rsc, ops: [] }));
      r.ops = r.ops.filter((o) => o.id !== `${e.rsc}_last_0`);
      r.ops.push({ id: `${e.rsc}_last_0`, operation: e.task, interval: '0', opStatus: '-1', rcCode: '193', transitionKey: key, onNode: this.self.name });
    }
    const nodeState: ReplicaMessage = { kind: 'node-state', from: this.self.id, lrm, transient, ring: membership.ringId, cores: this.cores };
    // It holds every result agreed so far.
    this.recurringSinceNodeState.clear();
    // What this node knows that a node joining now may not: who is still UNCLEAN, and the fencing history.
    const unclean = (this.state.cib.status ?? []).filter(
      (ns) => ns.expected === 'member' && ns.inCcm !== 'true' && ns.uname !== undefined && !membership.members.includes(Number(ns.id)),
    );
    if (unclean.length > 0) {
      nodeState.unclean = unclean.map((ns) => ({ node: ns.uname!, lrm: ns.lrm?.resources ?? [], seen: this.state.statusSeen?.[ns.uname!] ?? 0 }));
    }
    if (this.state.fencing.length > 0) nodeState.fencing = this.state.fencing;
    out.broadcast.push(nodeState);
    this.needSchedule = true;
    return out;
  }

  /**
   * The shell wrote this version of the configuration to disk (after a
   * persist): tell the cluster, so that edits are acknowledged once a
   * majority holds them.
   */
  onPersisted(version: CibVersion, configRingId: string = this.configRingId): CoreOutput {
    const out = emptyOutput();
    out.broadcast.push({ kind: 'cib-stored', from: this.self.id, version, ring: configRingId });
    return out;
  }

  /** The ring the current configuration was made or adopted in (the shell hands it back with onPersisted). */
  get configRing(): string {
    return this.configRingId;
  }

  private onStored(msg: CibStoredMessage, out: CoreOutput): void {
    if (msg.ring !== this.state.membership.ringId) return;
    const written = configVersion(msg.version);
    this.storedInRing.set(msg.from, written);
    for (const [requestId, w] of this.awaitingStored) {
      // Within one ring every member applied the same stream, so a store of
      // this version or a later one holds the edit.
      if (compareVersions(written, w.version) < 0) continue;
      w.storedBy.add(msg.from);
      if (w.storedBy.size < w.needed) continue;
      this.awaitingStored.delete(requestId);
      out.replies.push({ requestId, ok: true });
    }
    const current = configVersion(versionOf(this.state.cib));
    let holders = 0;
    for (const v of this.storedInRing.values()) if (compareVersions(v, current) === 0) holders++;
    if (holders >= this.storesNeeded()) this.configCommitted = true;
  }

  /** A majority of the cluster's nodes, or every member when a quorate ring is smaller (two_node). */
  private storesNeeded(): number {
    const majority = Math.floor(this.nodes.length / 2) + 1;
    return Math.max(1, Math.min(majority, this.state.membership.members.length));
  }

  /** Fencing history, oldest first. */
  get fencingHistory(): readonly FenceEvent[] {
    return this.state.fencing;
  }

  /** This node told the cluster it is leaving, and the cluster recorded it (clean shutdown). */
  get leaveRecorded(): boolean {
    return this.state.cib.status?.find((s) => s.id === String(this.self.id))?.expected === 'down';
  }

  /** A message delivered by totem, in agreed order. */
  onDeliver(msg: ClusterMessage, delivery: DeliveryInfo = {}): CoreOutput {
    const out = emptyOutput();
    if (msg.kind === 'cib-stored') {
      this.onStored(msg, out);
      return out;
    }
    if (msg.kind === 'exec') {
      if (msg.ring === undefined || msg.ring === this.state.membership.ringId) {
        this.state = applyDispatch(this.state, { node: msg.node, rsc: msg.rsc, task: msg.task, intervalMs: msg.intervalMs, transitionKey: execTransitionKey(msg) }).state;
      }
      if (msg.node === this.self.id) {
        // The DC aborted that transition at the membership change; running it
        // now could start a resource the new DC has placed elsewhere.
        if (msg.ring !== undefined && msg.ring !== this.state.membership.ringId) {
          out.log.push(`ignored ${msg.task} of ${msg.rsc} from transition ${msg.transition} of ring ${msg.ring} (now ${this.state.membership.ringId})`);
          this.forgetStaleExec(msg);
          return out;
        }
        const exec = this.localExec(msg);
        if (msg.intervalMs === 0) {
          this.localInFlight.set(exec.transitionKey, msg);
          // A DC that restarted numbers its transitions from 1 again: an older result under this key is not this one's.
          this.settledSinceNodeState.delete(exec.transitionKey);
        }
        out.execute.push(exec);
      } else if (msg.ring !== undefined && msg.ring !== this.state.membership.ringId) {
        this.forgetStaleExec(msg);
      }
      return out;
    }
    const outcome: ApplyOutcome = applyMessage(this.state, msg);
    this.state = outcome.state;
    for (const w of outcome.warnings ?? []) out.log.push(`warning: ${w}`);
    if (outcome.fenceEvent) this.onFenceEvent(msg, outcome.fenceEvent, outcome.targetRejoined === true, out);
    else if (msg.kind === 'fence-result' && outcome.statusChanged) this.needSchedule = true;
    if (outcome.adopted) {
      // Adopted at this sync: its committed mark comes with it (or stays, when it is our own).
      this.configRingId = this.state.membership.ringId;
      this.configCommitted = outcome.adopted.committed || (!outcome.configChanged && this.configCommitted);
    } else if (outcome.configChanged) {
      this.configRingId = this.state.membership.ringId;
      this.configCommitted = false;
    }
    if (outcome.configChanged) {
      out.persist = true;
      this.abortTransition('configuration changed');
      this.needSchedule = true;
    }
    if (outcome.updateResult && outcome.updateResult.from === this.self.id) {
      const r = outcome.updateResult;
      if (r.ok && delivery.transitional) {
        // Applied on the nodes still with us, but the ring broke before every
        // member was known to hold it: it may be lost with this partition.
        out.replies.push({
          requestId: r.requestId,
          ok: false,
          error: 'the membership changed while the change was being committed; it may not have reached every node: check the configuration and apply it again',
        });
      } else if (r.ok) {
        // Acknowledged once a majority of the cluster's nodes (or every
        // member, when a quorate ring is smaller: two_node) has it on disk.
        this.awaitingStored.set(r.requestId, { version: configVersion(versionOf(this.state.cib)), storedBy: new Set(), needed: this.storesNeeded() });
      } else out.replies.push({ requestId: r.requestId, ok: false, error: r.error ?? 'rejected' });
    }
    if (msg.kind === 'node-state' && msg.from === this.self.id) {
      // A result agreed before our node-state but after it was built: the
      // node-state just put the operation back to pending on every replica.
      // Send the result again, so it is agreed after (else the operation is
      // pending for ever and the DC waits for it for ever).
      for (const r of msg.lrm) {
        for (const o of r.ops) {
          const done = o.opStatus === '-1' && o.transitionKey !== undefined ? this.settledSinceNodeState.get(o.transitionKey) : undefined;
          if (done && done.resource.id === r.id && done.op.operation === o.operation) out.broadcast.push(done);
        }
      }
      for (const r of this.recurringSinceNodeState.values()) out.broadcast.push(r);
      this.recurringSinceNodeState.clear();
    }
    if (msg.kind === 'node-state') {
      // One made for an earlier ring (agreed only now) still tells the
      // node's state then, but not what it knows of this ring's losses.
      if (msg.ring === undefined || msg.ring === this.state.membership.ringId) this.awaitingNodeStates.delete(msg.from);
      const name = this.nameOf(msg.from);
      if (msg.cores !== undefined) this.nodeCores.set(name, msg.cores);
      else this.nodeCores.delete(name);
      // What an earlier transition left running on that node is over unless
      // the node still reports it pending (it may have restarted meanwhile:
      // waiting for it would stop the DC from scheduling for good).
      const pending = new Set<string>();
      for (const r of msg.lrm) {
        for (const o of r.ops) {
          const k = o.opStatus === '-1' ? parseTransitionKey(o.transitionKey) : undefined;
          if (k && k.dc === this.dcTag) pending.add(`${k.transition}:${k.action}`);
        }
      }
      for (const [key, node] of this.orphanedInFlight) if (node === msg.from && !pending.has(key)) this.orphanedInFlight.delete(key);
      this.needSchedule = true;
    }
    if (msg.kind === 'op-result' && msg.node !== undefined) {
      // A DC's record of an operation it waited for in vain: the DC has
      // counted it failed already; the status changed, so it looks again.
      if (outcome.statusChanged) this.needSchedule = true;
    } else if (msg.kind === 'op-result') {
      // Pending until its result is in the agreed stream (a result sent while
      // the ring re-forms is delivered after the new ring's node states).
      const pendingRecord = msg.op.opStatus === '-1';
      if (msg.from === this.self.id && !pendingRecord && msg.op.transitionKey !== undefined && Number(msg.op.interval) === 0) {
        this.localInFlight.delete(msg.op.transitionKey);
        this.settledSinceNodeState.delete(msg.op.transitionKey);
        this.settledSinceNodeState.set(msg.op.transitionKey, msg);
        if (this.settledSinceNodeState.size > SETTLED_KEPT) this.settledSinceNodeState.delete(this.settledSinceNodeState.keys().next().value!);
      }
      if (msg.from === this.self.id && Number(msg.op.interval) > 0) this.recurringSinceNodeState.set(`${msg.resource.id}_${msg.op.operation}_${msg.op.interval}`, msg);
      // A pending record completes nothing: the status moved, so a DC looks again.
      if (pendingRecord) {
        this.abortTransition(`${msg.resource.id} ${msg.op.operation} pending on ${msg.op.onNode ?? msg.from}`);
        this.needSchedule = true;
      } else this.onOpResult(msg, out);
      if (!pendingRecord && msg.op.operation === 'stop') {
        // The executor cancels a resource's recurring monitors at its stop
        // without a result: waiting for their first one would wait for ever.
        // (After onOpResult: the stop may be what aborted and parked them.)
        for (const [k, rsc] of this.orphanedMonitors) if (rsc === msg.resource.id && this.orphanedInFlight.get(k) === msg.from) this.orphanedInFlight.delete(k);
      }
    }
    if ((msg.kind === 'attr-update' || msg.kind === 'cleanup' || msg.kind === 'leave') && outcome.statusChanged) {
      this.abortTransition(
        msg.kind === 'cleanup' ? `cleanup of ${msg.rsc ?? 'all resources'}` : msg.kind === 'leave' ? `node ${this.nameOf(msg.from)} is shutting down` : `attribute ${msg.name} changed on ${msg.node}`,
      );
      this.needSchedule = true;
    }
    return out;
  }

  /** The local executor finished an operation asked by `exec`. */
  onLocalResult(exec: LocalExec, result: LocalResult): CoreOutput {
    const out = emptyOutput();
    const r = exec.resolved;
    const [klass, provider, type] = splitAgent(r?.agent ?? 'ocf::unknown');
    const op: ReplicaMessage = {
      kind: 'op-result',
      from: this.self.id,
      resource: provider ? { id: exec.rscId, class: klass, provider, type } : { id: exec.rscId, class: klass, type },
      targetRc: exec.targetRc,
      op: {
        id: '',
        operation: exec.task,
        interval: String(exec.intervalMs),
        callId: String(result.callId),
        rcCode: String(result.rc),
        opStatus: String(result.opStatus),
        transitionKey: exec.transitionKey,
        transitionMagic: `${result.opStatus}:${result.rc};${exec.transitionKey}`,
        lastRcChange: String(result.finishedAt),
        lastRun: String(result.finishedAt),
        execTime: String(result.execTimeMs),
        queueTime: '0',
        onNode: this.self.name,
      },
    };
    if (result.exitReason) op.op.extra = { 'exit-reason': result.exitReason };
    // The definition it ran with, so the scheduler notices a later change (Pacemaker's op-digest)
    if (r) op.op.opDigest = operationDigest(r.params, exec.intervalMs, r.timeoutMs);
    out.broadcast.push(op);
    // A late result of an older operation (a probe of an earlier DC, run
    // before the queued start of a newer one) replaces the resource's
    // last_0, where the newer operation stands pending: a new DC would read
    // the resource as stopped here and start it elsewhere while the start
    // still runs. So a newer operation's pending record is said again after it.
    if (exec.intervalMs === 0) {
      // Only operations asked for after this one (the map keeps that order).
      let later = false;
      for (const [key, e] of this.localInFlight) {
        if (key === exec.transitionKey) later = true;
        if (!later || e.rsc !== exec.rscId || key === exec.transitionKey) continue;
        out.broadcast.push({
          kind: 'op-result',
          from: this.self.id,
          resource: op.resource,
          targetRc: e.targetRc,
          op: { id: '', operation: e.task, interval: '0', opStatus: '-1', rcCode: '193', transitionKey: key, onNode: this.self.name },
        });
      }
    }
    return out;
  }

  /**
   * Propose a new configuration (from an admin client on this node). `by`
   * says who, for the CIB's update-* attributes; `at` is the caller's clock
   * in Pacemaker's cib-last-written format.
   */
  propose(requestId: string, configuration: Configuration, by?: { client: string; user: string; at: string }): CoreOutput {
    const out = emptyOutput();
    const msg: ReplicaMessage = { kind: 'cib-update', from: this.self.id, requestId, base: versionOf(this.state.cib), configuration };
    if (by) msg.origin = { node: this.self.name, ...by };
    out.broadcast.push(msg);
    return out;
  }

  /** Set or delete a node attribute (standby, maintenance, custom). */
  proposeAttribute(node: string, name: string, value: string | undefined, lifetime: 'reboot' | 'forever'): CoreOutput {
    const out = emptyOutput();
    out.broadcast.push({ kind: 'attr-update', from: this.self.id, node, name, value, lifetime });
    return out;
  }

  /** Forget a resource's history and failures (crm resource cleanup). */
  proposeCleanup(rsc: string | undefined, node: string | undefined): CoreOutput {
    const out = emptyOutput();
    out.broadcast.push({ kind: 'cleanup', from: this.self.id, rsc, node });
    return out;
  }

  /** A clean shutdown: tell the cluster this node is leaving (it must not be fenced for it). */
  proposeLeave(): CoreOutput {
    const out = emptyOutput();
    out.broadcast.push({ kind: 'leave', from: this.self.id });
    return out;
  }

  /**
   * Fence TARGET (stonith_admin --reboot|--off|--on, crm node fence). The
   * devices run on this node unless it is the target. Returns the request id
   * (its outcome arrives in `fenceDone`), or an error.
   */
  proposeFence(target: string, action: FenceRequestAction, client: string, nowSeconds: number): { out: CoreOutput; id?: string; error?: string } {
    const out = emptyOutput();
    const node = this.nodes.find((n) => n.name === target);
    if (!node) return { out, error: `no node named '${target}'` };
    const executor = chooseExecutor(this.state.membership.members, this.self.id, node.id);
    if (executor === undefined) return { out, error: `no node other than ${target} can fence it` };
    const id = this.nextFenceId(nowSeconds);
    out.broadcast.push({ kind: 'fence-request', from: this.self.id, id, target, action, executor, client, at: nowSeconds, random: this.random(nowSeconds), priorityDelayMs: 0 });
    return { out, id };
  }

  /** stonith_admin --confirm: the operator vouches that TARGET is down. */
  proposeConfirm(target: string, client: string, nowSeconds: number): { out: CoreOutput; id?: string; error?: string } {
    const out = emptyOutput();
    if (!this.nodes.some((n) => n.name === target)) return { out, error: `no node named '${target}'` };
    const id = this.nextFenceId(nowSeconds);
    out.broadcast.push({ kind: 'fence-confirm', from: this.self.id, id, target, client, at: nowSeconds });
    return { out, id };
  }

  /** The fencer shell finished a request this node was asked to carry out. */
  onFenceDone(fence: LocalFence, result: { ok: boolean; devices: string[]; reason?: string }, nowSeconds: number): CoreOutput {
    const out = emptyOutput();
    const msg: ReplicaMessage = {
      kind: 'fence-result',
      from: this.self.id,
      id: fence.id,
      ok: result.ok,
      devices: result.devices,
      at: nowSeconds,
      target: fence.target,
      action: fence.action,
      ring: this.state.membership.ringId,
    };
    if (result.reason !== undefined) msg.exitReason = result.reason;
    out.broadcast.push(msg);
    return out;
  }

  /**
   * Time passes. On the DC, once the ring is synchronised and no earlier
   * action is still running, run the scheduler and dispatch what is ready;
   * also when cluster-recheck-interval (or a failure-timeout) is due, so
   * time-based changes take effect on an idle cluster. Without quorum
   * there is no DC: the node applies no-quorum-policy to what runs here.
   */
  onTick(nowSeconds: number): CoreOutput {
    const out = emptyOutput();
    this.lastTickAt = nowSeconds;
    this.expireActionTimers(nowSeconds, out);
    if (!this.synced) return out;
    const local = this.local;
    if (!this.isDc && !local) return out;
    if (this.transition?.status === 'running') {
      this.dispatch(out);
      return out;
    }
    for (const k of this.orphanedMonitors.keys()) if (!this.orphanedInFlight.has(k)) this.orphanedMonitors.delete(k);
    if (this.nextRecheckAt !== undefined && nowSeconds >= this.nextRecheckAt) {
      // As Pacemaker: a recheck also lets fencing that gave up try again.
      this.fenceFailures.clear();
      this.needSchedule = true;
    }
    if (!this.needSchedule || this.orphanedInFlight.size > 0 || this.pendingSchedule !== undefined) return out;
    if (local && this.localPolicyDone) return out;
    this.needSchedule = false;
    if (!this.schedule) {
      this.pendingSchedule = ++this.scheduleSeq;
      out.scheduleRequest = { id: this.pendingSchedule, cib: this.state.cib, nowSeconds };
      return out;
    }
    let graph: ScheduleResult;
    try {
      graph = this.schedule(this.state.cib, nowSeconds);
    } catch (err) {
      graph = { error: (err as Error).message };
    }
    this.startTransition(graph, nowSeconds, local, out);
    return out;
  }

  /**
   * The graph of scheduleRequest `id`. Dropped when anything that needs a new
   * run happened meanwhile (the next tick asks again), as Pacemaker aborts a
   * transition computed from an outdated CIB.
   */
  onScheduleResult(id: number, graph: ScheduleResult, nowSeconds: number): CoreOutput {
    const out = emptyOutput();
    if (id !== this.pendingSchedule) return out;
    this.pendingSchedule = undefined;
    const local = this.local;
    if ((!this.isDc && !local) || !this.synced || this.needSchedule || this.orphanedInFlight.size > 0 || this.transition?.status === 'running') {
      this.needSchedule = true;
      return out;
    }
    this.startTransition(graph, nowSeconds, local, out);
    return out;
  }

  private startTransition(graph: ScheduleResult, nowSeconds: number, local: boolean, out: CoreOutput): void {
    if ('error' in graph) {
      out.log.push(`scheduler failed: ${graph.error}`);
      return;
    }
    this.lastScheduleAt = nowSeconds;
    const recheckMs = durationProperty(this.state.cib.configuration, DEFAULT_RECHECK_MS, 'cluster-recheck-interval');
    this.nextRecheckAt = recheckMs > 0 ? nowSeconds + Math.max(1, Math.round(recheckMs / 1000)) : undefined;
    if (graph.recheckAt !== undefined && (this.nextRecheckAt === undefined || graph.recheckAt < this.nextRecheckAt)) this.nextRecheckAt = graph.recheckAt;
    this.nodePriority = graph.nodePriority ?? {};
    for (const w of graph.warnings ?? []) out.log.push(`scheduler: ${w}`);
    let actions = graph.actions.filter((a) => !this.isNoop(a));
    if (local) {
      actions = this.localPolicyActions(actions);
      if (actions.length === 0) this.localPolicyDone = true;
      else if (actions.length > 0) out.log.push(`no quorum: applying no-quorum-policy=${noQuorumPolicy(this.state.cib.configuration)} to this node's resources`);
    } else {
      actions = this.withoutStartsIfNoDevice(actions, out);
    }
    // Nothing that does work (pseudo actions and other cluster actions are
    // counted done at once): running it would end in "check once more", the
    // same graph, for ever.
    if (!actions.some((a) => a.kind === 'rsc' || a.kind === 'fence' || (a.kind === 'cluster' && a.task === 'clear_failcount'))) {
      this.transition = undefined;
      return;
    }
    try {
      this.transition = new TransitionRunner(++this.transitionSeq, actions);
    } catch (err) {
      out.log.push(`transition refused: ${(err as Error).message}`);
      return;
    }
    out.log.push(`transition ${this.transition.id}: ${actions.filter((a) => a.kind !== 'pseudo').length} actions`);
    this.dispatch(out);
  }

  /** When the scheduler last ran (seconds since the epoch), and when it runs again unasked. */
  get recheck(): { lastRun: number | undefined; next: number | undefined } {
    return { lastRun: this.lastScheduleAt, next: this.nextRecheckAt };
  }

  /** A clear_failcount with no fail count left to clear (the scheduler plans it for every expired failure). */
  private isNoop(a: GraphAction): boolean {
    if (a.kind !== 'cluster' || a.task !== 'clear_failcount' || !a.rsc || !a.node) return false;
    const ns = this.state.cib.status?.find((x) => x.uname === a.node);
    const base = a.rsc.split(':')[0]!;
    const has = (name: string) => name.startsWith(`fail-count-${a.rsc}#`) || name.startsWith(`fail-count-${base}#`) || name.startsWith(`fail-count-${base}:`);
    return !(ns?.transientAttributes ?? []).some((set) => set.nvpairs.some((p) => has(p.name)));
  }

  /**
   * Without a DC: only this node's stops and demotes (no-quorum-policy stop,
   * demote, suicide, fence), nothing for freeze, and the orderings among them.
   */
  private localPolicyActions(actions: GraphAction[]): GraphAction[] {
    const policy = noQuorumPolicy(this.state.cib.configuration);
    if (policy === 'freeze') return [];
    const tasks = policy === 'demote' ? ['demote'] : ['stop', 'demote'];
    const keep = actions.filter((a) => a.kind === 'rsc' && a.node === this.self.name && tasks.includes(a.task));
    const ids = new Set(keep.map((a) => a.id));
    return keep.map((a) => ({ ...a, inputs: a.inputs.filter((i) => ids.has(i)) }));
  }

  /**
   * stonith-enabled=true and no fence device: as Pacemaker, no resource
   * starts (only stops and probes run), and the reason is logged.
   */
  private withoutStartsIfNoDevice(actions: GraphAction[], out: CoreOutput): GraphAction[] {
    const cfg = this.state.cib.configuration;
    if (!fencingEnabled(cfg) || fenceDevices(cfg).length > 0) return actions;
    const epoch = `${this.state.cib.adminEpoch}.${this.state.cib.epoch}`;
    if (this.noDeviceLoggedFor !== epoch) {
      this.noDeviceLoggedFor = epoch;
      out.log.push(...NO_DEVICE_ERRORS.map((e) => `error: ${e}`));
    }
    const blocked = new Set(actions.filter((a) => a.kind === 'rsc' && ['start', 'promote', 'migrate_to', 'migrate_from'].includes(a.task)).map((a) => a.id));
    // Everything ordered after a blocked action is blocked too.
    for (let grew = true; grew; ) {
      grew = false;
      for (const a of actions) {
        if (!blocked.has(a.id) && a.inputs.some((i) => blocked.has(i))) {
          blocked.add(a.id);
          grew = true;
        }
      }
    }
    return actions.filter((a) => !blocked.has(a.id));
  }

  private dispatch(out: CoreOutput): void {
    const t = this.transition!;
    const cfg = this.state.cib.configuration;
    const clusterDelayMs = durationProperty(cfg, DEFAULT_CLUSTER_DELAY_MS, 'cluster-delay');
    const limits = actionLimits(cfg, (node) => this.nodeCores.get(node) ?? this.cores);
    let sent = 0;
    // (The runner counts an admitted action as running at once.)
    const admit = (a: GraphAction): boolean | 'stop' => {
      // One step sends a slice; the tick the shell queues after it sends the next.
      if (sent >= DISPATCH_SLICE) return 'stop';
      if (a.kind !== 'rsc') return true;
      // (Not 'stop': a fencing or cluster action further on is not limited.)
      if (limits.batch > 0 && t.runningCount() >= limits.batch) return false;
      if (t.runningCount(a.node ?? '') >= limits.perNode(a.node ?? '')) return false;
      sent++;
      return true;
    };
    for (const action of t.ready(admit)) {
      if (action.kind === 'fence') {
        this.requestFencing(t, action, out);
        continue;
      }
      if (action.kind === 'cluster' && action.task === 'clear_failcount' && action.rsc && action.node) {
        out.log.push(`Clearing failure of ${action.rsc} on ${action.node} because it expired`);
        out.broadcast.push({ kind: 'clear-failcount', from: this.self.id, rsc: action.rsc, node: action.node });
        t.complete(action.id, action.targetRc);
        continue;
      }
      const node = this.nodes.find((n) => n.name === action.node);
      if (action.kind !== 'rsc' || !node || !action.rsc) {
        // Other cluster actions and actions on unknown nodes have nothing
        // to run here: count them done.
        t.complete(action.id, action.targetRc);
        continue;
      }
      // Pacemaker's wording, so its users can read our logs.
      const opName = `${action.rsc}_${action.task === 'monitor' && action.intervalMs === 0 ? 'monitor' : action.task}_${action.intervalMs}`;
      out.log.push(`Initiating ${action.task} operation ${opName} on ${action.node} (transition ${t.id}, action ${action.id})`);
      const exec: ExecMessage = {
        kind: 'exec',
        from: this.self.id,
        node: node.id,
        transition: t.id,
        action: action.id,
        rsc: action.rsc,
        task: action.task,
        intervalMs: action.intervalMs,
        targetRc: action.targetRc,
        ring: this.state.membership.ringId,
        dc: this.dcTag,
      };
      out.broadcast.push(exec);
      const timeoutMs = actionTimeoutMs(this.state.cib, action.rsc, action.task, action.intervalMs) ?? DEFAULT_ACTION_TIMEOUT_MS;
      this.actionDeadlines.set(`${t.id}:${action.id}`, {
        deadline: this.lastTickAt + Math.ceil((timeoutMs + clusterDelayMs) / 1000),
        what: `${action.task === 'monitor' && action.intervalMs === 0 ? 'probe' : action.task} of ${action.rsc}`,
        node: action.node ?? '?',
        timeoutMs: timeoutMs + clusterDelayMs,
        exec,
      });
    }
    if (t.status === 'complete') {
      // Check once more that nothing is left to do.
      this.needSchedule = true;
    }
  }

  private get local(): boolean {
    return this.state.dc === undefined && this.state.membership.members.includes(this.self.id);
  }

  /**
   * The scheduler's stonith action: ask for fencing (or join a request
   * already pending for the same target). The action completes only when
   * fencing is confirmed; a failure fails it, and the next transition
   * tries again, up to stonith-max-attempts until the next recheck.
   */
  private requestFencing(t: TransitionRunner, action: GraphAction, out: CoreOutput): void {
    const target = action.node!;
    const cfg = this.state.cib.configuration;
    const opts = fencingOptions(cfg);
    const failures = this.fenceFailures.get(target) ?? 0;
    if (failures >= opts.maxAttempts) {
      out.log.push(`warning: Too many failures (${failures}) to fence ${target}, giving up`);
      // Not done: the transition stops here and the next recheck tries again.
      t.abort(`fencing of ${target} gave up`);
      this.parkInFlight(t);
      return;
    }
    const pending = this.state.fencing.find((e) => e.target === target && e.state === 'pending');
    if (pending) {
      this.fenceWaits.set(pending.id, { transition: t.id, action: action.id, target });
      return;
    }
    const node = this.nodes.find((n) => n.name === target);
    const executor = chooseExecutor(this.state.membership.members, this.self.id, node?.id);
    if (executor === undefined) {
      t.abort(`no node can fence ${target}`);
      return;
    }
    const now = this.lastScheduleAt ?? 0;
    const priorities = this.nodes.map((n) => ({ name: n.name, online: this.state.membership.members.includes(n.id), priority: this.nodePriority[n.name] ?? 0 }));
    const id = this.nextFenceId(now);
    this.fenceWaits.set(id, { transition: t.id, action: action.id, target });
    out.log.push(`Requesting fencing (${opts.action}) of node ${target} (transition ${t.id}, action ${action.id}, attempt ${failures + 1})`);
    out.broadcast.push({
      kind: 'fence-request',
      from: this.self.id,
      id,
      target,
      action: opts.action,
      executor,
      client: 'pacemaker-controld',
      at: now,
      random: this.random(now),
      priorityDelayMs: priorityDelayMs(target, priorities, opts.priorityFencingDelayMs),
    });
  }

  /** A fencing request or outcome was applied to the replica. */
  private onFenceEvent(msg: ClusterMessage, event: FenceEvent, targetRejoined: boolean, out: CoreOutput): void {
    if (msg.kind === 'fence-request') {
      if (msg.executor === this.self.id) {
        out.fence.push({ id: msg.id, target: msg.target, action: msg.action, random: msg.random, priorityDelayMs: msg.priorityDelayMs });
      }
      return;
    }
    out.fenceDone.push(event);
    const ok = event.state === 'done';
    out.log.push(
      ok
        ? `Operation '${event.action}' targeting ${event.target} by ${event.executioner ?? '?'} for ${event.client}@${event.origin}: OK`
        : `error: Operation '${event.action}' targeting ${event.target} by ${event.executioner ?? '?'} for ${event.client}@${event.origin}: ${event.exitReason ?? 'failed'}`,
    );
    // Not when we rejoined after the devices answered: they killed our previous incarnation.
    if (ok && !targetRejoined && event.target === this.self.name && event.action !== 'on' && this.state.membership.members.includes(this.self.id)) {
      out.log.push(`crit: We were allegedly just fenced by ${event.executioner ?? '?'} for ${event.origin}!`);
      out.fencedSelf = true;
    }
    if (ok) {
      this.fenceFailures.delete(event.target);
      this.needSchedule = true;
    } else {
      this.fenceFailures.set(event.target, (this.fenceFailures.get(event.target) ?? 0) + 1);
    }
    // Settle every transition action waiting on this target (a confirmation settles them all).
    const t = this.transition;
    for (const [id, wait] of this.fenceWaits) {
      const settles = id === event.id || (ok && wait.target === event.target);
      if (!settles) continue;
      this.fenceWaits.delete(id);
      if (!t || t.id !== wait.transition || !this.isDc) continue;
      const wasRunning = t.status === 'running';
      if (!ok) t.abort(`fencing of ${event.target} failed: ${event.exitReason ?? 'failed'}`);
      if (t.complete(wait.action, ok ? 0 : 1)) {
        if (t.status === 'aborted') {
          // Park what is left once, when it aborts (as onOpResult): parking
          // again would bring back what a node-state has since said is over.
          if (wasRunning) {
            out.log.push(`transition ${t.id} aborted: ${t.snapshot().abortReason ?? ''}`);
            this.parkInFlight(t);
          }
          this.needSchedule = true;
        } else if (t.status === 'running') this.dispatch(out);
        else this.needSchedule = true;
      }
    }
  }

  private nextFenceId(nowSeconds: number): string {
    return `${this.self.id}-${nowSeconds}-${++this.fenceSeq}`;
  }

  /** A number in [0, 1) (xorshift32 seeded from the node id and the first "now"). */
  private random(nowSeconds: number): number {
    if (this.randomState === 0) this.randomState = ((this.self.id * 2654435761) ^ nowSeconds ^ 0x9e3779b9) >>> 0 || 1;
    let x = this.randomState;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.randomState = x;
    return x / 0x1_0000_0000;
  }

  private onOpResult(msg: Extract<ReplicaMessage, { kind: 'op-result' }>, out: CoreOutput): void {
    const key = parseTransitionKey(msg.op.transitionKey);
    const rc = Number(msg.op.rcCode ?? '0');
    // Only this DC's own keys: another DC's transition 1 action 16 is not ours
    // (a result of an earlier DC's action released the wait for our start,
    // and the next transition started the clone a third time).
    if (key && key.dc === this.dcTag) {
      this.orphanedInFlight.delete(`${key.transition}:${key.action}`);
      this.actionDeadlines.delete(`${key.transition}:${key.action}`);
    }
    const local = this.state.dc === undefined && this.state.membership.members.includes(this.self.id);
    if (!this.isDc && !local) return;
    // Without a DC each node minds its own resources only.
    if (local && msg.from !== this.self.id) return;
    const t = this.transition;
    const ours = key !== undefined && key.dc === this.dcTag && t !== undefined && key.transition === t.id;
    const wasRunning = t?.status === 'running';
    if (ours && t.complete(key.action, rc)) {
      if (t.status === 'aborted') {
        // Park what is left once, when it aborts: a late result of an
        // already-aborted transition must not park again what a node's
        // node-state has since said is over.
        if (wasRunning) {
          out.log.push(`transition ${t.id} aborted: ${t.snapshot().abortReason ?? ''}`);
          this.parkInFlight(t);
        }
        this.needSchedule = true;
      } else if (t.status === 'running') {
        this.dispatch(out);
      } else {
        this.needSchedule = true;
      }
      return;
    }
    // A result nobody in this transition waits for: a recurring monitor that
    // changed, or an action of an earlier transition. The status moved.
    this.abortTransition(`${msg.resource.id} ${msg.op.operation} on ${msg.op.onNode ?? msg.from} returned rc ${rc}`);
    this.needSchedule = true;
  }

  /**
   * Every node sees an `exec` delivered in a later ring than it was sent in,
   * and its node ignores it: the DC that sent it stops waiting for it.
   */
  private forgetStaleExec(msg: ExecMessage): void {
    if (msg.from !== this.self.id || (msg.dc ?? String(msg.from)) !== this.dcTag) return;
    const key = `${msg.transition}:${msg.action}`;
    this.orphanedInFlight.delete(key);
    this.orphanedMonitors.delete(key);
    this.actionDeadlines.delete(key);
  }

  /**
   * Pacemaker's action timer popped: the node did not answer within the
   * action's timeout plus cluster-delay. A running transition counts the
   * action failed and aborts; an aborted one's orphan is waited for no more.
   * (Pacemaker also records a timed-out result in the CIB; here the next
   * scheduler run sees the operation as the node last reported it.)
   */
  private expireActionTimers(nowSeconds: number, out: CoreOutput): void {
    for (const [key, d] of this.actionDeadlines) {
      if (nowSeconds < d.deadline) continue;
      this.actionDeadlines.delete(key);
      const [transition, action] = key.split(':').map(Number) as [number, number];
      const t = this.transition;
      const waited = this.orphanedInFlight.delete(key);
      this.orphanedMonitors.delete(key);
      let failed = false;
      if (t && t.id === transition && t.status === 'running') failed = t.complete(action, ACTION_TIMED_OUT_RC);
      if (!waited && !failed) continue;
      out.log.push(`Node ${d.node} did not send ${d.what} result within ${d.timeoutMs}ms (action timeout plus cluster-delay)`);
      // As Pacemaker's DC: the operation is recorded as timed out on that
      // node, so its pending record does not stand for ever (the replicas
      // take it only while the node has not answered meanwhile).
      if (d.exec.intervalMs === 0) out.broadcast.push(this.timeoutRecord(d.exec, d.timeoutMs, nowSeconds));
      if (failed && t && t.status === 'aborted') {
        out.log.push(`transition ${t.id} aborted: ${t.snapshot().abortReason ?? ''}`);
        this.parkInFlight(t);
      }
      this.needSchedule = true;
    }
  }

  /** The op-result the DC records for a node whose operation it waited for in vain. */
  private timeoutRecord(exec: ExecMessage, waitedMs: number, nowSeconds: number): ReplicaMessage {
    const [klass, provider, type] = splitAgent(resolveAction(this.state.cib, exec.rsc, exec.task, exec.intervalMs)?.agent ?? 'ocf::unknown');
    const key = execTransitionKey(exec);
    return {
      kind: 'op-result',
      from: this.self.id,
      node: exec.node,
      resource: provider ? { id: exec.rsc, class: klass, provider, type } : { id: exec.rsc, class: klass, type },
      targetRc: exec.targetRc,
      op: {
        id: '',
        operation: exec.task,
        interval: '0',
        callId: '-1',
        rcCode: '1',
        opStatus: '2',
        transitionKey: key,
        transitionMagic: `2:1;${key}`,
        lastRcChange: String(nowSeconds),
        lastRun: String(nowSeconds),
        execTime: '0',
        queueTime: '0',
        onNode: this.nameOf(exec.node),
        extra: { 'exit-reason': `no result within ${waitedMs}ms (action timeout plus cluster-delay)` },
      },
    };
  }

  private abortTransition(reason: string): void {
    const t = this.transition;
    if (!t || t.status !== 'running') return;
    t.abort(reason);
    this.parkInFlight(t);
  }

  /** Remember what an aborted transition still has running, to wait for it. */
  private parkInFlight(t: TransitionRunner): void {
    for (const a of t.inFlight()) {
      // Fencing is not an executor's operation: its outcome lands in the
      // fencing history, and the next transition joins the pending request.
      if (a.kind === 'fence') continue;
      const node = this.nodes.find((n) => n.name === a.node);
      if (node && this.state.membership.members.includes(node.id)) {
        this.orphanedInFlight.set(`${t.id}:${a.id}`, node.id);
        if (a.intervalMs > 0 && a.rsc) this.orphanedMonitors.set(`${t.id}:${a.id}`, a.rsc);
      }
    }
  }

  private localExec(msg: ExecMessage): LocalExec {
    return {
      rscId: msg.rsc,
      task: msg.task,
      intervalMs: msg.intervalMs,
      targetRc: msg.targetRc,
      transitionKey: execTransitionKey(msg),
      resolved: resolveAction(this.state.cib, msg.rsc, msg.task, msg.intervalMs),
    };
  }

  private nameOf(id: number | undefined): string {
    if (id === undefined) return 'none';
    return this.nodes.find((n) => n.id === id)?.name ?? String(id);
  }
}

/** A version as the configuration's: admin_epoch and epoch (num_updates counts status changes only). */
function configVersion(v: CibVersion): CibVersion {
  return [v[0], v[1], 0];
}

/** An exec's transition key: action:transition:target-rc:dc. */
function execTransitionKey(msg: ExecMessage): string {
  return `${msg.action}:${msg.transition}:${msg.targetRc}:${msg.dc ?? msg.from}`;
}

/** action:transition:target-rc:dc, as carried in lrm_rsc_op transition-key. */
export function parseTransitionKey(key: string | undefined): { action: number; transition: number; targetRc: number; dc: string } | undefined {
  if (!key) return undefined;
  const m = /^(\d+):(\d+):(\d+):([^:]+)$/.exec(key);
  if (!m) return undefined;
  return { action: Number(m[1]), transition: Number(m[2]), targetRc: Number(m[3]), dc: m[4]! };
}

function splitAgent(agent: string): [string, string | undefined, string] {
  const parts = agent.split(':');
  if (parts.length === 3) return [parts[0]!, parts[1] || undefined, parts[2]!];
  return [parts[0]!, undefined, parts[1] ?? ''];
}
