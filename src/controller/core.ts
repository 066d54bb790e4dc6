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
  initialReplica,
  versionOf,
  type ApplyOutcome,
  type ClusterNodeRef,
  type Membership,
  type ReplicaMessage,
  type ReplicaState,
} from './replica.js';
import { resolveAction, type ResolvedAction } from './resource-info.js';
import { operationDigest } from '../scheduler/digest.js';
import { TransitionRunner, type GraphAction } from './transition.js';

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
}

export type ClusterMessage = ReplicaMessage | ExecMessage;

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
export type SchedulePort = (cib: Cib, nowSeconds: number) => { actions: GraphAction[]; warnings?: string[] };

export interface CoreOutput {
  broadcast: ClusterMessage[];
  execute: LocalExec[];
  /** The configuration changed: write the CIB to disk. */
  persist: boolean;
  replies: Array<{ requestId: string; ok: boolean; error?: string }>;
  log: string[];
}

function emptyOutput(): CoreOutput {
  return { broadcast: [], execute: [], persist: false, replies: [], log: [] };
}

export class ControllerCore {
  private state: ReplicaState;
  private transition: TransitionRunner | undefined;
  private transitionSeq = 0;
  private needSchedule = false;
  /** Members whose node-state has not arrived since the last configuration change. */
  private awaitingNodeStates = new Set<number>();
  /** Actions of earlier transitions still running, by transition:action, with their node. */
  private readonly orphanedInFlight = new Map<string, number>();
  /** Orphaned recurring monitors, by the same key: resource history id (a stop there cancels them unreported). */
  private readonly orphanedMonitors = new Map<string, string>();
  /** One-shot operations run here whose result is not yet agreed, by transition key: told to a new DC as pending (record-pending). */
  private readonly localInFlight = new Map<string, ExecMessage>();

  constructor(
    readonly self: ClusterNodeRef,
    readonly nodes: ClusterNodeRef[],
    storedCib: Cib,
    private readonly schedule: SchedulePort,
  ) {
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
    this.state = applyMembership(this.state, membership).state;
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
    out.broadcast.push({ kind: 'cib-offer', from: this.self.id, version: versionOf(this.state.cib), configuration: this.state.cib.configuration });
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
    out.broadcast.push({ kind: 'node-state', from: this.self.id, lrm, transient });
    this.needSchedule = true;
    return out;
  }

  /** A message delivered by totem, in agreed order. */
  onDeliver(msg: ClusterMessage): CoreOutput {
    const out = emptyOutput();
    if (msg.kind === 'exec') {
      if (msg.node === this.self.id) {
        // The DC aborted that transition at the membership change; running it
        // now could start a resource the new DC has placed elsewhere.
        if (msg.ring !== undefined && msg.ring !== this.state.membership.ringId) {
          out.log.push(`ignored ${msg.task} of ${msg.rsc} from transition ${msg.transition} of ring ${msg.ring} (now ${this.state.membership.ringId})`);
          return out;
        }
        const exec = this.localExec(msg);
        if (msg.intervalMs === 0) this.localInFlight.set(exec.transitionKey, msg);
        out.execute.push(exec);
      }
      return out;
    }
    const outcome: ApplyOutcome = applyMessage(this.state, msg);
    this.state = outcome.state;
    if (outcome.configChanged) {
      out.persist = true;
      this.abortTransition('configuration changed');
      this.needSchedule = true;
    }
    if (outcome.updateResult && outcome.updateResult.from === this.self.id) {
      const r = outcome.updateResult;
      out.replies.push(r.ok ? { requestId: r.requestId, ok: true } : { requestId: r.requestId, ok: false, error: r.error ?? 'rejected' });
    }
    if (msg.kind === 'node-state') {
      this.awaitingNodeStates.delete(msg.from);
      // What an earlier transition left running on that node is over unless
      // the node still reports it pending (it may have restarted meanwhile:
      // waiting for it would stop the DC from scheduling for good).
      const pending = new Set<string>();
      for (const r of msg.lrm) {
        for (const o of r.ops) {
          const k = o.opStatus === '-1' ? parseTransitionKey(o.transitionKey) : undefined;
          if (k && k.dc === this.self.id) pending.add(`${k.transition}:${k.action}`);
        }
      }
      for (const [key, node] of this.orphanedInFlight) if (node === msg.from && !pending.has(key)) this.orphanedInFlight.delete(key);
      this.needSchedule = true;
    }
    if (msg.kind === 'op-result') {
      // Pending until its result is in the agreed stream (a result sent while
      // the ring re-forms is delivered after the new ring's node states).
      if (msg.from === this.self.id && msg.op.transitionKey !== undefined) this.localInFlight.delete(msg.op.transitionKey);
      this.onOpResult(msg, out);
      if (msg.op.operation === 'stop') {
        // The executor cancels a resource's recurring monitors at its stop
        // without a result: waiting for their first one would wait for ever.
        // (After onOpResult: the stop may be what aborted and parked them.)
        for (const [k, rsc] of this.orphanedMonitors) if (rsc === msg.resource.id && this.orphanedInFlight.get(k) === msg.from) this.orphanedInFlight.delete(k);
      }
    }
    if ((msg.kind === 'attr-update' || msg.kind === 'cleanup') && outcome.statusChanged) {
      this.abortTransition(msg.kind === 'cleanup' ? `cleanup of ${msg.rsc ?? 'all resources'}` : `attribute ${msg.name} changed on ${msg.node}`);
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

  /**
   * Time passes. On the DC, once the ring is synchronised and no earlier
   * action is still running, run the scheduler and dispatch what is ready.
   */
  onTick(nowSeconds: number): CoreOutput {
    const out = emptyOutput();
    if (!this.isDc || !this.synced) return out;
    if (this.transition?.status === 'running') {
      this.dispatch(out);
      return out;
    }
    for (const k of this.orphanedMonitors.keys()) if (!this.orphanedInFlight.has(k)) this.orphanedMonitors.delete(k);
    if (!this.needSchedule || this.orphanedInFlight.size > 0) return out;
    this.needSchedule = false;
    let graph: ReturnType<SchedulePort>;
    try {
      graph = this.schedule(this.state.cib, nowSeconds);
    } catch (err) {
      out.log.push(`scheduler failed: ${(err as Error).message}`);
      return out;
    }
    for (const w of graph.warnings ?? []) out.log.push(`scheduler: ${w}`);
    // Only pseudo and cluster actions (e.g. a group's start pseudo-op in a
    // partition without quorum): nothing would run, and running it would end
    // in "check once more", the same graph, for ever.
    if (!graph.actions.some((a) => a.kind === 'rsc')) {
      this.transition = undefined;
      return out;
    }
    try {
      this.transition = new TransitionRunner(++this.transitionSeq, graph.actions);
    } catch (err) {
      out.log.push(`transition refused: ${(err as Error).message}`);
      return out;
    }
    out.log.push(`transition ${this.transition.id}: ${graph.actions.filter((a) => a.kind !== 'pseudo').length} actions`);
    this.dispatch(out);
    return out;
  }

  private dispatch(out: CoreOutput): void {
    const t = this.transition!;
    for (const action of t.ready()) {
      const node = this.nodes.find((n) => n.name === action.node);
      if (action.kind !== 'rsc' || !node || !action.rsc) {
        // Cluster actions (clear_failcount, ...) and actions on unknown nodes
        // have nothing to run here: count them done.
        t.complete(action.id, action.targetRc);
        continue;
      }
      // Pacemaker's wording, so its users can read our logs.
      const opName = `${action.rsc}_${action.task === 'monitor' && action.intervalMs === 0 ? 'monitor' : action.task}_${action.intervalMs}`;
      out.log.push(`Initiating ${action.task} operation ${opName} on ${action.node} (transition ${t.id}, action ${action.id})`);
      out.broadcast.push({
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
      });
    }
    if (t.status === 'complete') {
      // Check once more that nothing is left to do.
      this.needSchedule = true;
    }
  }

  private onOpResult(msg: Extract<ReplicaMessage, { kind: 'op-result' }>, out: CoreOutput): void {
    const key = parseTransitionKey(msg.op.transitionKey);
    const rc = Number(msg.op.rcCode ?? '0');
    if (key) this.orphanedInFlight.delete(`${key.transition}:${key.action}`);

    if (!this.isDc) return;
    const t = this.transition;
    const ours = key !== undefined && key.dc === this.self.id && t !== undefined && key.transition === t.id;
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

  private abortTransition(reason: string): void {
    const t = this.transition;
    if (!t || t.status !== 'running') return;
    t.abort(reason);
    this.parkInFlight(t);
  }

  /** Remember what an aborted transition still has running, to wait for it. */
  private parkInFlight(t: TransitionRunner): void {
    for (const a of t.inFlight()) {
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
      transitionKey: `${msg.action}:${msg.transition}:${msg.targetRc}:${msg.from}`,
      resolved: resolveAction(this.state.cib, msg.rsc, msg.task, msg.intervalMs),
    };
  }

  private nameOf(id: number | undefined): string {
    if (id === undefined) return 'none';
    return this.nodes.find((n) => n.id === id)?.name ?? String(id);
  }
}

/** action:transition:target-rc:dc, as carried in lrm_rsc_op transition-key. */
export function parseTransitionKey(key: string | undefined): { action: number; transition: number; targetRc: number; dc: number } | undefined {
  if (!key) return undefined;
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(key);
  if (!m) return undefined;
  return { action: Number(m[1]), transition: Number(m[2]), targetRc: Number(m[3]), dc: Number(m[4]) };
}

function splitAgent(agent: string): [string, string | undefined, string] {
  const parts = agent.split(':');
  if (parts.length === 3) return [parts[0]!, parts[1] || undefined, parts[2]!];
  return [parts[0]!, undefined, parts[1] ?? ''];
}
