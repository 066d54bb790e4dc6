/**
 * Alert events as a pure function of two successive views of the cluster:
 * membership (node alerts: "member" / "lost"), the operation history in the
 * CIB status (resource alerts: every newly recorded result, as Pacemaker's
 * controller alerts on each result it records), fencing history (fencing
 * alerts) and transient node attributes (attribute alerts). Which node runs
 * which alert is the shell's choice (src/alerts/daemon.ts).
 */
import type { Cib, LrmOp } from '../cib/model.js';

export interface FencingRecord {
  /** Unique per operation (e.g. its id in the fencing history). */
  id: string;
  target: string;
  action: string;
  /** 0 on success. */
  rc: number;
  origin?: string;
  executioner?: string;
  client?: string;
  /** Only finished operations are alerted. */
  completed: boolean;
  /** Why it failed, when it did. */
  reason?: string;
}

/** A fencing history entry as the fencer keeps it (stonith_admin --history), in the fields alerts use. */
export interface FenceHistoryLike {
  id: string;
  target: string;
  action: string;
  state: 'pending' | 'done' | 'failed';
  origin?: string;
  client?: string;
  executioner?: string;
  exitReason?: string;
}

/** Fencing history entries as alert records: finished ones, rc 0 when done. */
export function fencingRecords(history: readonly FenceHistoryLike[]): FencingRecord[] {
  return history.map((e) => {
    const r: FencingRecord = { id: e.id, target: e.target, action: e.action, rc: e.state === 'done' ? 0 : 1, completed: e.state !== 'pending' };
    if (e.origin !== undefined) r.origin = e.origin;
    if (e.client !== undefined) r.client = e.client;
    if (e.executioner !== undefined) r.executioner = e.executioner;
    if (e.exitReason !== undefined) r.reason = e.exitReason;
    return r;
  });
}

export interface AlertView {
  members: Array<{ id: number; name: string }>;
  ops: Map<string, { node: string; rsc: string; op: LrmOp }>;
  attrs: Map<string, Map<string, string>>;
  fencing: FencingRecord[];
}

export type AlertEvent =
  | { kind: 'node'; node: string; nodeId: string; desc: 'member' | 'lost' }
  | {
      kind: 'resource';
      node: string;
      rsc: string;
      task: string;
      intervalMs: number;
      rc: number;
      targetRc: number;
      /** Pacemaker's execution status (0 done, 1 cancelled, 2 timed out, 4 error, ...). */
      status: number;
      desc: string;
      execTimeMs?: number;
      /** Seconds since the epoch, when the CIB says when the result came. */
      at?: number;
    }
  | { kind: 'fencing'; node: string; task: string; rc: number; desc: string }
  | { kind: 'attribute'; node: string; name: string; value: string };

/** services_ocf_exitcode_str() */
const OCF_RC_TEXT: Record<number, string> = {
  0: 'ok', 1: 'error', 2: 'invalid parameter', 3: 'unimplemented feature', 4: 'insufficient privileges',
  5: 'not installed', 6: 'not configured', 7: 'not running', 8: 'promoted', 9: 'promoted (failed)',
  190: 'degraded', 191: 'promoted (degraded)',
};
/** pcmk_exec_status_str() */
const EXEC_STATUS_TEXT: Record<number, string> = {
  [-1]: 'Pending', 0: 'Done', 1: 'Cancelled', 2: 'Timed Out', 3: 'NOT SUPPORTED', 4: 'Error',
  5: 'Hard error', 6: 'Fatal error', 7: 'Not installed', 8: 'Internal communication failure', 9: 'Cannot execute now',
};

/** The view of a CIB and a membership (ids to names through `names`). */
export function alertView(cib: Cib, members: number[], names: Map<number, string>, fencing: FencingRecord[] = []): AlertView {
  const ops = new Map<string, { node: string; rsc: string; op: LrmOp }>();
  const attrs = new Map<string, Map<string, string>>();
  for (const ns of cib.status ?? []) {
    const node = ns.uname ?? ns.id;
    if (node === undefined) continue; // a malformed node_state, ignored as Pacemaker does
    for (const r of ns.lrm?.resources ?? []) for (const op of r.ops) ops.set(`${node}\u0000${r.id}\u0000${op.id}`, { node, rsc: r.id, op });
    const a = new Map<string, string>();
    for (const set of ns.transientAttributes) for (const p of set.nvpairs) if (p.value !== undefined) a.set(p.name, p.value);
    attrs.set(node, a);
  }
  return { members: members.map((id) => ({ id, name: names.get(id) ?? String(id) })), ops, attrs, fencing };
}

const int = (v: string | undefined, d: number) => {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) ? n : d;
};

/** What identifies one recorded result (a new call, or a changed outcome of the same one). */
function opSignature(op: LrmOp): string {
  return `${op.callId ?? ''}|${op.rcCode ?? ''}|${op.opStatus ?? ''}|${op.lastRcChange ?? ''}`;
}

/** The expected rc from a transition key "graph:action:target_rc:uuid" (0 when absent). */
function targetRcOf(op: LrmOp): number {
  const parts = (op.transitionKey ?? '').split(':');
  return parts.length >= 4 ? int(parts[2], 0) : 0;
}

function resourceEvent(node: string, rsc: string, op: LrmOp): AlertEvent | undefined {
  const status = int(op.opStatus, 0);
  if (status === -1) return undefined; // a pending record, not a result
  const rc = int(op.rcCode, 0);
  const targetRc = targetRcOf(op);
  const intervalMs = int(op.interval, 0);
  // Pacemaker skips probes that found what was expected (lrmd_send_resource_alert).
  if (op.operation === 'monitor' && intervalMs === 0 && rc === targetRc) return undefined;
  const ev: AlertEvent = {
    kind: 'resource',
    node,
    rsc,
    task: op.operation,
    intervalMs,
    rc,
    targetRc,
    status,
    desc: status === 0 ? (OCF_RC_TEXT[rc] ?? 'unknown') : (EXEC_STATUS_TEXT[status] ?? 'Error'),
  };
  if (op.execTime !== undefined) ev.execTimeMs = int(op.execTime, 0);
  const at = op.lastRcChange ?? op.lastRun;
  if (at !== undefined) ev.at = int(at, 0);
  return ev;
}

/** Pacemaker's fencing alert text: "Operation reboot of n2 by n1 for crmd.123@n1: OK". */
function fencingDesc(f: FencingRecord): string {
  const by = f.executioner ? ` by ${f.executioner}` : '';
  const forWhom = f.client || f.origin ? ` for ${f.client ?? 'belayd'}@${f.origin ?? '?'}` : '';
  return `Operation ${f.action} of ${f.target}${by}${forWhom}: ${f.rc === 0 ? 'OK' : `Error${f.reason ? ` (${f.reason})` : ''}`}`;
}

/** The events that lead from `prev` to `next`, in a stable order: nodes, fencing, resources, attributes. */
export function alertEvents(prev: AlertView | undefined, next: AlertView): AlertEvent[] {
  if (!prev) return [];
  const out: AlertEvent[] = [];
  const before = new Set(prev.members.map((m) => m.id));
  const after = new Set(next.members.map((m) => m.id));
  for (const m of prev.members) if (!after.has(m.id)) out.push({ kind: 'node', node: m.name, nodeId: String(m.id), desc: 'lost' });
  for (const m of next.members) if (!before.has(m.id)) out.push({ kind: 'node', node: m.name, nodeId: String(m.id), desc: 'member' });

  const seenFencing = new Set(prev.fencing.filter((f) => f.completed).map((f) => f.id));
  for (const f of next.fencing) {
    if (!f.completed || seenFencing.has(f.id)) continue;
    out.push({ kind: 'fencing', node: f.target, task: f.action, rc: f.rc, desc: fencingDesc(f) });
  }

  for (const [key, cur] of next.ops) {
    const old = prev.ops.get(key);
    if (old && opSignature(old.op) === opSignature(cur.op)) continue;
    const ev = resourceEvent(cur.node, cur.rsc, cur.op);
    if (ev) out.push(ev);
  }

  for (const [node, attrs] of next.attrs) {
    const was = prev.attrs.get(node) ?? new Map<string, string>();
    for (const [name, value] of attrs) if (was.get(name) !== value) out.push({ kind: 'attribute', node, name, value });
    for (const [name] of was) if (!attrs.has(name)) out.push({ kind: 'attribute', node, name, value: '' });
  }
  return out;
}
