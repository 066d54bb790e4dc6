/**
 * crm_mon's view of a cluster, in Pacemaker 2.1.5's layouts: text (the
 * sections `Cluster Summary`, `Node List`, `Active Resources` / `Full List of
 * Resources`, `Node Attributes`, `Migration Summary`, `Failed Resource
 * Actions`), XML (`<pacemaker-result>` as `crm_mon --output-as=xml`) and JSON
 * (the same tree as the XML). A pure function of a CIB, the time and what
 * the local daemon knows (DC, quorum, last change); resource states come from
 * the scheduler's unpack, the node and resource lines from format.ts.
 */
import { fencingSections } from './fencing.js';
import type { FenceEvent } from '../fencing/history.js';
import type { Cib, LrmOp, NodeState } from '../cib/model.js';
import { INFINITY, parseScore } from '../cib/score.js';
import { parseDurationMs } from '../cib/duration.js';
import { clusterOption, unpack, type WorkingSet } from '../scheduler/unpack.js';
import type { Rsc, SNode } from '../scheduler/types.js';
import { formatNodeList, formatResources, isActive, runningOn } from './format.js';
import { evalRule, unpackNvSets } from '../scheduler/rules.js';
import { compareOps, EXEC_STATUS_TEXT, failedActionFriendly, glibSort, pacemakerFailedOps, parseOpKey, rcText } from './failures.js';

export interface MonInput {
  cib: Cib;
  /** Seconds since the epoch: "Last updated", rules, failure-timeout. */
  now: number;
  /** The DC as the daemon knows it; undefined: the CIB's dc-uuid. null: none. */
  dc?: { id: string; name: string } | null;
  /** Quorum as the daemon knows it; undefined: the CIB's have-quorum. */
  quorate?: boolean;
  /** The last configuration change; undefined: the CIB's cib-last-written and update-* attributes. */
  lastChange?: { at: number; user?: string; client?: string; origin?: string };
  /** The local daemon's state line ("Status of pacemakerd: ..."); absent with CIB_file. */
  daemon?: { name: string; state: string; text: string; lastUpdated: number };
  /** Version shown for the DC when the CIB has no dc-version property. */
  version: string;
  /** The CIB was read from a file (CIB_file): read it exactly as Pacemaker's tools read one. */
  fromFile?: boolean;
  /** Stack shown when the CIB has no cluster-infrastructure property. */
  stack: string;
  /** Fencing history from belayd (src/status/fencing.ts). */
  fencing?: FenceEvent[];
}

export interface MonOptions {
  /** -r: inactive resources too ("Full List of Resources"). */
  inactive?: boolean;
  /** -f: "Migration Summary" (fail counts). */
  failcounts?: boolean;
  /** -A: "Node Attributes". */
  attributes?: boolean;
  /** -o: "Operations" (the operation history per node). */
  operations?: boolean;
  /** -L: "Negative Location Constraints" (bans, e.g. crm resource ban). */
  bans?: boolean;
  /**
   * -m / --fence-history LEVEL (0-3; -m alone: 2; default 1, failed and
   * pending fencing). A CIB file has no fencer to ask, so there is no
   * history to show there (as with Pacemaker's crm_mon).
   */
  fenceHistory?: number;
  /** The command line, for the XML's request attribute. */
  request?: string;
}

// ---------------------------------------------------------------------------
// Time formats

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** ctime(3) without the newline, in local time: "Sun Nov 22 02:25:00 2026". */
export function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** Pacemaker's crm_time ISO form in local time: "2026-11-22 02:24:56Z" or "... +01:00". */
export function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : ` ${off > 0 ? '+' : '-'}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${zone}`;
}

// ---------------------------------------------------------------------------
// What the views share


/** Node attributes crm_mon never shows (Pacemaker's FILTER_STR). */
const HIDDEN_ATTR_PREFIXES = ['fail-count-', 'last-failure-', 'shutdown', 'terminate', 'standby', '#'];

interface Summary {
  stack: string;
  dc: { id: string; name: string } | null;
  version: string;
  quorate: boolean;
  lastChange: { time?: string; user?: string; client?: string; origin?: string };
  nodesConfigured: number;
  mixedVersion: boolean;
  instances: { n: number; disabled: number; blocked: number };
}

import type { FailedOp } from './failures.js';
export type { FailedOp } from './failures.js';

interface Model {
  input: MonInput;
  ws: WorkingSet;
  summary: Summary;
  props: Map<string, string>;
  failed: FailedOp[];
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['true', 'on', 'yes', 'y', '1'].includes(v.trim().toLowerCase());
}

function buildModel(input: MonInput): Model {
  const ws = unpack(input.cib, input.now);
  const props = unpackNvSets(input.cib.configuration.crmConfig, { now: input.now });
  let dc: Summary['dc'];
  if (input.dc !== undefined) dc = input.dc;
  else {
    const n = input.cib.dcUuid === undefined ? undefined : input.cib.configuration.nodes.find((x) => x.id === input.cib.dcUuid);
    dc = n ? { id: n.id, name: n.uname } : null;
  }
  // The daemon's last change (epoch) is shown in ctime form; a CIB file's
  // cib-last-written is shown as written, as Pacemaker does.
  let lastChange: Summary['lastChange'];
  if (input.lastChange !== undefined && input.lastChange.at > 0) {
    const lc = input.lastChange;
    lastChange = { time: ctime(lc.at), user: lc.user, client: lc.client, origin: lc.origin };
  } else {
    const x = input.cib.extra ?? {};
    lastChange = { time: x['cib-last-written'], user: x['update-user'], client: x['update-client'], origin: x['update-origin'] };
  }
  // is_mixed_version: online nodes report different feature sets.
  const sets = new Set(ws.nodes.filter((n) => n.online).map((n) => nodeFeatureSet(n)));
  return {
    input,
    ws,
    props,
    summary: {
      stack: props.get('cluster-infrastructure') ?? input.stack,
      dc,
      version: props.get('dc-version') ?? input.version,
      quorate: input.quorate ?? truthy(input.cib.haveQuorum),
      lastChange,
      nodesConfigured: ws.nodes.length,
      mixedVersion: sets.size > 1,
      instances: countInstances(ws),
    },
    failed: pacemakerFailedOps(ws),
  };
}

/**
 * unpack_config's no-quorum-policy of 2.1.5: "suicide" needs fencing and a
 * cluster that has had quorum (or no-quorum-panic); unknown values are "stop".
 */
function noQuorumPolicy(ws: WorkingSet): string {
  const v = ws.options.noQuorumPolicy;
  if (v === 'ignore' || v === 'freeze' || v === 'demote') return v;
  if (v === 'suicide' && ws.options.fencingEnabled) {
    const panic = Number.parseInt(ws.cib.extra?.['no-quorum-panic'] ?? '0', 10) || 0;
    if (panic !== 0 || truthy(ws.cib.haveQuorum)) return 'suicide';
  }
  return 'stop';
}

/** failed_action_list (every output format): masked probe failures and entries without an operation key are left out. */
function listedFailures(failed: FailedOp[]): FailedOp[] {
  return failed.filter((f) => !f.masked && parseOpKey(f.key) !== undefined);
}

/** get_node_feature_set: an online node's #feature-set (older nodes lack it). */
function nodeFeatureSet(n: SNode): string | undefined {
  return n.online ? (n.attrs.get('#feature-set') ?? '<3.15.1') : undefined;
}

/**
 * pe__count_common of 2.1.5: every primitive (clone instances included)
 * that is not an orphan, or an orphan still active; disabled (target-role
 * Stopped, or Unpromoted in a promotable clone) and blocked ones.
 */
function countInstances(ws: WorkingSet): { n: number; disabled: number; blocked: number } {
  const c = { n: 0, disabled: 0, blocked: 0 };
  const visit = (r: Rsc) => {
    if (r.children.length) {
      r.children.forEach(visit);
      return;
    }
    if (r.kind !== 'primitive' || (r.orphan && r.running.length === 0 && r.role === 'Stopped')) return;
    c.n++;
    let top = r;
    while (top.parent) top = top.parent;
    if (r.targetRole === 'Stopped' || (top.promotable && r.targetRole === 'Unpromoted')) c.disabled++;
    if (r.blocked) c.blocked++;
  };
  ws.resources.forEach(visit);
  return c;
}

function stateOf(ws: WorkingSet, node: SNode): NodeState | undefined {
  // An entry without an id is ignored, as Pacemaker ignores it.
  return (ws.cib.status ?? []).find((s) => s.id !== undefined && (s.id === node.id || (s.uname !== undefined && s.uname === node.name)));
}

function expectedRc(op: LrmOp): number | undefined {
  const parts = (op.transitionKey ?? '').split(':');
  if (parts.length < 4) return undefined;
  const n = Number.parseInt(parts[2]!, 10);
  return Number.isNaN(n) ? undefined : n;
}

function intervalOf(op: LrmOp): number {
  return Number.parseInt(op.interval, 10) || 0;
}

function scoreText(n: number): string {
  return n >= INFINITY ? '1000000' : n <= -INFINITY ? '-1000000' : String(n);
}

/** The configured resource a history id belongs to (clone instances by their base id). */
function rscForHistory(ws: WorkingSet, id: string): Rsc | undefined {
  return ws.byId.get(id) ?? ws.byId.get(`${id.replace(/:\d+$/, '')}:0`);
}

/** pcmk__numeric_strcasecmp: case-insensitive, digit runs compared as numbers (the order of data_set->nodes). */
export function numericStrcasecmp(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.toLowerCase().match(re) ?? [];
  const pb = b.toLowerCase().match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The nodes in Pacemaker's working-set order (sorted by name). */
function sortedNodes(ws: WorkingSet): SNode[] {
  return [...ws.nodes].sort((a, b) => numericStrcasecmp(a.name, b.name));
}

/** An online node's attributes as crm_mon -A lists them: automatic ones filtered out, sorted by name (strcmp). */
function shownAttributes(node: SNode): Array<[string, string]> {
  return [...node.attrs]
    .filter(([k]) => !HIDDEN_ATTR_PREFIXES.some((p) => k.startsWith(p)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * add_extra_info: for a ping/pingd resource running on the node whose
 * attribute this is (its `name` parameter, default pingd), the score it
 * expects: hosts in host_list times multiplier.
 */
function pingExpected(ws: WorkingSet, node: SNode, attr: string): number | undefined {
  for (const r of ws.byId.values()) {
    if (r.kind !== 'primitive' || !r.running.includes(node)) continue;
    if (!/^pingd?$/i.test(r.type)) continue;
    const params = new Map<string, string>();
    for (const set of r.prim?.instanceAttributes ?? []) for (const nv of set.nvpairs) if (nv.value !== undefined && !params.has(nv.name)) params.set(nv.name, nv.value);
    if ((params.get('name') ?? 'pingd').toLowerCase() !== attr.toLowerCase()) continue;
    const hosts = params.get('host_list');
    const n = hosts === undefined ? 0 : hosts.split(' ').length;
    const mult = Number.parseInt(params.get('multiplier') ?? '', 10);
    return n * (Number.isNaN(mult) ? 1 : mult);
  }
  return undefined;
}

/** One attribute line of the text view (node_attribute_text). */
function attributeLine(ws: WorkingSet, node: SNode, k: string, v: string): string {
  const base = `${k.padEnd(32)}\t: ${v.padEnd(10)}`;
  const expected = pingExpected(ws, node, k);
  if (expected === undefined) return base;
  const n = Number.parseInt(v, 10);
  if (Number.isNaN(n) || n <= 0) return `${base}\t: Connectivity is lost`;
  if (n < expected) return `${base}\t: Connectivity is degraded (Expected=${expected})`;
  return base;
}

interface Ban {
  id: string;
  rsc: string;
  node: string;
  score: number;
  promotedOnly: boolean;
}

/**
 * Negative location preferences, as Pacemaker's ban list: one entry per
 * location constraint with a node, and one per rule (its id), each with the
 * nodes where its score is negative; the newest constraint first (Pacemaker
 * prepends each to data_set->placement_constraints).
 */
function bans(ws: WorkingSet): Ban[] {
  const groups: Ban[][] = [];
  const nodes = sortedNodes(ws);
  for (const c of ws.cib.configuration.constraints) {
    if (c.tag !== 'rsc_location') continue;
    const l = c as import('../cib/model.js').LocationConstraint;
    if (!l.rsc || !ws.byId.has(l.rsc)) continue;
    const promotedOnly = /^(promoted|master)$/i.test(l.role ?? '');
    if (l.node !== undefined) {
      const score = parseScore(l.score, 0);
      if (!Number.isNaN(score) && score < 0 && ws.nodeByName.has(l.node)) groups.push([{ id: l.id, rsc: l.rsc, node: l.node, score, promotedOnly }]);
      continue;
    }
    for (const rule of l.rules) {
      const text = rule.attrs['score'];
      if (text === undefined) continue;
      const score = parseScore(text, 0);
      if (Number.isNaN(score) || score >= 0) continue;
      const role = rule.attrs['role'];
      const ruleRole = role === undefined ? promotedOnly : /^(promoted|master)$/i.test(role);
      const g: Ban[] = [];
      for (const n of nodes) if (evalRule(rule, { node: n.attrs, now: ws.now })) g.push({ id: rule.attrs['id'] ?? l.id, rsc: l.rsc, node: n.name, score, promotedOnly: ruleRole });
      // generate_location_rule: an "and" rule starts from a copy of the node list made by prepending (reversed); an "or" rule appends.
      groups.push((rule.attrs['boolean-op'] ?? 'and').toLowerCase() === 'or' ? g : g.reverse());
    }
  }
  return groups.reverse().flat();
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------
// Text

/** crm_mon's text output (one frame of the live view, or -1). Ends with a newline. */
export function monText(input: MonInput, opts: MonOptions = {}): string {
  const m = buildModel(input);
  const { ws, summary: s } = m;
  const out: string[] = [];
  const dmn = input.daemon;
  if (dmn) out.push(`Status of ${dmn.name}: '${dmn.text}' (last updated ${isoTime(dmn.lastUpdated)})`);
  out.push('Cluster Summary:');
  out.push(`  * Stack: ${s.stack}`);
  out.push(
    s.dc
      ? `  * Current DC: ${s.dc.name} (version ${s.version}) - ${s.mixedVersion ? 'MIXED-VERSION ' : ''}partition ${s.quorate ? 'with quorum' : 'WITHOUT quorum'}`
      : '  * Current DC: NONE',
  );
  out.push(`  * Last updated: ${ctime(input.now)}`);
  {
    const lc = s.lastChange;
    out.push(`  * Last change:  ${lc.time ?? ''}${lc.user !== undefined ? ` by ${lc.user}` : ''}${lc.client !== undefined ? ` via ${lc.client}` : ''}${lc.origin !== undefined ? ` on ${lc.origin}` : ''}`);
  }
  out.push(`  * ${plural(s.nodesConfigured, 'node')} configured`);
  const ic = s.instances;
  let counts = `  * ${plural(ic.n, 'resource instance')} configured`;
  if (ic.disabled && ic.blocked) counts += ` (${ic.disabled} DISABLED, ${ic.blocked} BLOCKED from further action due to failure)`;
  else if (ic.disabled) counts += ` (${ic.disabled} DISABLED)`;
  else if (ic.blocked) counts += ` (${ic.blocked} BLOCKED from further action due to failure)`;
  out.push(counts);
  if (ws.options.maintenanceMode) {
    out.push('', '              *** Resource management is DISABLED ***', '  The cluster will not attempt to start, stop or recover services');
  } else if (ws.options.stopAll) {
    out.push('', '    *** Resource management is DISABLED ***', '  The cluster will keep all resources stopped');
  }
  out.push('');
  // format.ts nests these under crm_simulate's "Current cluster status": crm_mon shows them at top level.
  const unnest = (lines: string[]) => lines.map((l, i) => (i === 0 ? l.replace(/^ {2}\* /, '') : l.slice(2)));
  out.push(...unnest(formatNodeList(ws)));
  out.push('');
  out.push(...unnest(formatResources(ws, { inactive: opts.inactive ?? false, style: '2.1.5' })));

  if (opts.attributes) {
    const nodes = sortedNodes(ws).filter((n) => n.online).map((n) => ({ n, attrs: shownAttributes(n) })).filter((x) => x.attrs.length > 0);
    if (nodes.length) {
      out.push('', 'Node Attributes:');
      for (const { n, attrs } of nodes) {
        out.push(`  * Node: ${n.name}:`);
        for (const [k, v] of attrs) out.push(`    * ${attributeLine(ws, n, k, v)}`);
      }
    }
  }

  if (opts.operations || opts.failcounts) {
    // node_summary: the status section's online nodes; the header once there is one.
    const states = historyNodes(ws, input.fromFile === true);
    if (states.length) {
      out.push('', opts.operations ? 'Operations:' : 'Migration Summary:');
      for (const { n, h } of states) {
        const shown = opts.operations ? h.filter((r) => r.ops.length > 0) : h.filter((r) => r.failCount > 0);
        if (!shown.length) continue;
        out.push(`  * Node: ${n.name}:`);
        for (const r of shown) {
          if (!opts.operations) {
            out.push(`    * ${historyLine(r, r.lrmId, false)}`);
            continue;
          }
          out.push(`    * ${historyLine(r, r.id, true)}:`);
          for (const op of r.ops) {
            const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
            const iv = intervalOf(op);
            const task = op.operation === 'monitor' && iv === 0 ? 'probe' : op.operation;
            out.push(`      * (${op.callId ?? ''}) ${task}${iv > 0 ? ` interval="${iv}ms"` : ''}: rc=${rc} (${rcText(rc)})`);
          }
        }
      }
    }
  }

  const shownFailures = listedFailures(m.failed);
  if (shownFailures.length) {
    out.push('', 'Failed Resource Actions:');
    for (const f of shownFailures) out.push(`  * ${failedActionFriendly(f, ctime)}`);
  }

  out.push(...fencingSections(input.fencing, opts.fenceHistory ?? 1));

  const negative = opts.bans ? bans(ws) : [];
  if (negative.length) {
    out.push('', 'Negative Location Constraints:');
    for (const b of negative) out.push(`  * ${b.id}\tprevents ${b.rsc} from running ${b.promotedOnly ? 'promoted ' : ''}on ${b.node}`);
  }
  return `${out.join('\n')}\n`;
}

interface History {
  /** rsc_printable_id: an anonymous clone instance by its clone's child id. */
  id: string;
  /** The history entry's own id (lrm_resource id). */
  lrmId: string;
  threshold: number;
  failCount: number;
  lastFailure: number;
  /** get_operation_list: every entry but notifies and probes that found it stopped, by call id. */
  ops: LrmOp[];
}

/** resource_history_string (text): "ID: migration-threshold=N fail-count=N last-failure='...'". */
function historyLine(r: History, id: string, all: boolean): string {
  if (!all && r.failCount <= 0 && r.lastFailure <= 0) return `${id}:`;
  let s = `${id}: migration-threshold=${scoreText(r.threshold)}`;
  if (r.failCount > 0) s += ` fail-count=${scoreText(r.failCount)}`;
  if (r.lastFailure > 0) s += ` last-failure='${ctime(r.lastFailure)}'`;
  return s;
}

/** get_operation_list: every entry but notifies and probes that found it stopped, in document order, then sorted. */
function operationList(ops: LrmOp[]): LrmOp[] {
  const kept = ops.filter((op) => {
    const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
    if (op.operation === 'notify') return false;
    return !(op.operation === 'monitor' && intervalOf(op) === 0 && rc === 7);
  });
  return glibSort(kept, (a, b) => compareOps(a, b));
}

/** compare_version: dotted numbers compared field by field. */
function compareVersion(a: string, b: string): number {
  const x = a.split('.').map((v) => Number.parseInt(v, 10) || 0);
  const y = b.split('.').map((v) => Number.parseInt(v, 10) || 0);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

const escapeRe = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * pe_get_failcount (default flags) of 2.1.5: the sum of the node's
 * fail-count-RSC#OP_INTERVAL attributes (any instance number for an
 * anonymous clone), and the latest last-failure-* when there is a count.
 * A CIB of feature set below 3.0.13 has per-resource counts only.
 */
function failCount(ws: WorkingSet, node: SNode, name: string, unique: boolean, fromFile: boolean): { count: number; lastFailure: number } {
  // A CIB file without a feature set is legacy to Pacemaker; belayd's own CIB has per-operation counts.
  const fs = ws.cib.crmFeatureSet;
  const legacy = fs === undefined ? fromFile : compareVersion(fs, '3.0.13') < 0;
  const tail = `${unique ? '' : '(:[0-9]+)?'}${legacy ? '' : '#.+_[0-9]+'}$`;
  const countRe = new RegExp(`^fail-count-${escapeRe(name)}${tail}`);
  const lastRe = new RegExp(`^last-failure-${escapeRe(name)}${tail}`);
  let count = 0;
  let last = 0;
  for (const [k, v] of node.attrs) {
    if (countRe.test(k)) count = addScoresClamped(count, parseScore(v, 0));
    else if (lastRe.test(k)) {
      const t = Number.parseInt(v, 10);
      if (!Number.isNaN(t)) last = Math.max(last, t);
    }
  }
  return { count, lastFailure: count > 0 ? last : 0 };
}

function addScoresClamped(a: number, b: number): number {
  if (Number.isNaN(b)) return a;
  if (a <= -INFINITY || b <= -INFINITY) return -INFINITY;
  if (a >= INFINITY || b >= INFINITY) return INFINITY;
  return Math.max(-INFINITY, Math.min(INFINITY, a + b));
}

/** The status section's online nodes (by id, in the section's order) with their resource histories. */
function historyNodes(ws: WorkingSet, fromFile: boolean): Array<{ n: SNode; h: History[] }> {
  const rscOf = new Map<string, Rsc>();
  for (const r of ws.byId.values()) for (const [n, lid] of r.historyIds) rscOf.set(`${n.name}\u0000${lid}`, r);
  const out: Array<{ n: SNode; h: History[] }> = [];
  for (const st of ws.cib.status ?? []) {
    const n = st.id === undefined ? undefined : ws.nodes.find((x) => x.id === st.id);
    if (!n || !n.online) continue;
    const h: History[] = [];
    for (const lrm of st.lrm?.resources ?? []) {
      const rsc = rscOf.get(`${n.name}\u0000${lrm.id}`) ?? rscForHistory(ws, lrm.id);
      const base = lrm.id.replace(/:\d+$/, '');
      const anonymous = rsc !== undefined && rsc.instance !== undefined && !rsc.unique;
      const fc = failCount(ws, n, rsc ? (rsc.unique ? rsc.id : rsc.baseId) : base, rsc?.unique ?? false, fromFile);
      h.push({
        id: rsc ? (anonymous ? rsc.baseId : rsc.id) : lrm.id,
        lrmId: lrm.id,
        threshold: rsc?.migrationThreshold ?? INFINITY,
        failCount: fc.count,
        lastFailure: fc.lastFailure,
        ops: operationList(lrm.ops),
      });
    }
    out.push({ n, h });
  }
  return out;
}

// ---------------------------------------------------------------------------
// XML and JSON: one element tree, two serialisations

export interface El {
  tag: string;
  attrs: Array<[string, string]>;
  children: El[];
}

const el = (tag: string, attrs: Record<string, string | number | boolean | undefined>, children: El[] = []): El => ({
  tag,
  attrs: Object.entries(attrs).filter((e): e is [string, string | number | boolean] => e[1] !== undefined).map(([k, v]) => [k, String(v)]),
  children,
});

function agentOf(r: Rsc): string {
  return r.provider ? `${r.cls}:${r.provider}:${r.type}` : `${r.cls}:${r.type}`;
}

function roleText(r: Rsc): string {
  if (r.running.length === 0) return 'Stopped';
  let t = r;
  while (t.parent) t = t.parent;
  if (r.role === 'Promoted') return 'Promoted';
  if (t.promotable) return 'Unpromoted';
  return 'Started';
}

/** native_pending_state: a pending start, stop, ... shows as the role. */
const PENDING_ROLE: Record<string, string> = { start: 'Starting', stop: 'Stopping', migrate_to: 'Migrating', migrate_from: 'Migrating', promote: 'Promoting', demote: 'Demoting' };

/** A meta-attribute as Pacemaker's rsc->meta holds it: "#default" means unset. */
function metaValue(r: Rsc, name: string): string | undefined {
  const v = r.meta.get(name);
  return v === undefined || v.toLowerCase() === '#default' ? undefined : v;
}

/** configured_role_str: the clone's target-role, or its first instance's. */
function configuredRoleText(r: Rsc): string | undefined {
  return metaValue(r, 'target-role') ?? (r.children[0] ? metaValue(r.children[0], 'target-role') : undefined);
}

function primitiveXml(r: Rsc, displayId: string): El {
  return el(
    'resource',
    {
      id: displayId,
      resource_agent: agentOf(r),
      role: (r.pendingTask !== undefined ? PENDING_ROLE[r.pendingTask] : undefined) ?? roleText(r),
      target_role: metaValue(r, 'target-role'),
      active: r.running.length > 0,
      orphaned: r.orphan,
      blocked: r.blocked,
      managed: r.managed,
      failed: r.failed,
      failure_ignored: r.failureIgnored,
      nodes_running_on: r.running.length,
      // native_pending_task: only a pending recurring monitor is named here.
      pending: r.pendingTask === 'monitor' ? 'Monitoring' : undefined,
    },
    // pe__resource_xml: "cached" is whether the node is online.
    r.running.map((n) => el('node', { name: n.name, id: n.id, cached: n.online })),
  );
}

/** pe__group_xml: every member (inactive ones too, as crm_mon's XML shows inactive resources). */
function groupXml(g: Rsc, clone?: Rsc): El {
  return el(
    'group',
    {
      id: g.id,
      number_resources: g.children.length,
      managed: g.managed,
      disabled: g.targetRole === 'Stopped',
    },
    g.children.map((c) => primitiveXml(c, clone && !clone.unique ? c.baseId : c.id)),
  );
}

/**
 * resource_list for XML: top-level inactive orphans are left out; inside a
 * clone every instance is shown (pe__clone_xml), orphans too. A clone's
 * failed / failure_ignored are its own flags, which only primitives carry.
 */
function resourceXml(r: Rsc): El | undefined {
  if (r.kind === 'primitive') return r.orphan && r.running.length === 0 ? undefined : primitiveXml(r, r.id);
  // resource_list: a partially active resource none of whose nodes reached its running_on is left out.
  if (isActive(r) && runningOn(r).size === 0) return undefined;
  if (r.kind === 'group') return groupXml(r);
  const children = r.children.map((inst) => (inst.kind === 'group' ? groupXml(inst, r) : primitiveXml(inst, r.unique ? inst.id : inst.baseId)));
  return el(
    'clone',
    {
      id: r.id,
      multi_state: r.promotable,
      unique: r.unique,
      managed: r.managed,
      disabled: r.targetRole === 'Stopped',
      failed: r.failed,
      failure_ignored: r.failureIgnored,
      target_role: configuredRoleText(r),
    },
    children,
  );
}

/** The `<pacemaker-result>` tree of `crm_mon --output-as=xml`. */
export function monTree(input: MonInput, opts: MonOptions = {}): El {
  const m = buildModel(input);
  const { ws, summary: s, props } = m;
  const top: El[] = [];
  if (input.daemon) {
    top.push(el('pacemakerd', { sys_from: input.daemon.name, state: input.daemon.state, last_updated: isoTime(input.daemon.lastUpdated) }));
  }
  const lc = s.lastChange;
  const stonithTimeout = parseDurationMs(clusterOption(props, 'fencing-timeout') ?? '60s', 60_000) || 60_000;
  const pfd = parseDurationMs(props.get('priority-fencing-delay') ?? '0', 0) || 0;
  top.push(
    el('summary', {}, [
      el('stack', { type: s.stack }),
      s.dc
        ? el('current_dc', { present: true, version: s.version, name: s.dc.name, id: s.dc.id, with_quorum: s.quorate, mixed_version: s.mixedVersion })
        : el('current_dc', { present: false }),
      el('last_update', { time: ctime(input.now) }),
      el('last_change', { time: lc.time ?? '', user: lc.user ?? '', client: lc.client ?? '', origin: lc.origin ?? '' }),
      el('nodes_configured', { number: s.nodesConfigured }),
      el('resources_configured', { number: s.instances.n, disabled: s.instances.disabled, blocked: s.instances.blocked }),
      el('cluster_options', {
        'stonith-enabled': ws.options.fencingEnabled,
        'symmetric-cluster': ws.options.symmetric,
        'no-quorum-policy': noQuorumPolicy(ws),
        'maintenance-mode': ws.options.maintenanceMode,
        'stop-all-resources': ws.options.stopAll,
        'stonith-timeout-ms': stonithTimeout,
        'priority-fencing-delay-ms': pfd,
      }),
    ]),
  );
  top.push(
    el(
      'nodes',
      {},
      sortedNodes(ws).map((n) => {
        const st = stateOf(ws, n);
        return el('node', {
          name: n.name,
          id: n.id,
          online: n.online,
          // determine_online_status_fencing: a pending node is also in standby.
          standby: n.standby || n.pending,
          standby_onfail: n.standbyOnFail,
          maintenance: n.maintenance,
          pending: n.pending,
          unclean: n.unclean,
          health: 'green',
          feature_set: nodeFeatureSet(n),
          shutdown: n.shutdown,
          // determine_online_status: a node shutting down is not expected up.
          expected_up: !n.shutdown && st?.expected === 'member',
          is_dc: s.dc !== null && s.dc.id === n.id,
          resources_running: n.runningCount,
          type: 'member',
        });
      }),
    ),
  );
  top.push(el('resources', {}, ws.resources.map(resourceXml).filter((x): x is El => x !== undefined)));
  const attrNodes = sortedNodes(ws)
    .filter((n) => n.online)
    .map((n) => ({ n, attrs: shownAttributes(n) }))
    .filter((x) => x.attrs.length > 0);
  if (attrNodes.length) {
    top.push(
      el(
        'node_attributes',
        {},
        attrNodes.map(({ n, attrs }) =>
          el('node', { name: n.name }, attrs.map(([k, v]) => el('attribute', { name: k, value: v, expected: pingExpected(ws, n, k) }))),
        ),
      ),
    );
  }
  const histories = historyNodes(ws, input.fromFile === true);
  if (histories.length) {
    top.push(
      el(
        'node_history',
        {},
        histories
          .map(({ n, h }) => ({ n, h: h.filter((r) => r.ops.length > 0) }))
          .filter((x) => x.h.length > 0)
          .map(({ n, h }) =>
            el(
              'node',
              { name: n.name },
              h.map((r) =>
                el(
                  'resource_history',
                  {
                    id: r.id,
                    orphan: false,
                    'migration-threshold': scoreText(r.threshold),
                    'fail-count': r.failCount > 0 ? scoreText(r.failCount) : undefined,
                    'last-failure': r.lastFailure > 0 ? ctime(r.lastFailure) : undefined,
                  },
                  r.ops.map((op) => {
                    const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
                    const iv = intervalOf(op);
                    const lrc = Number.parseInt(op.lastRcChange ?? '', 10);
                    return el('operation_history', {
                      call: op.callId,
                      task: op.operation === 'monitor' && iv === 0 ? 'probe' : op.operation,
                      rc,
                      rc_text: rcText(rc),
                      interval: iv > 0 ? `${iv}ms` : undefined,
                      'last-rc-change': !Number.isNaN(lrc) && lrc > 0 ? ctime(lrc) : undefined,
                      'exec-time': op.execTime !== undefined ? `${op.execTime}ms` : undefined,
                      'queue-time': op.queueTime !== undefined ? `${op.queueTime}ms` : undefined,
                    });
                  }),
                ),
              ),
            ),
          ),
      ),
    );
  }
  const shownFailures = listedFailures(m.failed);
  if (shownFailures.length) {
    top.push(
      el(
        'failures',
        {},
        shownFailures.map((f) => {
          const lrc = Number.parseInt(f.op.lastRcChange ?? '', 10);
          const timed = !Number.isNaN(lrc) && lrc > 0;
          return el('failure', {
            [f.hasOpKey ? 'op_key' : 'id']: f.key,
            node: f.node.name,
            exitstatus: rcText(f.rc),
            exitreason: f.op.extra?.['exit-reason'] ?? 'none',
            exitcode: f.rc,
            call: f.op.callId,
            status: EXEC_STATUS_TEXT[f.status] ?? 'Unknown',
            'last-rc-change': timed ? isoTime(lrc) : undefined,
            queued: timed ? f.op.queueTime : undefined,
            exec: timed ? f.op.execTime : undefined,
            interval: timed ? f.interval : undefined,
            task: timed ? f.op.operation : undefined,
          });
        }),
      ),
    );
  }
  const negative = bans(ws);
  if (negative.length) {
    top.push(
      el(
        'bans',
        {},
        negative.map((b) => el('ban', { id: b.id, resource: b.rsc, node: b.node, weight: scoreText(b.score), 'promoted-only': b.promotedOnly, master_only: b.promotedOnly })),
      ),
    );
  }
  top.push(el('status', { code: 0, message: 'OK' }));
  void opts;
  return el('pacemaker-result', { 'api-version': '2.25', request: opts.request ?? 'crm_mon --output-as=xml' }, top);
}

function escapeXml(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function treeToXml(e: El, indent = ''): string {
  const attrs = e.attrs.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  if (e.children.length === 0) return `${indent}<${e.tag}${attrs}/>\n`;
  return `${indent}<${e.tag}${attrs}>\n${e.children.map((c) => treeToXml(c, indent + '  ')).join('')}${indent}</${e.tag}>\n`;
}

/** Elements that occur at most once under their parent: JSON objects; every other element is a list. */
const SINGLE = new Set([
  'pacemakerd', 'summary', 'stack', 'current_dc', 'last_update', 'last_change', 'nodes_configured', 'resources_configured',
  'cluster_options', 'nodes', 'resources', 'node_attributes', 'node_history', 'failures', 'bans', 'status',
]);

/**
 * The XML tree as JSON: an element is an object of its attributes ("true" /
 * "false" as booleans) and its children by tag, a list for repeatable
 * elements (node, resource, clone, group, attribute, ...) and an object for
 * the once-only ones (summary, current_dc, ...). Same content as the XML.
 */
export function treeToJson(e: El): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of e.attrs) o[k] = v === 'true' ? true : v === 'false' ? false : v;
  for (const c of e.children) {
    if (SINGLE.has(c.tag) && !(e.tag === 'node' || e.tag === 'clone' || e.tag === 'group' || e.tag === 'resource')) o[c.tag] = treeToJson(c);
    else ((o[c.tag] ??= []) as unknown[]).push(treeToJson(c));
  }
  // Empty lists stay visible: "resources": {} says "none" as the XML's empty element does.
  return o;
}

export function monXml(input: MonInput, opts: MonOptions = {}): string {
  return treeToXml(monTree(input, opts));
}

export function monJson(input: MonInput, opts: MonOptions = {}): string {
  const t = monTree(input, opts);
  return `${JSON.stringify({ [t.tag]: treeToJson(t) }, null, 2)}\n`;
}

/** `crm_mon -s`: one line for monitoring systems (Nagios style), and its exit code. */
export function monSimple(input: MonInput): { line: string; code: number } {
  const m = buildModel(input);
  const online = m.ws.nodes.filter((n) => n.online).length;
  const offline = m.ws.nodes.length - online;
  if (!m.summary.dc) return { line: 'CLUSTER CRIT: No DC', code: 2 };
  if (!m.summary.quorate) return { line: `CLUSTER WARN: no quorum, ${plural(online, 'node')} online`, code: 1 };
  if (offline > 0) return { line: `CLUSTER WARN: offline node${offline === 1 ? '' : 's'}: ${m.ws.nodes.filter((n) => !n.online).map((n) => n.name).join(', ')}`, code: 1 };
  return { line: `CLUSTER OK: ${plural(online, 'node')} online, ${plural(m.ws.ninstances, 'resource instance')} configured`, code: 0 };
}
