/** A miniature cluster of controller cores for tests (no totem, no agents). */
import { emptyCib, type Cib, type Primitive } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput, type LocalExec } from '../../src/controller/core.js';
import { schedulerPort } from '../../src/controller/schedule-port.js';

export const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];

/** Three nodes, one Dummy `A` (start timeout 10 s, a 10 s monitor) that must run on n2. */
export function cibWithA(props: Record<string, string>): Cib {
  const c = emptyCib();
  c.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: Object.entries(props).map(([name, value]) => ({ name, value })) });
  for (const n of nodes) c.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  const a: Primitive = {
    tag: 'primitive', id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy',
    instanceAttributes: [], metaAttributes: [], utilization: [],
    operations: [
      { id: 'A-start', name: 'start', interval: '0', timeout: '10s', instanceAttributes: [], metaAttributes: [] },
      { id: 'A-monitor', name: 'monitor', interval: '10s', instanceAttributes: [], metaAttributes: [] },
    ],
  };
  c.configuration.resources.push(a);
  c.configuration.constraints.push({ tag: 'rsc_location', id: 'on-n2', rsc: 'A', node: 'n2', score: 'INFINITY', rules: [], sets: [] });
  return c;
}

/**
 * Totem's promise in miniature: every message reaches every member in one
 * order, when the test says so. Agents succeed (probes find nothing) unless
 * the test keeps a node's starts unanswered.
 */
export class Bus {
  readonly cores: ControllerCore[];
  queue: ClusterMessage[] = [];
  members: number[] = [];
  now = 1000;
  log: string[] = [];
  /** Starts a node was asked to run and never answers (a lost result, a node that hangs). */
  unanswered: Array<{ node: string; exec: LocalExec }> = [];
  answered: Array<{ node: string; exec: LocalExec }> = [];
  silent = new Set<string>();
  /** The executor's call ids: one sequence, as on a real node (the tests' own results take theirs from it too). */
  private callSeq = 0;
  nextCallId(): number {
    return ++this.callSeq;
  }

  /** `processorCores`: each node's cores (node-action-limit's default); unset, the controller's default. */
  constructor(c: Cib = cibWithA({ 'stonith-enabled': 'false', 'cluster-delay': '20s' }), processorCores: Record<string, number> = {}) {
    this.cores = nodes.map((n) => new ControllerCore(n, nodes, c, schedulerPort, undefined, processorCores[n.name]));
  }
  core(name: string): ControllerCore {
    return this.cores.find((c) => c.self.name === name)!;
  }

  take(core: ControllerCore, out: CoreOutput) {
    this.log.push(...out.log.map((l) => `${core.self.name}: ${l}`));
    this.queue.push(...out.broadcast);
    // As the shells: a written configuration is announced (edits are acknowledged once a majority has it).
    if (out.persist) this.queue.push(...core.onPersisted([core.cib.adminEpoch, core.cib.epoch, core.cib.numUpdates]).broadcast);
    for (const exec of out.execute) {
      if (this.silent.has(core.self.name) && exec.task === 'start') {
        this.unanswered.push({ node: core.self.name, exec });
        continue;
      }
      this.answered.push({ node: core.self.name, exec });
      const rc = exec.task === 'monitor' && exec.intervalMs === 0 ? 7 : exec.targetRc;
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.nextCallId(), finishedAt: this.now, execTimeMs: 5 }));
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
