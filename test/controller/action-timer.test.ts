import { describe, expect, it } from 'vitest';
import type { ClusterMessage } from '../../src/controller/core.js';
import { Bus } from './bus.js';

/**
 * The DC never waits for ever for an action: an `exec` lost at a ring change
 * (delivered in a later ring, which its node ignores) or a node that never
 * answers. Pacemaker bounds the wait by the action's timeout plus
 * cluster-delay; with 1,000 resources, waiting for ever meant no transition
 * ever again after a re-form.
 */
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
    // As Pacemaker's DC, it recorded the start as timed out on n2 (every replica alike), so
    // n2's pending record does not stand for ever; a failed start bans A there.
    for (const c of bus.cores) {
      const a = c.cib.status!.find((s) => s.uname === 'n2')!.lrm!.resources.find((r) => r.id === 'A')!;
      expect(a.ops.find((o) => o.id === 'A_last_failure_0'), c.self.name).toMatchObject({ operation: 'start', rcCode: '1', opStatus: '2' });
    }
    expect(bus.log.join('\n')).toMatch(/A cannot run on n2 due to reaching migration threshold/);
  });

  it('a node that answers after the DC recorded its timeout keeps its own answer', () => {
    const bus = new Bus();
    bus.silent.add('n2');
    bus.membership([1, 2, 3]);
    const held = bus.unanswered.pop()!;
    // The answer is sent (agreed before the DC's timer pops): the DC's record must not replace it.
    const n2 = bus.core('n2');
    bus.take(n2, n2.onLocalResult(held.exec, { rc: 0, opStatus: 0, callId: bus.nextCallId(), finishedAt: bus.now, execTimeMs: 5 }));
    bus.settle();
    bus.now += 31;
    bus.silent.delete('n2');
    bus.settle();
    for (const c of bus.cores) {
      const a = c.cib.status!.find((s) => s.uname === 'n2')!.lrm!.resources.find((r) => r.id === 'A')!;
      expect(a.ops.find((o) => o.id === 'A_last_0'), c.self.name).toMatchObject({ operation: 'start', rcCode: '0' });
      expect(a.ops.some((o) => o.id === 'A_last_failure_0')).toBe(false);
    }
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

  it('a result keyed by another DC with the same transition and action does not release the wait for a parked action (simulator seed 1571)', () => {
    const bus = new Bus();
    bus.silent.add('n2');
    bus.membership([1, 2, 3]);
    bus.now += 1;
    bus.membership([1, 2, 3]); // the start of A on n2 is parked
    const before = bus.starts();
    const parked = bus.unanswered.at(-1)!.exec;
    const [action, transition] = parked.transitionKey.split(':');
    // A monitor result of an earlier DC (node 2) whose transition and action numbers are the same.
    const foreignKey = `${action}:${transition}:0:2`;
    const n3 = bus.core('n3');
    bus.queue.push({
      kind: 'op-result',
      from: 3,
      resource: { id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy' },
      op: { id: 'A_monitor_10000', operation: 'monitor', interval: '10000', callId: '99', rcCode: '7', opStatus: '0', transitionKey: foreignKey, transitionMagic: `0:7;${foreignKey}`, onNode: n3.self.name },
      targetRc: 0,
    });
    bus.settle();
    // Still waiting for its own start on n2: no second start anywhere.
    expect(bus.starts()).toBe(before);
  });
});
