import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput, type LocalExec, type SchedulePort } from '../../src/controller/core.js';
import type { GraphAction } from '../../src/controller/transition.js';

const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];

/**
 * Until the real scheduler is wired in: place primitive A on the first
 * online node without a failure, probing first where its state is unknown.
 */
const placeA: SchedulePort = (cib) => {
  const online = (cib.status ?? []).filter((s) => s.inCcm === 'true').map((s) => s.uname!);
  const opsOn = (node: string) => cib.status!.find((s) => s.uname === node)?.lrm?.resources.find((r) => r.id === 'A')?.ops ?? [];
  const running = online.filter((n) => opsOn(n).some((o) => o.id === 'A_last_0' && o.operation === 'start' && o.rcCode === '0'));
  const failed = (n: string) => opsOn(n).some((o) => o.id === 'A_last_failure_0');
  if (!cib.configuration.resources.some((r) => r.id === 'A')) return { actions: [] };
  if (running.length > 0 && !running.some(failed)) return { actions: [] };
  const actions: GraphAction[] = [];
  let id = 0;
  const probes: number[] = [];
  for (const n of online) {
    if (opsOn(n).length === 0) {
      actions.push({ id: id, kind: 'rsc', task: 'monitor', rsc: 'A', node: n, intervalMs: 0, inputs: [], targetRc: 7 });
      probes.push(id++);
    }
  }
  const stops = running.map((n) => {
    actions.push({ id, kind: 'rsc', task: 'stop', rsc: 'A', node: n, intervalMs: 0, inputs: probes, targetRc: 0 });
    return id++;
  });
  const target = online.find((n) => !failed(n));
  if (!target) return { actions };
  actions.push({ id, kind: 'rsc', task: 'start', rsc: 'A', node: target, intervalMs: 0, inputs: [...probes, ...stops], targetRc: 0 });
  return { actions };
};

/** Totem's promise in miniature: every message reaches every member, in one order. */
class Bus {
  readonly cores: ControllerCore[];
  queue: ClusterMessage[] = [];
  executed: Array<{ node: string; exec: LocalExec }> = [];
  members: number[] = [];
  /** rc the "agent" returns, by node name and task. */
  rcs = new Map<string, number>();

  constructor(cib: Cib) {
    this.cores = nodes.map((n) => new ControllerCore(n, nodes, cib, placeA));
  }
  private take(core: ControllerCore, out: CoreOutput) {
    this.queue.push(...out.broadcast);
    for (const exec of out.execute) {
      this.executed.push({ node: core.self.name, exec });
      const rc = this.rcs.get(`${core.self.name}:${exec.task}`) ?? (exec.task === 'monitor' ? 7 : 0);
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.executed.length, finishedAt: 1000, execTimeMs: 5 }));
    }
  }
  ring(members: number[]) {
    this.members = members;
    for (const c of this.cores) if (members.includes(c.self.id)) this.take(c, c.onMembership({ ringId: members.join('.'), members, quorate: members.length >= 2 }));
    this.settle();
  }
  settle() {
    for (let rounds = 0; rounds < 100; rounds++) {
      while (this.queue.length) {
        const msg = this.queue.shift()!;
        for (const c of this.cores) if (this.members.includes(c.self.id)) this.take(c, c.onDeliver(msg));
      }
      for (const c of this.cores) if (this.members.includes(c.self.id)) this.take(c, c.onTick(1000));
      if (this.queue.length === 0) return;
    }
    throw new Error('the cluster did not settle');
  }
}

function cibWithA(): Cib {
  const cib = emptyCib();
  // These tests are about the transition loop; fencing has its own (core-fencing.test.ts).
  cib.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: [{ name: 'stonith-enabled', value: 'false' }] });
  cib.configuration.resources.push({ tag: 'primitive', id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy', instanceAttributes: [{ id: 'A-ia', rules: [], nvpairs: [{ name: 'state', value: '/run/a state' }] }], metaAttributes: [], utilization: [], operations: [{ id: 'A-start', name: 'start', interval: '0', timeout: '30s', instanceAttributes: [], metaAttributes: [] }] });
  return cib;
}

describe('controller core', () => {
  it('forms one DC, probes, starts the resource once, and then rests', () => {
    const bus = new Bus(cibWithA());
    bus.ring([1, 2, 3]);
    expect(bus.cores.map((c) => c.dc)).toEqual([1, 1, 1]);
    const tasks = bus.executed.map((e) => `${e.exec.task}@${e.node}`);
    expect(tasks.filter((t) => t.startsWith('monitor')).sort()).toEqual(['monitor@n1', 'monitor@n2', 'monitor@n3']);
    expect(tasks.filter((t) => t.startsWith('start'))).toEqual(['start@n1']);
    const start = bus.executed.find((e) => e.exec.task === 'start')!.exec;
    expect(start.resolved).toMatchObject({ agent: 'ocf:heartbeat:Dummy', params: { state: '/run/a state' }, timeoutMs: 30_000 });
    // Replicas agree on the outcome.
    const views = bus.cores.map((c) => JSON.stringify(c.cib.status));
    expect(new Set(views).size).toBe(1);
    expect(bus.cores.every((c) => c.transitionState?.state === 'complete' || c.transitionState === undefined)).toBe(true);
  });

  it('recovers the resource on a surviving node when its node leaves', () => {
    const bus = new Bus(cibWithA());
    bus.ring([1, 2, 3]);
    bus.executed = [];
    bus.ring([2, 3]);
    expect(bus.cores[1]!.dc).toBe(2);
    expect(bus.executed.map((e) => `${e.exec.task}@${e.node}`)).toContain('start@n2');
  });

  it('moves away from a failed start', () => {
    const bus = new Bus(cibWithA());
    bus.rcs.set('n1:start', 1);
    bus.ring([1, 2, 3]);
    const starts = bus.executed.filter((e) => e.exec.task === 'start').map((e) => e.node);
    expect(starts).toEqual(['n1', 'n2']);
    const n1 = bus.cores[1]!.cib.status!.find((s) => s.uname === 'n1')!;
    const attrs = n1.transientAttributes.flatMap((s) => s.nvpairs.map((p) => `${p.name}=${p.value}`));
    // start-failure-is-fatal (the default): INFINITY at once, as Pacemaker's controller records it.
    expect(attrs).toContain('fail-count-A#start_0=INFINITY');
  });

  it('applies configuration proposals in one order on every node', () => {
    const bus = new Bus(emptyCib());
    bus.ring([1, 2, 3]);
    const cfgA = cibWithA().configuration;
    const replies: unknown[] = [];
    const o1 = bus.cores[0]!.propose('p1', cfgA);
    const o2 = bus.cores[2]!.propose('p2', emptyCib().configuration); // computed against the same base: must lose
    bus.queue.push(...o1.broadcast, ...o2.broadcast);
    while (bus.queue.length) {
      const msg = bus.queue.shift()!;
      for (const c of bus.cores) {
        const out = c.onDeliver(msg);
        replies.push(...out.replies.map((r) => ({ node: c.self.name, ...r })));
        // As the shells: a written configuration is announced (edits are acknowledged once a majority has it).
        if (out.persist) bus.queue.push(...c.onPersisted([c.cib.adminEpoch, c.cib.epoch, c.cib.numUpdates]).broadcast);
      }
    }
    expect(replies).toEqual([
      { node: 'n3', requestId: 'p2', ok: false, error: expect.stringMatching(/changed meanwhile/) },
      { node: 'n1', requestId: 'p1', ok: true },
    ]);
    expect(bus.cores.map((c) => c.cib.configuration.resources.length)).toEqual([1, 1, 1]);
  });

  it('sends a result again when its node-state, built before the result was agreed, calls it pending', () => {
    const bus = new Bus(cibWithA());
    bus.ring([1, 2, 3]);
    const n2 = bus.cores[1]!;
    // The DC asks n2 for a probe; the agent is still running it when the ring changes.
    const out = n2.onDeliver({ kind: 'exec', from: 1, node: 2, transition: 9, action: 4, rsc: 'A', task: 'monitor', intervalMs: 0, targetRc: 7, ring: '1.2.3' });
    const exec = out.execute[0]!;
    const nodeState = n2.onMembership({ ringId: 'r2', members: [1, 2, 3], quorate: true }).broadcast.find((m) => m.kind === 'node-state')!;
    // The result (sent in the old ring) is agreed first, then the node-state that lists it pending.
    const result = n2.onLocalResult(exec, { rc: 7, opStatus: 0, callId: 99, finishedAt: 1000, execTimeMs: 5 }).broadcast.find((m) => m.kind === 'op-result')!;
    n2.onDeliver(result);
    const again = n2.onDeliver(nodeState).broadcast.filter((m) => m.kind === 'op-result');
    expect(again).toEqual([result]);
    n2.onDeliver(again[0]!);
    const ops = n2.cib.status!.find((s) => s.uname === 'n2')!.lrm!.resources.find((r) => r.id === 'A')!.ops;
    expect(ops.filter((o) => o.opStatus === '-1')).toEqual([]);
    // Once sent again, the next node-state does not repeat it.
    const next = n2.onMembership({ ringId: 'r3', members: [1, 2, 3], quorate: true }).broadcast.find((m) => m.kind === 'node-state')!;
    expect(n2.onDeliver(next).broadcast.filter((m) => m.kind === 'op-result')).toEqual([]);
  });
});
