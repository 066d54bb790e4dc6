import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib, type Primitive } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput, type LocalExec } from '../../src/controller/core.js';
import { schedulerPort } from '../../src/controller/schedule-port.js';

/**
 * The DC never waits for ever for an action: an `exec` lost at a ring change
 * (delivered in a later ring, which its node ignores) or a node that never
 * answers. Pacemaker bounds the wait by the action's timeout plus
 * cluster-delay; with 1,000 resources, waiting for ever meant no transition
 * ever again after a re-form.
 */
const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];

function cib(props: Record<string, string>): Cib {
  const c = emptyCib();
  c.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: Object.entries(props).map(([name, value]) => ({ name, value })) });
  for (const n of nodes) c.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  const a: Primitive = {
    tag: 'primitive', id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy',
    instanceAttributes: [], metaAttributes: [], utilization: [],
    operations: [{ id: 'A-start', name: 'start', interval: '0', timeout: '10s', instanceAttributes: [], metaAttributes: [] }],
  };
  c.configuration.resources.push(a);
  c.configuration.constraints.push({ tag: 'rsc_location', id: 'on-n2', rsc: 'A', node: 'n2', score: 'INFINITY', rules: [], sets: [] });
  return c;
}

class Bus {
  readonly cores = nodes.map((n) => new ControllerCore(n, nodes, cib({ 'stonith-enabled': 'false', 'cluster-delay': '20s' }), schedulerPort));
  queue: ClusterMessage[] = [];
  members: number[] = [];
  now = 1000;
  log: string[] = [];
  /** Starts a node was asked to run and never answers (a lost result, a node that hangs). */
  unanswered: Array<{ node: string; exec: LocalExec }> = [];
  answered: Array<{ node: string; exec: LocalExec }> = [];
  silent = new Set<string>();

  take(core: ControllerCore, out: CoreOutput) {
    this.log.push(...out.log.map((l) => `${core.self.name}: ${l}`));
    this.queue.push(...out.broadcast);
    for (const exec of out.execute) {
      if (this.silent.has(core.self.name) && exec.task === 'start') {
        this.unanswered.push({ node: core.self.name, exec });
        continue;
      }
      this.answered.push({ node: core.self.name, exec });
      const rc = exec.task === 'monitor' && exec.intervalMs === 0 ? 7 : exec.targetRc;
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.answered.length, finishedAt: this.now, execTimeMs: 5 }));
    }
  }
  membership(members: number[], deliverFirst = true) {
    this.members = members;
    for (const c of this.cores) if (members.includes(c.self.id)) this.take(c, c.onMembership({ ringId: `${this.now}:${members.join('.')}`, members, quorate: true }));
    if (deliverFirst) this.settle();
  }
  settle() {
    for (let rounds = 0; rounds < 200; rounds++) {
      while (this.queue.length) {
        const msg = this.queue.shift()!;
        for (const c of this.cores) if (this.members.includes(c.self.id)) this.take(c, c.onDeliver(msg));
      }
      for (const c of this.cores) if (this.members.includes(c.self.id)) this.take(c, c.onTick(this.now));
      if (this.queue.length === 0) return;
    }
    throw new Error('the cluster did not settle');
  }
  dc(): ControllerCore {
    return this.cores.find((c) => c.isDc)!;
  }
  starts(): number {
    return [...this.answered, ...this.unanswered].filter((e) => e.exec.task === 'start' && e.exec.rscId === 'A').length;
  }
}

describe('controller: the DC bounds its wait for an action (timeout plus cluster-delay)', () => {
  it('a start that is never answered fails after its timeout plus cluster-delay, and the DC schedules again', () => {
    const bus = new Bus();
    bus.silent.add('n2');
    bus.membership([1, 2, 3]);
    expect(bus.starts()).toBe(1);
    expect(bus.dc().transitionState?.state).toBe('running');
    // 10 s timeout + 20 s cluster-delay: still waiting at 29 s.
    bus.now += 29;
    bus.settle();
    expect(bus.starts()).toBe(1);
    expect(bus.log.some((l) => l.includes('did not send'))).toBe(false);
    bus.now += 2;
    bus.silent.delete('n2');
    bus.settle();
    expect(bus.log.some((l) => /Node n2 did not send start of A result within 30000ms \(action timeout plus cluster-delay\)/.test(l))).toBe(true);
    // The transition counted it failed and aborted; the next one runs the start again, answered now.
    expect(bus.starts()).toBe(2);
  });

  it('an action parked by a ring change is waited for no longer than its timer', () => {
    const bus = new Bus();
    bus.silent.add('n2');
    bus.membership([1, 2, 3]);
    bus.now += 1;
    bus.membership([1, 2, 3]); // the same members re-form: the transition aborts, the start is parked
    const before = bus.starts();
    // The operator cleans A up: the DC would schedule again, but waits for the parked start first.
    bus.now += 10;
    bus.silent.delete('n2');
    bus.take(bus.dc(), bus.dc().proposeCleanup('A', undefined));
    bus.settle();
    expect(bus.starts()).toBe(before);
    bus.now += 25;
    bus.settle();
    expect(bus.log.some((l) => l.includes('n1: Node n2 did not send start of A result within 30000ms'))).toBe(true);
    expect(bus.starts()).toBe(before + 1);
  });

  it('an exec delivered in a later ring is ignored by its node, and its DC stops waiting for it at once', () => {
    const bus = new Bus();
    bus.members = [1, 2, 3];
    for (const c of bus.cores) bus.take(c, c.onMembership({ ringId: 'r1', members: [1, 2, 3], quorate: true }));
    // Deliver node states and probes, and let the DC dispatch the start, but keep that exec undelivered.
    const isStart = (m: ClusterMessage) => m.kind === 'exec' && m.task === 'start';
    for (let i = 0; i < 50 && !bus.queue.some(isStart); i++) {
      const msgs = bus.queue.splice(0);
      for (const msg of msgs) for (const c of bus.cores) bus.take(c, c.onDeliver(msg));
      for (const c of bus.cores) bus.take(c, c.onTick(bus.now));
    }
    const execs = bus.queue.filter(isStart);
    expect(execs.length).toBe(1);
    bus.queue = bus.queue.filter((m) => !isStart(m));
    // The ring re-forms; the exec of ring r1 is delivered after the new ring's configuration change.
    for (const c of bus.cores) bus.take(c, c.onMembership({ ringId: 'r2', members: [1, 2, 3], quorate: true }));
    bus.queue.unshift(...execs);
    bus.settle();
    expect(bus.log.some((l) => /n2: ignored start of A from transition \d+ of ring r1/.test(l))).toBe(true);
    // No timer needed: the DC dispatched the start again in ring r2 at the same instant.
    expect(bus.answered.filter((e) => e.exec.task === 'start' && e.node === 'n2').length).toBe(1);
    expect(bus.log.some((l) => l.includes('did not send'))).toBe(false);
  });
});
