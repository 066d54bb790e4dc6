/**
 * The scheduler (src/scheduler) as the controller's SchedulePort: its
 * executable actions and their orderings become a transition graph.
 */
import type { Cib } from '../cib/model.js';
import { schedule } from '../scheduler/index.js';
import type { SchedulePort } from './core.js';
import type { GraphAction } from './transition.js';

export const schedulerPort: SchedulePort = (cib: Cib, nowSeconds: number) => {
  const result = schedule(cib, nowSeconds);
  const inGraph = new Set(result.actions);
  const actions: GraphAction[] = result.actions.map((a) => {
    const inputs = a.before.filter((o) => o.flags !== 0 && inGraph.has(o.first)).map((o) => o.first.id);
    const probe = a.task === 'monitor' && a.interval === 0;
    const action: GraphAction = {
      id: a.id,
      kind: a.pseudo ? 'pseudo' : a.cluster ? 'cluster' : 'rsc',
      task: a.task,
      intervalMs: a.interval,
      inputs: [...new Set(inputs)],
      targetRc: probe ? 7 : 0,
    };
    // History is kept under the resource's own id for anonymous clones
    // (Pacemaker records "web", not "web:1"), under the instance id otherwise.
    if (a.rsc) action.rsc = a.rsc.unique ? a.rsc.id : a.rsc.baseId;
    if (a.node) action.node = a.node.name;
    return action;
  });
  return { actions, warnings: result.diagnostics.map((d) => `${d.level}: ${d.message}`) };
};
