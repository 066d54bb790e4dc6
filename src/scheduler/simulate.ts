/**
 * Simulated execution of a transition: every runnable action is assumed to
 * succeed and its result is recorded in a copy of the CIB status, as
 * crm_simulate does; re-unpacking that CIB gives the revised cluster status.
 */
import type { Cib, LrmResource, NodeState } from '../cib/model.js';
import type { Action } from './actions.js';
import { stripInstance } from './unpack.js';

function nodeState(cib: Cib, nodeId: string, uname: string): NodeState {
  cib.status ??= [];
  let st = cib.status.find((s) => s.id === nodeId) ?? cib.status.find((s) => s.uname === uname);
  if (!st) {
    st = { id: nodeId, uname, inCcm: 'true', crmd: 'online', join: 'member', expected: 'member', transientAttributes: [] };
    cib.status.push(st);
  }
  st.lrm ??= { resources: [] };
  return st;
}

function baseId(id: string): string {
  return stripInstance(id);
}

/** Apply the executed actions to a copy of the CIB and return it. */
export function simulateTransition(cib: Cib, actions: Action[], now: number): Cib {
  // Copy on write: only the status entries that change are copied.
  const out: Cib = { ...cib, status: (cib.status ?? []).map((st) => ({ ...st, lrm: st.lrm ? { ...st.lrm, resources: [...st.lrm.resources] } : undefined })) };
  const copied = new Set<LrmResource>();
  const index = new Map<NodeState, Map<string, LrmResource>>();
  const byBase = new Map<NodeState, Map<string, LrmResource>>();
  const pos = new Map<LrmResource, number>();
  const lookup = (st: NodeState) => {
    let m = index.get(st);
    let b = byBase.get(st);
    if (!m || !b) {
      m = new Map();
      b = new Map();
      st.lrm!.resources.forEach((e, i) => pos.set(e, i));
      for (const e of st.lrm!.resources) {
        m.set(e.id, e);
        if (!b.has(baseId(e.id))) b.set(baseId(e.id), e);
      }
      index.set(st, m);
      byBase.set(st, b);
    }
    return { m, b };
  };
  for (const a of actions) {
    if (a.fence && a.node) {
      // The fenced node is down and its history gone
      const st = nodeState(out, a.node.id, a.node.name);
      Object.assign(st, { inCcm: 'false', crmd: 'offline', join: 'down', expected: 'down', transientAttributes: [] });
      st.lrm = { resources: [] };
      index.delete(st);
      byBase.delete(st);
      continue;
    }
    if (a.pseudo || a.cluster || !a.rsc || a.rsc.kind !== 'primitive' || !a.node) continue;
    const r = a.rsc;
    const st = nodeState(out, a.node.id, a.node.name);
    const lrm = st.lrm!;
    const anonymous = r.instance !== undefined && !r.unique;
    const hid = r.historyIds.get(a.node);
    const { m, b } = lookup(st);
    let entry: LrmResource | undefined = m.get(hid ?? r.id);
    if (!entry && anonymous) entry = b.get(r.baseId);
    if (!entry) {
      entry = { id: r.id, class: r.cls, type: r.type, ops: [] };
      if (r.provider) entry.provider = r.provider;
      lrm.resources.push(entry);
      copied.add(entry);
      m.set(entry.id, entry);
      if (!b.has(baseId(entry.id))) b.set(baseId(entry.id), entry);
    } else if (!copied.has(entry)) {
      const old = entry;
      entry = { ...old, ops: [...old.ops] };
      copied.add(entry);
      lrm.resources[pos.get(old) ?? lrm.resources.indexOf(old)] = entry;
      m.set(entry.id, entry);
      if (b.get(baseId(entry.id)) === old) b.set(baseId(entry.id), entry);
      if (m.get(old.id) === old) m.set(old.id, entry);
    }
    let callId = 0;
    for (const op of entry.ops) callId = Math.max(callId, Number.parseInt(op.callId ?? '0', 10) || 0);
    const isProbe = a.task === 'monitor' && a.interval === 0;
    const rc = isProbe ? (r.running.includes(a.node) ? 0 : 7) : a.task === 'promote' || (a.task === 'monitor' && r.nextRole === 'Promoted') ? 0 : 0;
    const expected = isProbe ? 7 : 0;
    entry.ops.push({
      id: `${r.id}_${a.task}_${a.interval}`,
      operation: a.task,
      interval: String(a.interval),
      callId: String(callId + 1),
      rcCode: String(isProbe ? rc : 0),
      opStatus: '0',
      transitionKey: `0:0:${expected}:00000000-0000-0000-0000-000000000000`,
      lastRcChange: String(now),
      onNode: a.node.name,
    });
  }
  return out;
}
