/**
 * crm_mon's view of a cluster, in Pacemaker 2.1.5's layouts: text (the
 * sections `Cluster Summary`, `Node List`, `Active Resources` / `Full List of
 * Resources`, `Node Attributes`, `Migration Summary`, `Failed Resource
 * Actions`), XML (`<pacemaker-result>` as `crm_mon --output-as=xml`) and JSON
 * (the same tree as the XML). A pure function of a CIB, the time and what
 * the local daemon knows (DC, quorum, last change); resource states come from
 * the scheduler's unpack, the node and resource lines from format.ts.
 */
import type { Cib, LrmOp, NodeState } from '../cib/model.js';
import { INFINITY, parseScore } from '../cib/score.js';
import { parseDurationMs } from '../cib/duration.js';
import { clusterOption, unpack, type WorkingSet } from '../scheduler/unpack.js';
import type { Rsc, SNode } from '../scheduler/types.js';
import { formatNodeList, formatResources } from './format.js';
import { unpackNvSets } from '../scheduler/rules.js';

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
  /** Stack shown when the CIB has no cluster-infrastructure property. */
  stack: string;
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

const OCF_RC_TEXT: Record<number, string> = {
  0: 'ok', 1: 'error', 2: 'invalid parameter', 3: 'unimplemented feature', 4: 'insufficient privileges',
  5: 'not installed', 6: 'not configured', 7: 'not running', 8: 'promoted', 9: 'promoted (failed)',
  190: 'degraded', 191: 'promoted (degraded)',
};
const EXEC_STATUS_TEXT: Record<number, string> = {
  [-1]: 'pending', 0: 'complete', 1: 'Cancelled', 2: 'Timed Out', 3: 'NOT SUPPORTED', 4: 'Error',
  5: 'Hard error', 6: 'Fatal error', 7: 'Not installed', 8: 'Internal communication failure', 9: 'Cannot execute now',
};
const rcText = (rc: number) => OCF_RC_TEXT[rc] ?? 'unknown';

/** Node attributes crm_mon never shows (Pacemaker's FILTER_STR). */
const HIDDEN_ATTR_PREFIXES = ['fail-count-', 'last-failure-', 'shutdown', 'terminate', 'standby', 'probe_complete', '#'];

interface Summary {
  stack: string;
  dc: { id: string; name: string } | null;
  version: string;
  quorate: boolean;
  lastChange: { at: number; user?: string; client?: string; origin?: string } | undefined;
  nodesConfigured: number;
}

export interface FailedOp {
  node: SNode;
  rscId: string;
  op: LrmOp;
  key: string;
  rc: number;
  status: number;
  interval: number;
}

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
  let lastChange = input.lastChange;
  if (lastChange === undefined || lastChange.at <= 0) {
    const x = input.cib.extra ?? {};
    const written = x['cib-last-written'];
    const at = written ? Math.floor(Date.parse(written) / 1000) : NaN;
    lastChange = Number.isNaN(at)
      ? undefined
      : { at, user: x['update-user'], client: x['update-client'], origin: x['update-origin'] };
  }
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
    },
    failed: failedOps(ws),
  };
}

function stateOf(ws: WorkingSet, node: SNode): NodeState | undefined {
  return (ws.cib.status ?? []).find((s) => s.id === node.id || (s.uname !== undefined && s.uname === node.name));
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

/** Failed operations in the history (Pacemaker's data_set->failed), one per node and operation key. */
export function failedOps(ws: WorkingSet): FailedOp[] {
  const expired = new Set(ws.expiredFailures.map((e) => e.op));
  const out: FailedOp[] = [];
  const seen = new Set<string>();
  for (const node of ws.nodes) {
    const st = stateOf(ws, node);
    for (const lrm of st?.lrm?.resources ?? []) {
      const ops = [...lrm.ops].sort((a, b) => (Number(a.callId ?? 0) || 0) - (Number(b.callId ?? 0) || 0));
      for (const op of ops) {
        if (expired.has(op)) continue;
        const status = Number.parseInt(op.opStatus ?? '0', 10) || 0;
        if (status === -1 || status === 1) continue;
        const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
        const interval = intervalOf(op);
        const probe = op.operation === 'monitor' && interval === 0;
        const exp = expectedRc(op);
        let failed: boolean;
        if (status !== 0) failed = true;
        else if (exp !== undefined) failed = rc !== exp && !(probe && (rc === 0 || rc === 7 || rc === 8));
        else failed = probe ? !(rc === 0 || rc === 7 || rc === 8) : !(rc === 0 || (op.operation === 'monitor' && rc === 8));
        if (!failed) continue;
        const key = `${lrm.id}_${op.operation}_${interval}`;
        if (seen.has(`${node.name}\u0000${key}`)) continue;
        seen.add(`${node.name}\u0000${key}`);
        out.push({ node, rscId: lrm.id, op, key, rc, status, interval });
      }
    }
  }
  return out;
}

function scoreText(n: number): string {
  return n >= INFINITY ? '1000000' : n <= -INFINITY ? '-1000000' : String(n);
}

/** The configured resource a history id belongs to (clone instances by their base id). */
function rscForHistory(ws: WorkingSet, id: string): Rsc | undefined {
  return ws.byId.get(id) ?? ws.byId.get(`${id.replace(/:\d+$/, '')}:0`);
}

/** Fail counts of an online node, by resource (history base id), non-zero only. */
function nodeFailCounts(ws: WorkingSet, node: SNode): Array<{ id: string; count: number; lastFailure: number; threshold: number }> {
  const out: Array<{ id: string; count: number; lastFailure: number; threshold: number }> = [];
  for (const [id, v] of ws.failCounts.get(node) ?? []) {
    if (v.count <= 0) continue;
    out.push({ id, count: v.count, lastFailure: v.lastFailure, threshold: rscForHistory(ws, id)?.migrationThreshold ?? INFINITY });
  }
  return out;
}

function shownAttributes(node: SNode): Array<[string, string]> {
  return [...node.attrs]
    .filter(([k]) => !HIDDEN_ATTR_PREFIXES.some((p) => k.startsWith(p)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Operations worth showing in a node's history: not pending, not a probe that found nothing. */
function shownOps(lrmOps: LrmOp[]): LrmOp[] {
  const seen = new Set<string>();
  return [...lrmOps]
    .filter((op) => {
      const status = Number.parseInt(op.opStatus ?? '0', 10) || 0;
      const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
      if (status === -1) return false;
      if (op.operation === 'monitor' && intervalOf(op) === 0 && rc === 7) return false;
      const call = op.callId ?? op.id;
      if (seen.has(call)) return false;
      seen.add(call);
      return true;
    })
    .sort((a, b) => (Number(a.callId ?? 0) || 0) - (Number(b.callId ?? 0) || 0));
}

interface Ban {
  id: string;
  rsc: string;
  node: string;
  score: number;
  promotedOnly: boolean;
}

/** Simple location constraints (rsc + node) with a negative score: what -L lists. */
function bans(cib: Cib): Ban[] {
  const out: Ban[] = [];
  for (const c of cib.configuration.constraints) {
    if (c.tag !== 'rsc_location') continue;
    const l = c as import('../cib/model.js').LocationConstraint;
    if (!l.rsc || !l.node || l.score === undefined) continue;
    const score = parseScore(l.score, 0);
    if (Number.isNaN(score) || score >= 0) continue;
    out.push({ id: l.id, rsc: l.rsc, node: l.node, score, promotedOnly: /^(promoted|master)$/i.test(l.role ?? '') });
  }
  return out;
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
      ? `  * Current DC: ${s.dc.name} (version ${s.version}) - partition ${s.quorate ? 'with quorum' : 'WITHOUT quorum'}`
      : '  * Current DC: NONE',
  );
  out.push(`  * Last updated: ${ctime(input.now)}`);
  if (s.lastChange) {
    const lc = s.lastChange;
    out.push(`  * Last change:  ${ctime(lc.at)}${lc.user ? ` by ${lc.user}` : ''}${lc.client ? ` via ${lc.client}` : ''}${lc.origin ? ` on ${lc.origin}` : ''}`);
  }
  out.push(`  * ${plural(s.nodesConfigured, 'node')} configured`);
  let counts = `  * ${plural(ws.ninstances, 'resource instance')} configured`;
  if (ws.disabled && ws.blocked) counts += ` (${ws.disabled} DISABLED, ${ws.blocked} BLOCKED from further action due to failure)`;
  else if (ws.disabled) counts += ` (${ws.disabled} DISABLED)`;
  else if (ws.blocked) counts += ` (${ws.blocked} BLOCKED from further action due to failure)`;
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
  out.push(...unnest(formatResources(ws, { inactive: opts.inactive ?? false })));

  if (opts.attributes) {
    const nodes = ws.nodes.filter((n) => n.online).map((n) => ({ n, attrs: shownAttributes(n) })).filter((x) => x.attrs.length > 0);
    if (nodes.length) {
      out.push('', 'Node Attributes:');
      for (const { n, attrs } of nodes) {
        out.push(`  * Node: ${n.name}:`);
        for (const [k, v] of attrs) out.push(`    * ${k.padEnd(32)}\t: ${v.padEnd(10)}`);
      }
    }
  }

  if (opts.operations) {
    out.push('', 'Operations:');
    for (const n of ws.nodes.filter((x) => x.online)) {
      const rscs = historyOf(ws, n);
      if (!rscs.length) continue;
      out.push(`  * Node: ${n.name}:`);
      for (const h of rscs) {
        let line = `    * ${h.id}: migration-threshold=${scoreText(h.threshold)}`;
        if (h.failCount > 0) line += ` fail-count=${scoreText(h.failCount)} last-failure='${ctime(h.lastFailure)}'`;
        out.push(`${line}:`);
        for (const op of h.ops) {
          const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
          const iv = intervalOf(op);
          const parts = [`(${op.callId ?? '?'}) ${op.operation}${iv > 0 ? `: interval=${iv}ms` : ':'}`];
          if (op.lastRcChange) parts.push(`last-rc-change='${ctime(Number(op.lastRcChange))}'`);
          if (op.execTime !== undefined) parts.push(`exec-time=${op.execTime}ms`);
          if (op.queueTime !== undefined) parts.push(`queue-time=${op.queueTime}ms`);
          parts.push(`rc=${rc} (${rcText(rc)})`);
          out.push(`      * ${parts.join(' ')}`);
        }
      }
    }
  }

  if (opts.failcounts) {
    out.push('', 'Migration Summary:');
    for (const n of ws.nodes.filter((x) => x.online)) {
      const fcs = nodeFailCounts(ws, n);
      if (!fcs.length) continue;
      out.push(`  * Node: ${n.name}:`);
      for (const f of fcs) {
        out.push(`    * ${f.id}: migration-threshold=${scoreText(f.threshold)} fail-count=${scoreText(f.count)} last-failure='${ctime(f.lastFailure)}'`);
      }
    }
  }

  if (m.failed.length) {
    out.push('', 'Failed Resource Actions:');
    for (const f of m.failed) out.push(`  * ${failedActionText(f)}`);
  }

  const negative = opts.bans ? bans(input.cib) : [];
  if (negative.length) {
    out.push('', 'Negative Location Constraints:');
    for (const b of negative) out.push(`  * ${b.id}\tprevents ${b.rsc} from running ${b.promotedOnly ? 'promoted ' : ''}on ${b.node}`);
  }
  return `${out.join('\n')}\n`;
}

function failedActionText(f: FailedOp): string {
  const op = f.op;
  const reason = op.extra?.['exit-reason'] ?? '';
  let s = `${f.key} on ${f.node.name} '${rcText(f.rc)}' (${f.rc}): call=${op.callId ?? '?'}, status='${EXEC_STATUS_TEXT[f.status] ?? 'unknown'}', exitreason='${reason}'`;
  if (op.lastRcChange) s += `, last-rc-change='${isoTime(Number(op.lastRcChange))}'`;
  s += `, queued=${op.queueTime ?? '0'}ms, exec=${op.execTime ?? '0'}ms`;
  return s;
}

interface History {
  id: string;
  orphan: boolean;
  threshold: number;
  failCount: number;
  lastFailure: number;
  ops: LrmOp[];
}

function historyOf(ws: WorkingSet, node: SNode): History[] {
  const out: History[] = [];
  for (const lrm of stateOf(ws, node)?.lrm?.resources ?? []) {
    const ops = shownOps(lrm.ops);
    if (!ops.length) continue;
    const rsc = rscForHistory(ws, lrm.id);
    const base = lrm.id.replace(/:\d+$/, '');
    const fc = ws.failCounts.get(node)?.get(rsc?.unique ? lrm.id : base) ?? { count: 0, lastFailure: 0 };
    out.push({
      id: lrm.id,
      orphan: rsc === undefined || rsc.orphan,
      threshold: rsc?.migrationThreshold ?? INFINITY,
      failCount: fc.count,
      lastFailure: fc.lastFailure,
      ops,
    });
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

function primitiveXml(r: Rsc, displayId: string): El {
  return el(
    'resource',
    {
      id: displayId,
      resource_agent: agentOf(r),
      role: roleText(r),
      target_role: r.meta.get('target-role'),
      active: r.running.length > 0,
      orphaned: r.orphan,
      blocked: r.blocked,
      managed: r.managed,
      failed: r.failed,
      failure_ignored: r.failureIgnored,
      nodes_running_on: r.running.length,
      pending: r.startPending ? 'Starting' : undefined,
    },
    r.running.map((n) => el('node', { name: n.name, id: n.id, cached: true })),
  );
}

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

function resourceXml(r: Rsc): El | undefined {
  if (r.kind === 'primitive') return r.orphan && r.running.length === 0 ? undefined : primitiveXml(r, r.id);
  if (r.kind === 'group') return groupXml(r);
  const children: El[] = [];
  for (const inst of r.children) {
    if (inst.orphan && inst.running.length === 0) continue;
    children.push(inst.kind === 'group' ? groupXml(inst, r) : primitiveXml(inst, r.unique ? inst.id : inst.baseId));
  }
  return el(
    'clone',
    {
      id: r.id,
      multi_state: r.promotable,
      unique: r.unique,
      managed: r.managed,
      disabled: r.targetRole === 'Stopped',
      failed: r.children.some((c) => c.failed || c.children.some((x) => x.failed)),
      failure_ignored: r.children.some((c) => c.failureIgnored || c.children.some((x) => x.failureIgnored)),
      target_role: r.meta.get('target-role'),
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
        ? el('current_dc', { present: true, version: s.version, name: s.dc.name, id: s.dc.id, with_quorum: s.quorate, mixed_version: false })
        : el('current_dc', { present: false }),
      el('last_update', { time: ctime(input.now) }),
      ...(lc ? [el('last_change', { time: ctime(lc.at), user: lc.user, client: lc.client, origin: lc.origin })] : []),
      el('nodes_configured', { number: s.nodesConfigured }),
      el('resources_configured', { number: ws.ninstances, disabled: ws.disabled, blocked: ws.blocked }),
      el('cluster_options', {
        'stonith-enabled': ws.options.fencingEnabled,
        'symmetric-cluster': ws.options.symmetric,
        'no-quorum-policy': ws.options.noQuorumPolicy,
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
      ws.nodes.map((n) => {
        const st = stateOf(ws, n);
        return el('node', {
          name: n.name,
          id: n.id,
          online: n.online,
          standby: n.standby && !n.pending,
          standby_onfail: n.standbyOnFail,
          maintenance: n.maintenance,
          pending: n.pending,
          unclean: n.unclean,
          health: 'green',
          feature_set: n.online ? (n.attrs.get('#feature-set') ?? ws.cib.crmFeatureSet) : undefined,
          shutdown: n.shutdown,
          expected_up: st?.expected === 'member',
          is_dc: s.dc !== null && s.dc.id === n.id,
          resources_running: n.runningCount,
          type: 'member',
        });
      }),
    ),
  );
  top.push(el('resources', {}, ws.resources.map(resourceXml).filter((x): x is El => x !== undefined)));
  const attrNodes = ws.nodes
    .filter((n) => n.online)
    .map((n) => ({ n, attrs: shownAttributes(n) }))
    .filter((x) => x.attrs.length > 0);
  if (attrNodes.length) {
    top.push(el('node_attributes', {}, attrNodes.map(({ n, attrs }) => el('node', { name: n.name }, attrs.map(([k, v]) => el('attribute', { name: k, value: v }))))));
  }
  const histories = ws.nodes.filter((n) => n.online).map((n) => ({ n, h: historyOf(ws, n) })).filter((x) => x.h.length > 0);
  if (histories.length) {
    top.push(
      el(
        'node_history',
        {},
        histories.map(({ n, h }) =>
          el(
            'node',
            { name: n.name },
            h.map((r) =>
              el(
                'resource_history',
                {
                  id: r.id,
                  orphan: r.orphan,
                  'migration-threshold': scoreText(r.threshold),
                  'fail-count': r.failCount > 0 ? scoreText(r.failCount) : undefined,
                  'last-failure': r.failCount > 0 ? ctime(r.lastFailure) : undefined,
                },
                r.ops.map((op) => {
                  const rc = Number.parseInt(op.rcCode ?? '0', 10) || 0;
                  const iv = intervalOf(op);
                  return el('operation_history', {
                    call: op.callId,
                    task: op.operation,
                    rc,
                    rc_text: rcText(rc),
                    interval: iv > 0 ? `${iv}ms` : undefined,
                    'last-rc-change': op.lastRcChange ? ctime(Number(op.lastRcChange)) : undefined,
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
  if (m.failed.length) {
    top.push(
      el(
        'failures',
        {},
        m.failed.map((f) =>
          el('failure', {
            op_key: f.key,
            node: f.node.name,
            exitstatus: rcText(f.rc),
            exitreason: f.op.extra?.['exit-reason'] ?? '',
            exitcode: f.rc,
            call: f.op.callId ?? '',
            status: EXEC_STATUS_TEXT[f.status] ?? 'unknown',
            'last-rc-change': f.op.lastRcChange ? isoTime(Number(f.op.lastRcChange)) : undefined,
            queued: f.op.queueTime ?? '0',
            exec: f.op.execTime ?? '0',
            interval: f.interval,
            task: f.op.operation,
          }),
        ),
      ),
    );
  }
  const negative = bans(input.cib);
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
