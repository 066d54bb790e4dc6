import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib } from '../../src/cib/model.js';
import type { ControllerCore, CoreOutput, LocalExec } from '../../src/controller/core.js';
import { TransitionRunner, type GraphAction } from '../../src/controller/transition.js';
import { Bus, nodes } from './bus.js';

/** `count` Dummy primitives, no constraints, and the given cluster options. */
function cibWith(count: number, props: Record<string, string>): Cib {
  const c = emptyCib();
  c.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: Object.entries({ 'stonith-enabled': 'false', ...props }).map(([name, value]) => ({ name, value })) });
  for (const n of nodes) c.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  for (let i = 0; i < count; i++) {
    c.configuration.resources.push({ tag: 'primitive', id: `d${i}`, class: 'ocf', provider: 'heartbeat', type: 'Dummy', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] });
  }
  return c;
}

/** A bus whose nodes keep every operation running until the test answers it. */
class HeldBus extends Bus {
  held: Array<{ core: ControllerCore; exec: LocalExec }> = [];
  /** The most exec messages one controller step sent. */
  largestStep = 0;

  override take(core: ControllerCore, out: CoreOutput) {
    this.largestStep = Math.max(this.largestStep, out.broadcast.filter((m) => m.kind === 'exec').length);
    this.queue.push(...out.broadcast);
    if (out.persist) this.queue.push(...core.onPersisted([core.cib.adminEpoch, core.cib.epoch, core.cib.numUpdates]).broadcast);
    for (const exec of out.execute) this.held.push({ core, exec });
  }

  answerAll() {
    const now = this.held;
    this.held = [];
    for (const { core, exec } of now) {
      const rc = exec.task === 'monitor' && exec.intervalMs === 0 ? 7 : exec.targetRc;
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.nextCallId(), finishedAt: this.now, execTimeMs: 5 }));
    }
  }

  heldOn(node: string): number {
    return this.held.filter((h) => h.core.self.name === node).length;
  }

  /** Runs to the end, answering in rounds; returns the most operations that ran at once, per node and in all. */
  run(): { perNode: number; total: number; started: number } {
    this.membership([1, 2, 3]);
    let perNode = 0;
    let total = 0;
    for (let round = 0; round < 2000 && this.held.length > 0; round++) {
      perNode = Math.max(perNode, ...nodes.map((n) => this.heldOn(n.name)));
      total = Math.max(total, this.held.length);
      this.answerAll();
      this.settle();
    }
    expect(this.held).toEqual([]);
    const dc = this.dc();
    const started = (dc.cib.status ?? []).flatMap((s) => s.lrm?.resources ?? []).filter((r) => r.ops.some((o) => o.operation === 'start' && o.rcCode === '0')).length;
    return { perNode, total, started };
  }
}

describe('how many actions the DC has running (batch-limit, node-action-limit)', () => {
  it('runs at most node-action-limit operations on a node at once, and still starts everything', () => {
    const bus = new HeldBus(cibWith(30, { 'node-action-limit': '2' }));
    const r = bus.run();
    expect(r.perNode).toBe(2);
    expect(r.started).toBe(30);
  });

  it('defaults node-action-limit to twice the cores, as Pacemaker', () => {
    // The bus's cores are built without a core count: the simulator's two cores.
    const r = new HeldBus(cibWith(30, {})).run();
    expect(r.perNode).toBe(4);
    expect(r.started).toBe(30);
  });

  it("takes each node's own cores from its node-state, not the DC's", () => {
    const bus = new HeldBus(cibWith(30, {}), { n1: 1, n2: 4, n3: 2 });
    bus.membership([1, 2, 3]);
    const most: Record<string, number> = { n1: 0, n2: 0, n3: 0 };
    for (let round = 0; round < 2000 && bus.held.length > 0; round++) {
      for (const n of nodes) most[n.name] = Math.max(most[n.name]!, bus.heldOn(n.name));
      bus.answerAll();
      bus.settle();
    }
    // The DC (n1) has one core; n2 runs up to 8 at once, n3 up to 4.
    expect(most).toEqual({ n1: 2, n2: 8, n3: 4 });
  });

  it('runs at most batch-limit operations in the whole cluster at once', () => {
    const r = new HeldBus(cibWith(30, { 'batch-limit': '3', 'node-action-limit': '10' })).run();
    expect(r.total).toBe(3);
    expect(r.started).toBe(30);
  });

  it('sends a large graph in slices, one per step, so no step holds the event loop for long', () => {
    const bus = new HeldBus(cibWith(400, { 'node-action-limit': '1000' }));
    const r = bus.run();
    // 1,200 probes were ready at once; one step sent at most 200 of them.
    expect(r.total).toBe(1200);
    expect(bus.largestStep).toBe(200);
    expect(r.started).toBe(400);
  });
});

describe('transition runner: held-back actions', () => {
  const act = (id: number, node: string, inputs: number[] = []): GraphAction => ({ id, kind: 'rsc', task: 'start', rsc: `r${id}`, node, intervalMs: 0, inputs, targetRc: 0 });

  it('keeps actions the caller holds back ready, in order, and counts running ones per node', () => {
    const t = new TransitionRunner(1, [act(1, 'n1'), act(2, 'n2'), act(3, 'n1'), act(4, 'n1'), act(5, 'n2', [1])]);
    expect(t.ready((a) => a.node === 'n2').map((a) => a.id)).toEqual([2]);
    expect(t.waiting).toBe(3);
    expect(t.runningCount('n2')).toBe(1);
    expect(t.runningCount('n1')).toBe(0);
    let n = 0;
    expect(t.ready(() => (n++ < 1 ? true : 'stop')).map((a) => a.id)).toEqual([1]);
    expect(t.ready().map((a) => a.id)).toEqual([3, 4]);
    expect(t.runningCount()).toBe(4);
    t.complete(1, 0);
    expect(t.runningCount('n1')).toBe(2);
    expect(t.ready().map((a) => a.id)).toEqual([5]);
    expect(t.runningCount('n2')).toBe(2);
  });
});
