import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib, type Primitive } from '../../src/cib/model.js';
import { ControllerCore, type ClusterMessage, type CoreOutput, type LocalExec, type SchedulePort } from '../../src/controller/core.js';
import { schedulerPort } from '../../src/controller/schedule-port.js';

const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];

function prim(id: string, cls: string, type: string, params: Record<string, string> = {}, meta: Record<string, string> = {}, provider?: string): Primitive {
  const p: Primitive = {
    tag: 'primitive', id, class: cls, type,
    instanceAttributes: [{ id: `${id}-ia`, rules: [], nvpairs: Object.entries(params).map(([name, value]) => ({ name, value })) }],
    metaAttributes: [{ id: `${id}-meta`, rules: [], nvpairs: Object.entries(meta).map(([name, value]) => ({ name, value })) }],
    utilization: [], operations: [],
  };
  if (provider) p.provider = provider;
  return p;
}

function cib(opts: { device?: boolean; props?: Record<string, string>; prefer?: string; devicePrefers?: Record<string, string> } = {}): Cib {
  const c = emptyCib();
  c.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: Object.entries(opts.props ?? {}).map(([name, value]) => ({ name, value })) });
  for (const n of nodes) c.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  c.configuration.resources.push(prim('A', 'ocf', 'Dummy', {}, {}, 'heartbeat'));
  if (opts.device !== false) c.configuration.resources.push(prim('fence-a', 'stonith', 'fence_dummy', { pcmk_host_check: 'none' }));
  if (opts.prefer) c.configuration.constraints.push({ tag: 'rsc_location', id: 'prefer', rsc: 'A', node: opts.prefer, score: '100', rules: [], sets: [] });
  for (const [node, score] of Object.entries(opts.devicePrefers ?? {})) {
    c.configuration.constraints.push({ tag: 'rsc_location', id: `fence-a-on-${node}`, rsc: 'fence-a', node, score, rules: [], sets: [] });
  }
  return c;
}

/** Totem's promise in miniature, with agents that succeed and a fence device whose outcome the test sets. */
class Bus {
  readonly cores: ControllerCore[];
  queue: ClusterMessage[] = [];
  members: number[] = [];
  now = 1000;
  executed: Array<{ node: string; exec: LocalExec }> = [];
  fenceRuns: Array<{ node: string; target: string }> = [];
  fenceOk = true;
  /** Keep fencing requests unanswered (the device is slow) until released. */
  holdFence = false;
  held: Array<{ core: ControllerCore; f: import('../../src/controller/core.js').LocalFence }> = [];
  log: string[] = [];
  /** Resources each node's agents run, as the agent would find them. */
  running = new Map<string, Set<string>>();
  /** Operations left unanswered (a node that hangs or is about to reboot). */
  holdExec: (node: string, exec: LocalExec) => boolean = () => false;
  heldExecs: Array<{ node: string; exec: LocalExec }> = [];

  constructor(c: Cib, port: SchedulePort = schedulerPort, list = nodes) {
    this.cores = list.map((n) => new ControllerCore(n, list, c, port));
    for (const n of list) this.running.set(n.name, new Set());
  }
  core(name: string): ControllerCore {
    return this.cores.find((c) => c.self.name === name)!;
  }
  take(core: ControllerCore, out: CoreOutput) {
    this.log.push(...out.log.map((l) => `${core.self.name}: ${l}`));
    this.queue.push(...out.broadcast);
    for (const exec of out.execute) {
      this.executed.push({ node: core.self.name, exec });
      if (this.holdExec(core.self.name, exec)) {
        this.heldExecs.push({ node: core.self.name, exec });
        continue;
      }
      const here = this.running.get(core.self.name)!;
      let rc = 0;
      if (exec.task === 'monitor' && exec.intervalMs === 0) rc = here.has(exec.rscId) ? 0 : 7;
      else if (exec.task === 'monitor') rc = exec.targetRc;
      if (exec.task === 'start') here.add(exec.rscId);
      if (exec.task === 'stop') here.delete(exec.rscId);
      this.take(core, core.onLocalResult(exec, { rc, opStatus: 0, callId: this.executed.length, finishedAt: this.now, execTimeMs: 5 }));
    }
    for (const f of out.fence) {
      this.fenceRuns.push({ node: core.self.name, target: f.target });
      if (this.holdFence) {
        this.held.push({ core, f });
        continue;
      }
      this.take(core, core.onFenceDone(f, this.fenceOk ? { ok: true, devices: ['fence-a'] } : { ok: false, devices: [], reason: 'fence-a returned 1' }, this.now));
    }
  }
  ring(members: number[], quorate = members.length >= 2) {
    this.members = members;
    for (const c of this.cores) if (members.includes(c.self.id)) this.take(c, c.onMembership({ ringId: `${this.now}:${members.join('.')}`, members, quorate }));
    this.settle();
  }
  deliver(out: CoreOutput, from: ControllerCore) {
    this.take(from, out);
    this.settle();
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
  startedOn(rsc: string): string[] {
    return [...this.running].filter(([, set]) => set.has(rsc)).map(([n]) => n);
  }
}

describe('controller: fencing an unclean node before recovery', () => {
  it('fences a node that vanished, from another node, and only then starts its resources elsewhere', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    expect(bus.startedOn('A')).toEqual(['n3']);
    bus.fenceOk = false;
    bus.executed = [];
    // n3 vanishes (its agents keep running A: it is not known to be off).
    bus.ring([1, 2]);
    expect(bus.fenceRuns.length).toBeGreaterThan(0);
    expect(bus.fenceRuns.every((r) => r.target === 'n3' && r.node !== 'n3')).toBe(true);
    // Every attempt failed: A did not start elsewhere (the fence device may: it needs only quorum),
    // and the DC gave up after stonith-max-attempts.
    expect(bus.executed.filter((e) => e.exec.task === 'start' && e.exec.rscId === 'A')).toEqual([]);
    expect(bus.fenceRuns).toHaveLength(10);
    expect(bus.log.join('\n')).toMatch(/Too many failures \(10\) to fence n3, giving up/);
    expect(bus.core('n1').fencingHistory.filter((e) => e.state === 'failed')).toHaveLength(10);
    // The next recheck tries again; now the device works.
    bus.fenceOk = true;
    bus.now += 15 * 60;
    bus.settle();
    expect(bus.fenceRuns).toHaveLength(11);
    const n3 = bus.core('n1').cib.status!.find((s) => s.uname === 'n3')!;
    expect(n3).toMatchObject({ expected: 'down', lrm: { resources: [] } });
    expect(bus.executed.filter((e) => e.exec.task === 'start').map((e) => `${e.exec.rscId}@${e.node}`)).toContain('A@n1');
  });

  it('keeps a node that rebooted and rejoined before its fence was agreed online on every node, fenced once', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    expect(bus.startedOn('A')).toEqual(['n3']);
    bus.holdFence = true;
    bus.ring([1, 2]);
    expect(bus.held).toHaveLength(1);
    // The devices power-cycle n3: it boots with nothing running and a fresh controller.
    bus.running.set('n3', new Set());
    bus.cores[2] = new ControllerCore(nodes[2]!, nodes, cib({ prefer: 'n3' }), schedulerPort);
    const { core, f } = bus.held.pop()!;
    bus.holdFence = false;
    // Answered in ring [1 2], agreed only in the ring n3 has rejoined.
    bus.take(core, core.onFenceDone(f, { ok: true, devices: ['fence-a'] }, bus.now));
    bus.now += 1;
    bus.ring([1, 2, 3]);
    for (const c of bus.cores) {
      expect(c.cib.status!.find((s) => s.uname === 'n3'), `n3 as ${c.self.name} sees it`).toMatchObject({ inCcm: 'true', crmd: 'online', expected: 'member' });
    }
    expect(bus.fenceRuns).toHaveLength(1);
    expect(bus.startedOn('A')).toEqual(['n3']);
    expect(bus.log.join('\n')).toMatch(/n3 was fenced \(.*\) and has rejoined since/);
    expect(bus.log.join('\n')).not.toMatch(/allegedly/);
  });

  it('does not wait again for an action a rebooted node said is over, when a fence fails after the abort (simulator seed 20751)', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    expect(bus.startedOn('A')).toEqual(['n3']);
    // n3 vanishes: the DC fences it; the device is slow.
    bus.holdFence = true;
    bus.ring([1, 2]);
    expect(bus.held).toHaveLength(1);
    // Meanwhile B is added: the next transition joins the pending fence and starts B on n2 (no answer yet).
    bus.holdExec = (node, exec) => node === 'n2' && exec.rscId === 'B' && exec.task === 'start';
    const n1 = bus.core('n1');
    const conf = structuredClone(n1.cib.configuration);
    conf.resources.push(prim('B', 'ocf', 'Dummy', {}, {}, 'heartbeat'));
    conf.constraints.push({ tag: 'rsc_location', id: 'B-on-n2', rsc: 'B', node: 'n2', score: '100', rules: [], sets: [] });
    bus.deliver(n1.propose('add-B', conf), n1);
    expect(bus.heldExecs.map((e) => `${e.exec.rscId}@${e.node}`)).toEqual(['B@n2']);
    // n2 reboots before anyone noticed: the ring re-forms with it, and its node-state says nothing runs.
    bus.running.set('n2', new Set());
    bus.cores[1] = new ControllerCore(nodes[1]!, nodes, n1.cib, schedulerPort);
    bus.holdExec = () => false;
    bus.now += 1;
    // The fence fails, its result agreed right after the new ring's node-states.
    for (const c of bus.cores.slice(0, 2)) bus.take(c, c.onMembership({ ringId: `${bus.now}:1.2`, members: [1, 2], quorate: true }));
    bus.holdFence = false;
    bus.fenceOk = false;
    const { core, f } = bus.held.pop()!;
    const runsBefore = bus.fenceRuns.length;
    bus.take(core, core.onFenceDone(f, { ok: false, devices: ['fence-a'], reason: 'fence-a returned 1' }, bus.now));
    bus.settle();
    // The DC tries again at once; it does not wait out B's lost start (80 s).
    expect(bus.fenceRuns.length).toBeGreaterThan(runsBefore);
    expect(bus.startedOn('B')).toEqual(['n2']);
  });

  it('keeps waiting for a fence in progress when the transition is aborted meanwhile', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    bus.holdFence = true;
    bus.ring([1, 2]);
    expect(bus.held).toHaveLength(1);
    // A configuration change aborts the transition while the device runs.
    const n2 = bus.core('n2');
    bus.deliver(n2.proposeAttribute('n1', 'site', 'a', 'forever'), n2);
    // The new transition joins the pending request instead of fencing twice.
    expect(bus.fenceRuns).toHaveLength(1);
    expect(bus.startedOn('A')).toEqual(['n3']);
    const { core, f } = bus.held.pop()!;
    bus.holdFence = false;
    bus.deliver(core.onFenceDone(f, { ok: true, devices: ['fence-a'] }, bus.now), core);
    expect(bus.startedOn('A').sort()).toEqual(['n1', 'n3']);
  });

  it('recovers after stonith_admin --confirm when the device cannot fence', () => {
    const bus = new Bus(cib({ prefer: 'n3', props: { 'stonith-max-attempts': '2' } }));
    bus.ring([1, 2, 3]);
    bus.fenceOk = false;
    bus.ring([1, 2]);
    expect(bus.fenceRuns).toHaveLength(2);
    expect(bus.startedOn('A')).toEqual(['n3']);
    const { out, id } = bus.core('n2').proposeConfirm('n3', 'stonith_admin', bus.now);
    expect(id).toBeDefined();
    bus.deliver(out, bus.core('n2'));
    expect(bus.startedOn('A').sort()).toEqual(['n1', 'n3']);
    expect(bus.core('n1').fencingHistory.at(-1)).toMatchObject({ target: 'n3', state: 'done', devices: ['manual ack'] });
  });

  it('starts nothing when fencing is enabled without a device, and says why', () => {
    const bus = new Bus(cib({ device: false }));
    bus.ring([1, 2, 3]);
    expect(bus.executed.filter((e) => e.exec.task === 'start')).toEqual([]);
    expect(bus.executed.some((e) => e.exec.task === 'monitor')).toBe(true);
    expect(bus.log.join('\n')).toMatch(/error: Resource start-up disabled since no STONITH resources have been defined/);
  });

  it('does not fence a node that shut down cleanly', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    bus.deliver(bus.core('n3').proposeLeave(), bus.core('n3'));
    expect(bus.core('n3').leaveRecorded).toBe(true);
    bus.ring([1, 2]);
    expect(bus.fenceRuns).toEqual([]);
    expect(bus.startedOn('A')).toContain('n1');
  });

  it('asks a node other than the target to run a manual fence of the DC', () => {
    const bus = new Bus(cib());
    bus.ring([1, 2, 3]);
    const { out } = bus.core('n1').proposeFence('n1', 'reboot', 'stonith_admin', bus.now);
    bus.deliver(out, bus.core('n1'));
    expect(bus.fenceRuns).toEqual([{ node: 'n2', target: 'n1' }]);
    expect(bus.log.join('\n')).toMatch(/n1: crit: We were allegedly just fenced by n2/);
  });
});

describe('controller: two nodes that lose each other', () => {
  it('both keep quorum and fence; priority-fencing-delay holds back the request against the FloatIP holder', () => {
    const two = nodes.slice(0, 2);
    const c = cib({ prefer: 'n2', props: { 'priority-fencing-delay': '15s' } });
    c.configuration.nodes = c.configuration.nodes.slice(0, 2);
    c.configuration.constraints = [{ tag: 'rsc_location', id: 'prefer', rsc: 'A', node: 'n2', score: '100', rules: [], sets: [] }];
    (c.configuration.resources[0] as Primitive).metaAttributes[0]!.nvpairs.push({ name: 'priority', value: '10' });
    const bus = new Bus(c, schedulerPort, two);
    bus.ring([1, 2]);
    expect(bus.startedOn('A')).toEqual(['n2']);
    // The link breaks; two_node keeps quorum on both sides. Capture the requests instead of running them.
    const requests: Array<{ from: string; target: string; delay: number }> = [];
    for (const core of bus.cores) {
      const out = core.onMembership({ ringId: `split-${core.self.id}`, members: [core.self.id], quorate: true });
      const pending = [...out.broadcast];
      for (let i = 0; i < 20 && pending.length; i++) {
        const msg = pending.shift()!;
        const o = core.onDeliver(msg);
        pending.push(...o.broadcast);
        const t = core.onTick(bus.now);
        pending.push(...t.broadcast);
        for (const m of [...o.broadcast, ...t.broadcast]) {
          if (m.kind === 'fence-request') requests.push({ from: core.self.name, target: m.target, delay: m.priorityDelayMs });
        }
      }
    }
    expect(requests.sort((a, b) => a.from.localeCompare(b.from))).toEqual([
      { from: 'n1', target: 'n2', delay: 15_000 },
      { from: 'n2', target: 'n1', delay: 0 },
    ]);
  });
});

describe('controller: issue 11 bugs', () => {
  it('re-evaluates an idle cluster every cluster-recheck-interval', () => {
    let runs = 0;
    const counting: SchedulePort = (c, now) => {
      runs++;
      return schedulerPort(c, now);
    };
    const bus = new Bus(cib({ props: { 'cluster-recheck-interval': '2min' } }), counting);
    bus.ring([1, 2, 3]);
    const settled = runs;
    bus.now += 60;
    bus.settle();
    expect(runs).toBe(settled);
    bus.now += 61;
    bus.settle();
    expect(runs).toBe(settled + 1);
  });

  it('expires a failure by failure-timeout on an idle cluster', () => {
    const c = cib({ prefer: 'n1' });
    (c.configuration.resources[0] as Primitive).metaAttributes[0]!.nvpairs.push({ name: 'failure-timeout', value: '30s' }, { name: 'migration-threshold', value: '1' });
    const bus = new Bus(c);
    bus.ring([1, 2, 3]);
    expect(bus.startedOn('A')).toEqual(['n1']);
    // A's monitor on n1 fails (reported as an op-result): it moves away, n1 is banned by migration-threshold.
    const n1 = bus.core('n1');
    bus.running.get('n1')!.delete('A');
    bus.deliver(n1.onLocalResult({ rscId: 'A', task: 'monitor', intervalMs: 10_000, targetRc: 0, transitionKey: '0:0:0:1', resolved: undefined }, { rc: 7, opStatus: 0, callId: 99, finishedAt: bus.now, execTimeMs: 1 }), n1);
    const failCount = () => n1.cib.status!.find((s) => s.uname === 'n1')!.transientAttributes.flatMap((x) => x.nvpairs).filter((p) => p.name.startsWith('fail-count-A'));
    expect(failCount()).toHaveLength(1);
    expect(bus.startedOn('A')).not.toContain('n1');
    // Nothing happens for 31 s but time: the failure expires.
    bus.now += 31;
    bus.settle();
    expect(failCount()).toEqual([]);
    expect(bus.log.join('\n')).toMatch(/Clearing failure of A on n1 because it expired/);
    // And the cluster rests afterwards (no endless clear_failcount transitions).
    const before = bus.log.length;
    bus.now += 1;
    bus.settle();
    expect(bus.log.slice(before).filter((l) => /transition/.test(l))).toEqual([]);
  });

  it('runs a Promoted monitor expecting rc 8', () => {
    const c = cib();
    const child = prim('S', 'ocf', 'Stateful', {}, {}, 'pacemaker');
    child.operations = [
      { id: 'S-mon-p', name: 'monitor', interval: '10s', role: 'Promoted', instanceAttributes: [], metaAttributes: [] },
      { id: 'S-mon-u', name: 'monitor', interval: '11s', role: 'Unpromoted', instanceAttributes: [], metaAttributes: [] },
    ];
    c.configuration.resources.push({ tag: 'clone', id: 'S-clone', instanceAttributes: [], metaAttributes: [{ id: 'Sc-meta', rules: [], nvpairs: [{ name: 'promotable', value: 'true' }] }], child });
    const bus = new Bus(c);
    bus.ring([1, 2, 3]);
    // The agent's crm_master on n2 (Stateful sets its promotion score so).
    bus.deliver(bus.core('n2').proposeAttribute('n2', 'master-S', '10', 'reboot'), bus.core('n2'));
    expect(bus.executed.filter((e) => e.exec.task === 'promote').map((e) => e.node)).toEqual(['n2']);
    const monitors = bus.executed.filter((e) => e.exec.rscId.startsWith('S') && e.exec.task === 'monitor' && e.exec.intervalMs > 0);
    expect(monitors.filter((m) => m.exec.intervalMs === 10_000).map((m) => m.exec.targetRc)).toEqual([8]);
    expect(monitors.filter((m) => m.exec.intervalMs === 11_000).every((m) => m.exec.targetRc === 0)).toBe(true);
  });

  it('has no DC in a partition without quorum; its node stops its own resources', () => {
    const bus = new Bus(cib({ prefer: 'n3' }));
    bus.ring([1, 2, 3]);
    expect(bus.startedOn('A')).toEqual(['n3']);
    bus.executed = [];
    // n3 alone: no quorum.
    bus.members = [3];
    bus.take(bus.core('n3'), bus.core('n3').onMembership({ ringId: 'alone', members: [3], quorate: false }));
    bus.settle();
    expect(bus.core('n3').dc).toBeUndefined();
    expect(bus.log.filter((l) => /^n3: membership/.test(l)).at(-1)).toMatch(/DC none/);
    expect(bus.executed.map((e) => `${e.exec.task}:${e.exec.rscId}@${e.node}`)).toEqual(['stop:A@n3']);
    expect(bus.startedOn('A')).toEqual([]);
  });
});
