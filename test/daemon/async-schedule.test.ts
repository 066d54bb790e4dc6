/**
 * Scheduling off the event loop: a ControllerCore without a SchedulePort asks
 * the shell for a run (scheduleRequest), takes the graph back with
 * onScheduleResult, and drops a graph made from a CIB that changed meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { emptyCib } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput } from '../../src/controller/core.js';
import type { GraphAction } from '../../src/controller/transition.js';

const nodes = [{ id: 1, name: 'n1' }];
/** No fencing here: a cluster with stonith-enabled and no device starts nothing. */
function cib() {
  const c = emptyCib();
  c.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: [{ id: 'opts-stonith', name: 'stonith-enabled', value: 'false' }] });
  return c;
}
const startA: GraphAction[] = [{ id: 0, kind: 'rsc', task: 'start', rsc: 'A', node: 'n1', intervalMs: 0, inputs: [], targetRc: 0 }];

/** One node alone: its own broadcasts come back to it in order. */
function loop(core: ControllerCore, out: CoreOutput, sent: ClusterMessage[] = []): ClusterMessage[] {
  for (const m of out.broadcast) {
    sent.push(m);
    loop(core, core.onDeliver(m), sent);
  }
  return sent;
}

describe('asynchronous scheduling in the controller core', () => {
  it('asks once, starts the transition from the answer, and drops an answer made stale by a membership change', () => {
    const core = new ControllerCore(nodes[0]!, nodes, cib(), undefined);
    loop(core, core.onMembership({ ringId: 'r1', members: [1], quorate: true }));
    expect(core.synced).toBe(true);
    const first = core.onTick(100);
    expect(first.scheduleRequest).toBeDefined();
    expect(first.scheduleRequest!.cib).toBe(core.cib);
    // No second request while one is out.
    expect(core.onTick(101).scheduleRequest).toBeUndefined();
    // The ring changes before the answer: the answer is stale.
    loop(core, core.onMembership({ ringId: 'r2', members: [1], quorate: true }));
    const stale = core.onScheduleResult(first.scheduleRequest!.id, { actions: startA }, 100);
    expect(stale.broadcast).toEqual([]);
    expect(core.transitionState).toBeUndefined();
    // Asked again; this answer is current and its action is dispatched.
    const second = core.onTick(102);
    expect(second.scheduleRequest!.id).toBeGreaterThan(first.scheduleRequest!.id);
    const out = core.onScheduleResult(second.scheduleRequest!.id, { actions: startA }, 100);
    expect(out.broadcast).toEqual([expect.objectContaining({ kind: 'exec', rsc: 'A', task: 'start', node: 1 })]);
    expect(core.transitionState?.state).toBe('running');
    // An answer nobody asked for changes nothing.
    expect(core.onScheduleResult(999, { actions: startA }, 100).broadcast).toEqual([]);
  });

  it('logs a scheduler error and asks again on the next change', () => {
    const core = new ControllerCore(nodes[0]!, nodes, cib(), undefined);
    loop(core, core.onMembership({ ringId: 'r1', members: [1], quorate: true }));
    const req = core.onTick(100).scheduleRequest!;
    expect(core.onScheduleResult(req.id, { error: 'boom' }, 100).log).toEqual(['scheduler failed: boom']);
    loop(core, core.proposeAttribute('n1', 'x', '1', 'reboot'));
    expect(core.onTick(101).scheduleRequest).toBeDefined();
  });
});
