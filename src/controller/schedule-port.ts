/**
 * The scheduler (src/scheduler) as the controller's SchedulePort: its
 * executable actions and their orderings become a transition graph.
 */
import type { Cib } from '../cib/model.js';
import { schedule } from '../scheduler/index.js';
import type { WorkingSet } from '../scheduler/unpack.js';
import type { SchedulePort } from './core.js';
import type { GraphAction } from './transition.js';

export const schedulerPort: SchedulePort = (cib: Cib, nowSeconds: number) => {
  const result = schedule(cib, nowSeconds);
  const inGraph = new Set(result.actions);
  const actions: GraphAction[] = result.actions.map((a) => {
    const inputs = a.before.filter((o) => o.flags !== 0 && inGraph.has(o.first)).map((o) => o.first.id);
    const probe = a.task === 'monitor' && a.interval === 0;
    // A recurring monitor of an instance that is to be Promoted succeeds with rc 8 (OCF_RUNNING_MASTER).
    const promotedMonitor = a.task === 'monitor' && a.interval > 0 && a.rsc?.nextRole === 'Promoted';
    const action: GraphAction = {
      id: a.id,
      kind: a.fence ? 'fence' : a.pseudo ? 'pseudo' : a.cluster ? 'cluster' : 'rsc',
      task: a.task,
      intervalMs: a.interval,
      inputs: [...new Set(inputs)],
      targetRc: probe ? 7 : promotedMonitor ? 8 : 0,
    };
    // History is kept under the resource's own id for anonymous clones
    // (Pacemaker records "web", not "web:1"), under the instance id otherwise.
    if (a.rsc) action.rsc = a.rsc.unique ? a.rsc.id : a.rsc.baseId;
    if (a.node) action.node = a.node.name;
    return action;
  });
  const out: ReturnType<SchedulePort> = {
    actions,
    warnings: result.diagnostics.map((d) => `${d.level}: ${d.message}`),
    nodePriority: nodePriorities(result.ws),
  };
  const recheckAt = nextFailureExpiry(result.ws);
  if (recheckAt !== undefined) out.recheckAt = recheckAt;
  return out;
};

/**
 * Each node's resource priority, as Pacemaker sums it for
 * priority-fencing-delay: the priority of every primitive active there, one
 * more for a Promoted instance.
 */
function nodePriorities(ws: WorkingSet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of ws.nodes) out[n.name] = 0;
  for (const r of ws.byId.values()) {
    if (r.kind !== 'primitive') continue;
    const priority = r.priority + (r.role === 'Promoted' && r.priority > 0 ? 1 : 0);
    for (const n of r.running) out[n.name] = (out[n.name] ?? 0) + priority;
  }
  return out;
}

/** When the next failure-timeout expires (seconds since the epoch), as Pacemaker's recheck-by. */
function nextFailureExpiry(ws: WorkingSet): number | undefined {
  let next: number | undefined;
  for (const counts of ws.failCounts.values()) {
    for (const [id, fc] of counts) {
      const r = ws.byId.get(id);
      if (!r || r.failureTimeoutMs <= 0 || fc.count <= 0 || fc.lastFailure <= 0) continue;
      const at = fc.lastFailure + Math.ceil(r.failureTimeoutMs / 1000);
      if (at > ws.now && (next === undefined || at < next)) next = at;
    }
  }
  return next;
}
