/**
 * A running primitive whose parameters change is restarted: the controller
 * records Pacemaker's op-digest of the definition each operation ran with,
 * and the real scheduler (schedule-port) compares it with the current one.
 */
import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib, type Configuration, type Primitive } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput, type LocalExec } from '../../src/controller/core.js';
import { schedulerPort } from '../../src/controller/schedule-port.js';
import { operationDigest } from '../../src/scheduler/digest.js';

const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }];

/** Every message reaches every member in one order; every operation succeeds (probes find nothing). */
class Bus {
  readonly cores: ControllerCore[];
  queue: ClusterMessage[] = [];
  executed: Array<{ node: string; exec: LocalExec }> = [];
  members: number[] = [];
  constructor(cib: Cib) {
    this.cores = nodes.map((n) => new ControllerCore(n, nodes, cib, schedulerPort));
  }
  take(core: ControllerCore, out: CoreOutput) {
    this.queue.push(...out.broadcast);
    for (const exec of out.execute) {
      this.executed.push({ node: core.self.name, exec });
      const rc = exec.task === 'monitor' && exec.intervalMs === 0 ? 7 : 0;
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.executed.length, finishedAt: 1000, execTimeMs: 5 }));
    }
  }
  ring(members: number[]) {
    this.members = members;
    for (const c of this.cores) this.take(c, c.onMembership({ ringId: members.join('.'), members, quorate: true }));
    this.settle();
  }
  settle() {
    for (let rounds = 0; rounds < 200; rounds++) {
      while (this.queue.length) {
        const msg = this.queue.shift()!;
        for (const c of this.cores) this.take(c, c.onDeliver(msg));
      }
      for (const c of this.cores) this.take(c, c.onTick(1000 + rounds));
      if (this.queue.length === 0) return;
    }
    throw new Error('the cluster did not settle');
  }
  propose(cfg: Configuration) {
    this.take(this.cores[0]!, this.cores[0]!.propose(`p${this.executed.length}`, cfg));
    this.settle();
  }
  tasks(): string[] {
    return this.executed.filter((e) => e.exec.rscId === 'web').map((e) => `${e.exec.task}${e.exec.intervalMs ? '=' + e.exec.intervalMs : ''}@${e.node}`);
  }
}

function configuration(state: string, description?: string): Configuration {
  const cfg = emptyCib().configuration;
  for (const n of nodes) cfg.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  cfg.crmConfig.push({ id: 'opts', rules: [], nvpairs: [{ name: 'stonith-enabled', value: 'false' }] });
  cfg.resources.push({
    tag: 'primitive', id: 'web', class: 'ocf', provider: 'belay', type: 'Dummy',
    instanceAttributes: [{ id: 'web-ia', rules: [], nvpairs: [{ name: 'state', value: state }] }],
    metaAttributes: [], utilization: [],
    operations: [{ id: 'web-mon', name: 'monitor', interval: '5s', timeout: '20s', instanceAttributes: [], metaAttributes: [] }],
    ...(description !== undefined ? { description } : {}),
  });
  return cfg;
}

function started(): Bus {
  const cib = emptyCib();
  cib.configuration = configuration('/run/a.state');
  const bus = new Bus(cib);
  bus.ring([1, 2]);
  return bus;
}

describe('definition changes (op-digest)', () => {
  it('records the digest of the parameters an operation ran with', () => {
    const bus = started();
    expect(bus.tasks().filter((t) => t.startsWith('start'))).toHaveLength(1);
    const node = bus.executed.find((e) => e.exec.rscId === 'web' && e.exec.task === 'start')!.node;
    const ops = bus.cores[0]!.cib.status!.find((s) => s.uname === node)!.lrm!.resources.find((r) => r.id === 'web')!.ops;
    const start = ops.find((o) => o.operation === 'start')!;
    // Pacemaker's own digest of <parameters state="/run/a.state"/>
    expect(start.opDigest).toBe(operationDigest({ state: '/run/a.state' }));
    const monitor = ops.find((o) => o.operation === 'monitor' && o.interval === '5000')!;
    expect(monitor.opDigest).toBe(operationDigest({ state: '/run/a.state' }, 5000, 20000));
  });

  it('restarts a running primitive in place after its parameters change', () => {
    const bus = started();
    const node = bus.executed.find((e) => e.exec.rscId === 'web' && e.exec.task === 'start')!.node;
    bus.executed = [];
    bus.propose(configuration('/run/b.state'));
    expect(bus.tasks()).toEqual([`stop@${node}`, `start@${node}`, `monitor=5000@${node}`]);
    const start = bus.executed.find((e) => e.exec.task === 'start')!.exec;
    expect(start.resolved?.params).toEqual({ state: '/run/b.state' });
    // Once restarted with the new definition, it rests
    bus.executed = [];
    bus.propose(configuration('/run/b.state', 'same parameters'));
    expect(bus.tasks()).toEqual([]);
  });

  it('does not restart forever when the executor resolves parameters differently (a rule-based set)', () => {
    const cib = emptyCib();
    cib.configuration = configuration('/run/a.state');
    const web = cib.configuration.resources[0]! as Primitive;
    // The scheduler evaluates the rule (false: no such node); the executor takes every set
    web.instanceAttributes.push({ id: 'web-ia-rule', score: '-1', rules: [{ tag: 'rule', attrs: { id: 'r1' }, children: [{ tag: 'expression', attrs: { id: 'e1', attribute: '#uname', operation: 'eq', value: 'nowhere' }, children: [] }] }], nvpairs: [{ name: 'extra', value: 'x' }] });
    const bus = new Bus(cib);
    bus.ring([1, 2]);
    expect(bus.tasks().filter((t) => t.startsWith('start'))).toHaveLength(1);
    expect(bus.tasks().filter((t) => t.startsWith('stop'))).toHaveLength(0);
  });

  it('leaves it alone when only something outside the parameters changes', () => {
    const bus = started();
    bus.executed = [];
    bus.propose(configuration('/run/a.state', 'a description'));
    expect(bus.tasks()).toEqual([]);
  });
});
