/**
 * Unpacking: CIB -> working set (options, nodes, resource tree with clone
 * instances, and each resource's state from the operation history), after
 * Pacemaker's lib/pengine/unpack.c.
 */
import type { Cib, Clone, Group, LrmOp, LrmResource, Primitive, TopResource } from '../cib/model.js';
import { INFINITY, parseScore, addScores } from '../cib/score.js';
import { parseDurationMs } from '../cib/duration.js';
import { expandTemplates } from '../cib/template.js';
import { unpackNvSets, type RuleContext } from './rules.js';
import type { Diagnostic, OnFail, Options, Rsc, Role, SNode } from './types.js';
import { ON_FAIL_RANK, ROLE_RANK } from './types.js';

export interface WorkingSet {
  cib: Cib;
  now: number;
  options: Options;
  nodes: SNode[];
  nodeByName: Map<string, SNode>;
  /** Top-level resources in configuration order, orphans appended. */
  resources: Rsc[];
  /** Every resource by id (instances by instance id). */
  byId: Map<string, Rsc>;
  diagnostics: Diagnostic[];
  /** Failures whose failure-timeout expired: clear_failcount actions. */
  expiredFailures: Array<{ rsc: Rsc; node: SNode; op: LrmOp }>;
  /** Counters for "N of M resource instances DISABLED and K BLOCKED". */
  ninstances: number;
  disabled: number;
  blocked: number;
  /** Fail counts: node -> (rsc base id -> count). */
  failCounts: Map<SNode, Map<string, { count: number; lastFailure: number }>>;
  /** One-shot operations of active resources whose recorded op-digest is checked against the definition. */
  digestChecks: Array<{ rsc: Rsc; node: SNode; op: LrmOp }>;
  /** Active resources whose history names another agent than the configuration (pcmk__rsc_agent_changed). */
  agentChanged: Array<{ rsc: Rsc; node: SNode }>;
}

function truthy(v: string | undefined, dflt = false): boolean {
  if (v === undefined) return dflt;
  return ['true', 'on', 'yes', 'y', '1'].includes(v.trim().toLowerCase());
}

export function parseRole(v: string | undefined): Role | undefined {
  if (v === undefined) return undefined;
  switch (v.trim().toLowerCase()) {
    case 'stopped': return 'Stopped';
    case 'started': return 'Started';
    case 'slave':
    case 'unpromoted': return 'Unpromoted';
    case 'master':
    case 'promoted': return 'Promoted';
  }
  return undefined;
}

/**
 * Cluster options renamed in Pacemaker 3.0 (new name -> the 2.x name it
 * replaced). Either name is read; the new one wins when both are set.
 */
export const OPTION_ALIASES: Readonly<Record<string, string>> = {
  'fencing-enabled': 'stonith-enabled',
  'fencing-action': 'stonith-action',
  'fencing-timeout': 'stonith-timeout',
  'fencing-max-attempts': 'stonith-max-attempts',
  'fencing-watchdog-timeout': 'stonith-watchdog-timeout',
  'fencing-reaction': 'fence-reaction',
  'stop-removed-resources': 'stop-orphan-resources',
  'cancel-removed-actions': 'stop-orphan-actions',
};

/** A cluster option by its current name, or by the older name it replaced. */
export function clusterOption(m: Map<string, string>, name: string): string | undefined {
  const v = m.get(name);
  if (v !== undefined) return v;
  const old = OPTION_ALIASES[name];
  return old === undefined ? undefined : m.get(old);
}

function opt(m: Map<string, string>, name: string): string | undefined {
  return clusterOption(m, name);
}

function unpackOptions(cib: Cib, ctx: RuleContext): Options {
  const m = unpackNvSets(cib.configuration.crmConfig, ctx);
  // Any fencing device, also inside groups and clones
  const isStonith = (r: TopResource | Primitive | Group): boolean => {
    if (r.tag === 'primitive') return (r as Primitive).class === 'stonith';
    if (r.tag === 'group') return (r as Group).children.some(isStonith);
    if (r.tag === 'clone' || r.tag === 'master') return isStonith((r as Clone).child);
    return false;
  };
  const haveFencing = cib.configuration.resources.some(isStonith);
  return {
    symmetric: truthy(opt(m, 'symmetric-cluster'), true),
    fencingEnabled: truthy(opt(m, 'fencing-enabled'), true),
    noQuorumPolicy: (opt(m, 'no-quorum-policy') ?? 'stop').toLowerCase(),
    stopOrphans: truthy(opt(m, 'stop-removed-resources'), true),
    stopOrphanActions: truthy(opt(m, 'cancel-removed-actions'), true),
    maintenanceMode: truthy(opt(m, 'maintenance-mode'), false),
    startFailureIsFatal: truthy(opt(m, 'start-failure-is-fatal'), true),
    stopAll: truthy(opt(m, 'stop-all-resources'), false),
    haveQuorum: truthy(cib.haveQuorum, false),
    placementStrategy: (opt(m, 'placement-strategy') ?? 'default').toLowerCase(),
    startupFencing: truthy(opt(m, 'startup-fencing'), true),
    haveFencing,
  };
}

/** A node_state's in_ccm / crmd: "true"/"online" or a timestamp > 0 mean up. */
function upFlag(v: string | undefined, word: string): boolean {
  if (v === undefined) return false;
  const t = v.trim().toLowerCase();
  if (t === word || t === 'true' || t === 'yes') return true;
  const n = Number(t);
  return !Number.isNaN(n) && n > 0;
}

function unpackNodes(ws: WorkingSet, ctx: RuleContext): void {
  const cib = ws.cib;
  const states = new Map<string, NonNullable<Cib['status']>[number]>();
  for (const s of cib.status ?? []) {
    // An entry without an id is malformed: Pacemaker ignores it (with a warning).
    if (s.id === undefined) {
      ws.diagnostics.push({ level: 'warning', message: 'Ignoring malformed node_state entry without id' });
      continue;
    }
    states.set(s.id, s);
    if (s.uname) states.set('uname:' + s.uname, s);
  }
  cib.configuration.nodes.forEach((n, index) => {
    if (n.type === 'remote' || n.type === 'ping') return;
    const attrs = new Map<string, string>();
    attrs.set('#uname', n.uname);
    attrs.set('#id', n.id);
    attrs.set('#kind', 'cluster');
    attrs.set('#is_dc', cib.dcUuid === n.id ? 'true' : 'false');
    const cfg = unpackNvSets(n.instanceAttributes, ctx);
    for (const [k, v] of cfg) attrs.set(k, v);
    const st = states.get(n.id) ?? states.get('uname:' + n.uname);
    if (st) {
      const tr = unpackNvSets(st.transientAttributes, ctx);
      for (const [k, v] of tr) attrs.set(k, v);
    }
    const node: SNode = {
      id: n.id, name: n.uname, index, online: false, unclean: false, pending: false,
      // Node attributes (standby, maintenance) are read only for nodes with a status entry
      standby: st !== undefined && truthy(attrs.get('standby')), standbyOnFail: false,
      maintenance: truthy(attrs.get('maintenance')), shutdown: false, attrs, numResources: 0, runningCount: 0,
    };
    if (!st) {
      // Never seen: unclean until fenced when fencing and startup-fencing are on.
      node.unclean = ws.options.fencingEnabled && ws.options.startupFencing;
      if (node.unclean) node.fenceReason = 'node is unclean';
    } else {
      const member = upFlag(st.inCcm, 'true');
      const online = upFlag(st.crmd, 'online');
      const join = st.join ?? 'down';
      const expectedUp = st.expected === 'member';
      // A shutdown request: the transient attribute (or the old node_state attribute)
      const shutdown = attrs.get('shutdown') ?? st.extra?.['shutdown'];
      if (shutdown !== undefined && shutdown !== '0' && shutdown !== '') node.shutdown = true;
      if (ws.options.fencingEnabled) {
        // determine_online_status_fencing
        const terminate = truthy(attrs.get('terminate'));
        const exp = st.expected ?? 'down';
        let on = member;
        if (node.shutdown) on = online;
        else if (st.inCcm === undefined) fenceNode(node, 'peer has not been seen by the cluster');
        else if (join === 'nack') fenceNode(node, 'peer failed Pacemaker membership criteria');
        else if (!terminate && exp === 'down') {
          if (member || online) {
            node.standby = true;
            node.pending = true;
          }
        } else if (terminate && join === 'down' && !member && !online) on = false;
        else if (!member) fenceNode(node, 'peer is no longer part of the cluster');
        else if (!online) fenceNode(node, 'peer process is no longer available');
        else if (terminate) fenceNode(node, 'termination was requested');
        else if (join === 'member') {
          // active
        } else if (join === 'pending' || join === 'down') {
          node.standby = true;
          node.pending = true;
        } else fenceNode(node, 'peer was in an unknown state');
        node.online = on;
      } else {
        if (!member) node.online = false;
        else if (online) node.online = join === 'member';
        else if (expectedUp) node.unclean = true;
      }
      if (node.shutdown && node.online) node.online = true;
    }
    ws.nodes.push(node);
    ws.nodeByName.set(node.name, node);
  });
}

export function fenceNode(node: SNode, reason: string): void {
  if (node.unclean) return;
  node.unclean = true;
  node.fenceReason = reason;
}

function metaOf(sets: Primitive['metaAttributes'], ctx: RuleContext): Map<string, string> {
  return unpackNvSets(sets, ctx);
}

function newRsc(ws: WorkingSet, id: string, kind: Rsc['kind'], meta: Map<string, string>, parent: Rsc | undefined): Rsc {
  const r: Rsc = {
    id, baseId: stripInstance(id), kind, parent, children: [], cls: '', type: '', meta,
    managed: true, failed: false, orphan: false, blocked: false, maintenance: false, failureIgnored: false,
    stopIfFailed: false, unique: true, promotable: false, critical: true, startPending: false, stopUnexpected: false,
    priority: 0, stickiness: 0, migrationThreshold: INFINITY, failureTimeoutMs: 0, multipleActive: 'stop_start',
    requires: 'quorum', cloneMax: 0, cloneNodeMax: 1, interleave: false, ordered: false,
    groupOrdered: true, groupColocated: true,
    role: 'Stopped', running: [], knownOn: new Set(), failedProbes: new Map(), activeMonitors: new Map(),
    stopFailedOn: new Set(), historyIds: new Map(),
    allowed: new Map(), assigned: null, unassigned: true, assigning: false, updatingNodes: false,
    thisWith: [], withThis: [], actions: [], operations: [], index: ws.byId.size,
  };
  // An orphan history may carry the id of a (non-primitive) configured resource
  if (!ws.byId.has(id)) ws.byId.set(id, r);
  return r;
}

/** Apply meta settings to a resource (after inheritance from its parent and rsc_defaults). */
function applyMeta(ws: WorkingSet, r: Rsc): void {
  const m = r.meta;
  r.priority = lenientScore(m.get('priority'));
  r.stickiness = lenientScore(m.get('resource-stickiness') ?? m.get('resource_stickiness'));
  const mt = m.get('migration-threshold');
  r.migrationThreshold = mt === undefined ? INFINITY : parseScore(mt, INFINITY);
  if (Number.isNaN(r.migrationThreshold)) r.migrationThreshold = INFINITY;
  const ft = m.get('failure-timeout');
  r.failureTimeoutMs = ft === undefined ? 0 : parseDurationMs(ft, 0) || 0;
  r.multipleActive = (m.get('multiple-active') ?? 'stop_start').toLowerCase();
  r.targetRole = parseRole(m.get('target-role'));
  if (m.get('target-role') !== undefined && r.targetRole === undefined && m.get('target-role')?.toLowerCase() !== 'default') {
    ws.diagnostics.push({ level: 'error', message: `Resource ${r.id}: invalid target-role "${m.get('target-role')}"` });
  }
  r.managed = truthy(m.get('is-managed'), true);
  if (truthy(m.get('maintenance'))) {
    r.managed = false;
    r.maintenance = true;
  }
  if (ws.options.maintenanceMode) {
    r.managed = false;
    r.maintenance = true;
  }
  r.critical = truthy(m.get('critical'), true);
  r.requires = (m.get('requires') ?? (r.cls === 'stonith' ? 'quorum' : ws.options.fencingEnabled ? 'fencing' : 'quorum')).toLowerCase();
}

/** char2score-like: "2.0" is 2, garbage is 0. */
function lenientScore(v: string | undefined): number {
  if (v === undefined) return 0;
  const s = parseScore(v, 0);
  if (!Number.isNaN(s)) return s;
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? 0 : n;
}

function inheritMeta(child: Map<string, string>, parent: Map<string, string> | undefined): Map<string, string> {
  if (!parent) return child;
  for (const [k, v] of parent) if (!child.has(k)) child.set(k, v);
  return child;
}

function unpackPrimitive(ws: WorkingSet, p: Primitive, id: string, parent: Rsc | undefined, _defaults: Map<string, string>, ctx: RuleContext): Rsc {
  const meta = inheritMeta(metaOf(p.metaAttributes, ctx), parent?.meta);
  // rsc_defaults may hold rules on the resource's agent (rsc_expression)
  const defaults = unpackNvSets(ws.cib.configuration.rscDefaults, { ...ctx, rscClass: p.class, rscProvider: p.provider, rscType: p.type });
  for (const [k, v] of defaults) if (!meta.has(k)) meta.set(k, v);
  const r = newRsc(ws, id, 'primitive', meta, parent);
  r.prim = p;
  r.cls = p.class;
  r.provider = p.provider;
  r.type = p.type;
  r.operations = p.operations;
  applyMeta(ws, r);
  if (!['ocf', 'lsb', 'systemd', 'service', 'stonith', 'upstart', 'nagios', 'heartbeat'].includes(p.class)) {
    ws.diagnostics.push({ level: 'error', message: `Resource ${p.id}: unknown resource class "${p.class}"` });
  }
  ws.ninstances++;
  if (r.targetRole === 'Stopped') ws.disabled++;
  return r;
}

function unpackGroup(ws: WorkingSet, g: Group, id: string, parent: Rsc | undefined, defaults: Map<string, string>, ctx: RuleContext, suffix: string): Rsc {
  const meta = inheritMeta(metaOf(g.metaAttributes, ctx), parent?.meta);
  for (const [k, v] of defaults) if (!meta.has(k)) meta.set(k, v);
  const r = newRsc(ws, id, 'group', meta, parent);
  applyMeta(ws, r);
  r.groupOrdered = truthy(metaOf(g.metaAttributes, ctx).get('ordered') ?? (parent?.kind === 'clone' ? undefined : meta.get('ordered')), true);
  r.groupColocated = truthy(meta.get('collocated'), true);
  for (const c of g.children) r.children.push(unpackPrimitive(ws, c, c.id + suffix, r, new Map(), ctx));
  return r;
}

export function newCloneInstance(ws: WorkingSet, clone: Rsc, n: number, ctx: RuleContext): Rsc {
  const c = clone.cloneCfg!;
  const suffix = ':' + n;
  let inst: Rsc;
  if (c.child.tag === 'group') inst = unpackGroup(ws, c.child, c.child.id + suffix, clone, new Map(), ctx, suffix);
  else inst = unpackPrimitive(ws, c.child, c.child.id + suffix, clone, new Map(), ctx);
  const mark = (x: Rsc) => {
    x.instance = n;
    x.unique = clone.unique;
    x.children.forEach(mark);
  };
  mark(inst);
  clone.children.push(inst);
  return inst;
}

function unpackClone(ws: WorkingSet, c: Clone, defaults: Map<string, string>, ctx: RuleContext): Rsc {
  const meta = metaOf(c.metaAttributes, ctx);
  for (const [k, v] of defaults) if (!meta.has(k)) meta.set(k, v);
  // Clones are sticky by default (stickiness 1 when not set).
  if (!meta.has('resource-stickiness')) meta.set('resource-stickiness', '1');
  const r = newRsc(ws, c.id, 'clone', meta, undefined);
  r.cloneCfg = c;
  applyMeta(ws, r);
  r.promotable = c.tag === 'master' || truthy(meta.get('promotable'));
  const nodes = ws.nodes.length;
  const cm = meta.get('clone-max');
  r.cloneMax = cm === undefined ? nodes : Math.max(0, Number.parseInt(cm, 10) || 0);
  const cnm = meta.get('clone-node-max');
  r.cloneNodeMax = cnm === undefined ? 1 : Math.max(0, Number.parseInt(cnm, 10) || 0);
  // More than one instance per node implies globally unique instances
  r.unique = truthy(meta.get('globally-unique'), r.cloneNodeMax > 1);
  r.interleave = truthy(meta.get('interleave'));
  r.ordered = truthy(meta.get('ordered'));
  for (let i = 0; i < r.cloneMax; i++) newCloneInstance(ws, r, i, ctx);
  return r;
}

function unpackResources(ws: WorkingSet, ctx: RuleContext): void {
  const defaults = unpackNvSets(ws.cib.configuration.rscDefaults, ctx);
  for (const t of ws.cib.configuration.resources as TopResource[]) {
    if (t.tag === 'primitive') ws.resources.push(unpackPrimitive(ws, t as Primitive, t.id, undefined, defaults, ctx));
    else if (t.tag === 'group') ws.resources.push(unpackGroup(ws, t as Group, t.id, undefined, defaults, ctx, ''));
    else if (t.tag === 'clone' || t.tag === 'master') ws.resources.push(unpackClone(ws, t as Clone, defaults, ctx));
    else ws.diagnostics.push({ level: 'warning', message: `Resource ${t.id}: ${t.tag} resources are not supported; ignored` });
  }
  // Pacemaker keeps top-level resources sorted by priority (stable).
  ws.resources = ws.resources.map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i).map((x) => x.r);
}

// ---------------------------------------------------------------------------
// Operation history

/** The rc the controller expected, from the transition key ("action:transition:target_rc:uuid"). */
function expectedRc(op: LrmOp): number | undefined {
  const k = op.transitionKey;
  if (!k) return undefined;
  // "action:transition:target_rc:uuid", without allocating the split
  const a = k.indexOf(':');
  const b = a < 0 ? -1 : k.indexOf(':', a + 1);
  const c = b < 0 ? -1 : k.indexOf(':', b + 1);
  if (c < 0) return undefined;
  const n = Number.parseInt(k.slice(b + 1, c), 10);
  return Number.isNaN(n) ? undefined : n;
}

/** The id without a clone instance suffix (":N"). */
export function stripInstance(id: string): string {
  const i = id.lastIndexOf(':');
  if (i < 0 || i === id.length - 1) return id;
  for (let j = i + 1; j < id.length; j++) {
    const c = id.charCodeAt(j);
    if (c < 48 || c > 57) return id;
  }
  return id.slice(0, i);
}

function opSortKey(op: LrmOp): number {
  const c = Number.parseInt(op.callId ?? '-1', 10);
  // Pending operations (call-id -1) are the newest
  return Number.isNaN(c) || c < 0 ? Number.MAX_SAFE_INTEGER : c;
}

function configuredOnFail(ws: WorkingSet, rsc: Rsc, task: string, opInterval: number): OnFail {
  let v: string | undefined;
  for (const o of rsc.operations) {
    if (o.name === task && intervalMs(o.interval) === opInterval) {
      v = o.onFail;
      break;
    }
  }
  if (v === undefined) {
    const od = unpackNvSets(ws.cib.configuration.opDefaults, { now: ws.now, opName: task, opInterval });
    v = od.get('on-fail');
  }
  const t = (v ?? '').toLowerCase();
  switch (t) {
    case 'ignore': return 'ignore';
    case 'block': return 'block';
    case 'stop': return 'stop';
    case 'standby': return 'standby';
    case 'fence': return ws.options.fencingEnabled ? 'fence' : 'block';
    case 'restart': return 'restart';
    case 'demote': return 'demote';
    case 'ban':
    case 'migrate': return 'ban';
  }
  if (task === 'stop') return ws.options.fencingEnabled ? 'fence' : 'block';
  return 'restart';
}

/** An operation interval in ms; also accepts ISO 8601 forms without "T" ("P30S"), as Pacemaker does. */
export function intervalMs(text: string | undefined): number {
  const v = parseDurationMs(text, 0);
  if (!Number.isNaN(v)) return v;
  const t = (text ?? '').trim();
  if (/^P\d+(\.\d+)?[HMS]$/i.test(t)) return parseDurationMs('PT' + t.slice(1), 0);
  return Number.NaN;
}

export function failCountFor(ws: WorkingSet, rsc: Rsc, node: SNode): { count: number; lastFailure: number } {
  const id = rsc.unique ? rsc.id : rsc.baseId;
  const m = ws.failCounts.get(node);
  return m?.get(id) ?? { count: 0, lastFailure: 0 };
}

function unpackFailCounts(ws: WorkingSet): void {
  for (const node of ws.nodes) {
    const m = new Map<string, { count: number; lastFailure: number }>();
    for (const [k, v] of node.attrs) {
      // Keyed by the resource id; anonymous clone instances ("rsc:0") also count for "rsc"
      let match = /^fail-count-(.+?)(#.*)?$/.exec(k);
      if (match) {
        const ids = new Set([match[1]!, stripInstance(match[1]!)]);
        for (const id of ids) {
          const e = m.get(id) ?? { count: 0, lastFailure: 0 };
          e.count = addScores(e.count, parseScore(v, 0) || 0);
          m.set(id, e);
        }
        continue;
      }
      match = /^last-failure-(.+?)(#.*)?$/.exec(k);
      if (match) {
        const ids = new Set([match[1]!, stripInstance(match[1]!)]);
        for (const id of ids) {
          const e = m.get(id) ?? { count: 0, lastFailure: 0 };
          e.lastFailure = Math.max(e.lastFailure, Number.parseInt(v, 10) || 0);
          m.set(id, e);
        }
      }
    }
    ws.failCounts.set(node, m);
  }
}

function findRscForHistory(ws: WorkingSet, node: SNode, lrm: LrmResource, ctx: RuleContext): Rsc | undefined {
  const id = lrm.id;
  let rsc = ws.byId.get(id);
  let top: Rsc | undefined;
  if (rsc && rsc.kind !== 'primitive') return undefined;
  if (!rsc) {
    const base = stripInstance(id);
    const z = ws.byId.get(base + ':0');
    if (z && !z.unique) rsc = z;
  }
  if (!rsc) {
    // Anonymous clone histories may be recorded under the bare child id.
    const base = stripInstance(id);
    const r = anonymousCloneFor(ws, base);
    if (r) {
      rsc = r.children[0]?.kind === 'group' ? r.children[0].children.find((c) => c.baseId === base) : r.children[0];
      top = r;
      if (!rsc) {
        // clone-max=0: create an orphan instance.
        const inst = newCloneInstance(ws, r, r.children.length, ctx);
        inst.orphan = true;
        rsc = inst.kind === 'group' ? inst.children.find((c) => c.baseId === base) : inst;
      }
    }
  }
  if (!rsc) return undefined;
  top = top ?? topOf(rsc);
  if (top.kind === 'clone' && !top.unique) {
    return findAnonymousClone(ws, node, top, stripInstance(id), ctx);
  }
  return rsc;
}

const cloneByChild = new WeakMap<WorkingSet, Map<string, Rsc>>();

function anonymousCloneFor(ws: WorkingSet, base: string): Rsc | undefined {
  let m = cloneByChild.get(ws);
  if (!m) {
    m = new Map();
    for (const r of ws.resources) {
      if (r.kind !== 'clone' || r.unique) continue;
      const child = r.cloneCfg!.child;
      m.set(child.id, r);
      if (child.tag === 'group') for (const c of child.children) m.set(c.id, r);
    }
    cloneByChild.set(ws, m);
  }
  return m.get(base);
}

export function topOf(r: Rsc): Rsc {
  let t = r;
  while (t.parent) t = t.parent;
  return t;
}

const NO_NODES: SNode[] = [];

function instanceLocations(inst: Rsc): SNode[] {
  if (inst.kind === 'primitive') {
    if (!inst.pendingNode || inst.running.includes(inst.pendingNode)) return inst.running.length ? inst.running : NO_NODES;
    return [...inst.running, inst.pendingNode];
  }
  const s: SNode[] = [];
  for (const c of inst.children) for (const n of instanceLocations(c)) if (!s.includes(n)) s.push(n);
  return s;
}

function findInInstance(inst: Rsc, base: string): Rsc | undefined {
  if (inst.kind === 'primitive') return inst.baseId === base ? inst : undefined;
  return inst.children.find((c) => c.baseId === base);
}

function findAnonymousClone(ws: WorkingSet, node: SNode, parent: Rsc, base: string, ctx: RuleContext): Rsc | undefined {
  let rsc: Rsc | undefined;
  let inactive: Rsc | undefined;
  let skipInactive = false;
  for (const child of parent.children) {
    if (rsc) break;
    const locs = instanceLocations(child);
    if (locs.length > 0) {
      if (locs[0] === node) {
        const r = findInInstance(child, base);
        if (r) {
          if (r.running.length > 0) {
            skipInactive = true;
          } else rsc = r;
        }
      }
    } else if (!skipInactive && !inactive && !child.blocked) {
      inactive = findInInstance(child, base);
      if (inactive?.pendingNode && inactive.pendingNode !== node) inactive = undefined;
    }
  }
  if (!rsc && !skipInactive && inactive) rsc = inactive;
  // An instance on a lost node that does not need fencing to recover is
  // treated as an orphan, so its instance number can run elsewhere
  if (rsc && rsc.requires !== 'fencing' && (!node.online || node.unclean) && parent.cloneMax !== ws.nodes.length) rsc = undefined;
  if (!rsc) {
    const inst = newCloneInstance(ws, parent, parent.children.length, ctx);
    const markOrphan = (x: Rsc) => {
      x.orphan = true;
      x.children.forEach(markOrphan);
    };
    markOrphan(inst);
    rsc = findInInstance(inst, base);
  }
  return rsc;
}

function makeOrphan(ws: WorkingSet, lrm: LrmResource): Rsc {
  const meta = new Map<string, string>();
  const r = newRsc(ws, lrm.id, 'primitive', meta, undefined);
  r.cls = lrm.class ?? 'ocf';
  r.provider = lrm.provider;
  r.type = lrm.type ?? '';
  r.orphan = true;
  applyMeta(ws, r);
  if (!ws.options.stopOrphans) r.managed = false;
  else {
    // A removed resource never runs anywhere
    r.nextRole = 'Stopped';
    r.nextRoleReason = 'removed';
  }
  ws.resources.push(r);
  return r;
}

interface HistoryResult {
  role: Role;
  onFail: OnFail;
  known: boolean;
}

function unpackLrmResource(ws: WorkingSet, node: SNode, rsc: Rsc, lrm: LrmResource): void {
  // By call-id; equal call-ids (a result and its last failure) by last-rc-change
  const ops = lrm.ops.length < 2 ? lrm.ops : lrm.ops
    .map((op) => ({ op, k: opSortKey(op), t: Number.parseInt(op.lastRcChange ?? '0', 10) || 0 }))
    .sort((a, b) => a.k - b.k || a.t - b.t)
    .map((x) => x.op);
  // A recorded failure superseded by a later result of the same call is history
  const superseded = new Set<LrmOp>();
  for (let i = 1; i < ops.length; i++) {
    const a = ops[i - 1]!;
    const b = ops[i]!;
    if (a.callId !== undefined && a.callId === b.callId && a.operation === b.operation && a.interval === b.interval && a.rcCode !== b.rcCode) superseded.add(a);
  }
  let role: Role | 'Unknown' = 'Unknown';
  let onFail: OnFail = 'ignore';
  let nextRoleStop = false;
  const monitors = new Set<number>();
  for (const op of ops) {
    if (superseded.has(op)) continue;
    const task = op.operation;
    // unpack_rsc_op: notify and meta-data results say nothing of the resource's state.
    if (task === 'notify' || task === 'meta-data') continue;
    const interval = Number.parseInt(op.interval, 10) || 0;
    const status = Number.parseInt(op.opStatus ?? '0', 10);
    const rc = Number.parseInt(op.rcCode ?? '0', 10);
    const isProbe = task === 'monitor' && interval === 0;
    // process_recurring: only recurring monitors recorded after the last
    // start are active (an older one, or its last failure, was cancelled by
    // it). A pending start (sorted last here) cancelled nothing yet: Pacemaker
    // orders it by its last-rc-change, before the results that followed it.
    if ((task === 'start' || task === 'migrate_from') && status !== -1) monitors.clear();
    if (status === 1) continue; // cancelled
    if (status === -1) {
      // Pending operation
      // The first pending action that is not a probe names the pending task and node (a pending probe names neither).
      if (rsc.pendingTask === undefined && (interval !== 0 || task !== 'monitor')) {
        rsc.pendingTask = task;
        rsc.pendingNode = node;
      }
      if (task === 'start') {
        rsc.startPending = true;
        role = 'Started';
      } else if (task === 'promote') role = 'Promoted';
      else if (task === 'stop' || task === 'demote') {
        if (role === 'Unknown' || role === 'Stopped') role = 'Started';
      } else if (task === 'monitor' && interval > 0) {
        monitors.add(interval);
      }
      continue;
    }
    const exp = expectedRc(op);
    let ok: boolean;
    let newRole: Role | undefined;
    let failedProbe = false;
    if (isProbe && (rc === 5 || rc === 2 || status === 7)) {
      // pcmk_xe_mask_probe_failure: a probe that found the agent or its parameters unusable means "not running here".
      ok = true;
      failedProbe = true;
      newRole = 'Stopped';
    } else if (status === 0 || status === 4) {
      if (rc === 0) {
        if (exp === 7 && !isProbe) ok = false;
        else ok = true;
      } else if (rc === 7) {
        ok = isProbe || exp === 7 || (task === 'stop');
        if (task === 'monitor' && ok) newRole = 'Stopped';
      } else if (rc === 8) {
        ok = isProbe || exp === 8 || task === 'monitor' && exp === undefined;
        newRole = 'Promoted';
      } else if (rc === 9) {
        ok = false;
        newRole = 'Promoted';
      } else {
        ok = false;
      }
      if (exp !== undefined && rc === exp) ok = true;
    } else {
      ok = false;
    }
    // failure-timeout: expired failures (including failed probes) are ignored.
    if (failedProbe && rsc.failureTimeoutMs > 0) {
      const last = Number.parseInt(op.lastRcChange ?? op.lastRun ?? '0', 10) || 0;
      if (last > 0 && last + rsc.failureTimeoutMs / 1000 <= ws.now) {
        ws.expiredFailures.push({ rsc, node, op });
        continue;
      }
    }
    // A failure of an operation configured on-fail=block in the primitive
    // itself never expires (block_failure: not op_defaults, not the implied
    // block of a stop without fencing)
    const explicitBlock = rsc.operations.some((o) => o.name === task && intervalMs(o.interval) === interval && (o.onFail ?? '').toLowerCase() === 'block');
    if (!ok && rsc.failureTimeoutMs > 0 && !explicitBlock) {
      const last = Number.parseInt(op.lastRcChange ?? op.lastRun ?? '0', 10) || 0;
      if (last > 0 && last + rsc.failureTimeoutMs / 1000 <= ws.now) {
        const fc = failCountFor(ws, rsc, node);
        ws.expiredFailures.push({ rsc, node, op });
        if (fc.count === 0 || fc.lastFailure + rsc.failureTimeoutMs / 1000 <= ws.now) {
          // The failure and its fail count have expired.
          if (task === 'monitor' && interval > 0) monitors.add(interval);
          continue;
        }
      }
    }
    // block_if_unrecoverable: a stop that failed with a hard error leaves the
    // resource blocked when its node cannot be fenced (pe_can_fence).
    if (!ok && task === 'stop' && (status === 0 || status === 4) && (rc === 2 || rc === 4 || rc === 5 || (rc === 3 && interval === 0))) {
      const o = ws.options;
      if (!(o.fencingEnabled && o.haveFencing && (o.haveQuorum || o.noQuorumPolicy === 'ignore' || node.online))) {
        rsc.managed = false;
        rsc.blocked = true;
      }
    }
    // remap_operation: an accepted "not running" (probe, expected, unmanaged) leaves it stopped, whatever the task.
    const notRunning = ok && rc === 7 && (status === 0 || status === 4);
    // on-fail=ignore: pretend the failed operation succeeded
    if (!ok && configuredOnFail(ws, rsc, task, interval) === 'ignore') {
      rsc.failureIgnored = true;
      ok = true;
      if (newRole === 'Stopped' && task === 'monitor') newRole = undefined;
    }
    if (ok) {
      let clear = false;
      if (failedProbe) {
        rsc.failedProbes.set(node, rc);
        role = 'Stopped';
        // A hard error: the resource cannot run on this node
        addAllowed(rsc, node, -INFINITY);
      } else if (isProbe && newRole === 'Stopped') {
        role = 'Stopped';
        clear = true;
      } else if (notRunning && task !== 'stop') {
        role = 'Stopped';
        clear = true;
      } else if (task === 'start' || task === 'migrate_from') {
        role = 'Started';
        clear = true;
      } else if (task === 'stop' || task === 'migrate_to') {
        role = 'Stopped';
        clear = true;
        monitors.clear();
      } else if (task === 'promote') {
        role = 'Promoted';
        clear = true;
      } else if (task === 'demote') {
        role = 'Unpromoted';
        if (onFail === 'demote') clear = true;
      } else if (newRole === 'Promoted') {
        role = 'Promoted';
      } else if (newRole === 'Stopped') {
        role = 'Stopped';
      } else if (task === 'monitor' || task === 'notify' || task === 'reload') {
        if (role === 'Unknown' || role === 'Stopped') role = 'Started';
      }
      if (task === 'monitor' && interval > 0 && role !== 'Stopped') monitors.add(interval);
      if (clear) {
        if (['block', 'ignore', 'demote', 'restart'].includes(onFail)) {
          onFail = 'ignore';
          nextRoleStop = false;
        }
      }
      continue;
    }
    // A failure
    const cfg = configuredOnFail(ws, rsc, task, interval);
    if (cfg === 'ignore') {
      rsc.failureIgnored = true;
      if (role === 'Unknown' || role === 'Stopped') role = 'Started';
      if (task === 'monitor' && interval > 0) monitors.add(interval);
      continue;
    }
    if (ON_FAIL_RANK[cfg] > ON_FAIL_RANK[onFail]) onFail = cfg;
    if (cfg === 'stop') nextRoleStop = true;
    if (status === 0 || status === 4) {
      // Hard errors keep the resource off the node, a fatal one (not
      // configured) off every node (remap_operation, unpack_rsc_op); an
      // anonymous clone's instance bans the whole clone
      let top = rsc;
      if (!rsc.unique) while (top.parent) top = top.parent;
      if (rc === 2 || rc === 4 || rc === 5 || (rc === 3 && interval === 0)) addAllowed(top, node, -INFINITY);
      else if (rc === 6) for (const n of ws.nodes) addAllowed(top, n, -INFINITY);
    }
    if (task === 'stop') {
      rsc.stopFailedOn.add(node);
      addAllowed(rsc, node, -INFINITY);
    }
    if (task === 'demote') {
      // A failed demote leaves it Unpromoted (it is recovered by a stop), unless blocked
      role = cfg === 'block' ? 'Promoted' : 'Unpromoted';
      if (cfg === 'block') nextRoleStop = true;
    } else if (task === 'promote' || newRole === 'Promoted') role = 'Promoted';
    else if (role === 'Unknown' || ROLE_RANK[role] < ROLE_RANK.Started) role = 'Started';
    if (task === 'monitor' && interval > 0) monitors.add(interval);
  }
  rsc.knownOn.add(node);
  if (monitors.size > 0) rsc.activeMonitors.set(node, monitors);
  if (role !== 'Unknown' && role !== 'Stopped') {
    if (rsc.prim && !rsc.orphan && agentDiffers(rsc, lrm)) ws.agentChanged.push({ rsc, node });
    else collectDigestChecks(ws, node, rsc, ops);
  }
  const res: HistoryResult = { role: role === 'Unknown' ? 'Stopped' : role, onFail, known: true };
  processRscState(ws, rsc, node, res, nextRoleStop);
}

/** The history's agent (class, provider, type, where recorded) differs from the configuration's. */
function agentDiffers(rsc: Rsc, lrm: LrmResource): boolean {
  return (lrm.class !== undefined && lrm.class !== rsc.cls)
    || (lrm.type !== undefined && lrm.type !== rsc.type)
    || (lrm.provider ?? undefined) !== (rsc.provider ?? undefined) && (lrm.class !== undefined || lrm.provider !== undefined);
}

/**
 * process_rsc_history: the operations since the resource last became active
 * on the node (calculate_active_ops) whose definition is checked.
 */
function collectDigestChecks(ws: WorkingSet, node: SNode, rsc: Rsc, ops: LrmOp[]): void {
  let startIndex = -1;
  let stopIndex = -1;
  let impliedMonitor = -1;
  let impliedClone = -1;
  ops.forEach((op, i) => {
    const counter = i + 1;
    const task = op.operation;
    if (task === 'stop' && (op.opStatus ?? '0') === '0') stopIndex = counter;
    else if (task === 'start' || task === 'migrate_from') startIndex = counter;
    else if (impliedMonitor <= stopIndex && task === 'monitor') {
      if (op.rcCode === '0' || op.rcCode === '8') impliedMonitor = counter;
    } else if (task === 'promote' || task === 'demote') impliedClone = counter;
  });
  if (startIndex === -1) startIndex = impliedClone !== -1 ? impliedClone : impliedMonitor;
  if (startIndex < stopIndex) return;
  ops.forEach((op, i) => {
    if (i + 1 < startIndex || op.opDigest === undefined) return;
    if ((Number.parseInt(op.interval, 10) || 0) !== 0) return;
    if (!['monitor', 'start', 'promote', 'migrate_from'].includes(op.operation)) return;
    ws.digestChecks.push({ rsc, node, op });
  });
}

export function addAllowed(rsc: Rsc, node: SNode, score: number): void {
  for (const c of rsc.children) addAllowed(c, node, score);
  rsc.allowed.set(node, addScores(rsc.allowed.get(node) ?? 0, score));
}

function processRscState(ws: WorkingSet, rsc: Rsc, node: SNode, h: HistoryResult, nextRoleStop: boolean): void {
  let onFail = h.onFail;
  const running = h.role !== 'Stopped';
  if (running && !node.online && !node.maintenance && rsc.managed && ws.options.fencingEnabled) {
    fenceNode(node, `${rsc.id} is thought to be active there`);
  }
  // A node already to be fenced needs no further recovery of what failed there.
  if (node.unclean) onFail = 'ignore';
  switch (onFail) {
    case 'block':
      rsc.managed = false;
      rsc.blocked = true;
      break;
    case 'ban':
      addAllowed(rsc, node, -INFINITY);
      break;
    case 'stop':
      if (nextRoleStop || true) {
        rsc.nextRole = 'Stopped';
        rsc.nextRoleReason = 'on-fail=stop';
      }
      break;
    case 'standby':
      node.standby = true;
      node.standbyOnFail = true;
      break;
    case 'fence':
      if (ws.options.fencingEnabled) fenceNode(node, `${rsc.id} failed there`);
      break;
    default:
      break;
  }
  if (running) {
    if (!rsc.running.includes(node)) rsc.running.push(node);
    node.runningCount++;
    if (node.maintenance) {
      rsc.managed = false;
      rsc.maintenance = true;
    }
    switch (onFail) {
      case 'ignore':
        break;
      case 'demote':
      case 'block':
        rsc.failed = true;
        break;
      default:
        rsc.failed = true;
        rsc.stopIfFailed = true;
    }
    if (ROLE_RANK[h.role] > ROLE_RANK[rsc.role]) rsc.role = h.role;
    // Multiply active (non-clone) resources
    if (rsc.running.length > 1 && !(rsc.parent && rsc.parent.kind === 'clone') && !(rsc.parent?.parent?.kind === 'clone')) {
      if (rsc.multipleActive === 'block') {
        rsc.managed = false;
        rsc.blocked = true;
        if (rsc.parent && rsc.parent.kind === 'group' && rsc.parent.multipleActive === 'block') {
          for (const c of rsc.parent.children) {
            c.managed = false;
            c.blocked = true;
          }
        }
      } else if (rsc.multipleActive === 'stop_only') {
        for (const n of ws.nodes) addAllowed(rsc, n, -INFINITY);
      }
    }
  }
  // target-role caps the next role
  if (rsc.targetRole !== undefined) {
    if (rsc.nextRole === undefined || ROLE_RANK[rsc.targetRole] < ROLE_RANK[rsc.nextRole]) {
      rsc.nextRole = rsc.targetRole;
      rsc.nextRoleReason = 'target-role';
    }
  }
}

function unpackStatus(ws: WorkingSet, ctx: RuleContext): void {
  const states = ws.cib.status ?? [];
  // unpack_node_history: nodes in the status section's order; only with
  // fencing and shutdown locks both disabled are offline nodes left until
  // the online ones are read (so that active clone instances are numbered
  // first), and then never read.
  const shutdownLock = truthy(clusterOption(unpackNvSets(ws.cib.configuration.crmConfig, ctx), 'shutdown-lock'), false);
  const passes: Array<(n: SNode) => boolean> = ws.options.fencingEnabled || shutdownLock
    ? [() => true]
    : [(n) => n.online];
  const done = new Set<SNode>();
  for (const pass of passes) {
    for (const st of states) {
      const node = ws.nodes.find((n) => n.id === st.id) ?? (st.uname ? ws.nodeByName.get(st.uname) : undefined);
      if (!node || done.has(node) || !pass(node)) continue;
      done.add(node);
      for (const lrm of st.lrm?.resources ?? []) {
        if (lrm.ops.length === 0) continue;
        let rsc = findRscForHistory(ws, node, lrm, ctx);
        if (!rsc) {
          // Only orphans that are (or may be) active matter.
          rsc = ws.byId.get(lrm.id);
          if (!rsc || rsc.kind !== 'primitive') rsc = makeOrphan(ws, lrm);
        }
        rsc.historyIds.set(node, lrm.id);
        unpackLrmResource(ws, node, rsc, lrm);
      }
    }
  }
}

/** Propagate flags upward/downward where Pacemaker's display and logic need them. */
function finishResources(ws: WorkingSet): void {
  const visit = (r: Rsc) => {
    r.children.forEach(visit);
    if (r.kind !== 'primitive') {
      r.running = [];
      for (const c of r.children) for (const n of c.running) if (!r.running.includes(n)) r.running.push(n);
      const roles = r.children.map((c) => c.role);
      r.role = roles.includes('Promoted') ? 'Promoted' : roles.includes('Started') ? 'Started' : roles.includes('Unpromoted') ? 'Unpromoted' : 'Stopped';
    }
  };
  ws.resources.forEach(visit);
  const count = (r: Rsc) => {
    if (r.kind === 'primitive') {
      if (r.blocked) ws.blocked++;
    } else r.children.forEach(count);
  };
  ws.resources.forEach(count);
}

export function unpack(input: Cib, now: number): WorkingSet {
  const ctx: RuleContext = { now };
  // Resource templates and tags first, as Pacemaker does: ws.cib is the expanded CIB.
  const { value: cib, problems } = expandTemplates(input);
  const ws: WorkingSet = {
    cib, now, options: unpackOptions(cib, ctx), nodes: [], nodeByName: new Map(), resources: [], byId: new Map(),
    diagnostics: problems.map((message) => ({ level: 'error', message })), expiredFailures: [], ninstances: 0, disabled: 0, blocked: 0, failCounts: new Map(), digestChecks: [], agentChanged: [],
  };
  unpackNodes(ws, ctx);
  unpackFailCounts(ws);
  unpackResources(ws, ctx);
  unpackStatus(ws, ctx);
  finishResources(ws);
  return ws;
}
