/**
 * Placement: constraints -> node scores -> assignment of every resource
 * instance to a node, after Pacemaker's pcmk_sched_{location,colocation,
 * primitive,group,clone,instances}.c.
 */
import type { ColocationConstraint, LocationConstraint } from '../cib/model.js';
import { INFINITY, addScores, parseScore, formatScore } from '../cib/score.js';
import { evalRule } from './rules.js';
import type { Coloc, Rsc, SNode } from './types.js';
import { ROLE_RANK } from './types.js';
import { addAllowed, failCountFor, parseRole, type WorkingSet } from './unpack.js';

export function nodeAvailable(n: SNode, score?: number): boolean {
  if (!n.online || n.shutdown || n.unclean || n.standby || n.maintenance) return false;
  if (score !== undefined && score < 0) return false;
  return true;
}

const KIND_RANK = { primitive: 0, group: 1, clone: 2 } as const;

export interface Assigner {
  ws: WorkingSet;
  scores: string[];
  showScores: boolean;
  /** Locations with a role (Promoted/Unpromoted): they feed promotion scores, not placement. Per run, so runs never share state. */
  roleLocations: Array<{ rsc: Rsc; loc: LocationConstraint }>;
  /** Location rules with role=Promoted. */
  promotedRuleLocations: Array<{ rsc: Rsc; rule: import('../cib/model.js').RuleNode; score: number }>;
  /** Follow Pacemaker 2.1's placement (see ScheduleOptions.compat) rather than 3.0's. */
  v21: boolean;
  /** 2.1: groups whose colocations have been handed to their members (expand_group_colocations). */
  expanded: WeakSet<Rsc>;
  /** 2.1: a clone's instances in the order they were assigned (2.1 keeps its children sorted so). */
  instanceOrder: WeakMap<Rsc, Rsc[]>;
}

function allResources(ws: WorkingSet): Rsc[] {
  const out: Rsc[] = [];
  const visit = (r: Rsc) => {
    out.push(r);
    r.children.forEach(visit);
  };
  ws.resources.forEach(visit);
  return out;
}

/** Find a configured resource by id (top-level, group member, clone). */
export function findConfigured(ws: WorkingSet, id: string): Rsc | undefined {
  const r = ws.byId.get(id);
  if (r && r.instance === undefined) return r;
  return undefined;
}

// ---------------------------------------------------------------------------
// Scores from locations, stickiness and failures

function setAllowedDefault(ws: WorkingSet): void {
  if (!ws.options.symmetric) return;
  for (const r of allResources(ws)) for (const n of ws.nodes) if (!r.allowed.has(n)) r.allowed.set(n, 0);
}

/** rsc->cmds->apply_location: groups give the first member the scores and later members 0. */
function applyLocation(r: Rsc, node: SNode, score: number, reset = false): void {
  const s = reset ? 0 : score;
  r.allowed.set(node, addScores(r.allowed.get(node) ?? 0, s));
  if (r.kind === 'group') {
    let first = true;
    for (const c of r.children) {
      applyLocation(c, node, s, !first && r.groupColocated ? true : reset);
      first = false;
    }
  } else if (r.kind === 'clone') {
    for (const c of r.children) applyLocation(c, node, s, reset);
  }
}

function unpackLocations(A: Assigner): void {
  const ws = A.ws;
  for (const c of ws.cib.configuration.constraints) {
    if (c.tag !== 'rsc_location') continue;
    const loc = c as LocationConstraint;
    const ids: string[] = [];
    if (loc.rsc) ids.push(loc.rsc);
    for (const s of loc.sets) ids.push(...s.resources);
    if (ids.length === 0 && loc.rscPattern) {
      const re = new RegExp(loc.rscPattern);
      for (const r of ws.resources) if (re.test(r.id)) ids.push(r.id);
    }
    for (const id of ids) {
      const r = findConfigured(ws, id);
      if (!r) {
        ws.diagnostics.push({ level: 'error', message: `Constraint ${loc.id}: resource "${id}" does not exist; ignoring it` });
        continue;
      }
      const role = parseRole(loc.role);
      if (role === 'Promoted' || role === 'Unpromoted') {
        // Role-specific locations apply to promotion scores (tier 2).
        A.roleLocations.push({ rsc: r, loc });
        continue;
      }
      if (loc.node !== undefined) {
        const node = ws.nodeByName.get(loc.node);
        const score = parseScore(loc.score);
        if (Number.isNaN(score)) {
          ws.diagnostics.push({ level: 'error', message: `Constraint ${loc.id}: invalid score "${loc.score}"; ignoring it` });
          continue;
        }
        if (!node) continue;
        applyLocation(r, node, score);
      }
      for (const rule of loc.rules) {
        const scoreText = rule.attrs['score'];
        const scoreAttr = rule.attrs['score-attribute'];
        const rrole = parseRole(rule.attrs['role']);
        if (rrole === 'Promoted') {
          const sc = scoreText !== undefined ? parseScore(scoreText) : 0;
          if (!Number.isNaN(sc)) A.promotedRuleLocations.push({ rsc: r, rule, score: sc });
          continue;
        }
        if (rrole === 'Unpromoted') continue;
        let score = scoreText !== undefined ? parseScore(scoreText) : 0;
        if (Number.isNaN(score)) {
          ws.diagnostics.push({ level: 'error', message: `Constraint ${loc.id}: rule ${rule.attrs['id'] ?? ''} has invalid score "${scoreText}"` });
          continue;
        }
        for (const node of ws.nodes) {
          if (!evalRule(rule, { node: node.attrs, now: ws.now })) continue;
          if (scoreAttr !== undefined) {
            score = parseScore(node.attrs.get(scoreAttr), 0);
            if (Number.isNaN(score)) score = 0;
          }
          applyLocation(r, node, score);
        }
      }
    }
  }
}

function applyStickiness(ws: WorkingSet): void {
  const visit = (r: Rsc) => {
    if (r.children.length) {
      r.children.forEach(visit);
      return;
    }
    if (!r.managed || r.stickiness < 1 || r.running.length !== 1) return;
    const node = r.running[0]!;
    if (!ws.options.symmetric && !r.allowed.has(node)) return;
    r.allowed.set(node, addScores(r.allowed.get(node) ?? 0, r.stickiness));
  };
  ws.resources.forEach(visit);
}

function applyFailureLimits(ws: WorkingSet): void {
  for (const node of ws.nodes) {
    if ((ws.failCounts.get(node)?.size ?? 0) === 0) continue;
    const visit = (r: Rsc) => {
      if (r.children.length) {
        r.children.forEach(visit);
        return;
      }
      if (r.migrationThreshold === 0 || r.failureIgnored) return;
      let fc = failCountFor(ws, r, node).count;
      // failure-timeout never expires failures of an operation with on-fail=block
      const blocks = r.operations.some((o) => (o.onFail ?? '').toLowerCase() === 'block');
      if (fc > 0 && r.failureTimeoutMs > 0 && !blocks) {
        const last = failCountFor(ws, r, node).lastFailure;
        if (last > 0 && last + r.failureTimeoutMs / 1000 <= ws.now) fc = 0;
      }
      if (fc <= 0) return;
      if (r.migrationThreshold - fc <= 0) {
        let ban = r;
        if (!r.unique) {
          while (ban.parent) ban = ban.parent;
        }
        ws.diagnostics.push({ level: 'warning', message: `${ban.id} cannot run on ${node.name} due to reaching migration threshold (clean up resource to allow again)` });
        addAllowed(ban, node, -INFINITY);
      }
    };
    ws.resources.forEach(visit);
  }
}

// ---------------------------------------------------------------------------
// Colocations

function cmpColocPriority(a: Rsc, b: Rsc): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (KIND_RANK[a.kind] !== KIND_RANK[b.kind]) return KIND_RANK[b.kind] - KIND_RANK[a.kind];
  if (a.kind === 'clone' && a.promotable !== b.promotable) return a.promotable ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function addColoc(c: Coloc): void {
  insertSorted(c.dependent.thisWith, c, (x) => x.primary);
  insertSorted(c.primary.withThis, c, (x) => x.dependent);
}

/** g_list_insert_sorted: before the first element that does not sort before it, so a later colocation with the same resource comes first. */
function insertSorted(list: Coloc[], c: Coloc, key: (c: Coloc) => Rsc): void {
  let i = list.length;
  while (i > 0 && cmpColocPriority(key(list[i - 1]!), key(c)) >= 0) i--;
  list.splice(i, 0, c);
}

function unpackColocations(ws: WorkingSet): void {
  for (const c of ws.cib.configuration.constraints) {
    if (c.tag !== 'rsc_colocation') continue;
    const col = c as ColocationConstraint;
    const score = parseScore(col.score);
    if (Number.isNaN(score)) {
      ws.diagnostics.push({ level: 'error', message: `Constraint ${col.id}: invalid score "${col.score}"; ignoring it` });
      continue;
    }
    if (col.sets.length > 0) {
      unpackColocationSets(ws, col, score);
      continue;
    }
    if (score === 0) continue;
    const dep = col.rsc ? findConfigured(ws, col.rsc) : undefined;
    const pri = col.withRsc ? findConfigured(ws, col.withRsc) : undefined;
    if (!dep || !pri) {
      ws.diagnostics.push({ level: 'error', message: `Constraint ${col.id}: resource "${!dep ? col.rsc : col.withRsc}" does not exist; ignoring it` });
      continue;
    }
    newColoc(ws, col.id, dep, pri, score, col.rscRole, col.withRscRole, col.influence);
  }
}

function newColoc(_ws: WorkingSet, id: string, dep: Rsc, pri: Rsc, score: number, depRole?: string, priRole?: string, influence?: string): void {
  const dr = parseRole(depRole);
  const pr = parseRole(priRole);
  addColoc({
    id, dependent: dep, primary: pri, score,
    dependentRole: dr === 'Started' ? undefined : dr,
    primaryRole: pr === 'Started' ? undefined : pr,
    influence: influence === undefined ? dep.critical : ['true', 'yes', '1', 'on'].includes(influence.toLowerCase()),
    explicit: true,
  });
}

function unpackColocationSets(ws: WorkingSet, col: ColocationConstraint, score: number): void {
  // Each set: sequential (default true) members are colocated in chain (each with the previous).
  const setRscs: Rsc[][] = [];
  for (const s of col.sets) {
    const l: Rsc[] = [];
    for (const id of s.resources) {
      const r = findConfigured(ws, id);
      if (!r) ws.diagnostics.push({ level: 'error', message: `Constraint ${col.id}: resource "${id}" does not exist; ignoring it` });
      else l.push(r);
    }
    setRscs.push(l);
    const sscore = s.score !== undefined ? parseScore(s.score) : score;
    const sequential = s.sequential === undefined || ['true', 'yes', '1'].includes(s.sequential);
    if (sequential && sscore > 0) {
      for (let i = 1; i < l.length; i++) newColoc(ws, col.id, l[i]!, l[i - 1]!, sscore, s.role, s.role, col.influence);
    } else if (sequential && sscore < 0) {
      // Anti-colocate each member with every earlier one, so no two share a node
      for (let i = 1; i < l.length; i++) for (let j = 0; j < i; j++) newColoc(ws, col.id, l[i]!, l[j]!, sscore, s.role, s.role, col.influence);
    }
  }
  // Between sets: the first of each later set with the last of the earlier set.
  for (let i = 1; i < setRscs.length; i++) {
    const prev = setRscs[i - 1]!;
    const cur = setRscs[i]!;
    const last = prev[prev.length - 1];
    const first = cur[0];
    if (!last || !first || score === 0) continue;
    for (const r of cur) {
      newColoc(ws, col.id, r, last, score, col.sets[i]?.role, col.sets[i - 1]?.role, col.influence);
      if (col.sets[i]?.sequential === undefined || ['true', 'yes', '1'].includes(col.sets[i]!.sequential!)) break;
    }
  }
}

function groupInternalColocations(ws: WorkingSet): void {
  const visit = (r: Rsc) => {
    r.children.forEach(visit);
    if (r.kind === 'group' && r.groupColocated) {
      for (let i = 1; i < r.children.length; i++) {
        const m = r.children[i]!;
        addColoc({ id: '#group-members', dependent: m, primary: r.children[i - 1]!, score: INFINITY, influence: m.critical, explicit: false });
      }
    }
  };
  ws.resources.forEach(visit);
}

/** Colocations where rsc is the dependent, as Pacemaker's this_with_colocations gathers them. */
function thisWithList(r: Rsc): Coloc[] {
  const list: Coloc[] = [...r.thisWith];
  const p = r.parent;
  if (p) {
    if (p.kind === 'group') {
      if (p.children[0] === r) {
        addAll(list, p.thisWith);
        if (p.parent) addAll(list, p.parent.thisWith.filter((c) => c.explicit));
      } else {
        // If an earlier member is unmanaged, the group's mandatory colocations apply directly.
        for (const m of p.children) {
          if (m === r) break;
          if (!m.managed) {
            addAll(list, p.thisWith.filter((c) => c.score >= INFINITY));
            break;
          }
        }
      }
    } else if (p.kind === 'clone') {
      // Role-specific colocations decide promotion, not instance placement
      addAll(list, p.thisWith.filter((c) => c.explicit && !(p.promotable && c.dependentRole !== undefined)));
    }
  }
  return list;
}

function withThisList(r: Rsc): Coloc[] {
  const list: Coloc[] = [...r.withThis];
  const p = r.parent;
  if (p) {
    if (p.kind === 'group') {
      if (p.children[0] === r) {
        addAll(list, p.withThis);
        if (p.parent) addAll(list, p.parent.withThis.filter((c) => c.explicit));
      }
    } else if (p.kind === 'clone') {
      addAll(list, p.withThis.filter((c) => c.explicit && !(p.promotable && c.primaryRole !== undefined)));
    }
  }
  return list;
}

function addAll(list: Coloc[], more: Coloc[]): void {
  for (const c of more) if (!list.includes(c)) list.push(c);
}

function colocAttrValue(n: SNode): string {
  return n.name;
}

function currentNode(r: Rsc): SNode | undefined {
  if (r.kind === 'primitive') return r.running[0];
  for (const c of r.children) {
    const n = currentNode(c);
    if (n) return n;
  }
  return undefined;
}

function anyAvailable(t: Map<SNode, number>): boolean {
  for (const [n, s] of t) if (s >= 0 && nodeAvailable(n)) return true;
  return false;
}

/** pcmk__colocation_affects: whether a colocation still matters for the dependent's location. */
function colocAffectsLocation(dep: Rsc, pri: Rsc, c: Coloc): boolean {
  if (pri.unassigned) return false;
  if (!dep.unassigned) return false;
  if (c.dependentRole !== undefined && c.dependentRole !== (dep.nextRole ?? 'Started')) return false;
  if (c.primaryRole !== undefined && c.primaryRole !== (pri.nextRole ?? 'Started')) {
    // Promoted/Unpromoted roles of clone primaries are decided per instance.
    if (!(pri.kind === 'clone' && pri.promotable)) return false;
  }
  return true;
}

/** pcmk__apply_coloc_to_scores for a primitive dependent and an assigned primitive primary. */
function applyColocToScores(dep: Rsc, pri: Rsc, c: Coloc): void {
  const pnode = pri.assigned;
  if (!pnode && c.score < 0) return;
  const work = new Map(dep.allowed);
  for (const [n, s] of work) {
    if (!pnode) {
      work.set(n, addScores(-c.score, s));
      continue;
    }
    if (colocAttrValue(n) === colocAttrValue(pnode)) {
      if (c.score < INFINITY) work.set(n, addScores(c.score, s));
      continue;
    }
    if (c.score >= INFINITY) work.set(n, -INFINITY);
  }
  if (c.score <= -INFINITY || c.score >= INFINITY || anyAvailable(work)) dep.allowed = work;
}

/** The dependent applies a colocation with a (possibly collective) primary. */
function applyColocScore(A: Assigner, dep: Rsc, pri: Rsc, c: Coloc): void {
  if (pri.kind === 'primitive') {
    if (!colocAffectsLocation(dep, pri, c)) return;
    applyColocToScores(dep, pri, c);
  } else if (pri.kind === 'group') {
    if (pri.children.length === 0) return;
    let member: Rsc;
    if (pri.groupColocated) {
      member = c.score >= INFINITY || c.primaryRole !== undefined ? pri.children[pri.children.length - 1]! : pri.children[0]!;
      applyColocScore(A, dep, member, c);
    } else {
      if (c.score >= INFINITY) return;
      for (const m of pri.children) applyColocScore(A, dep, m, c);
    }
  } else {
    // Clone primary
    if (pri.unassigned || !dep.unassigned) return;
    const depClone = dep.parent?.kind === 'clone' ? dep.parent : dep.parent?.parent?.kind === 'clone' ? dep.parent.parent : undefined;
    if (A.v21 && depClone && depClone !== pri && depClone.interleave && dep.kind === 'primitive') {
      // 2.1: pair the instance with one primary instance (find_compatible_child)
      const pair = compatibleInstance21(A, dep, pri);
      if (pair) applyColocScore(A, dep, pair, c);
      else if (c.score >= INFINITY) intersect(dep, new Set(), c);
      return;
    }
    if (depClone && depClone !== pri && depClone.interleave) {
      // Interleaved clones: colocate with the primary instance on the same node
      const nodes = new Set<SNode>();
      for (const inst of pri.children) {
        const n = inst.kind === 'primitive' ? inst.assigned : inst.children[0]?.assigned;
        if (n && (c.primaryRole === undefined || roleOf(inst) === c.primaryRole)) nodes.add(n);
      }
      intersect(dep, nodes, c);
      return;
    }
    if (c.score >= INFINITY) {
      const nodes = new Set<SNode>();
      for (const inst of pri.children) {
        const n = inst.kind === 'primitive' ? inst.assigned : inst.children.every((m) => m.assigned) ? inst.children[0]?.assigned : null;
        if (n && !anyRecursive(inst, (x) => x.blocked) && (c.primaryRole === undefined || roleOf(inst) === c.primaryRole)) nodes.add(n);
      }
      intersect(dep, nodes, c);
      return;
    }
    // Each instance in turn: the order matters when one of them would leave no node
    for (const inst of A.instanceOrder.get(pri) ?? pri.children) {
      if (c.primaryRole !== undefined && roleOf(inst) !== c.primaryRole) continue;
      // (pcmk__colocation_affects: a provisional primary affects nothing)
      if (inst.limitReached) continue;
      if (inst.kind === 'primitive') applyColocToScores(dep, inst, c);
      else {
        const m = inst.children[0];
        if (m) applyColocToScores(dep, m, c);
      }
    }
  }
}

function roleOf(inst: Rsc): string {
  return inst.nextRole ?? (inst.assigned ? 'Started' : 'Stopped');
}

function anyRecursive(r: Rsc, f: (x: Rsc) => boolean): boolean {
  return f(r) || r.children.some((c) => anyRecursive(c, f));
}

function intersect(dep: Rsc, nodes: Set<SNode>, c: Coloc): void {
  for (const [n, s] of dep.allowed) {
    if (c.score >= INFINITY) {
      if (!nodes.has(n)) dep.allowed.set(n, -INFINITY);
    } else if (c.score <= -INFINITY) {
      if (nodes.has(n)) dep.allowed.set(n, -INFINITY);
    } else if (nodes.has(n)) dep.allowed.set(n, addScores(s, c.score));
  }
}

function bestScoreMatching(c: Coloc | undefined, rsc: Rsc, value: string): number {
  let table = rsc.allowed;
  if (c && rsc === c.dependent && c.explicit && rsc.parent?.kind === 'group' && rsc !== rsc.parent.children[0]) {
    table = rsc.parent.allowed;
  }
  // Colocations match on the node name, which is unique: look it up directly
  const n = nodeByName(table, value);
  if (!n) return -INFINITY;
  const sc = table.get(n)!;
  return nodeAvailable(n) ? Math.max(sc, -INFINITY) : -INFINITY;
}

const INFINITY_HACK = INFINITY * -100;

/** The node of a score table with the given name (tables are keyed by node objects). */
function nodeByName(table: Map<SNode, number>, name: string): SNode | undefined {
  for (const n of table.keys()) return n.name === name ? n : lookupNode(n, name, table);
  return undefined;
}

const nodeIndex = new WeakMap<SNode, Map<string, SNode>>();
function lookupNode(any: SNode, name: string, table: Map<SNode, number>): SNode | undefined {
  // All nodes of one working set share an index, built once from the first table seen
  let idx = nodeIndex.get(any);
  if (!idx) {
    idx = new Map();
    for (const n of table.keys()) idx.set(n.name, n);
    for (const n of table.keys()) nodeIndex.set(n, idx);
  }
  if (!idx.has(name)) {
    // Asymmetric tables may hold nodes the first one lacked
    for (const n of table.keys()) {
      idx.set(n.name, n);
      nodeIndex.set(n, idx);
    }
  }
  const n = idx.get(name);
  return n && table.has(n) ? n : undefined;
}

function addNodeScoresMatchingAttr(work: Map<SNode, number>, source: Rsc, c: Coloc, factor: number, onlyPositive: boolean): void {
  mergeNodeScores(work, (n) => bestScoreMatching(c, source, colocAttrValue(n)), factor, onlyPositive, true);
}

/**
 * add_node_scores_matching_attr's merge of one resource's scores into a
 * table at `factor`, shared by both releases; `fullBan`: 3.0 carries a
 * -INFINITY at full strength when the factor is 1 or more.
 */
function mergeNodeScores(work: Map<SNode, number>, scoreOf: (n: SNode) => number, factor: number, onlyPositive: boolean, fullBan: boolean): void {
  for (const [n, cur] of work) {
    const score = scoreOf(n);
    if (factor < 0 && score < 0) continue;
    if (cur === INFINITY_HACK) continue;
    const f = factor * score;
    let delta = Math.trunc(f < 0 ? f - 0.5 : f + 0.5);
    if (delta === 0 && score !== 0) delta = factor > 0 ? 1 : factor < 0 ? -1 : 0;
    if (fullBan && score <= -INFINITY && factor > 0) delta = factor >= 1 ? -INFINITY : delta;
    const ns = addScores(delta, cur);
    if (onlyPositive && ns < 0 && cur > 0) {
      work.set(n, INFINITY_HACK);
      continue;
    }
    if (onlyPositive && ns < 0 && cur === 0) continue;
    work.set(n, ns);
  }
}

/** pcmk__add_colocated_node_scores: fold a resource's (and its dependents') preferences into nodes. */
function addColocatedNodeScores(source: Rsc, target: Rsc, nodes: { t: Map<SNode, number> }, c: Coloc, factor: number, onlyPositive: boolean): void {
  if (source.kind === 'group') {
    const m = source.children[0];
    if (m) addColocatedNodeScores(m, target, nodes, c, factor, onlyPositive);
    return;
  }
  if (source.kind === 'clone') {
    if (source.updatingNodes) return;
    source.updatingNodes = true;
    const work = new Map(nodes.t);
    addNodeScoresMatchingAttr(work, source, c, factor, onlyPositive);
    nodes.t = work;
    source.updatingNodes = false;
    return;
  }
  if (source.updatingNodes) return;
  source.updatingNodes = true;
  const work = new Map(nodes.t);
  addNodeScoresMatchingAttr(work, source, c, factor, onlyPositive);
  if (anyAvailable(work)) {
    const holder = { t: work };
    for (const cc of withThisList(source)) {
      if (!colocHasInfluence(cc)) continue;
      const other = cc.dependent;
      addColocatedNodeScores(other, target, holder, cc, (factor * cc.score) / INFINITY, onlyPositive);
    }
    if (onlyPositive) for (const [n, s] of holder.t) if (s === INFINITY_HACK) holder.t.set(n, 1);
    nodes.t = holder.t;
  } else {
    // Roll back optional scores that would leave nowhere to run.
  }
  source.updatingNodes = false;
}

function colocHasInfluence(c: Coloc): boolean {
  return c.influence || c.primary.running.length === 0;
}

function addDependentScores(c: Coloc, primary: Rsc): void {
  if (!colocHasInfluence(c)) return;
  const factor = c.score / INFINITY;
  const holder = { t: primary.allowed };
  addColocatedNodeScores(c.dependent, primary, holder, c, factor, primary.kind === 'clone');
  primary.allowed = holder.t;
}

// ---------------------------------------------------------------------------
// Pacemaker 2.1's colocation lists and score merging (pcmk_sched_colocation.c
// and pcmk_sched_group.c of 2.1.5)

/**
 * expand_group_colocations adds the group's colocations to a member one by
 * one with g_list_insert_sorted, so colocations with the same resource end
 * up in the reverse of the group's order.
 */
function withAdded(list: Coloc[], added: Coloc[], key: (c: Coloc) => Rsc): Coloc[] {
  const out = [...list];
  for (const c of added) insertSorted(out, c, key);
  return out;
}

/** rsc_cons: a group's "group with X" colocations belong to its first member. */
function thisWithList21(r: Rsc): Coloc[] {
  const p = r.parent;
  if (p?.kind !== 'group') return [...r.thisWith];
  if (p.children[0] === r) return withAdded(r.thisWith, p.thisWith, (c) => c.primary);
  // After an unmanaged member, the group's mandatory colocations apply to each later member
  for (const m of p.children) {
    if (m === r) break;
    if (!m.managed) return withAdded(r.thisWith, p.thisWith.filter((c) => c.score >= INFINITY), (c) => c.primary);
  }
  return [...r.thisWith];
}

/** rsc_cons_lhs: once a group is being assigned, "X with group" colocations belong to its last member. */
function withThisList21(A: Assigner, r: Rsc): Coloc[] {
  const p = r.parent;
  if (p?.kind === 'group' && A.expanded.has(p) && p.children[p.children.length - 1] === r) {
    return withAdded(r.withThis, p.withThis, (c) => c.dependent);
  }
  return [...r.withThis];
}

/** best_node_score_matching_attr for the node-name attribute. */
function bestScore21(rsc: Rsc, name: string): number {
  const n = nodeByName(rsc.allowed, name);
  if (!n || !nodeAvailable(n)) return -INFINITY;
  return Math.max(rsc.allowed.get(n)!, -INFINITY);
}

function addNodeScoresMatching21(work: Map<SNode, number>, rsc: Rsc, factor: number, onlyPositive: boolean): void {
  mergeNodeScores(work, (n) => bestScore21(rsc, n.name), factor, onlyPositive, false);
}

/**
 * pcmk__add_colocated_node_scores of 2.1: merge rsc's scores into the table
 * at `factor`, then those of resources colocated with rsc, each at full
 * strength (only the sign of the factor carries on).
 */
function addColocatedNodeScores21(A: Assigner, rsc: Rsc, nodes: { t: Map<SNode, number> }, factor: number, active: boolean, onlyPositive: boolean): void {
  if (rsc.updatingNodes) return;
  rsc.updatingNodes = true;
  let work: Map<SNode, number>;
  let source = rsc;
  if (rsc.kind === 'group') {
    const first = rsc.children[0];
    if (!first) {
      rsc.updatingNodes = false;
      return;
    }
    const h = { t: new Map(nodes.t) };
    addColocatedNodeScores21(A, first, h, factor, active, onlyPositive);
    work = h.t;
    source = rsc.children[rsc.children.length - 1]!;
  } else {
    work = new Map(nodes.t);
    addNodeScoresMatching21(work, rsc, factor, onlyPositive);
  }
  if (anyAvailable(work)) {
    const multiplier = factor < 0 ? -1 : 1;
    const holder = { t: work };
    for (const c of withThisList21(A, source)) {
      if (!colocHasInfluence(c)) continue;
      addColocatedNodeScores21(A, c.dependent, holder, (multiplier * c.score) / INFINITY, true, onlyPositive);
    }
    work = holder.t;
  } else if (active) {
    // Roll back optional scores that would leave nowhere to run
    rsc.updatingNodes = false;
    return;
  }
  if (onlyPositive) for (const [n, s] of work) if (s === INFINITY_HACK) work.set(n, 1);
  nodes.t = work;
  rsc.updatingNodes = false;
}

/** apply_with_this of 2.1. */
function addDependentScores21(A: Assigner, c: Coloc, primary: Rsc): void {
  if (!colocHasInfluence(c)) return;
  const holder = { t: primary.allowed };
  addColocatedNodeScores21(A, c.dependent, holder, c.score / INFINITY, true, false);
  primary.allowed = holder.t;
}

// ---------------------------------------------------------------------------
// Pacemaker 2.1's clone assignment (pcmk_sched_clone.c of 2.1.5)

/** append_parent_colocation: an instance takes on its clone's colocations each time it is assigned. */
function appendParentColocation21(clone: Rsc, inst: Rsc, all: boolean): void {
  for (const c of clone.thisWith) {
    if (all || c.score < 0 || c.score >= INFINITY) insertSorted(inst.thisWith, c, (x) => x.primary);
  }
  for (const c of clone.withThis) {
    if (!(c.influence || inst.running.length === 0)) continue;
    if (all || c.score < 0) insertSorted(inst.withThis, c, (x) => x.dependent);
  }
}

/** common_update_score: set a score on the instance and everything in it. */
function setScoreDeep(x: Rsc, n: SNode, score: number): void {
  if (x.allowed.has(n)) x.allowed.set(n, score);
  x.children.forEach((c) => setScoreDeep(c, n, score));
}

/** can_run_instance over every allowed node of the instance. */
function canRunInstance21(clone: Rsc, inst: Rsc, counts: Map<SNode, number>, limit: number): void {
  for (const n of [...inst.allowed.keys()]) {
    if (!nodeAvailable(n) || inst.orphan) {
      setScoreDeep(inst, n, -INFINITY);
      continue;
    }
    // A node the clone may not use (or that is full) is banned: the branch
    // for a negative clone score falls through to the ban as well
    const local = clone.allowed.get(n);
    if (local === undefined || local < 0 || (counts.get(n) ?? 0) >= limit) setScoreDeep(inst, n, -INFINITY);
  }
}

function instanceNode21(inst: Rsc): SNode | null {
  return inst.kind === 'primitive' ? inst.assigned : inst.groupColocated ? inst.children[0]?.assigned ?? null : null;
}

/**
 * find_compatible_child of 2.1: the primary instance on the dependent
 * instance's node, or (not yet assigned) on the first of its allowed nodes,
 * in the order of compare_nodes, that has one. A blocked instance has no node.
 */
function compatibleInstance21(A: Assigner, dep: Rsc, primary: Rsc): Rsc | undefined {
  const onNode = (node: SNode) => primary.children.find((i) => !anyRecursive(i, (x) => x.blocked) && instanceNode21(i) === node);
  if (!dep.unassigned && dep.assigned) return onNode(dep.assigned);
  for (const [node] of sortNodes(A, dep, undefined)) {
    const pair = onNode(node);
    if (pair) return pair;
  }
  return undefined;
}

/** allocate_instance of 2.1. */
function allocateInstance21(A: Assigner, clone: Rsc, inst: Rsc, prefer: SNode | undefined, all: boolean, limit: number, counts: Map<SNode, number>): SNode | null {
  if (!inst.unassigned) return instanceNode21(inst);
  if (inst.assigning) return null;
  appendParentColocation21(clone, inst, all);
  if (prefer) {
    const s = inst.allowed.get(prefer);
    if (s === undefined || s < 0) return null;
  }
  canRunInstance21(clone, inst, counts, limit);
  const backup = new Map(inst.allowed);
  const backupRole = { role: inst.nextRole, reason: inst.nextRoleReason };
  let chosen = assign(A, inst, prefer, true);
  if (chosen && prefer && chosen !== prefer) {
    inst.allowed = backup;
    // pcmk__unassign_resource only undoes a primitive's assignment
    if (inst.kind === 'primitive') {
      unassign(inst);
      inst.unassigned = true;
      inst.nextRole = backupRole.role;
      inst.nextRoleReason = backupRole.reason;
    }
    chosen = null;
  }
  if (chosen && clone.allowed.has(chosen)) counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
  return chosen;
}

/** distribute_children of 2.1. */
function distributeChildren21(A: Assigner, clone: Rsc, children: Rsc[], max: number, perHostMax: number): void {
  const counts = new Map<SNode, number>();
  let available = 0;
  for (const n of clone.allowed.keys()) {
    counts.set(n, 0);
    if (nodeAvailable(n)) available++;
  }
  const all = max < available;
  let loopMax = available > 0 ? Math.floor(max / available) : 0;
  if (loopMax < 1) loopMax = 1;
  let allocated = 0;
  // Pre-assign as many instances as possible to their current nodes
  for (const inst of children) {
    if (allocated >= max) break;
    if (!instanceActive(inst) || !inst.unassigned || instanceFailed(inst)) continue;
    const node = instanceCurrent(inst);
    if (!node || !nodeAvailable(node)) continue;
    if (clone.allowed.has(node) && (counts.get(node) ?? 0) >= loopMax) continue;
    if (allocateInstance21(A, clone, inst, node, all, perHostMax, counts)) allocated++;
  }
  for (const inst of children) {
    if (!inst.unassigned) continue;
    if (allocated >= max) {
      // clone:limit_reached; the instance is never assigned, so no scores are shown
      banEverywhere(A, inst);
      inst.limitReached = true;
      const show = A.showScores;
      A.showScores = false;
      assign(A, inst, undefined, true);
      A.showScores = show;
    } else if (allocateInstance21(A, clone, inst, undefined, all, perHostMax, counts)) allocated++;
  }
}

/** pcmk__cmp_instance of 2.1 (instances without a current node keep their order). */
function cmpInstance21(A: Assigner, clone: Rsc, a: Rsc, b: Rsc): number {
  const nodesOf = (i: Rsc): SNode[] => {
    const s = new Set<SNode>();
    for (const p of primitivesOf(i)) for (const n of p.running) s.add(n);
    return [...s];
  };
  const na = nodesOf(a);
  const nb = nodesOf(b);
  if (na.length > 0 && nb.length > 0 && na.length !== nb.length) return na.length - nb.length;
  let n1: SNode | undefined = na[0];
  let n2: SNode | undefined = nb[0];
  const allowedOn = (i: Rsc, n: SNode | undefined) => {
    if (!n) return true;
    const sc = i.allowed.get(n);
    return sc !== undefined && sc >= 0;
  };
  const can1 = allowedOn(a, n1);
  const can2 = allowedOn(b, n2);
  if (!can1) n1 = undefined;
  if (!can2) n2 = undefined;
  if (can1 !== can2) return can1 ? -1 : 1;
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (!n1 && !n2) return 0;
  if (!n1) return 1;
  if (!n2) return -1;
  const av1 = nodeAvailable(n1);
  const av2 = nodeAvailable(n2);
  if (av1 !== av2) return av1 ? -1 : 1;
  const p1 = clone.allowed.has(n1);
  const p2 = clone.allowed.has(n2);
  if (!p1 && !p2) return 0;
  if (p1 !== p2) return p1 ? -1 : 1;
  const f1 = instanceFailed(a);
  const f2 = instanceFailed(b);
  if (f1 !== f2) return f1 ? 1 : -1;
  const c1 = colocatedScoreOn21(A, clone, a, n1);
  const c2 = colocatedScoreOn21(A, clone, b, n2);
  if (c1 !== c2) return c2 - c1;
  return (a.instance ?? 0) - (b.instance ?? 0);
}

/** cmp_instance_by_colocation: the instance's current node scored by its clone's colocations. */
function colocatedScoreOn21(A: Assigner, clone: Rsc, inst: Rsc, node: SNode): number {
  const h = { t: new Map<SNode, number>([[node, 0]]) };
  for (const c of clone.thisWith) addColocatedNodeScores21(A, c.primary, h, c.score / INFINITY, false, false);
  for (const c of clone.withThis) {
    if (!(c.influence || inst.running.length === 0)) continue;
    addColocatedNodeScores21(A, c.dependent, h, c.score / INFINITY, false, true);
  }
  return h.t.get(node) ?? 0;
}

/** pcmk__clone_allocate of 2.1. */
function cloneAllocate21(A: Assigner, r: Rsc, prefer: SNode | undefined): SNode | null {
  if (!r.unassigned || r.assigning) return null;
  if (r.promotable) addPromotionScores(A, r);
  r.assigning = true;
  for (const c of r.thisWith) assign(A, c.primary, prefer, true);
  for (const c of r.withThis) {
    if (!colocHasInfluence(c)) continue;
    const holder = { t: r.allowed };
    addColocatedNodeScores21(A, c.dependent, holder, c.score / INFINITY, true, true);
    r.allowed = holder.t;
  }
  showScores(A, 'pcmk__clone_allocate', r);
  const children = [...r.children].sort((a, b) => cmpInstance21(A, r, a, b));
  A.instanceOrder.set(r, children);
  distributeChildren21(A, r, children, r.cloneMax, r.cloneNodeMax);
  if (r.promotable) setInstanceRoles(A, r);
  r.assigning = false;
  r.unassigned = false;
  return null;
}

// ---------------------------------------------------------------------------
// Node sorting and assignment

function sortNodes(A: Assigner, r: Rsc, preferred: SNode | undefined): Array<[SNode, number]> {
  const entries = [...r.allowed.entries()];
  const strategy = A.ws.options.placementStrategy;
  entries.sort(([n1, s1], [n2, s2]) => {
    const a = nodeAvailable(n1) ? s1 : -INFINITY;
    const b = nodeAvailable(n2) ? s2 : -INFINITY;
    if (a !== b) return b - a;
    if (strategy !== 'minimal') {
      if (n1.numResources !== n2.numResources) return n1.numResources - n2.numResources;
    }
    if (preferred) {
      if (preferred === n1) return -1;
      if (preferred === n2) return 1;
    }
    return n1.name < n2.name ? -1 : n1.name > n2.name ? 1 : 0;
  });
  return entries;
}

function unassign(r: Rsc): void {
  if (r.kind !== 'primitive') {
    r.children.forEach(unassign);
    return;
  }
  if (r.assigned) {
    r.assigned.numResources--;
    r.assigned = null;
  }
}

/** pcmk__assign_resource */
function assignResource(r: Rsc, node: SNode | null, force: boolean, stopIfFail: boolean): void {
  if (r.kind !== 'primitive') {
    for (const c of r.children) assignResource(c, node, force, stopIfFail);
    r.unassigned = false;
    return;
  }
  if (!force && node && ((r.allowed.get(node) ?? -INFINITY) < 0 || !nodeAvailable(node))) {
    if (stopIfFail) setNextRole(r, 'Stopped', 'node availability');
    node = null;
  }
  unassign(r);
  r.unassigned = false;
  if (!node) {
    if (stopIfFail) setNextRole(r, 'Stopped', 'unable to assign');
    return;
  }
  r.assigned = node;
  node.numResources++;
  if (r.nextRole === undefined) r.nextRole = r.role === 'Stopped' || r.role === 'Promoted' || r.role === 'Unpromoted' ? 'Started' : r.role;
}

function setNextRole(r: Rsc, role: 'Stopped' | 'Started', why: string): void {
  r.nextRole = role;
  r.nextRoleReason = why;
}

function showScores(A: Assigner, fn: string, r: Rsc): void {
  if (!A.showScores) return;
  const walk = (x: Rsc) => {
    // Pacemaker never shows the scores of orphans (pe__show_node_weights_as)
    if (x.orphan) return;
    for (const n of A.ws.nodes) {
      const s = x.allowed.get(n);
      if (s === undefined) continue;
      A.scores.push(`${fn}: ${x.id} allocation score on ${n.name}: ${formatScore(s)}`);
    }
    if (fn !== 'pcmk__primitive_assign') x.children.forEach(walk);
  };
  walk(r);
}

function assignBestNode(A: Assigner, r: Rsc, prefer: SNode | undefined, stopIfFail: boolean): boolean {
  if (!r.unassigned) return r.assigned !== null;
  const current = currentNode(r);
  const nodes = sortNodes(A, r, current);
  const best = nodes[0];
  let chosen: SNode | undefined;
  if (prefer && best) {
    const ps = r.allowed.get(prefer);
    if (ps === undefined) chosen = undefined;
    else if (ps < best[1] && nodeAvailable(best[0])) chosen = undefined;
    else if (!nodeAvailable(prefer, ps)) chosen = undefined;
    else chosen = prefer;
  }
  if (!chosen && best) {
    chosen = best[0];
    const bestScore = nodeAvailable(best[0]) ? best[1] : -INFINITY;
    const uniqueClone = r.parent?.kind === 'clone' && r.parent.unique;
    if (!uniqueClone && bestScore > 0 && nodeAvailable(chosen)) {
      const running = current;
      if (running && nodeAvailable(running, r.allowed.get(running))) {
        for (const [n, s] of nodes) {
          const sc = nodeAvailable(n) ? s : -INFINITY;
          if (sc !== bestScore) break;
          if (n === running) {
            chosen = n;
            break;
          }
        }
      }
    }
  }
  assignResource(r, chosen ?? null, false, stopIfFail);
  return r.assigned !== null;
}

function applyThisWith(A: Assigner, c: Coloc, r: Rsc): void {
  let archive: Map<SNode, number> | undefined;
  if ((c.dependentRole !== undefined && ROLE_RANK[c.dependentRole] >= ROLE_RANK.Promoted) || (c.score < 0 && c.score > -INFINITY)) {
    archive = new Map(r.allowed);
  }
  const other = c.primary;
  if (other.unassigned) assign(A, other, undefined, true);
  applyColocScore(A, r, other, c);
  if (archive && !anyAvailable(r.allowed)) r.allowed = archive;
}

export function primitiveAssign(A: Assigner, r: Rsc, prefer: SNode | undefined, stopIfFail: boolean): SNode | null {
  const parent = r.parent;
  if (parent && !parent.assigning && parent.unassigned) assign(A, parent, prefer, stopIfFail);
  if (!r.unassigned) return r.assigned;
  if (r.assigning) return null;
  r.assigning = true;
  if (A.v21) {
    // 2.1: every "this with" colocation in priority order, then every "with this"
    for (const c of thisWithList21(r)) applyThisWith(A, c, r);
    for (const c of withThisList21(A, r)) addDependentScores21(A, c, r);
  } else {
    const thisWith = thisWithList(r);
    const withThis = withThisList(r);
    const mandatory = (c: Coloc) => c.score <= -INFINITY || c.score >= INFINITY;
    for (const c of thisWith) if (mandatory(c)) applyThisWith(A, c, r);
    for (const c of withThis) if (mandatory(c)) addDependentScores(c, r);
    for (const c of thisWith) if (!mandatory(c)) applyThisWith(A, c, r);
    for (const c of withThis) if (!mandatory(c)) addDependentScores(c, r);
  }

  if (r.nextRole === 'Stopped') {
    for (const n of A.ws.nodes) r.allowed.set(n, -INFINITY);
  } else if (r.nextRole !== undefined && ROLE_RANK[r.nextRole] > ROLE_RANK[r.role] && !A.ws.options.haveQuorum && A.ws.options.noQuorumPolicy === 'freeze') {
    r.nextRole = r.role;
    r.nextRoleReason = 'no-quorum-policy=freeze';
  }
  showScores(A, 'pcmk__primitive_assign', r);
  if (!r.managed) {
    if (r.nextRole === undefined || r.nextRole !== r.role) {
      r.nextRole = r.role;
      r.nextRoleReason = 'unmanaged';
    }
    const to = currentNode(r) ?? null;
    assignResource(r, to, true, stopIfFail);
    if (!to) r.nextRole = 'Stopped';
  } else if (A.ws.options.stopAll) {
    assignResource(r, null, true, stopIfFail);
  } else {
    assignBestNode(A, r, prefer, stopIfFail);
  }
  r.assigning = false;
  return r.assigned;
}

function groupAssign(A: Assigner, r: Rsc, prefer: SNode | undefined, stopIfFail: boolean): SNode | null {
  const parent = r.parent;
  if (parent && !parent.assigning && parent.unassigned) assign(A, parent, prefer, stopIfFail);
  if (!r.unassigned) return r.assigned;
  if (r.assigning) return null;
  if (r.children.length === 0) {
    r.unassigned = false;
    return null;
  }
  r.assigning = true;
  A.expanded.add(r);
  showScores(A, 'pcmk__group_assign', r);
  let first: SNode | null = null;
  let firstSet = false;
  for (const m of r.children) {
    const n = assign(A, m, prefer, stopIfFail);
    if (!firstSet) {
      first = n;
      firstSet = true;
    }
  }
  r.nextRole = r.children[0]!.nextRole;
  r.assigning = false;
  r.unassigned = false;
  r.assigned = r.groupColocated ? first : null;
  return r.assigned;
}

// ---------------------------------------------------------------------------
// Clones

function instanceActive(i: Rsc): boolean {
  return i.kind === 'primitive' ? i.running.length > 0 : i.children.some(instanceActive);
}

function instanceCurrent(i: Rsc): SNode | undefined {
  return currentNode(i);
}

function instanceFailed(i: Rsc): boolean {
  return anyRecursive(i, (x) => x.failed);
}

/** pcmk__cmp_instance: order in which clone instances are assigned. */
function cmpInstance(clone: Rsc, a: Rsc, b: Rsc): number {
  const nodesOf = (i: Rsc): SNode[] => {
    const s = new Set<SNode>();
    for (const p of i.kind === 'primitive' ? [i] : i.children) for (const n of p.running) s.add(n);
    return [...s];
  };
  const na = nodesOf(a);
  const nb = nodesOf(b);
  // Less multiply active first
  if (na.length > 0 && nb.length > 0 && na.length !== nb.length) return na.length - nb.length;
  // Not active on a node it is no longer allowed on
  const allowedOn = (i: Rsc, n: SNode | undefined) => {
    if (!n) return true;
    const sc = i.allowed.get(n);
    return sc !== undefined && sc >= 0;
  };
  let n1: SNode | undefined = na[0];
  let n2: SNode | undefined = nb[0];
  const can1 = allowedOn(a, n1);
  const can2 = allowedOn(b, n2);
  if (!can1) n1 = undefined;
  if (!can2) n2 = undefined;
  if (can1 !== can2) return can1 ? -1 : 1;
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (!n1 && !n2) return (a.instance ?? 0) - (b.instance ?? 0);
  if (!n1) return 1;
  if (!n2) return -1;
  const av1 = nodeAvailable(n1);
  const av2 = nodeAvailable(n2);
  if (av1 !== av2) return av1 ? -1 : 1;
  const p1 = clone.allowed.has(n1);
  const p2 = clone.allowed.has(n2);
  if (p1 !== p2) return p1 ? -1 : 1;
  const f1 = instanceFailed(a);
  const f2 = instanceFailed(b);
  if (f1 !== f2) return f1 ? 1 : -1;
  return (a.instance ?? 0) - (b.instance ?? 0);
}

function topAllowedScore(clone: Rsc, n: SNode): number | undefined {
  return clone.allowed.get(n);
}

function canRunInstance(inst: Rsc, clone: Rsc, n: SNode, counts: Map<SNode, number>, maxPerNode: number): boolean {
  if (inst.orphan) return false;
  if (!nodeAvailable(n)) return false;
  const s = topAllowedScore(clone, n);
  if (s === undefined || s < 0) return false;
  if ((counts.get(n) ?? 0) >= maxPerNode) return false;
  return true;
}

function banUnavailable(inst: Rsc, clone: Rsc, counts: Map<SNode, number>, maxPerNode: number): void {
  const ban = (x: Rsc, n: SNode) => {
    x.allowed.set(n, -INFINITY);
    x.children.forEach((c) => ban(c, n));
  };
  for (const n of [...inst.allowed.keys()]) {
    if (!canRunInstance(inst, clone, n, counts, maxPerNode)) ban(inst, n);
  }
}

/** assign_instance: ban nodes the instance can't use, then assign it (early when prefer is set). */
function assignInstance(A: Assigner, clone: Rsc, inst: Rsc, prefer: SNode | undefined, counts: Map<SNode, number>, maxPerNode: number): SNode | null {
  if (inst.assigning) return null;
  banUnavailable(inst, clone, counts, maxPerNode);
  const chosen = assign(A, inst, prefer, prefer === undefined);
  const node = inst.kind === 'group' ? inst.children[0]?.assigned ?? null : chosen;
  if (node) counts.set(node, (counts.get(node) ?? 0) + 1);
  return node;
}

/**
 * assign_instance_early: keep an instance on its current node unless better
 * nodes need it; each time it would go elsewhere, reserve one instance for
 * that node and retry, so instances shuffle as little as possible.
 */
function assignInstanceEarly(A: Assigner, clone: Rsc, inst: Rsc, current: SNode, maxPerNode: number, available: number, counts: Map<SNode, number>): boolean {
  const s = inst.kind === 'primitive' ? inst.allowed.get(current) : inst.allowed.get(current);
  if (s === undefined || s < 0 || !nodeAvailable(current)) return false;
  const saved = snapshot(inst);
  const scratch = new Map(counts);
  let reserved = 0;
  let chosen: SNode | null = null;
  while (reserved < available) {
    chosen = assignInstance(A, clone, inst, current, scratch, maxPerNode);
    if (chosen === current) break;
    restore(saved);
    if (!chosen) {
      unassignDeep(inst);
      break;
    }
    reserved++;
    unassignDeep(inst);
    chosen = null;
  }
  if (!chosen) {
    restore(saved);
    return false;
  }
  counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
  return true;
}

function snapshot(r: Rsc): Map<Rsc, { allowed: Map<SNode, number>; nextRole: Rsc['nextRole']; reason?: string }> {
  const m = new Map<Rsc, { allowed: Map<SNode, number>; nextRole: Rsc['nextRole']; reason?: string }>();
  const walk = (x: Rsc) => {
    m.set(x, { allowed: new Map(x.allowed), nextRole: x.nextRole, reason: x.nextRoleReason });
    x.children.forEach(walk);
  };
  walk(r);
  return m;
}

function restore(s: ReturnType<typeof snapshot>): void {
  for (const [x, v] of s) {
    x.allowed = v.allowed;
    x.nextRole = v.nextRole;
    x.nextRoleReason = v.reason;
  }
}

function unassignDeep(r: Rsc): void {
  unassign(r);
  const walk = (x: Rsc) => {
    x.unassigned = true;
    if (x.kind !== 'primitive') x.assigned = null;
    x.children.forEach(walk);
  };
  walk(r);
}

function cloneAssign(A: Assigner, r: Rsc, prefer: SNode | undefined, stopIfFail: boolean): SNode | null {
  if (A.v21) return cloneAllocate21(A, r, prefer);
  if (!r.unassigned) return null;
  if (r.assigning) return null;
  r.assigning = true;
  if (r.promotable) addPromotionScores(A, r);
  for (const c of thisWithList(r)) {
    if (c.primary.unassigned) assign(A, c.primary, prefer, stopIfFail);
  }
  for (const c of withThisList(r)) addDependentScores(c, r);
  showScores(A, 'pcmk__clone_assign', r);
  const instances = [...r.children].sort((a, b) => cmpInstance(r, a, b));
  assignInstances(A, r, instances, r.cloneMax, r.cloneNodeMax);
  if (r.promotable) setInstanceRoles(A, r);
  r.assigning = false;
  r.unassigned = false;
  return null;
}

function assignInstances(A: Assigner, clone: Rsc, instances: Rsc[], maxTotal: number, maxPerNode: number): void {
  const counts = new Map<SNode, number>();
  let available = 0;
  for (const [n, s] of clone.allowed) {
    counts.set(n, 0);
    if (nodeAvailable(n) && s >= 0) available++;
  }
  let optimal = available > 0 ? Math.floor(maxTotal / available) : 0;
  if (optimal < 1) optimal = 1;
  let assigned = 0;
  for (const inst of instances) {
    if (assigned >= maxTotal) break;
    if (!inst.unassigned) continue;
    const cur = preferredNode(clone, inst, optimal, counts);
    if (cur && assignInstanceEarly(A, clone, inst, cur, maxPerNode, maxTotal - assigned, counts)) assigned++;
  }
  for (const inst of instances) {
    if (!inst.unassigned) continue;
    if (assigned >= maxTotal) {
      banEverywhere(A, inst);
      assign(A, inst, undefined, true);
    } else if (assignInstance(A, clone, inst, undefined, counts, maxPerNode)) assigned++;
  }
}

function preferredNode(clone: Rsc, inst: Rsc, optimal: number, counts: Map<SNode, number>): SNode | undefined {
  if (!instanceActive(inst) || !inst.unassigned || instanceFailed(inst)) return undefined;
  const node = instanceCurrent(inst);
  if (!node || !nodeAvailable(node, inst.kind === 'primitive' ? inst.allowed.get(node) : inst.children[0]?.allowed.get(node))) return undefined;
  if (!clone.allowed.has(node)) return undefined;
  if ((counts.get(node) ?? 0) >= optimal) return undefined;
  return node;
}

// ---------------------------------------------------------------------------
// Promotable clones (pcmk_sched_promotable.c)

function primitivesOf(r: Rsc): Rsc[] {
  return r.kind === 'primitive' ? [r] : r.children.flatMap(primitivesOf);
}

/** Another instance is already active on the node: only that one gets the node's promotion score. */
function filterAnonymousInstance(inst: Rsc, node: SNode): boolean {
  const clone = inst.parent!;
  for (const c of clone.children) {
    if (primitivesOf(c).some((p) => p.running.includes(node))) return c !== inst;
  }
  const s = inst.allowed.get(node);
  return s === undefined || s < 0;
}

/** The node attribute master-<id> (a "promotion score"); undefined when not set. */
function promotionScore(A: Assigner, inst: Rsc, node: SNode): number | undefined {
  if (inst.kind === 'group') {
    let total: number | undefined;
    for (const m of inst.children) {
      const v = promotionScore(A, m, node);
      if (v !== undefined) total = addScores(total ?? 0, v);
    }
    return total;
  }
  const clone = inst.parent?.kind === 'clone' ? inst.parent : inst.parent?.parent;
  const top = clone?.kind === 'clone' ? clone : undefined;
  if (top && !top.unique) {
    const i = top.children.find((c) => c === inst || c.children.includes(inst));
    if (i && filterAnonymousInstance(i, node)) return undefined;
  }
  // The instance's history id first (e.g. "drbd0:1"), then for anonymous clones the base id
  let hid: string | undefined;
  for (const h of inst.historyIds.values()) hid = h;
  const names = [hid ?? inst.id];
  if (top && !top.unique && inst.baseId !== names[0]) names.push(inst.baseId);
  let v: string | undefined;
  for (const name of names) {
    v = node.attrs.get('master-' + name);
    if (v !== undefined) break;
  }
  if (v === undefined) return undefined;
  const s = parseScore(v, 0);
  return Number.isNaN(s) ? 0 : s;
}

function addPromotionScores(A: Assigner, clone: Rsc): void {
  for (const inst of clone.children) {
    for (const [node, cur] of inst.allowed) {
      if (!nodeAvailable(node)) continue;
      const s = promotionScore(A, inst, node) ?? 0;
      if (s > 0) {
        const ns = addScores(cur, s);
        inst.allowed.set(node, ns);
        for (const p of inst.children) p.allowed.set(node, addScores(p.allowed.get(node) ?? 0, s));
      }
    }
  }
}

function instanceAssignedNode(inst: Rsc): SNode | null {
  return inst.kind === 'primitive' ? inst.assigned : inst.children[0]?.assigned ?? null;
}

function setInstanceRoles(A: Assigner, clone: Rsc): void {
  const promotedMax = Number.parseInt(clone.meta.get('promoted-max') ?? clone.meta.get('master-max') ?? '1', 10) || 0;
  const promotedNodeMax = Number.parseInt(clone.meta.get('promoted-node-max') ?? clone.meta.get('master-node-max') ?? '1', 10) || 0;
  const prio = new Map<Rsc, number>();
  // Started instances of a promotable clone are Unpromoted
  for (const x of clone.children.flatMap(primitivesOf)) if (x.role === 'Started') x.role = 'Unpromoted';
  for (const inst of clone.children) {
    const chosen = instanceAssignedNode(inst);
    if (!chosen) {
      prio.set(inst, -INFINITY);
      continue;
    }
    const target = primitivesOf(inst)[0]?.targetRole;
    let p: number;
    if (target === 'Unpromoted' || target === 'Stopped' || target === 'Started' && false) p = -INFINITY;
    else p = promotionScore(A, inst, chosen) ?? -1;
    for (const { rsc, loc } of A.roleLocations) {
      if (rsc !== clone && rsc !== inst) continue;
      if (parseRole(loc.role) !== 'Promoted') continue;
      if (loc.node === chosen.name) p = addScores(p, parseScore(loc.score, 0) || 0);
      for (const rule of loc.rules) {
        if (evalRule(rule, { node: chosen.attrs, now: A.ws.now })) p = addScores(p, parseScore(rule.attrs['score'], 0) || 0);
      }
    }
    for (const rule of A.promotedRuleLocations) {
      if (rule.rsc !== clone) continue;
      if (evalRule(rule.rule, { node: chosen.attrs, now: A.ws.now })) p = addScores(p, rule.score);
    }
    // The instance's own role colocations (this clone as dependent with a primary)
    for (const c of clone.thisWith) {
      if (c.dependentRole !== 'Promoted' || c.primary.kind === 'clone') continue;
      const pn = c.primary.kind === 'primitive' ? c.primary.assigned : c.primary.kind === 'group' ? c.primary.children[0]?.assigned : null;
      if (pn === chosen) p = addScores(p, c.score);
      else if (c.score >= INFINITY) p = -INFINITY;
    }
    prio.set(inst, p);
  }
  // sort_promotable_instances: add the priorities to the clone's node scores,
  // fold in the preferences of role colocations, and read the priorities back
  // (each instance adds only its own priority, so instances sharing a node stay apart)
  const table = { t: new Map(clone.allowed) };
  for (const c of clone.thisWith) {
    if (c.dependentRole !== 'Promoted' || c.primary.kind !== 'clone') continue;
    addColocatedNodeScores(c.primary, clone, table, c, c.score / INFINITY, false);
  }
  for (const c of clone.withThis) {
    if (c.primaryRole !== 'Promoted' || !colocHasInfluence(c)) continue;
    addColocatedNodeScores(c.dependent, clone, table, c, c.score / INFINITY, false);
  }
  for (const inst of clone.children) {
    const chosen = instanceAssignedNode(inst);
    const p = prio.get(inst)!;
    if (chosen && p >= 0 && table.t.has(chosen)) prio.set(inst, addScores(p, table.t.get(chosen)!));
  }
  const order = [...clone.children].sort((a, b) => {
    const pa = prio.get(a)!;
    const pb = prio.get(b)!;
    if (pa !== pb) return pb - pa;
    const ar = primitivesOf(a).some((x) => x.role === 'Promoted');
    const br = primitivesOf(b).some((x) => x.role === 'Promoted');
    if (ar !== br) return ar ? -1 : 1;
    const an = instanceAssignedNode(a);
    const bn = instanceAssignedNode(b);
    const as = an ? clone.allowed.get(an) ?? 0 : -INFINITY;
    const bs = bn ? clone.allowed.get(bn) ?? 0 : -INFINITY;
    if (as !== bs) return bs - as;
    return (a.instance ?? 0) - (b.instance ?? 0);
  });
  let promoted = 0;
  const perNode = new Map<SNode, number>();
  for (const inst of order) {
    const chosen = instanceAssignedNode(inst);
    const p = prio.get(inst)!;
    let promote = false;
    if (chosen && p >= 0 && (promoted < promotedMax || !clone.managed)) {
      if ((perNode.get(chosen) ?? 0) < promotedNodeMax && (clone.allowed.get(chosen) ?? 0) >= 0) promote = true;
    }
    const wasPromoted = primitivesOf(inst).some((x) => x.role === 'Promoted');
    if (promote && !wasPromoted && !A.ws.options.haveQuorum && A.ws.options.noQuorumPolicy === 'freeze') promote = false;
    for (const x of primitivesOf(inst)) {
      if (!x.assigned) continue;
      x.nextRole = promote ? 'Promoted' : 'Unpromoted';
    }
    if (inst.kind === 'group') inst.nextRole = promote ? 'Promoted' : 'Unpromoted';
    if (promote && chosen) {
      perNode.set(chosen, (perNode.get(chosen) ?? 0) + 1);
      promoted++;
    }
    if (A.showScores) {
      // 3.0 says "(inactive)" where 2.1 named the node "none"
      const where = chosen ? `on ${chosen.name}` : A.v21 ? 'on none' : '(inactive)';
      A.scores.push(`${inst.id} promotion score ${where}: ${formatScore(p)}`);
    }
  }
}

export function assign(A: Assigner, r: Rsc, prefer: SNode | undefined, stopIfFail: boolean): SNode | null {
  switch (r.kind) {
    case 'primitive': return primitiveAssign(A, r, prefer, stopIfFail);
    case 'group': return groupAssign(A, r, prefer, stopIfFail);
    case 'clone': return cloneAssign(A, r, prefer, stopIfFail);
  }
}

/** Compute scores and assign every resource. Returns score lines when asked. */
export function placeResources(ws: WorkingSet, wantScores: boolean, compat: '2.1' | '3.0' = '3.0'): string[] {
  const A: Assigner = { ws, scores: [], showScores: wantScores, roleLocations: [], promotedRuleLocations: [], v21: compat === '2.1', expanded: new WeakSet(), instanceOrder: new WeakMap() };
  setAllowedDefault(ws);
  unpackLocations(A);
  applyFailureLimits(ws);
  applyStickiness(ws);
  groupInternalColocations(ws);
  unpackColocations(ws);
  const applyTarget = (r: Rsc) => {
    r.children.forEach(applyTarget);
    let top = r;
    while (top.parent) top = top.parent;
    if (r.kind === 'primitive' && !top.promotable && (r.targetRole === 'Promoted' || r.targetRole === 'Unpromoted')) r.targetRole = 'Started';
    if (r.kind === 'primitive' && !top.promotable && (r.nextRole === 'Promoted' || r.nextRole === 'Unpromoted')) r.nextRole = 'Started';
    if (r.kind === 'primitive' && r.targetRole !== undefined && r.knownOn.size === 0) {
      if (r.nextRole === undefined || ROLE_RANK[r.targetRole] < ROLE_RANK[r.nextRole]) {
        r.nextRole = r.targetRole;
        r.nextRoleReason = 'target-role';
      }
    }
  };
  ws.resources.forEach(applyTarget);
  for (const r of ws.resources) assign(A, r, undefined, true);
  // Stopped-role bookkeeping for unassigned primitives
  const fin = (r: Rsc) => {
    r.children.forEach(fin);
    if (r.kind === 'primitive' && r.nextRole === undefined) r.nextRole = r.assigned ? 'Started' : 'Stopped';
  };
  ws.resources.forEach(fin);
  return A.scores;
}

/** A clone instance past the clone's limit: -INFINITY on every node, for it and its members. */
function banEverywhere(A: Assigner, r: Rsc): void {
  for (const n of A.ws.nodes) r.allowed.set(n, -INFINITY);
  for (const c of r.children) banEverywhere(A, c);
}
