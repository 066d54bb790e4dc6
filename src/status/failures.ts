/**
 * "Failed Resource Actions": the failed operations Pacemaker's unpack
 * records (data_set->failed, record_failed_op in lib/pengine/unpack.c of
 * 2.1.5), in its order, and their text and XML forms. Which results count as
 * failures follows remap_operation(): the expected result from the
 * transition key, probes that find a resource stopped or promoted, masked
 * probe failures (not installed / invalid parameter: recorded but not
 * shown), degraded monitor results, expired failures (not recorded), and
 * only online nodes. One entry per node and operation key, the first one
 * met when each resource's history is read in call order.
 */
import type { LrmOp } from '../cib/model.js';
import type { WorkingSet } from '../scheduler/unpack.js';
import type { Rsc, SNode } from '../scheduler/types.js';

export interface FailedOp {
  node: SNode;
  /** The history's resource id (lrm_resource id). */
  rscId: string;
  op: LrmOp;
  /** operation_key, or the entry's id when it has none (as Pacemaker). */
  key: string;
  /** The entry carried an operation_key attribute. */
  hasOpKey: boolean;
  rc: number;
  status: number;
  interval: number;
  /** A probe failure Pacemaker treats as "not running" (listed nowhere). */
  masked: boolean;
}

const num = (v: string | undefined, dflt = 0): number => {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isNaN(n) ? dflt : n;
};

/** The expected rc from the transition key (-1 when there is none). */
function targetRc(op: LrmOp): number {
  const parts = (op.transitionKey ?? '').split(':');
  if (parts.length < 4) return -1;
  const n = Number.parseInt(parts[2]!, 10);
  return Number.isNaN(n) ? -1 : n;
}

const isProbe = (op: LrmOp) => op.operation === 'monitor' && num(op.interval) === 0;

/** pcmk_xe_mask_probe_failure: a probe that found the agent or its parameters unusable. */
export function maskedProbeFailure(op: LrmOp): boolean {
  if (!isProbe(op)) return false;
  const rc = num(op.rcCode);
  return rc === 5 || rc === 2 || num(op.opStatus, -2) === 7;
}

/** decode_transition_magic: "STATUS:RC;ACTION:TRANSITION:TARGET:UUID". */
function decodeMagic(magic: string | undefined): { transition: number; uuid: string } | undefined {
  const m = /^(-?\d+):(-?\d+);(-?\d+):(-?\d+):(-?\d+):(.+)$/.exec(magic ?? '');
  return m ? { transition: Number(m[4]), uuid: m[6]!.slice(0, 36) } : undefined;
}

/** crm_element_value_int / _epoch: the number, or -1 when absent or not a number. */
const numOr = (v: string | undefined): number => {
  if (v === undefined) return -1;
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? -1 : n;
};

/**
 * pe__is_newer_op of 2.1.5 (sort_op_by_callid): by call id on the same
 * node, then last-rc-change, and pending entries (call id -1) by their
 * transition number.
 */
export function compareOps(a: LrmOp, b: LrmOp, sameNodeDefault = true): number {
  const sameNode = a.onNode === undefined || b.onNode === undefined ? sameNodeDefault : a.onNode.toLowerCase() === b.onNode.toLowerCase();
  if (sameNode && a.id === b.id) return 0;
  const ac = numOr(a.callId);
  const bc = numOr(b.callId);
  if (ac === -1 && bc === -1) return 0;
  if (sameNode && ac >= 0 && ac < bc) return -1;
  if (sameNode && bc >= 0 && ac > bc) return 1;
  if (ac >= 0 && bc >= 0 && (!sameNode || ac === bc)) {
    const la = numOr(a.lastRcChange);
    const lb = numOr(b.lastRcChange);
    if (la >= 0 && la < lb) return -1;
    if (lb >= 0 && la > lb) return 1;
    return 0;
  }
  const ma = decodeMagic(a.transitionMagic);
  const mb = decodeMagic(b.transitionMagic);
  if (!ma || !mb) return 0;
  if (ma.uuid.toLowerCase() !== mb.uuid.toLowerCase() || ma.transition === mb.transition) {
    if (bc === -1) return -1;
    if (ac === -1) return 1;
  } else if ((ma.transition >= 0 && ma.transition < mb.transition) || mb.transition === -1) return -1;
  else if ((mb.transition >= 0 && ma.transition > mb.transition) || ma.transition === -1) return 1;
  return 0;
}

/**
 * g_list_sort: glib's merge sort (first half floor(n/2) long, ties to the
 * left). The comparison is not a total order, so the algorithm matters.
 */
export function glibSort<T>(list: T[], cmp: (a: T, b: T) => number): T[] {
  if (list.length < 2) return [...list];
  const half = Math.floor(list.length / 2);
  const l = glibSort(list.slice(0, half), cmp);
  const r = glibSort(list.slice(half), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < l.length && j < r.length) out.push(cmp(l[i]!, r[j]!) <= 0 ? l[i++]! : r[j++]!);
  while (i < l.length) out.push(l[i++]!);
  while (j < r.length) out.push(r[j++]!);
  return out;
}

/** One resource's history as unpack_lrm_resource reads it: entries prepended, then sorted. */
function sortedOps(ops: LrmOp[]): LrmOp[] {
  return glibSort([...ops].reverse(), (a, b) => compareOps(a, b));
}

const isTrue = (v: string | undefined, dflt: boolean) => (v === undefined ? dflt : ['true', 'on', 'yes', 'y', '1'].includes(v.trim().toLowerCase()));

/**
 * pe_rsc_managed while the history is read: what the configuration says
 * (is-managed, maintenance, maintenance-mode). Failures handled with
 * on-fail=block unmanage a resource only after its history is read.
 */
function configuredManaged(ws: WorkingSet, rsc: Rsc): boolean {
  return !ws.options.maintenanceMode && isTrue(rsc.meta.get('is-managed'), true) && !isTrue(rsc.meta.get('maintenance'), false);
}

/** Whether remap_operation() leaves this result a failure (status other than done). */
function isFailure(ws: WorkingSet, op: LrmOp, rsc: Rsc | undefined): boolean {
  let rc = num(op.rcCode);
  const status = num(op.opStatus);
  if (op.operation === 'monitor') rc = rc === 190 ? 0 : rc === 191 ? 8 : rc;
  if (maskedProbeFailure(op)) return false;
  if (status !== 0 && status !== 4) {
    // Pending (-1) and cancelled (1) are no results; every other status is an error.
    return status !== -1 && status !== 1;
  }
  const target = targetRc(op);
  const probe = isProbe(op);
  let failed = target < 0 || target !== rc;
  switch (rc) {
    case 0:
      if (probe && target === 7) failed = false;
      break;
    case 7:
      if (probe || target === rc || (rsc !== undefined && !configuredManaged(ws, rsc))) failed = false;
      break;
    case 8:
      if (probe && rc !== target) failed = false;
      break;
    case 9: case 191: case 6: case 3: case 5: case 2: case 4:
      failed = true;
      break;
    default:
      if (!failed) failed = true;
  }
  return failed;
}

/** data_set->failed of Pacemaker 2.1.5, in order. */
export function pacemakerFailedOps(ws: WorkingSet): FailedOp[] {
  const expired = new Set(ws.expiredFailures.map((e) => e.op));
  const rscOf = new Map<string, Rsc>();
  for (const r of ws.byId.values()) for (const [n, lid] of r.historyIds) rscOf.set(`${n.name}\u0000${lid}`, r);
  const out: FailedOp[] = [];
  const seen = new Set<string>();
  for (const st of ws.cib.status ?? []) {
    if (st.id === undefined) continue;
    const node = ws.nodes.find((n) => n.id === st.id) ?? (st.uname ? ws.nodeByName.get(st.uname) : undefined);
    if (!node || !node.online) continue;
    for (const lrm of st.lrm?.resources ?? []) {
      const rsc = rscOf.get(`${node.name}\u0000${lrm.id}`);
      for (const op of sortedOps(lrm.ops)) {
        if (op.operation === 'notify' || op.operation === 'meta-data') continue;
        const rc = num(op.rcCode);
        const degraded = op.operation === 'monitor' && (rc === 190 || rc === 191);
        const masked = maskedProbeFailure(op);
        let record = degraded;
        if (!record && !expired.has(op)) {
          if (masked) record = true;
          else if (isFailure(ws, op, rsc)) record = !(!ws.options.symmetric && rc === 5);
        }
        if (!record) continue;
        const opKey = op.extra?.['operation_key'];
        const key = opKey ?? op.id;
        // Pacemaker compares operation keys (a missing one equals another missing one).
        const dedup = `${node.name}\u0000${(opKey ?? '\u0001').toLowerCase()}`;
        if (seen.has(dedup)) continue;
        seen.add(dedup);
        out.push({ node, rscId: lrm.id, op, key, hasOpKey: opKey !== undefined, rc, status: num(op.opStatus), interval: num(op.interval), masked });
      }
    }
  }
  return out;
}

/** parse_op_key: RSC_TASK_INTERVAL (also migrate_to/migrate_from and notify keys). */
export function parseOpKey(key: string): { rsc: string; task: string; interval: number } | undefined {
  let m = /^(.+)_(migrate_(?:to|from))_(\d+)$/.exec(key);
  if (m) return { rsc: m[1]!, task: m[2]!, interval: Number(m[3]) };
  m = /^(.+)_((?:pre|post)_notify_[^_]+)_(\d+)$/.exec(key);
  if (m) return { rsc: m[1]!, task: m[2]!, interval: Number(m[3]) };
  m = /^(.+)_([^_]+)_(\d+)$/.exec(key);
  if (m) return { rsc: m[1]!, task: m[2]!, interval: Number(m[3]) };
  return undefined;
}

/** pcmk__readable_interval of 2.1.5 (its comparisons are strict: 1000 ms is "1000ms"). */
export function readableInterval(ms: number): string {
  const D = 86_400_000;
  const H = 3_600_000;
  const M = 60_000;
  let s = '';
  if (ms > D) {
    s += `${Math.floor(ms / D)}d`;
    ms %= D;
  }
  if (ms > H) {
    s += `${Math.floor(ms / H)}h`;
    ms %= H;
  }
  if (ms > M) {
    s += `${Math.floor(ms / M)}m`;
    ms %= M;
  }
  if (ms > 1000) {
    s += `${Math.floor(ms / 1000)}`;
    ms %= 1000;
    if (ms > 0) s += `.${String(ms).padStart(3, '0')}`;
    s += 's';
  } else if (ms > 0) s += `${ms}ms`;
  else if (s === '') s = '0s';
  return s;
}

export const OCF_RC_TEXT: Record<number, string> = {
  0: 'ok', 1: 'error', 2: 'invalid parameter', 3: 'unimplemented feature', 4: 'insufficient privileges',
  5: 'not installed', 6: 'not configured', 7: 'not running', 8: 'promoted', 9: 'promoted (failed)',
  190: 'degraded', 191: 'promoted (degraded)',
};
export const EXEC_STATUS_TEXT: Record<number, string> = {
  [-1]: 'pending', 0: 'complete', 1: 'Cancelled', 2: 'Timed Out', 3: 'NOT SUPPORTED', 4: 'Error',
  5: 'Hard error', 6: 'Fatal error', 7: 'Not installed', 8: 'Internal communication failure', 9: 'Cannot execute now',
  10: 'No matching fence device', 11: 'Error reading secrets',
};
export const rcText = (rc: number) => OCF_RC_TEXT[rc] ?? 'unknown';

/** crm_action_str: a monitor with no interval is a probe. */
const actionText = (task: string, interval: number) => (task === 'monitor' && interval === 0 ? 'probe' : task);

/** failed_action_friendly of 2.1.5. `when` formats last-rc-change (ctime in local time). */
export function failedActionFriendly(f: FailedOp, when: (epoch: number) => string): string {
  const p = parseOpKey(f.key) ?? { rsc: 'unknown resource', task: 'unknown action', interval: 0 };
  let s = `${p.rsc} `;
  if (p.interval !== 0) s += `${readableInterval(p.interval)}-interval `;
  s += `${actionText(p.task, p.interval)} on ${f.node.name}`;
  const reason = f.op.extra?.['exit-reason'] ?? '';
  if (f.status === 0) {
    s += ` returned '${rcText(f.rc)}'`;
    if (reason !== '') s += ` (${reason})`;
  } else {
    s += ` could not be executed (${EXEC_STATUS_TEXT[f.status] ?? 'Unknown'}`;
    if (reason !== '') s += `: ${reason}`;
    s += ')';
  }
  const lrc = f.op.lastRcChange;
  if (lrc !== undefined && /^\d+$/.test(lrc.trim())) s += ` at ${when(Number(lrc))}`;
  const exec = num(f.op.execTime);
  if (exec > 0) s += ` after ${readableInterval(exec)}`;
  return s;
}
