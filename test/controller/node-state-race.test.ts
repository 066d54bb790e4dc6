import { describe, expect, it } from 'vitest';
import { Bus } from './bus.js';

/**
 * A node's node-state is built when the ring changes, from its replica; a
 * result of its own agreed after that but before the node-state puts the
 * older history back on every replica. A recurring monitor reports only
 * changes, so its failure would be lost for good and the resource never
 * recovered (found by the cluster simulator: "the CIB says G1 runs on n3,
 * its agent says not" at the convergence bound).
 */
describe('controller: a node-state built before its own monitor result is agreed', () => {
  it('the monitor failure survives the node-state, and the DC recovers the resource', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const n2 = bus.core('n2');
    const monitor = bus.answered.find((e) => e.node === 'n2' && e.exec.rscId === 'A' && e.exec.task === 'monitor' && e.exec.intervalMs === 10_000);
    expect(monitor).toBeDefined();
    const stopsBefore = bus.answered.filter((e) => e.exec.task === 'stop' && e.exec.rscId === 'A').length;
    // A dies on n2; its monitor says so. The result is sent, not yet agreed...
    bus.now += 10;
    bus.take(n2, n2.onLocalResult(monitor!.exec, { rc: 7, opStatus: 0, callId: bus.nextCallId(), finishedAt: bus.now, execTimeMs: 5 }));
    // ... when the ring re-forms: every node builds its node-state now, and the result is agreed before them.
    bus.membership([1, 2, 3]);
    const a = bus.dc().cib.status?.find((s) => s.uname === 'n2')?.lrm?.resources.find((r) => r.id === 'A');
    const stopsAfter = bus.answered.filter((e) => e.exec.task === 'stop' && e.exec.rscId === 'A' && e.node === 'n2').length;
    // Recovered in place: stopped and started again on n2 (its fail count says 1).
    expect(stopsAfter).toBe(stopsBefore + 1);
    expect(a?.ops.some((o) => o.id === 'A_last_failure_0' && o.rcCode === '7')).toBe(true);
  });
});

describe('controller: two node-states in flight around one start result', () => {
  it('the start result survives both, so the resource is not left pending for ever', () => {
    const bus = new Bus();
    bus.silent.add('n2');
    bus.membership([1, 2, 3]);
    const start = bus.unanswered.find((e) => e.node === 'n2' && e.exec.task === 'start');
    expect(start).toBeDefined();
    const n2 = bus.core('n2');
    bus.silent.delete('n2');
    // The start's result is sent; the ring re-forms before it is agreed (node-state 1, listing it pending).
    bus.take(n2, n2.onLocalResult(start!.exec, { rc: 0, opStatus: 0, callId: bus.nextCallId(), finishedAt: bus.now, execTimeMs: 5 }));
    bus.membership([1, 2, 3], false);
    // Deliver up to n2's node-state 1 (the result is agreed before it; n2 sends the result again after it) ...
    for (;;) {
      const msg = bus.queue.shift()!;
      for (const c of bus.cores) bus.take(c, c.onDeliver(msg));
      if (msg.kind === 'node-state' && msg.from === 2) break;
    }
    // ... and the ring re-forms again before that second copy is agreed: node-state 2 is built from a
    // replica where node-state 1 put the start back to pending.
    bus.membership([1, 2, 3]);
    const last = bus.dc().cib.status?.find((s) => s.uname === 'n2')?.lrm?.resources.find((r) => r.id === 'A')?.ops.find((o) => o.id === 'A_last_0');
    expect(last).toMatchObject({ operation: 'start', rcCode: '0', opStatus: '0' });
  });
});

describe('controller: a late result of an older operation does not hide a newer pending one', () => {
  it('says the newer pending operation again after the older one\'s result (simulator seed 21316 of the CI profile)', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const n2 = bus.core('n2');
    const ring = n2.membership.ringId;
    // An earlier DC's probe of A still runs on n2; the current DC's start of A waits behind it in n2's executor.
    const probe = n2.onDeliver({ kind: 'exec', from: 1, node: 2, transition: 7, action: 28, rsc: 'A', task: 'monitor', intervalMs: 0, targetRc: 7, ring, dc: '1-old' }).execute[0]!;
    const start = n2.onDeliver({ kind: 'exec', from: 1, node: 2, transition: 9, action: 3, rsc: 'A', task: 'start', intervalMs: 0, targetRc: 0, ring, dc: '1-new' }).execute[0]!;
    const out = n2.onLocalResult(probe, { rc: 7, opStatus: 0, callId: bus.nextCallId(), finishedAt: bus.now, execTimeMs: 5 });
    expect(out.broadcast.map((m) => (m.kind === 'op-result' ? `${m.op.operation}/${m.op.opStatus}/${m.op.transitionKey}` : m.kind))).toEqual([
      'monitor/0/28:7:7:1-old',
      `start/-1/${start.transitionKey}`,
    ]);
    // Every replica ends with the start pending as A's last operation on n2, not the probe's "not running".
    for (const m of out.broadcast) for (const c of bus.cores) c.onDeliver(m);
    for (const c of bus.cores) {
      const last = c.cib.status!.find((x) => x.uname === 'n2')!.lrm!.resources.find((r) => r.id === 'A')!.ops.find((o) => o.id === 'A_last_0')!;
      expect(last).toMatchObject({ operation: 'start', opStatus: '-1', transitionKey: start.transitionKey });
    }
  });
});
