/**
 * The transition graph: actions (start, stop, probes, recurring monitors,
 * pseudo actions of groups and clones), orderings with Pacemaker's relation
 * flags, and the fixed-point update of "optional"/"runnable" across them,
 * after pcmk_sched_{primitive,group,clone,ordering,actions}.c.
 */
import { MinHeap } from '../lib/heap.js';
import type { Group, OrderConstraint } from '../cib/model.js';
import { compareDigest } from './digest.js';
import { parseScore } from '../cib/score.js';
import type { Rsc, Role, SNode } from './types.js';
import { ROLE_RANK } from './types.js';
import type { WorkingSet } from './unpack.js';
import { findConfigured } from './assign.js';
import { intervalMs } from './unpack.js';

export interface Action {
  id: number;
  rsc?: Rsc;
  task: string;
  interval: number;
  node: SNode | null;
  pseudo: boolean;
  optional: boolean;
  runnable: boolean;
  printAlways: boolean;
  reason?: string;
  /** Orderings where this action is "then". */
  before: Ordering[];
  /** Orderings where this action is "first". */
  after: Ordering[];
  /** One-or-more pseudo actions: runnable when at least this many "first" actions are. */
  minRunnable?: number;
  /** A fencing action (task "stonith"). */
  fence?: boolean;
  /** Probe result expected (rc 7 normally). */
  isProbe?: boolean;
  cluster?: boolean;
  /** Pacemaker's position in data_set->actions (see Graph.actionPhase). */
  seq: number;
}

export const F = {
  ORDERED: 1,
  FIRST_IMPLIES_THEN: 2,
  THEN_IMPLIES_FIRST: 4,
  UNRUNNABLE_FIRST_BLOCKS: 8,
  INTERMEDIATE_STOP: 16,
  ASYMMETRIC: 32,
  FIRST_IMPLIES_THEN_GRAPHED: 64,
  THEN_IMPLIES_FIRST_GRAPHED: 128,
  SERIALIZE: 256,
  SAME_NODE: 512,
  MIN_RUNNABLE: 1024,
} as const;

export interface Ordering {
  first: Action;
  then: Action;
  flags: number;
  /** When Pacemaker's order_actions() would have made it (see Graph.orderPhase). */
  seq: number;
  /**
   * An ordering between two clones that interleave: it stands for the
   * orderings between their instances on the same node, made while walking
   * (multi_update_interleave_actions), and is not itself in the graph.
   */
  interleave?: Interleave;
}

export interface Interleave {
  first: Rsc;
  firstTask: string;
  then: Rsc;
  thenTask: string;
}

/**
 * Pacemaker 2.1 creates actions and orderings in stages that differ from the
 * order belay builds them in; what matters is the order in which
 * pcmk__update_action_for_orderings() walks them (it decides which cause
 * becomes an action's "due to" reason). Each action and ordering records the
 * stage Pacemaker would create it in, and a counter within it.
 */
export const ACTION_PHASE = { expired: 0, config: 1, probes: 2, create: 3, fencing: 4, apply: 5 } as const;
export const ORDER_PHASE = { cib: 0, internal: 1, probes: 2, create: 3, fencing: 4, walk: 5 } as const;
const PHASE_SPAN = 10_000_000;

export class Graph {
  actions: Action[] = [];
  actionPhase: number = ACTION_PHASE.create;
  orderPhase: number = ORDER_PHASE.create;
  private counter = 0;
  constructor(public ws: WorkingSet) {}

  nextSeq(phase: number): number {
    return phase * PHASE_SPAN + this.counter++;
  }

  key(rsc: Rsc | undefined, task: string, interval = 0): string {
    return `${rsc ? rsc.id : ''}_${task}_${interval}`;
  }

  find(rsc: Rsc, task: string, node?: SNode | null, interval = 0): Action | undefined {
    for (const a of rsc.actions) {
      if (a.task !== task || a.interval !== interval) continue;
      if (node === undefined || a.node === node || (a.node === null && node === null)) return a;
    }
    return undefined;
  }

  findAll(rsc: Rsc, task: string, interval = 0): Action[] {
    const out: Action[] = [];
    for (const a of rsc.actions) if (a.task === task && a.interval === interval) out.push(a);
    return out;
  }

  /** custom_action: find or create. */
  action(rsc: Rsc | undefined, task: string, node: SNode | null, optional: boolean, opts: { pseudo?: boolean; interval?: number } = {}): Action {
    const interval = opts.interval ?? 0;
    const existing = rsc ? rsc.actions.find((a) => a.task === task && a.interval === interval && a.node === node) : undefined;
    if (existing) {
      if (!optional) existing.optional = false;
      return existing;
    }
    const a: Action = {
      id: this.actions.length, rsc, task, interval, node, pseudo: !!opts.pseudo, optional, runnable: true,
      printAlways: false, before: [], after: [], seq: this.nextSeq(this.actionPhase),
    };
    this.setRunnable(a);
    this.actions.push(a);
    if (rsc) rsc.actions.push(a);
    return a;
  }

  /** update_resource_action_runnable */
  private setRunnable(a: Action): void {
    const rsc = a.rsc;
    if (!rsc) return;
    if (rsc.kind === 'primitive' && !rsc.managed) a.optional = true;
    if (a.pseudo) return;
    if (rsc.kind !== 'primitive') return;
    const ws = this.ws;
    if (a.node === null) {
      a.runnable = false;
      return;
    }
    if (!a.node.online) {
      a.runnable = false;
      return;
    }
    if (a.node.pending) {
      a.runnable = false;
      return;
    }
    const needsQuorum = (a.task === 'start' || a.task === 'promote') && rsc.requires !== 'nothing';
    if (!needsQuorum) return;
    if (!ws.options.haveQuorum) {
      if (ws.options.noQuorumPolicy === 'stop' || ws.options.noQuorumPolicy === 'suicide' || ws.options.noQuorumPolicy === 'fence' || ws.options.noQuorumPolicy === 'demote') {
        a.runnable = false;
        setReason(a, 'no quorum');
      } else if (ws.options.noQuorumPolicy === 'freeze') {
        if (rsc.running.length === 0 || (rsc.nextRole && ROLE_RANK[rsc.nextRole] > ROLE_RANK[rsc.role])) {
          a.runnable = false;
          setReason(a, 'quorum freeze');
        }
      }
    }
  }

  private orderIndex = new Map<Action, Map<Action, Ordering>>();

  ordering(first: Action, then: Action): Ordering | undefined {
    return this.orderIndex.get(first)?.get(then);
  }

  /** order_actions(); true when it made a new ordering (or added flags to one). */
  order(first: Action | undefined, then: Action | undefined, flags: number): boolean {
    if (!first || !then || first === then) return false;
    let m = this.orderIndex.get(first);
    if (!m) {
      m = new Map();
      this.orderIndex.set(first, m);
    }
    const existing = m.get(then);
    if (existing) {
      // order_actions: an ordering of the same pair that shares any flag is a
      // duplicate and dropped, so the first one configured wins (an Optional
      // "A then B" before a Mandatory one leaves it optional)
      if (existing.flags & flags) return false;
      existing.flags |= flags;
      return true;
    }
    const o: Ordering = { first, then, flags, seq: this.nextSeq(this.orderPhase) };
    m.set(then, o);
    if (this.orderPhase === ORDER_PHASE.walk) {
      // made while walking: prepended, as order_actions() does
      first.after.unshift(o);
      then.before.unshift(o);
    } else {
      first.after.push(o);
      then.before.push(o);
    }
    return true;
  }
}

function setReason(a: Action, reason: string, overwrite = false): void {
  if (a.reason === undefined || overwrite) a.reason = reason;
}

function reasonText(change: string, cause: Action): string {
  if (!cause.rsc) return `${change} ${cause.task}`;
  return `${change} ${cause.rsc.id} ${cause.task}`;
}

function clearOptional(a: Action, cause: Action | undefined): boolean {
  if (!a.optional) return false;
  a.optional = false;
  if (cause && cause.rsc !== a.rsc) setReason(a, reasonText('required', cause));
  return true;
}

function clearRunnable(a: Action, cause: Action | undefined): boolean {
  if (!a.runnable) return false;
  a.runnable = false;
  if (cause && cause.rsc !== a.rsc) setReason(a, reasonText('unrunnable', cause));
  return true;
}

// ---------------------------------------------------------------------------
// Creating actions

function activeNodes(r: Rsc): SNode[] {
  return r.running;
}

function stopResource(g: Graph, r: Rsc, optional: boolean): void {
  for (const cur of activeNodes(r)) {
    if (r.stopUnexpected && cur === r.assigned) continue;
    const stop = g.action(r, 'stop', cur, optional);
    if (!optional) stop.optional = false;
    if (r.assigned === null) setReason(stop, 'node availability', true);
    else if (r.restarting && r.stopUnexpected) setReason(stop, 'being multiply active', true);
    if (!r.managed) stop.runnable = false;
  }
}

function startResource(g: Graph, r: Rsc, node: SNode | null, optional: boolean): void {
  if (!node) return;
  const start = g.action(r, 'start', node, true);
  // Quorum decides runnability only after the start is known to be required
  if (!optional && (start.runnable || start.reason === 'no quorum' || start.reason === 'quorum freeze')) start.optional = false;
  if (r.stopUnexpected && r.running.includes(node) && r.running.length > 1) start.pseudo = true;
}

function promoteResource(g: Graph, r: Rsc, node: SNode | null, optional: boolean): void {
  if (!node) return;
  const a = g.action(r, 'promote', node, optional);
  if (!optional) a.optional = false;
}

function demoteResource(g: Graph, r: Rsc, optional: boolean): void {
  for (const cur of activeNodes(r)) {
    const a = g.action(r, 'demote', cur, optional);
    if (!optional) a.optional = false;
    if (!r.managed) a.runnable = false;
  }
}

/** rsc_state_matrix: the next role on the way from `from` to `to`. */
function nextStep(from: Role, to: Role): Role {
  if (from === to) return to;
  switch (from) {
    case 'Stopped': return to === 'Promoted' ? 'Unpromoted' : to === 'Started' ? 'Started' : to === 'Unpromoted' ? 'Unpromoted' : 'Stopped';
    case 'Started': return to === 'Promoted' ? 'Unpromoted' : to === 'Unpromoted' ? 'Unpromoted' : 'Stopped';
    case 'Unpromoted': return to === 'Promoted' ? 'Promoted' : 'Stopped';
    case 'Promoted': return 'Unpromoted';
  }
}

function transition(g: Graph, r: Rsc, from: Role, to: Role, node: SNode | null, optional: boolean): void {
  if (from === 'Started' && to === 'Unpromoted') return; // same thing for the graph
  if (from === 'Unpromoted' && to === 'Started') return;
  if (to === 'Stopped') stopResource(g, r, optional);
  else if ((to === 'Started' || to === 'Unpromoted') && from === 'Stopped') startResource(g, r, node, optional);
  else if (to === 'Promoted') promoteResource(g, r, node, optional);
  else if (from === 'Promoted' && to === 'Unpromoted') demoteResource(g, r, optional);
}

function walkRoles(g: Graph, r: Rsc, from: Role, to: Role, node: SNode | null, optional: boolean, stopAtOrig?: Role): Role {
  let role = from;
  let guard = 0;
  while (role !== to && guard++ < 6) {
    const nxt = nextStep(role, to);
    if (role === 'Started' && (nxt === 'Unpromoted')) {
      role = 'Unpromoted';
      continue;
    }
    transition(g, r, role, nxt, node, optional);
    role = nxt;
    if (stopAtOrig && role === stopAtOrig) break;
  }
  return role;
}

function primitiveCreateActions(g: Graph, r: Rsc): void {
  const ws = g.ws;
  const current = r.running[0];
  let needStop = false;
  let needPromote = false;
  let moving = false;
  const next: Role = r.nextRole ?? 'Stopped';
  if (current && r.assigned && current !== r.assigned && ROLE_RANK[next] >= ROLE_RANK.Started) {
    moving = true;
    needStop = true;
  }
  if (r.running.length > 1 && !(r.parent?.kind === 'clone' && !r.unique)) {
    if (r.multipleActive === 'stop_start' || r.multipleActive === 'restart') needStop = true;
    else if (r.multipleActive === 'stop_unexpected') {
      needStop = true;
      r.stopUnexpected = true;
    }
    ws.diagnostics.push({ level: 'error', message: `${r.cls} resource ${r.id} might be active on ${r.running.length} nodes (${r.multipleActive})` });
  } else r.stopUnexpected = false;
  if (moving) {
    // nothing more
  } else if (r.failed) {
    if (r.stopIfFailed) needStop = true;
    else if (next === 'Promoted') needPromote = true;
  } else if (r.blocked) {
    needStop = true;
  } else if (ROLE_RANK[r.role] > ROLE_RANK.Started && current && r.assigned) {
    const start = g.action(r, 'start', r.assigned, true);
    if (!start.optional) needStop = true;
  }
  // schedule_restart_actions
  r.restarting = true;
  let role: Role = r.role;
  const orig = r.role;
  while (role !== 'Stopped') {
    const nxt = role === 'Promoted' ? 'Unpromoted' : 'Stopped';
    if (role === 'Unpromoted' && nxt === 'Stopped') transition(g, r, 'Started', 'Stopped', current ?? null, !needStop);
    else if (role === 'Promoted') demoteResource(g, r, !needStop);
    else transition(g, r, role, 'Stopped', current ?? null, !needStop);
    role = nxt;
  }
  if (ROLE_RANK[orig] <= ROLE_RANK[next] && role !== orig && !r.blocked) {
    while (role !== orig) {
      const nxt: Role = role === 'Stopped' ? (orig === 'Started' ? 'Started' : 'Unpromoted') : 'Promoted';
      let required = needStop;
      if (nxt === 'Promoted' && needPromote) required = true;
      if (role === 'Stopped') startResource(g, r, r.assigned, !required);
      else if (nxt === 'Promoted') promoteResource(g, r, r.assigned, !required);
      role = nxt;
      if (role === 'Unpromoted' && orig === 'Started') break;
    }
  }
  r.restarting = false;
  // schedule_role_transition_actions
  walkRoles(g, r, orig, next, r.assigned, false);
  createRecurring(g, r);
}

function createRecurring(g: Graph, r: Rsc): void {
  const node = r.assigned;
  if (!node || !r.prim) return;
  const next = r.nextRole ?? 'Stopped';
  if (next === 'Stopped') return;
  const start = g.find(r, 'start', node);
  const moving = r.running.length > 0 && !r.running.includes(node);
  for (const op of r.operations) {
    if (op.name !== 'monitor') continue;
    const interval = intervalMs(op.interval);
    if (!interval) continue;
    if (op.enabled !== undefined && ['false', 'no', '0', 'off'].includes(op.enabled.toLowerCase())) continue;
    const role = op.role ? op.role.toLowerCase() : undefined;
    if (role === 'stopped') continue;
    const isPromotedOp = role === 'promoted' || role === 'master';
    const isUnpromotedOp = role === 'unpromoted' || role === 'slave';
    if (isPromotedOp && next !== 'Promoted') continue;
    if (isUnpromotedOp && next === 'Promoted') continue;
    if (role === undefined && next === 'Promoted' && r.operations.some((o) => o.name === 'monitor' && /^(promoted|master)$/i.test(o.role ?? ''))) {
      // A promoted instance uses its role-specific monitor
    }
    const active = r.activeMonitors.get(node)?.has(interval) ?? false;
    let optional = true;
    if (!start || !start.optional || moving || !active) optional = false;
    if (start && !start.runnable) optional = true;
    const mon = g.action(r, 'monitor', node, optional, { interval });
    if (start && !start.runnable) mon.runnable = false;
    if (!r.managed) mon.runnable = false;
    if (start) g.order(start, mon, F.FIRST_IMPLIES_THEN | F.UNRUNNABLE_FIRST_BLOCKS);
    const promote = g.find(r, 'promote', node);
    if (promote && isPromotedOp) g.order(promote, mon, F.FIRST_IMPLIES_THEN | F.UNRUNNABLE_FIRST_BLOCKS);
  }
}

function groupCreateActions(g: Graph, r: Rsc): void {
  for (const c of r.children) createActions(g, c);
  g.action(r, 'start', null, true, { pseudo: true });
  g.action(r, 'running', null, true, { pseudo: true });
  g.action(r, 'stop', null, true, { pseudo: true });
  g.action(r, 'stopped', null, true, { pseudo: true });
}

function instanceState(r: Rsc): { active: boolean; starting: boolean; stopping: boolean } {
  const st = { active: false, starting: false, stopping: false };
  const visit = (x: Rsc) => {
    if (x.kind !== 'primitive') {
      x.children.forEach(visit);
      return;
    }
    if (x.running.length) st.active = true;
    for (const a of x.actions) {
      if (a.task === 'start' && !a.optional && a.runnable) st.starting = true;
      if (a.task === 'stop' && !a.optional && (a.pseudo || a.runnable)) st.stopping = true;
    }
  };
  visit(r);
  return st;
}

function cloneCreateActions(g: Graph, r: Rsc): void {
  let starting = false;
  let stopping = false;
  let active = false;
  for (const c of r.children) {
    createActions(g, c);
    const s = instanceState(c);
    starting ||= s.starting;
    stopping ||= s.stopping;
    active ||= s.active;
  }
  g.action(r, 'start', null, !starting, { pseudo: true });
  const started = g.action(r, 'running', null, !starting, { pseudo: true });
  if (active || starting) started.runnable = true;
  g.action(r, 'stop', null, !stopping, { pseudo: true });
  g.action(r, 'stopped', null, !stopping, { pseudo: true });
  if (r.promotable) {
    g.action(r, 'promote', null, true, { pseudo: true });
    g.action(r, 'promoted', null, true, { pseudo: true });
    g.action(r, 'demote', null, true, { pseudo: true });
    g.action(r, 'demoted', null, true, { pseudo: true });
  }
}

function createActions(g: Graph, r: Rsc): void {
  if (r.kind === 'primitive') primitiveCreateActions(g, r);
  else if (r.kind === 'group') groupCreateActions(g, r);
  else cloneCreateActions(g, r);
}

// ---------------------------------------------------------------------------
// Probes

function createProbes(g: Graph): void {
  const ws = g.ws;
  for (const node of ws.nodes) {
    if (!node.online || node.unclean || node.shutdown) continue;
    for (const top of ws.resources) probeResource(g, top, node);
  }
}

function probeResource(g: Graph, r: Rsc, node: SNode): void {
  if (r.kind === 'group') {
    for (const c of r.children) probeResource(g, c, node);
    return;
  }
  if (r.kind === 'clone') {
    if (!r.unique) {
      // One probe per node, on the instance running or assigned there, else the first
      if (cloneKnownOn(r).has(node) && r.children[0]?.kind === 'primitive') return;
      const known = (x: Rsc): boolean => x.knownOn.has(node) || x.children.some(known);
      let inst = r.children.find((c) => instanceNode(c) === node || c.running.includes(node));
      // probe_anonymous_clone: otherwise the first instance, even one active
      // elsewhere (its probe here is still needed: this node has no history).
      if (!inst) inst = r.children.find((c) => !c.orphan) ?? r.children[0];
      if (!inst) return;
      if (inst.kind === 'group') {
        for (const m of inst.children) {
          const anyKnown = r.children.some((c) => c.children.some((x) => x.baseId === m.baseId && x.knownOn.has(node)));
          if (!anyKnown) probePrimitive(g, m, node);
        }
      } else if (!r.children.some(known)) probePrimitive(g, inst, node);
      return;
    }
    for (const c of r.children) probeResource(g, c, node);
    return;
  }
  if (r.knownOn.has(node)) return;
  probePrimitive(g, r, node);
}

const knownCache = new WeakMap<Rsc, Set<SNode>>();

/** Nodes where any instance of a clone has history (computed once per clone). */
function cloneKnownOn(clone: Rsc): Set<SNode> {
  let s = knownCache.get(clone);
  if (!s) {
    s = new Set();
    const visit = (x: Rsc) => {
      for (const n of x.knownOn) s!.add(n);
      x.children.forEach(visit);
    };
    visit(clone);
    knownCache.set(clone, s);
  }
  return s;
}

function instanceNode(i: Rsc): SNode | null {
  return i.kind === 'primitive' ? i.assigned : i.children[0]?.assigned ?? null;
}

function probePrimitive(g: Graph, r: Rsc, node: SNode): void {
  if (r.orphan) return;
  if (r.knownOn.has(node)) return;
  if (!g.ws.options.symmetric && !r.allowed.has(node)) return;
  if (r.allowed.get(node) === undefined && !g.ws.options.symmetric) return;
  const probe = g.action(r, 'monitor', node, false);
  probe.isProbe = true;
  if (!r.managed && !node.pending) probe.runnable = true;
  // Probe before any start of the resource; a probe that cannot run on a
  // pending node blocks the starts (of every instance of an anonymous clone)
  const pendingFlags = node.pending ? F.ORDERED | F.UNRUNNABLE_FIRST_BLOCKS : F.ORDERED;
  const clone = r.parent?.kind === 'clone' ? r.parent : r.parent?.parent?.kind === 'clone' ? r.parent.parent : undefined;
  if (node.pending && clone && !clone.unique) {
    const visit = (x: Rsc) => {
      if (x.kind === 'primitive' && x.baseId === r.baseId) for (const st of g.findAll(x, 'start')) if (!st.optional) g.order(probe, st, pendingFlags);
      x.children.forEach(visit);
    };
    visit(clone);
  }
  const start = g.find(r, 'start', r.assigned ?? undefined);
  // (an already running resource keeps running: only new starts wait)
  if (start) g.order(probe, start, start.optional ? F.ORDERED : pendingFlags);
  const stops = g.findAll(r, 'stop');
  for (const s of stops) g.order(probe, s, F.ORDERED);
}

// ---------------------------------------------------------------------------
// Internal orderings

/** rsc_order_first: the "first" actions, creating a nodeless optional one when needed. */
function firstActions(g: Graph, first: Rsc, task: string, then: Rsc, found: Action[]): Action[] {
  if (found.length > 0) return found;
  if (first === then) return [];
  const role = first.kind === 'primitive' ? (first.running.length ? (first.role === 'Stopped' ? 'Started' : first.role) : 'Stopped') : first.role;
  if (role === 'Stopped' && task === 'stop') return [];
  if (role === 'Unpromoted' && task === 'demote') return [];
  return [g.action(first, task, null, true, { pseudo: first.kind !== 'primitive' })];
}

function orderRsc(g: Graph, r1: Rsc, t1: string, r2: Rsc, t2: string, flags: number): void {
  const firsts = g.findAll(r1, t1);
  const thens = g.findAll(r2, t2);
  const firstList = firstActions(g, r1, t1, r2, firsts);
  for (const f of firstList) for (const t of thens) g.order(f, t, flags);
}

function primitiveInternal(g: Graph, r: Rsc): void {
  orderRsc(g, r, 'stop', r, 'start', F.ORDERED | F.FIRST_IMPLIES_THEN | F.INTERMEDIATE_STOP);
  let top = r;
  while (top.parent) top = top.parent;
  if (top.promotable || ROLE_RANK[r.role] > ROLE_RANK.Unpromoted) {
    orderRsc(g, r, 'demote', r, 'stop', F.ORDERED);
    orderRsc(g, r, 'start', r, 'promote', F.UNRUNNABLE_FIRST_BLOCKS);
  }
}

function groupInternal(g: Graph, r: Rsc): void {
  orderRsc(g, r, 'stop', r, 'stopped', F.UNRUNNABLE_FIRST_BLOCKS);
  orderRsc(g, r, 'stopped', r, 'start', F.ORDERED);
  orderRsc(g, r, 'start', r, 'running', F.UNRUNNABLE_FIRST_BLOCKS);
  let prev: Rsc | undefined;
  for (const m of r.children) {
    internal(g, m);
    let down: number = F.THEN_IMPLIES_FIRST_GRAPHED;
    let postDown: number = F.FIRST_IMPLIES_THEN_GRAPHED;
    if (!prev && r.groupOrdered) {
      down |= F.ORDERED;
      postDown = F.FIRST_IMPLIES_THEN;
    }
    orderRsc(g, r, 'stop', m, 'stop', down);
    orderRsc(g, m, 'stop', r, 'stopped', postDown);
    orderRsc(g, m, 'start', r, 'running', F.ORDERED | F.FIRST_IMPLIES_THEN_GRAPHED);
    if (!r.groupOrdered) {
      orderRsc(g, r, 'start', m, 'start', F.FIRST_IMPLIES_THEN | F.UNRUNNABLE_FIRST_BLOCKS | F.THEN_IMPLIES_FIRST_GRAPHED);
    } else if (prev) {
      orderRsc(g, prev, 'start', m, 'start', F.FIRST_IMPLIES_THEN | F.UNRUNNABLE_FIRST_BLOCKS);
      orderRsc(g, m, 'stop', prev, 'stop', F.ORDERED | F.INTERMEDIATE_STOP);
    } else {
      orderRsc(g, r, 'start', m, 'start', F.THEN_IMPLIES_FIRST_GRAPHED);
    }
    prev = m;
  }
  // Partially active ordered groups restart in order: an inactive member
  // starts only after the next active member has stopped
  if (r.groupOrdered) {
    r.children.forEach((m, i) => {
      if (m.running.length > 0) return;
      const next = r.children.slice(i + 1).find((x) => x.running.length > 0);
      if (next) orderRsc(g, next, 'stop', m, 'start', F.ORDERED | F.UNRUNNABLE_FIRST_BLOCKS);
    });
  }
}

function cloneInternal(g: Graph, r: Rsc): void {
  orderRsc(g, r, 'stopped', r, 'start', F.ORDERED);
  orderRsc(g, r, 'start', r, 'running', F.UNRUNNABLE_FIRST_BLOCKS);
  orderRsc(g, r, 'stop', r, 'stopped', F.UNRUNNABLE_FIRST_BLOCKS);
  if (r.promotable) {
    orderRsc(g, r, 'demote', r, 'demoted', F.UNRUNNABLE_FIRST_BLOCKS);
    orderRsc(g, r, 'demoted', r, 'stop', F.ORDERED);
    orderRsc(g, r, 'running', r, 'promote', F.ORDERED);
    orderRsc(g, r, 'promote', r, 'promoted', F.UNRUNNABLE_FIRST_BLOCKS);
    orderRsc(g, r, 'demoted', r, 'promote', F.ORDERED);
  }
  const kids = r.children;
  kids.forEach((inst, i) => {
    internal(g, inst);
    orderRsc(g, r, 'start', inst, 'start', F.UNRUNNABLE_FIRST_BLOCKS | F.THEN_IMPLIES_FIRST_GRAPHED);
    orderRsc(g, inst, inst.kind === 'group' ? 'running' : 'start', r, 'running', F.FIRST_IMPLIES_THEN_GRAPHED);
    orderRsc(g, r, 'stop', inst, 'stop', F.THEN_IMPLIES_FIRST_GRAPHED);
    orderRsc(g, inst, inst.kind === 'group' ? 'stopped' : 'stop', r, 'stopped', F.FIRST_IMPLIES_THEN_GRAPHED);
    if (r.promotable) {
      orderRsc(g, r, 'promote', inst, 'promote', F.UNRUNNABLE_FIRST_BLOCKS | F.THEN_IMPLIES_FIRST_GRAPHED);
      orderRsc(g, inst, 'promote', r, 'promoted', F.FIRST_IMPLIES_THEN_GRAPHED);
      orderRsc(g, r, 'demote', inst, 'demote', F.THEN_IMPLIES_FIRST_GRAPHED);
      orderRsc(g, inst, 'demote', r, 'demoted', F.FIRST_IMPLIES_THEN_GRAPHED);
    }
    if (r.ordered) {
      for (const later of kids.slice(i + 1)) {
        orderRsc(g, inst, 'start', later, 'start', F.ORDERED);
        orderRsc(g, later, 'stop', inst, 'stop', F.ORDERED);
      }
    }
  });
}

function internal(g: Graph, r: Rsc): void {
  if (r.kind === 'primitive') primitiveInternal(g, r);
  else if (r.kind === 'group') groupInternal(g, r);
  else cloneInternal(g, r);
}

// ---------------------------------------------------------------------------
// Order constraints

const INVERSE: Record<string, string> = {
  start: 'stop', stop: 'start', promote: 'demote', demote: 'promote',
  running: 'stopped', stopped: 'running', promoted: 'demoted', demoted: 'promoted',
};

/** When ordering after a collective's start/stop, use its running/stopped pseudo action. */
function firstTaskFor(r: Rsc, task: string): string {
  if (r.kind === 'primitive') return task;
  switch (task) {
    case 'start': return 'running';
    case 'stop': return 'stopped';
    case 'promote': return 'promoted';
    case 'demote': return 'demoted';
  }
  return task;
}

function kindFlags(kind: string, firstTask: string, symmetry: 'asym' | 'sym' | 'inverse'): number {
  if (kind === 'optional') return F.ORDERED;
  if (kind === 'serialize') return F.SERIALIZE;
  let f: number = F.ORDERED;
  if (symmetry === 'asym') f |= F.ASYMMETRIC;
  else if (symmetry === 'sym') {
    f |= F.FIRST_IMPLIES_THEN;
    if (firstTask === 'start' || firstTask === 'promote') f |= F.UNRUNNABLE_FIRST_BLOCKS;
  } else f |= F.THEN_IMPLIES_FIRST;
  return f;
}

function orderKind(ws: WorkingSet, o: OrderConstraint): string {
  if (o.kind !== undefined) {
    const k = o.kind.toLowerCase();
    if (k === 'mandatory' || k === 'optional' || k === 'serialize') return k;
    ws.diagnostics.push({ level: 'error', message: `Constraint ${o.id}: invalid kind "${o.kind}"; using Mandatory` });
    return 'mandatory';
  }
  if (o.score !== undefined) {
    const s = parseScore(o.score);
    if (Number.isNaN(s)) {
      ws.diagnostics.push({ level: 'error', message: `Constraint ${o.id}: invalid score "${o.score}"` });
      return 'mandatory';
    }
    return s === 0 ? 'optional' : s < 0 ? 'optional' : 'mandatory';
  }
  return 'mandatory';
}

function instanceNodeOf(i: Rsc, current: boolean): SNode | undefined {
  const prims = i.kind === 'primitive' ? [i] : i.children;
  for (const p of prims) {
    const n = current ? p.running[0] : p.assigned ?? undefined;
    if (n) return n;
  }
  return undefined;
}

/** Interleaved clones: order each "then" instance after the "first" instance on the same node. */
/**
 * multi_update_interleave_actions: each "then" instance is ordered after the
 * "first" instance on its node; one without such an instance cannot start
 * when the ordering is mandatory (Pacemaker unassigns it). Returns the
 * instance action pairs; `inhibited` says whether an instance was unassigned.
 */
function interleavePairs(g: Graph, il: Interleave, flags: number): { pairs: Array<[Action, Action]>; inhibited: boolean } {
  const { first, firstTask, then, thenTask } = il;
  const current = firstTask === 'stop' || firstTask === 'demote' || firstTask === 'stopped' || firstTask === 'demoted';
  const pairs: Array<[Action, Action]> = [];
  let inhibited = false;
  for (const ti of then.children) {
    const node = instanceNodeOf(ti, current);
    const fi = node ? first.children.find((x) => instanceNodeOf(x, current) === node) : undefined;
    if (!fi) {
      if (!current && flags & (F.UNRUNNABLE_FIRST_BLOCKS | F.FIRST_IMPLIES_THEN)) {
        for (const p of ti.kind === 'primitive' ? [ti] : ti.children) {
          if (p.assigned) {
            p.assigned.numResources--;
            p.assigned = null;
            inhibited = true;
          }
          p.nextRole = 'Stopped';
          for (const a of p.actions) {
            if (a.task === 'stop' && a.optional) {
              a.optional = false;
              inhibited = true;
            } else if (a.task === 'start' && a.runnable) {
              a.runnable = false;
              inhibited = true;
            }
          }
        }
      }
      continue;
    }
    const fa = g.find(fi, firstTaskFor(fi, firstTask));
    const ta = g.find(ti, thenTask);
    if (fa && ta) pairs.push([fa, ta]);
  }
  return { pairs, inhibited };
}

/** The interleaved ordering of two clones: its instance orderings are made while walking. */
function orderInterleaved(g: Graph, first: Rsc, firstTask: string, then: Rsc, thenTask: string, flags: number): void {
  const fa = g.findAll(first, firstTask)[0] ?? g.find(first, firstTaskFor(first, firstTask));
  const ta = g.find(then, thenTask);
  if (!fa || !ta) return;
  if (g.order(fa, ta, flags)) g.ordering(fa, ta)!.interleave = { first, firstTask, then, thenTask };
}

function orderResources(g: Graph, first: Rsc, firstTask: string, then: Rsc, thenTask: string, flags: number, noInterleave = false): void {
  if (first.kind === 'clone' && then.kind === 'clone' && first !== then) {
    const decider = thenTask === 'stop' || thenTask === 'demote' ? first : then;
    // require-all=false and clone-min order through a counting pseudo action, never interleaved
    if (decider.interleave && !noInterleave && first.meta.get('clone-min') === undefined) {
      orderInterleaved(g, first, firstTask, then, thenTask, flags);
      return;
    }
  }
  // A collective's own start (stop...) is ordered: the walk remaps it to its
  // running (stopped...) pseudo action, as Pacemaker does (action_for_ordering)
  const own = first.kind !== 'primitive' ? g.findAll(first, firstTask) : [];
  const ft = own.length > 0 ? firstTask : firstTaskFor(first, firstTask);
  const thens = g.findAll(then, thenTask);
  if (thens.length === 0) return;
  const firsts = own.length > 0 ? own : firstActions(g, first, ft, then, g.findAll(first, ft));
  for (const f of firsts) for (const t of thens) g.order(f, t, flags);
}

function unpackOrders(g: Graph): void {
  const ws = g.ws;
  for (const c of ws.cib.configuration.constraints) {
    if (c.tag !== 'rsc_order') continue;
    const o = c as OrderConstraint;
    const kind = orderKind(ws, o);
    if (o.sets.length > 0) {
      unpackOrderSets(g, o, kind);
      continue;
    }
    const first = o.first ? findConfigured(ws, o.first) : undefined;
    const then = o.then ? findConfigured(ws, o.then) : undefined;
    if (!first || !then) {
      ws.diagnostics.push({ level: 'error', message: `Constraint ${o.id}: resource "${!first ? o.first : o.then}" does not exist; ignoring it` });
      continue;
    }
    const fa = (o.firstAction ?? 'start').toLowerCase();
    const ta = (o.thenAction ?? fa).toLowerCase();
    const symDefault = kind !== 'serialize';
    const sym = o.symmetrical === undefined ? symDefault : ['true', 'yes', '1', 'on'].includes(o.symmetrical.toLowerCase());
    const requireAll = o.requireAll === undefined || ['true', 'yes', '1', 'on'].includes(o.requireAll.toLowerCase());
    const cloneMin = first.kind === 'clone' ? Number.parseInt(first.meta.get('clone-min') ?? '0', 10) || 0 : 0;
    if (kind === 'mandatory' && first.kind === 'clone' && (!requireAll || cloneMin > 0)) {
      // Order "then" after a pseudo action runnable once enough instances are
      const pseudo = g.action(undefined, `clone-one-or-more:${o.id}`, null, true, { pseudo: true });
      pseudo.minRunnable = cloneMin > 0 ? cloneMin : 1;
      pseudo.runnable = false;
      for (const inst of first.children) {
        const ia = g.find(inst, fa);
        if (ia) g.order(ia, pseudo, F.MIN_RUNNABLE | F.FIRST_IMPLIES_THEN_GRAPHED);
      }
      for (const t of g.findAll(then, ta)) g.order(pseudo, t, kindFlags(kind, fa, sym ? 'sym' : 'asym') | F.UNRUNNABLE_FIRST_BLOCKS);
      continue;
    }
    orderResources(g, first, fa, then, ta, kindFlags(kind, fa, sym ? 'sym' : 'asym'), !requireAll);
    if (sym && INVERSE[fa] && INVERSE[ta]) {
      orderResources(g, then, INVERSE[ta]!, first, INVERSE[fa]!, kindFlags(kind, INVERSE[ta]!, 'inverse'), !requireAll);
    }
  }
}

function unpackOrderSets(g: Graph, o: OrderConstraint, kind: string): void {
  const ws = g.ws;
  const sets = o.sets.map((s) => ({
    s,
    rscs: s.resources.map((id) => {
      const r = findConfigured(ws, id);
      if (!r) ws.diagnostics.push({ level: 'error', message: `Constraint ${o.id}: resource "${id}" does not exist; ignoring it` });
      return r;
    }).filter((x): x is Rsc => !!x),
  }));
  const sym = o.symmetrical === undefined ? kind !== 'serialize' : ['true', 'yes', '1'].includes(o.symmetrical.toLowerCase());
  for (const { s, rscs } of sets) {
    const sequential = s.sequential === undefined || ['true', 'yes', '1'].includes(s.sequential.toLowerCase());
    const action = (s.action ?? 'start').toLowerCase();
    const skind = s.kind ? s.kind.toLowerCase() : kind;
    if (!sequential) continue;
    for (let i = 1; i < rscs.length; i++) {
      orderResources(g, rscs[i - 1]!, action, rscs[i]!, action, kindFlags(skind, action, sym ? 'sym' : 'asym'));
      if (sym && INVERSE[action]) orderResources(g, rscs[i]!, INVERSE[action]!, rscs[i - 1]!, INVERSE[action]!, kindFlags(skind, INVERSE[action]!, 'inverse'));
    }
  }
  for (let i = 1; i < sets.length; i++) {
    const a = sets[i - 1]!;
    const b = sets[i]!;
    const fa = (a.s.action ?? 'start').toLowerCase();
    const ta = (b.s.action ?? 'start').toLowerCase();
    const aSeq = a.s.sequential === undefined || ['true', 'yes', '1'].includes(a.s.sequential.toLowerCase());
    const bSeq = b.s.sequential === undefined || ['true', 'yes', '1'].includes(b.s.sequential.toLowerCase());
    const firsts = aSeq ? a.rscs.slice(-1) : a.rscs;
    const thens = bSeq ? b.rscs.slice(0, 1) : b.rscs;
    const aRequireAll = a.s.requireAll === undefined || ['true', 'yes', '1'].includes(a.s.requireAll.toLowerCase());
    if (!aRequireAll && !aSeq) {
      // "one-or-more": the next set needs just one member of this set
      const pseudo = g.action(undefined, `one-or-more:${a.s.id ?? o.id}`, null, true, { pseudo: true });
      pseudo.minRunnable = 1;
      pseudo.runnable = false;
      for (const f of a.rscs) for (const fa1 of g.findAll(f, firstTaskFor(f, fa))) g.order(fa1, pseudo, F.MIN_RUNNABLE | F.FIRST_IMPLIES_THEN_GRAPHED);
      for (const t of thens) for (const ta1 of g.findAll(t, ta)) g.order(pseudo, ta1, kindFlags(kind, fa, sym ? 'sym' : 'asym') | F.UNRUNNABLE_FIRST_BLOCKS);
      continue;
    }
    for (const f of firsts) for (const t of thens) {
      orderResources(g, f, fa, t, ta, kindFlags(kind, fa, sym ? 'sym' : 'asym'));
      if (sym && INVERSE[fa] && INVERSE[ta]) orderResources(g, t, INVERSE[ta]!, f, INVERSE[fa]!, kindFlags(kind, INVERSE[ta]!, 'inverse'));
    }
  }
}

// ---------------------------------------------------------------------------
// Flag propagation

/** Flags of a collective action summarised from its members (clone instances on `node` only, when given). */
function collectiveFlags(g: Graph, a: Action, node?: SNode | null): { optional: boolean; runnable: boolean } {
  const r = a.rsc!;
  // Pacemaker summarises from the members, starting from optional+runnable
  let optional = true;
  let runnable = true;
  const primitiveTask = (task: string) => (task === 'running' ? 'start' : task === 'stopped' ? 'stop' : task === 'promoted' ? 'promote' : task === 'demoted' ? 'demote' : task);
  if (r.kind === 'group') {
    for (const m of r.children) {
      const t = primitiveTask(a.task);
      const ma = g.find(m, t);
      if (ma) {
        const mf = flagsOf(g, ma);
        // Limited to a node (for an ordering with a cloned group), only that node's member action counts
        const onNode = !node || g.find(m, t, node) !== undefined;
        if (optional && !mf.optional && onNode) {
          optional = false;
          if (!node) a.optional = false;
        }
        if (t !== a.task && runnable && !mf.runnable) {
          runnable = false;
          a.runnable = false;
        }
      } else if (t !== 'stop' && t !== 'demote') {
        runnable = false;
      }
    }
    return { optional, runnable };
  }
  // clone
  let anyRunnable = false;
  const children = r.children;
  if (children.length === 0) return { optional, runnable };
  const t = children[0]!.kind === 'primitive' ? primitiveTask(a.task) : a.task;
  for (const inst of children) {
    const ia = g.find(inst, t);
    if (!ia) continue;
    const f = node && inst.kind === 'group' && ia.pseudo ? collectiveFlags(g, ia, node) : flagsOf(g, ia);
    // For orderings, whether the clone action is required depends only on
    // the instances on the other action's node; runnable is cluster-wide
    if (optional && !f.optional && (!node || inst.kind !== 'primitive' || ia.node === node)) optional = false;
    if (f.runnable) anyRunnable = true;
  }
  if (!anyRunnable) {
    runnable = false;
    a.runnable = false;
  }
  return { optional, runnable };
}

function flagsOf(g: Graph, a: Action, node?: SNode | null): { optional: boolean; runnable: boolean } {
  if (!a.rsc || a.rsc.kind === 'primitive' || !a.pseudo) return { optional: a.optional, runnable: a.runnable };
  return collectiveFlags(g, a, a.rsc.kind === 'clone' ? node : undefined);
}

function isPrimitiveAction(a: Action): boolean {
  return !!a.rsc && a.rsc.kind === 'primitive';
}

/** pcmk__update_ordered_actions for one (first, then) pair; returns whether "then" or "first" changed. */
function updateOrdered(first: Action, then: Action, firstFlags: { optional: boolean; runnable: boolean }, type: number, changedSet: Set<Action>): void {
  const before = { to: then.optional, tr: then.runnable, fo: first.optional, fr: first.runnable };
  if (type & F.ASYMMETRIC) {
    if (then.rsc && !firstFlags.runnable) {
      let skip = false;
      if (then.optional) {
        const rr = then.rsc;
        if (rr.role === 'Stopped' && then.task === 'stop') skip = true;
        else if (ROLE_RANK[rr.role] >= ROLE_RANK.Started && then.task === 'start' && rr.running.length === 1 && rr.running[0] === then.node) skip = true;
      }
      if (!skip) {
        clearOptional(then, first);
        clearRunnable(then, first);
      }
    }
  }
  if (type & F.THEN_IMPLIES_FIRST && !then.optional) {
    if (!firstFlags.optional === false && first.optional) clearOptional(first, then);
  }
  // Pacemaker's order (update_action_for_ordering_flags): first-implies-then,
  // the restart handling, then unrunnable-first-blocks; it decides which
  // cause becomes the "due to" reason when several apply
  if (type & F.FIRST_IMPLIES_THEN && !firstFlags.optional) {
    clearOptional(then, first);
  }
  if (type & F.INTERMEDIATE_STOP && isPrimitiveAction(first) && isPrimitiveAction(then)) {
    let why: string | undefined;
    if (!then.optional) why = 'restart';
    if (!then.runnable && then.rsc!.managed && first.rsc === then.rsc) why = 'stop';
    if (why) {
      if (first.runnable) clearOptional(first, then);
      if (!then.optional) clearOptional(first, then);
      if (!first.optional && !first.runnable) clearRunnable(then, first);
    }
  }
  if (type & F.UNRUNNABLE_FIRST_BLOCKS && then.runnable && !firstFlags.runnable) {
    clearRunnable(then, first);
  }
  if (then.optional !== before.to || then.runnable !== before.tr) changedSet.add(then);
  if (first.optional !== before.fo || first.runnable !== before.fr) changedSet.add(first);
}

function applyOrdering(g: Graph, o: Ordering, changed: Set<Action>, onThenChanged?: (a: Action) => void, flagsKnown?: () => void): void {
  if (o.interleave) return; // (its instance orderings apply)
  const { first, then } = o;
  const type = o.flags;
  // A group's start stands for its assigned node in node-limited checks
  const nodeOf = (a: Action): SNode | null => {
    if (a.node) return a.node;
    if (a.rsc?.kind === 'group' && a.task === 'start') return a.rsc.children[0]?.assigned ?? null;
    return null;
  };
  const ff = flagsOf(g, first, nodeOf(then));
  const tf = flagsOf(g, then, nodeOf(first));
  // (what summarising a collective's flags changed does not count as a change)
  flagsKnown?.();
  if (type & F.SAME_NODE && first.node && then.node && first.node !== then.node) return;
  // graphed (printed) flags
  if (type & F.THEN_IMPLIES_FIRST_GRAPHED && !tf.optional && !first.printAlways) {
    first.printAlways = true;
    changed.add(first);
  }
  if (type & F.FIRST_IMPLIES_THEN_GRAPHED && !ff.optional && !then.printAlways) {
    then.printAlways = true;
    changed.add(then);
  }
  if (type & F.MIN_RUNNABLE && then.minRunnable !== undefined) {
    let count = 0;
    for (const b of then.before) if (b.flags & F.MIN_RUNNABLE && flagsOf(g, b.first).runnable) count++;
    const run = count >= then.minRunnable;
    if (run !== then.runnable) {
      then.runnable = run;
      changed.add(then);
    }
  }
  const relevant = type & (F.FIRST_IMPLIES_THEN | F.THEN_IMPLIES_FIRST | F.UNRUNNABLE_FIRST_BLOCKS | F.INTERMEDIATE_STOP | F.ASYMMETRIC);
  if (!relevant) return;
  // "then_implies_first": pcmk__update_ordered_actions (2.1 and 3.0) makes
  // "first" required only when its flags for the ordering (a collective's,
  // summarised from its members) are required and its own are not, so
  // never a primitive's action: a required stop of the "then" side does
  // not make the "first" side stop
  if (type & F.THEN_IMPLIES_FIRST && !tf.optional && first.optional && !ff.optional) {
    const targets = first.rsc && first.rsc.kind !== 'primitive' && first.pseudo ? [first, ...memberActions(g, first)] : [first];
    for (const t of targets) {
      if (t.optional && (t === first || t.runnable)) {
        // (no "due to" reason: Pacemaker records reasons in the "then" direction)
        clearOptional(t, undefined);
        changed.add(t);
      }
    }
  }
  // cl#5155: the stop of an unmanaged (unrunnable) resource blocks the stops ordered after it
  if (type & (F.THEN_IMPLIES_FIRST | F.FIRST_IMPLIES_THEN) && first.rsc && !first.rsc.managed && !first.runnable && first.task === 'stop' && then.runnable && then.task === 'stop') {
    then.runnable = false;
    changed.add(then);
  }
  const thenTargets: Action[] = [then];
  if (then.rsc && then.rsc.kind !== 'primitive' && then.pseudo) {
    for (const ma of memberActions(g, then)) if (then.rsc.kind === 'group' || ma.runnable) thenTargets.push(ma);
  }
  for (const t of thenTargets) {
    const was = flagBits(t);
    updateOrdered(first, t, ff, type & ~F.THEN_IMPLIES_FIRST, changed);
    // pcmk__update_ordered_actions: a changed member or instance action is
    // walked again at once ("X_stop then X_start" for cloned groups)
    if (onThenChanged && t.rsc?.parent && was !== flagBits(t)) {
      onThenChanged(t);
      // pcmk__multi_update_actions: then the changed instance action's own "then" actions
      if (t !== then && then.rsc?.kind === 'clone' && t.rsc.parent === then.rsc) for (const x of [...t.after]) onThenChanged(x.then);
    }
  }
}

/** The members' (group) or instances' (clone) actions matching a collective action's task. */
function memberActions(g: Graph, a: Action): Action[] {
  const r = a.rsc!;
  const out: Action[] = [];
  for (const c of r.children) {
    const ca = g.find(c, a.task);
    if (ca) {
      out.push(ca);
      if (c.kind !== 'primitive' && ca.pseudo) out.push(...memberActions(g, ca));
    }
  }
  return out;
}

const flagBits = (a: Action): number => (a.optional ? 1 : 0) | (a.runnable ? 2 : 0);

function isAncestor(a: Rsc, r: Rsc): boolean {
  for (let p = r.parent; p; p = p.parent) if (p === a) return true;
  return false;
}

/** action_for_ordering: a collective's start, stop, promote, demote -> its running, stopped, promoted, demoted. */
function remappedFirst(g: Graph, a: Action): Action {
  const r = a.rsc;
  if (!r || r.kind === 'primitive' || a.interval !== 0) return a;
  const task = firstTaskFor(r, a.task);
  if (task === a.task) return a;
  return g.find(r, task) ?? a;
}

/**
 * pcmk__update_action_for_orderings, depth first as Pacemaker does it: every
 * action (newest first) is updated from its "first" actions (newest ordering
 * first); a "first" that changes has its own "then" actions and itself walked
 * again at once, and a "then" that changes is walked again, then its own
 * "then" actions. The first cause to reach an action gives its reason.
 */
function walkOrderings(g: Graph): void {
  const newestFirst = (x: { seq: number }, y: { seq: number }) => y.seq - x.seq;
  for (const a of g.actions) {
    a.before.sort(newestFirst);
    a.after.sort(newestFirst);
  }
  g.orderPhase = ORDER_PHASE.walk;
  // Bounded: past it, propagate() finishes the fixed point
  let budget = 200 * (g.actions.length + 100);
  const update = (then: Action, depth: number): void => {
    if (budget-- <= 0 || depth > 2000) return;
    let thenChanged = false;
    const last = flagBits(then);
    for (const o of [...then.before]) {
      if (o.flags === 0) continue;
      const first = o.first;
      // action_for_ordering: after a collective's start, its running...
      if (first.rsc && then.rsc && first.rsc !== then.rsc && !isAncestor(first.rsc, then.rsc)) {
        const mapped = remappedFirst(g, first);
        if (mapped !== first) {
          if (g.order(mapped, then, o.flags)) {
            if (o.interleave) g.ordering(mapped, then)!.interleave = o.interleave;
            thenChanged = true;
            o.flags = 0;
          }
          continue;
        }
      }
      if (o.interleave) {
        // Each visit orders the instances and updates them pair by pair
        const { pairs, inhibited } = interleavePairs(g, o.interleave, o.flags);
        if (inhibited) thenChanged = true;
        let made = false;
        for (const [fa, ta] of pairs) {
          if (g.order(fa, ta, o.flags)) made = true;
          const io = g.ordering(fa, ta);
          if (io) applyOrdering(g, io, new Set(), (a) => update(a, depth + 1));
        }
        if (made) {
          thenChanged = true;
          for (const x of [...first.after]) update(x.then, depth + 1);
          update(first, depth + 1);
        }
        continue;
      }
      const changed = new Set<Action>();
      // (only then_implies_first changes a collective first's members)
      const members = o.flags & F.THEN_IMPLIES_FIRST && first.rsc && first.rsc.kind !== 'primitive' && first.pseudo ? memberActions(g, first) : [];
      let f0 = flagBits(first);
      let t0 = flagBits(then);
      let m0 = members.map(flagBits);
      const known = () => {
        f0 = flagBits(first);
        t0 = flagBits(then);
        m0 = members.map(flagBits);
      };
      applyOrdering(g, o, changed, (a) => update(a, depth + 1), known);
      if (flagBits(then) !== t0) thenChanged = true;
      for (const a of changed) if (a !== first && a !== then && !members.includes(a)) thenChanged = true;
      if (flagBits(first) !== f0 || members.some((a, i) => flagBits(a) !== m0[i])) {
        for (const x of [...first.after]) update(x.then, depth + 1);
        update(first, depth + 1);
      }
    }
    if (then.minRunnable !== undefined) thenChanged = flagBits(then) !== last;
    if (thenChanged) {
      update(then, depth + 1);
      for (const x of [...then.after]) update(x.then, depth + 1);
    }
  };
  for (const a of [...g.actions].sort(newestFirst)) update(a, 0);
  // (past the bound, the interleaved instance orderings not yet made)
  for (const a of [...g.actions]) {
    for (const o of [...a.before]) {
      if (!o.interleave || o.flags === 0) continue;
      for (const [fa, ta] of interleavePairs(g, o.interleave, o.flags).pairs) g.order(fa, ta, o.flags);
    }
  }
}

function propagate(g: Graph): void {
  // Worklist over orderings: when an action's flags change, revisit the
  // orderings it takes part in (Pacemaker's pcmk__update_action_for_orderings).
  const queue: Ordering[] = [];
  const queued = new Set<Ordering>();
  const push = (o: Ordering) => {
    if (!queued.has(o)) {
      queued.add(o);
      queue.push(o);
    }
  };
  for (const a of g.actions) for (const o of a.before) push(o);
  const changed = new Set<Action>();
  let steps = 0;
  const limit = 50 * (queue.length + 10);
  for (let i = 0; i < queue.length && steps < limit; i++, steps++) {
    const o = queue[i]!;
    queued.delete(o);
    changed.clear();
    applyOrdering(g, o, changed);
    for (const a of changed) {
      for (const x of a.after) push(x);
      for (const x of a.before) push(x);
      // Collective flags depend on members: revisit the parents' orderings too
      const parent = a.rsc?.parent;
      if (parent) {
        for (const pa of parent.actions) {
          for (const x of pa.after) push(x);
          for (const x of pa.before) push(x);
        }
      }
    }
    if (i > 1_000_000 && i > queue.length / 2) {
      queue.splice(0, i + 1);
      i = -1;
    }
  }
}

// ---------------------------------------------------------------------------
// Transition summary (LogActions)

export interface SummaryLine {
  change: string;
  rsc: Rsc;
  origin?: SNode;
  destination?: SNode;
  action: Action;
  source: Action;
}

function logActions(g: Graph, r: Rsc, out: SummaryLine[]): void {
  if (r.kind !== 'primitive') {
    for (const c of r.children) logActions(g, c, out);
    return;
  }
  const next = r.assigned ?? undefined;
  let current: SNode | undefined;
  let role = r.role;
  if (r.running.length) {
    current = r.running[0];
    if (role === 'Stopped') role = 'Started';
  }
  if (!current && r.orphan) return;
  if (!r.managed || (!current && !next)) return;
  const moving = !!current && !!next && current !== next;
  // pe__resource_actions(rsc, next, ...): with no next node, any node's
  // start (find_actions prepends: the newest)
  const startAll = next ? g.findAll(r, 'start').filter((a) => a.node === next) : g.findAll(r, 'start').reverse();
  const start = startAll[0];
  const startNode = !start || !start.runnable ? undefined : current;
  let stop = startNode ? g.find(r, 'stop', startNode) : g.findAll(r, 'stop')[0];
  if (!startNode && !stop) stop = undefined;
  if (!stop && r.stopUnexpected) stop = g.findAll(r, 'stop')[0];
  const promote = next ? g.find(r, 'promote', next) : undefined;
  const demote = g.findAll(r, 'demote').find((a) => !next || a.node === next || true);
  const nextRole = r.nextRole ?? 'Stopped';
  const item = (change: string, origin: SNode | undefined, dest: SNode | undefined, action: Action, source?: Action) => {
    out.push({ change, rsc: r, origin, destination: dest, action, source: source ?? action });
  };
  if (role === nextRole || (role === 'Started' && nextRole === 'Unpromoted') || (role === 'Unpromoted' && nextRole === 'Started')) {
    if (!next) return;
    if (!start || start.optional) {
      if (demote && promote && !demote.optional && !promote.optional) item('Re-promote', current, next, promote, demote);
      else {
        const reload = g.find(r, 'reload-agent', next);
        if (reload && !reload.optional) item('Reload', current, next, reload);
      }
      return;
    }
    if (!start.runnable) {
      const src = stop && stop.reason ? stop : start;
      if (stop) item('Stop', current, undefined, stop, src);
      else if (current) item('Stop', current, undefined, start, src);
      return;
    }
    if (moving && current) {
      item(r.failed ? 'Recover' : 'Move', current, next, stop ?? start);
    } else if (r.failed) {
      item('Recover', current, next, stop ?? start);
    } else {
      item('Restart', current, next, start);
    }
    return;
  }
  if (stop && (nextRole === 'Stopped' || (start && !start.runnable))) {
    for (const node of r.running) {
      const stopOp = g.find(r, 'stop', node);
      const src = stopOp && stopOp.reason ? stopOp : start ?? stopOp!;
      if (stopOp) item('Stop', node, undefined, stopOp, src);
    }
    return;
  }
  if (stop && r.failed && r.stopIfFailed) {
    item('Recover', current, next, stop, start);
  } else if (moving) {
    item('Move', current, next, stop ?? start!);
  } else if (start && !start.optional) {
    if (promote && nextRole === 'Promoted') item('Promote', current, next, promote);
    else item('Start', current, next, start);
  } else if (promote && !promote.optional) {
    item('Promote', current, next, promote);
  } else if (demote && !demote.optional) {
    item(nextRole === 'Stopped' ? 'Stop' : 'Demote', current, next, demote);
  }
}

export function formatSummary(lines: SummaryLine[]): string[] {
  let rscWidth = 5;
  let detailWidth = 5;
  const out: string[] = [];
  for (const l of lines) {
    const r = l.rsc;
    if (r.id.length > rscWidth) rscWidth = r.id.length + 2;
    const needRole = ROLE_RANK[r.role === 'Stopped' && r.running.length ? 'Started' : r.role] > ROLE_RANK.Started || ROLE_RANK[r.nextRole ?? 'Stopped'] > ROLE_RANK.Unpromoted;
    const role = r.running.length && r.role === 'Stopped' ? 'Started' : r.role;
    const nextRole = r.nextRole ?? 'Stopped';
    const sameHost = !!l.origin && l.origin === l.destination;
    const sameRole = role === nextRole;
    const o = l.origin?.name;
    const d = l.destination?.name;
    const rn = (x: Role) => (x === 'Started' && needRole ? 'Unpromoted' : x);
    let details: string;
    if (needRole && !o) details = `${rn(role)} -> ${rn(nextRole)} ${d}`;
    else if (!o) details = `${d}`;
    else if (needRole && !d) details = `${rn(role)} ${o}`;
    else if (!d) details = `${o}`;
    else if (needRole && sameRole && sameHost) details = `${rn(role)} ${o}`;
    else if (sameRole && sameHost) details = `${o}`;
    else if (needRole && sameRole) details = `${o} -> ${d} ${rn(role)}`;
    else if (sameRole) details = `${o} -> ${d}`;
    else if (sameHost) details = `${rn(role)} -> ${rn(nextRole)} ${o}`;
    else details = `${rn(role)} ${o} -> ${rn(nextRole)} ${d}`;
    if (details.length > detailWidth) detailWidth = details.length;
    let reason = '';
    const src = l.source;
    if (src.reason !== undefined && !l.action.runnable) reason = `due to ${src.reason} (blocked)`;
    else if (src.reason !== undefined) reason = `due to ${src.reason}`;
    else if (!l.action.runnable) reason = 'blocked';
    out.push(`  * ${l.change.padEnd(8)}   ${r.id.padEnd(rscWidth)}   ( ${details.padStart(detailWidth)} )${reason ? '  ' + reason : ''}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Entry point

export interface GraphResult {
  graph: Graph;
  summary: SummaryLine[];
  fences: Action[];
}

export function buildGraph(ws: WorkingSet): GraphResult {
  const g = new Graph(ws);
  g.actionPhase = ACTION_PHASE.config;
  checkDefinitions(g);
  g.actionPhase = ACTION_PHASE.create;
  g.orderPhase = ORDER_PHASE.create;
  for (const r of ws.resources) createActions(g, r);
  g.actionPhase = ACTION_PHASE.probes;
  g.orderPhase = ORDER_PHASE.probes;
  createProbes(g);
  // pcmk__apply_orderings: the configured orderings first (they may make a
  // "first" action, which the internal ones then order too), then the internal ones
  g.actionPhase = ACTION_PHASE.apply;
  g.orderPhase = ORDER_PHASE.cib;
  unpackOrders(g);
  g.orderPhase = ORDER_PHASE.internal;
  for (const r of ws.resources) internal(g, r);
  // Failure-timeout expiry: clear the fail count (Pacemaker: while unpacking the status)
  g.actionPhase = ACTION_PHASE.expired;
  for (const e of ws.expiredFailures) {
    const a = g.action(e.rsc, 'clear_failcount', e.node, false);
    a.cluster = true;
  }
  g.actionPhase = ACTION_PHASE.fencing;
  g.orderPhase = ORDER_PHASE.fencing;
  const fences = scheduleFencing(g);
  // One-or-more pseudo actions start from the instances' initial runnability
  for (const a of g.actions) {
    if (a.minRunnable === undefined) continue;
    let count = 0;
    for (const b of a.before) if (b.flags & F.MIN_RUNNABLE && flagsOf(g, b.first).runnable) count++;
    a.runnable = count >= a.minRunnable;
  }
  walkOrderings(g);
  propagate(g);
  // A required stop or demote cancels a reload (pcmk__ar_then_cancels_first)
  for (const a of g.actions) {
    if (a.task !== 'reload-agent' || !a.rsc) continue;
    if (a.rsc.actions.some((b) => (b.task === 'stop' || b.task === 'demote') && !b.optional)) a.optional = true;
  }
  const summary: SummaryLine[] = [];
  for (const r of ws.resources) logActions(g, r, summary);
  return { graph: g, summary, fences };
}

/**
 * pcmk__handle_rsc_config_changes: a resource whose definition changed since
 * it was started (its recorded op-digest differs from the current one) is
 * restarted, or reloaded when its agent supports reload (the history records
 * a restart digest) and only reloadable parameters changed.
 */
function checkDefinitions(g: Graph): void {
  const ws = g.ws;
  // A changed agent: stop the old one (pcmk__schedule_cleanup), which restarts it
  for (const { rsc, node } of ws.agentChanged) {
    if (!node.online || rsc.assigned !== node) continue;
    g.action(rsc, 'stop', node, false);
  }
  if (ws.digestChecks.length === 0) return;
  const groups = new Map<string, Group>();
  const addGroup = (x: { tag: string }) => {
    if (x.tag === 'group') groups.set((x as Group).id, x as Group);
  };
  for (const t of ws.cib.configuration.resources) {
    addGroup(t);
    if ('child' in t && t.child) addGroup(t.child);
  }
  const done = new Set<string>();
  for (const { rsc, node, op } of ws.digestChecks) {
    // A resource leaving the node starts afresh elsewhere with its new definition
    if (!node.online || rsc.orphan || !rsc.prim || rsc.assigned !== node) continue;
    let result = compareDigest(rsc, node, op, ws.now, groups);
    if (result === 'match') continue;
    const key = `${rsc.id}\u0000${node.id}\u0000${result}`;
    if (done.has(key)) continue;
    done.add(key);
    if (result === 'reload') {
      if (!rsc.managed || rsc.failed) continue;
      if (rsc.startPending) {
        // A start is pending: restart instead (a required stop, no reason)
        g.action(rsc, 'stop', node, false);
        continue;
      } else {
        g.action(rsc, 'reload-agent', node, false);
        continue;
      }
    }
    const start = g.action(rsc, 'start', node, false);
    setReason(start, 'resource definition change', true);
  }
}

/** Fence unclean nodes that can be fenced; their resources' stops become implied (pseudo). */
function scheduleFencing(g: Graph): Action[] {
  const ws = g.ws;
  const o = ws.options;
  const out: Action[] = [];
  for (const node of ws.nodes) {
    if (!node.unclean) continue;
    const can = o.fencingEnabled && o.haveFencing && (o.haveQuorum || o.noQuorumPolicy === 'ignore' || node.online);
    if (!can) continue;
    const f = g.action(undefined, 'stonith', node, false);
    f.fence = true;
    f.runnable = true;
    f.reason = node.fenceReason ?? 'node is unclean';
    out.push(f);
    for (const a of g.actions) {
      if (a.node !== node || !a.rsc) continue;
      if (a.task === 'stop' || a.task === 'demote') {
        a.pseudo = true;
        a.runnable = true;
        g.order(f, a, F.ORDERED | F.FIRST_IMPLIES_THEN);
      } else if (a.task !== 'stonith') a.runnable = false;
    }
  }
  return out;
}

/** Actions to execute, in an order consistent with the graph's orderings. */
export function executableActions(g: Graph): Action[] {
  const inGraph = (a: Action) => a.runnable && (!a.optional || (a.pseudo && a.printAlways));
  const list = g.actions.filter(inGraph);
  const set = new Set(list);
  const indeg = new Map<Action, number>();
  for (const a of list) indeg.set(a, 0);
  const edge = (o: Ordering) => set.has(o.then) && o.flags !== 0 && !o.interleave;
  for (const a of list) for (const o of a.after) if (edge(o)) indeg.set(o.then, (indeg.get(o.then) ?? 0) + 1);
  const heap = new MinHeap<Action>((x, y) => x.id - y.id);
  for (const a of list) if (indeg.get(a) === 0) heap.push(a);
  const out: Action[] = [];
  const done = new Set<Action>();
  while (heap.size > 0) {
    const a = heap.pop()!;
    out.push(a);
    done.add(a);
    for (const o of a.after) {
      if (!edge(o)) continue;
      const d = (indeg.get(o.then) ?? 0) - 1;
      indeg.set(o.then, d);
      if (d === 0) heap.push(o.then);
    }
  }
  if (out.length < list.length) {
    const cyc = list.filter((a) => !done.has(a));
    g.ws.diagnostics.push({ level: 'error', message: `Ordering cycle among: ${cyc.slice(0, 5).map((a) => g.key(a.rsc, a.task, a.interval)).join(', ')}` });
    out.push(...cyc);
  }
  return out;
}

