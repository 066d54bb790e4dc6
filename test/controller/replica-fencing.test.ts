import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib } from '../../src/cib/model.js';
import { applyMembership, applyMessage, initialReplica, versionOf, type ReplicaMessage, type ReplicaState } from '../../src/controller/replica.js';
import { schedule } from '../../src/scheduler/index.js';

const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];
const dummy = { id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy' };

function cibWith(resources: string[], props: Record<string, string> = {}): Cib {
  const cib = emptyCib();
  cib.configuration.crmConfig.push({ id: 'opts', rules: [], nvpairs: Object.entries(props).map(([name, value]) => ({ name, value })) });
  for (const n of nodes) cib.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
  for (const id of resources) {
    cib.configuration.resources.push({ tag: 'primitive', id, class: 'ocf', provider: 'heartbeat', type: 'Dummy', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] });
  }
  return cib;
}

function ring(s: ReplicaState, members: number[]): ReplicaState {
  s = applyMembership(s, { ringId: `r${members.join('')}`, members, quorate: members.length >= 2 }).state;
  for (const from of members) s = applyMessage(s, { kind: 'cib-offer', from, version: versionOf(s.cib), configuration: s.cib.configuration }).state;
  return s;
}

const started = (from: number, id = 'A'): ReplicaMessage => ({
  kind: 'op-result', from, resource: { ...dummy, id }, targetRc: 0,
  op: { id: '', operation: 'start', interval: '0', rcCode: '0', opStatus: '0', lastRcChange: '100' },
});

const n = (s: ReplicaState, name: string) => s.cib.status!.find((x) => x.uname === name)!;

describe('replica: unclean nodes and fencing', () => {
  it('keeps a node that vanished UNCLEAN, with its history, so the scheduler fences it before recovery', () => {
    let s = ring(initialReplica(cibWith(['A', 'fence'].slice(0, 1)), nodes), [1, 2, 3]);
    s = applyMessage(s, started(3)).state;
    const out = applyMembership(s, { ringId: 'x', members: [1, 2], quorate: true });
    s = out.state;
    expect(n(s, 'n3')).toMatchObject({ inCcm: 'false', crmd: 'offline', expected: 'member' });
    expect(n(s, 'n3').lrm!.resources.map((r) => r.id)).toEqual(['A']);
    expect(out.warnings?.join()).toMatch(/n3 left the membership without a clean shutdown: it is UNCLEAN/);
    // Without a fence device: A is not started elsewhere (its stop cannot be carried out).
    const noDevice = schedule(s.cib, 200);
    expect(noDevice.actions.filter((a) => a.task === 'start').map((a) => a.rsc?.id)).toEqual([]);
    // With one: the scheduler fences n3 first, and only then starts A.
    const withDevice = structuredClone(s.cib);
    withDevice.configuration.resources.push({ tag: 'primitive', id: 'fence', class: 'stonith', type: 'fence_dummy', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] });
    const plan = schedule(withDevice, 200);
    expect(plan.summaryLines.join('\n')).toMatch(/Fence \(reboot\) n3 'peer is no longer part of the cluster'/);
    const fence = plan.actions.find((a) => a.task === 'stonith')!;
    const start = plan.actions.find((a) => a.task === 'start' && a.rsc?.id === 'A')!;
    const dependsOnFence = (a: typeof start, seen = new Set<typeof start>()): boolean =>
      a.before.some((o) => o.first === fence || (!seen.has(o.first) && (seen.add(o.first), dependsOnFence(o.first, seen))));
    expect(dependsOnFence(start)).toBe(true);
  });

  it('takes a node that said it was leaving for cleanly down', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, { kind: 'leave', from: 3 }).state;
    const out = applyMembership(s, { ringId: 'x', members: [1, 2], quorate: true });
    expect(n(out.state, 'n3')).toMatchObject({ inCcm: 'false', expected: 'down', lrm: { resources: [] } });
    expect(out.warnings).toBeUndefined();
    expect(schedule(out.state.cib, 200).summaryLines.join('\n')).not.toMatch(/Fence/);
  });

  it('clears the victim only on a confirmed fence; a failure leaves it unclean', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(3)).state;
    s = ring(s, [1, 2]);
    const req: ReplicaMessage = { kind: 'fence-request', from: 1, id: '1-1', target: 'n3', action: 'reboot', executor: 2, client: 'pacemaker-controld', at: 300, random: 0.5, priorityDelayMs: 0 };
    s = applyMessage(s, req).state;
    expect(s.fencing).toMatchObject([{ id: '1-1', state: 'pending', executioner: 'n2', origin: 'n1' }]);
    // Only the executor may answer.
    expect(applyMessage(s, { kind: 'fence-result', from: 1, id: '1-1', ok: true, devices: ['f'], at: 301 }).state.fencing[0]!.state).toBe('pending');
    const failed = applyMessage(s, { kind: 'fence-result', from: 2, id: '1-1', ok: false, devices: ['f'], at: 301, exitReason: 'rc 1' }).state;
    expect(failed.fencing[0]).toMatchObject({ state: 'failed', exitReason: 'rc 1' });
    expect(n(failed, 'n3').lrm!.resources).toHaveLength(1);
    let ok = applyMessage(failed, { ...req, id: '1-2', at: 310 }).state;
    ok = applyMessage(ok, { kind: 'fence-result', from: 2, id: '1-2', ok: true, devices: ['f'], at: 311 }).state;
    expect(n(ok, 'n3')).toMatchObject({ inCcm: 'false', expected: 'down', join: 'down', lrm: { resources: [] }, transientAttributes: [] });
    expect(schedule(ok.cib, 400).actions.some((a) => a.task === 'start' && a.rsc?.id === 'A')).toBe(true);
  });

  it('lets the operator confirm a node down by hand, settling what was pending', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(3)).state;
    s = ring(s, [1, 2]);
    s = applyMessage(s, { kind: 'fence-request', from: 1, id: '1-1', target: 'n3', action: 'reboot', executor: 2, client: 'pacemaker-controld', at: 300, random: 0, priorityDelayMs: 0 }).state;
    s = applyMessage(s, { kind: 'fence-confirm', from: 2, id: '2-1', target: 'n3', client: 'stonith_admin', at: 305 }).state;
    expect(n(s, 'n3')).toMatchObject({ expected: 'down', lrm: { resources: [] } });
    expect(s.fencing.map((e) => `${e.id}:${e.state}:${e.devices?.join()}`)).toEqual(['1-1:done:manual ack', '2-1:done:manual ack']);
  });

  it('fails a pending fence whose executor left the membership', () => {
    let s = ring(initialReplica(cibWith([]), nodes), [1, 2, 3]);
    s = ring(s, [1, 2]);
    s = applyMessage(s, { kind: 'fence-request', from: 1, id: '1-1', target: 'n3', action: 'reboot', executor: 2, client: 'pacemaker-controld', at: 300, random: 0, priorityDelayMs: 0 }).state;
    s = applyMembership(s, { ringId: 'y', members: [1], quorate: false }).state;
    expect(s.fencing[0]).toMatchObject({ state: 'failed', exitReason: expect.stringMatching(/n2 left/) });
  });

  it('tells a node that joins later which nodes are still unclean, and the fencing history', () => {
    let old = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    old = applyMessage(old, started(3)).state;
    old = ring(old, [1, 2]);
    old = applyMessage(old, { kind: 'fence-request', from: 1, id: '1-1', target: 'n3', action: 'reboot', executor: 1, client: 'pacemaker-controld', at: 300, random: 0, priorityDelayMs: 0 }).state;
    old = applyMessage(old, { kind: 'fence-result', from: 1, id: '1-1', ok: false, devices: ['f'], at: 301 }).state;
    // n2 restarts: its replica starts empty and has never seen n3.
    let fresh = ring(initialReplica(cibWith(['A']), nodes), [1, 2]);
    expect(n(fresh, 'n3').expected).toBe('down');
    const msg: ReplicaMessage = { kind: 'node-state', from: 1, lrm: [], transient: {}, unclean: [{ node: 'n3', lrm: n(old, 'n3').lrm!.resources }], fencing: old.fencing };
    fresh = applyMessage(fresh, msg).state;
    old = applyMessage(old, msg).state;
    expect(n(fresh, 'n3')).toMatchObject({ expected: 'member', inCcm: 'false' });
    expect(n(fresh, 'n3').lrm).toEqual(n(old, 'n3').lrm);
    expect(fresh.fencing).toEqual(old.fencing);
  });

  it('copies only what a message changes (1,000 resources)', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `r${i}`);
    let s = ring(initialReplica(cibWith(ids), nodes), [1, 2, 3]);
    for (const id of ids) s = applyMessage(s, started(1 + (Number(id.slice(1)) % 3), id)).state;
    const before = s;
    const frozen = JSON.stringify(before.cib);
    const after = applyMessage(s, started(2, 'r4')).state;
    // The configuration and the other nodes' states are shared, not copied.
    expect(after.cib.configuration).toBe(before.cib.configuration);
    expect(n(after, 'n1')).toBe(n(before, 'n1'));
    expect(n(after, 'n3')).toBe(n(before, 'n3'));
    // On n2 only r4's entry is new; its neighbours are the same objects.
    const r1 = (x: ReplicaState) => n(x, 'n2').lrm!.resources.find((r) => r.id === 'r1');
    expect(r1(after)).toBe(r1(before));
    expect(after.cib.numUpdates).toBe(before.cib.numUpdates + 1);
    // And the previous state was not mutated.
    expect(JSON.stringify(before.cib)).toBe(frozen);
  });
});

describe('replica: unclean reports from members with different pasts', () => {
  const at = (s: ReplicaState, ringId: string, members: number[]): ReplicaState => {
    s = applyMembership(s, { ringId, members, quorate: members.length >= 2 }).state;
    for (const from of members) s = applyMessage(s, { kind: 'cib-offer', from, version: versionOf(s.cib), configuration: s.cib.configuration }).state;
    return s;
  };
  const probePending: ReplicaMessage = {
    kind: 'op-result', from: 3, resource: dummy, targetRc: 7,
    op: { id: '', operation: 'monitor', interval: '0', rcCode: '193', opStatus: '-1', transitionKey: '27:2:7:1-1' },
  };
  const report = (from: number, s: ReplicaState): ReplicaMessage => ({
    kind: 'node-state', from, lrm: [], transient: {},
    unclean: [{ node: 'n3', lrm: n(s, 'n3').lrm!.resources, seen: s.statusSeen?.['n3'] ?? 0 }],
  });

  it('keeps the report of the member that saw the node last, whatever the order (a DC that slept through a partition)', () => {
    // n1 last saw n3 in ring 1.12, probing A there; n2 saw it later, in ring
    // 2.1b without n1, where n3 started A.
    let n1 = at(initialReplica(cibWith(['A']), nodes), '1.12', [1, 2, 3]);
    n1 = applyMessage(n1, probePending).state;
    let n2 = at(initialReplica(cibWith(['A']), nodes), '2.1b', [2, 3]);
    n2 = applyMessage(n2, started(3)).state;
    n1 = at(n1, '1.1f', [1, 2]);
    n2 = at(n2, '1.1f', [1, 2]);
    const fromN1 = report(1, n1);
    const fromN2 = report(2, n2);
    expect(fromN2.kind === 'node-state' && fromN2.unclean?.[0]?.seen).toBe(0x1b);
    for (const order of [[fromN1, fromN2], [fromN2, fromN1]]) {
      let a = n1;
      let b = n2;
      for (const m of order) {
        a = applyMessage(a, m).state;
        b = applyMessage(b, m).state;
      }
      expect(n(a, 'n3')).toEqual(n(b, 'n3'));
      expect(n(a, 'n3').lrm!.resources[0]!.ops.map((o) => `${o.operation}:${o.rcCode}`)).toEqual(['start:0']);
      // So the DC does not start A on n1 or n2 while n3 may run it (with no
      // fence device here, its stop on n3 waits, blocked).
      const summary = schedule(a.cib, 400).summaryLines.join('\n');
      expect(summary).toMatch(/Stop\s+A\s+\(\s+n3 \)\s+blocked/);
      expect(summary).not.toMatch(/Start/);
    }
  });

  it('takes the first report of a ring whole, and a later one only if as fresh', () => {
    let s = at(initialReplica(cibWith(['A']), nodes), '1.9', [1, 2, 3]);
    s = at(s, '1.d', [1, 2]);
    const lrm = (op: string) => [{ id: 'A', ops: [{ id: 'A_last_0', operation: op, interval: '0', rcCode: '0', opStatus: '0', callId: '3' }] }];
    s = applyMessage(s, { kind: 'node-state', from: 2, lrm: [], transient: {}, unclean: [{ node: 'n3', lrm: lrm('stop'), seen: 0x5 }] }).state;
    expect(n(s, 'n3').lrm!.resources[0]!.ops[0]!.operation).toBe('stop');
    s = applyMessage(s, { kind: 'node-state', from: 1, lrm: [], transient: {}, unclean: [{ node: 'n3', lrm: lrm('start'), seen: 0x4 }] }).state;
    expect(n(s, 'n3').lrm!.resources[0]!.ops[0]!.operation).toBe('stop');
    s = applyMessage(s, { kind: 'node-state', from: 1, lrm: [], transient: {}, unclean: [{ node: 'n3', lrm: lrm('start'), seen: 0x5 }] }).state;
    expect(n(s, 'n3').lrm!.resources[0]!.ops[0]!.operation).toBe('start');
    // A new ring starts over: its first report is taken whole.
    s = at(s, '1.11', [1, 2]);
    s = applyMessage(s, { kind: 'node-state', from: 2, lrm: [], transient: {}, unclean: [{ node: 'n3', lrm: lrm('stop'), seen: 0x2 }] }).state;
    expect(n(s, 'n3').lrm!.resources[0]!.ops[0]!.operation).toBe('stop');
  });
});

describe('replica: malformed fencing input', () => {
  it('ignores bad extras and bad fencing messages alike, never throws', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = ring(s, [1, 2]);
    const bad = [
      { kind: 'node-state', from: 1, lrm: [], transient: {}, unclean: { node: 'n3' }, fencing: 'nope' },
      { kind: 'node-state', from: 1, lrm: [], transient: {}, unclean: [null, { node: 3 }], fencing: [{ id: 1 }, null] },
      { kind: 'fence-request', from: 1, id: 7, target: 'n3', action: 'reboot', executor: 2, client: 'x', at: 1, random: 0, priorityDelayMs: 0 },
      { kind: 'fence-request', from: 1, id: 'x', target: 'n3', action: 'explode', executor: 2, client: 'x', at: 1, random: 0, priorityDelayMs: 0 },
      { kind: 'fence-result', from: 2, id: 'nope', ok: true, devices: 'x', at: 'now' },
      { kind: 'fence-confirm', from: 2, id: {}, target: 'n3', client: 'x', at: 1 },
    ] as unknown as ReplicaMessage[];
    for (const m of bad) s = applyMessage(s, m).state;
    expect(s.fencing).toEqual([]);
    expect(n(s, 'n3').expected).toBe('member');
  });
});

describe('replica: a fence whose result crosses a membership change', () => {
  const req = (target: string, id = '2-1'): ReplicaMessage => ({
    kind: 'fence-request', from: 2, id, target, action: 'reboot', executor: 2, client: 'pacemaker-controld', at: 300, random: 0, priorityDelayMs: 0,
  });
  const result = (ring: string, id = '2-1'): ReplicaMessage => ({
    kind: 'fence-result', from: 2, id, ok: true, devices: ['f'], at: 301, target: 'n1', action: 'reboot', ring,
  });

  it('keeps a target that rejoined before the result was agreed a member, on every replica alike', () => {
    // n1 vanished; n2 fences it in ring r23. The devices kill n1, it boots
    // and joins ring r123 before n2's result is agreed (it is delivered there).
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(1)).state;
    s = ring(s, [2, 3]);
    s = applyMessage(s, req('n1')).state;
    let survivor = ring(s, [1, 2, 3]);
    // The rebooted n1's replica never saw the request.
    let rebooted = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    const out = applyMessage(survivor, result('r23'));
    survivor = out.state;
    rebooted = applyMessage(rebooted, result('r23')).state;
    expect(out.warnings?.join()).toMatch(/n1 was fenced \(2-1\) and has rejoined since/);
    expect(out.targetRejoined).toBe(true);
    expect(survivor.fencing[0]).toMatchObject({ id: '2-1', state: 'done' });
    for (const r of [survivor, rebooted]) expect(n(r, 'n1')).toMatchObject({ inCcm: 'true', crmd: 'online', join: 'member', expected: 'member' });
    expect(schedule(survivor.cib, 400).summaryLines.join('\n')).not.toMatch(/Fence/);
  });

  it('takes the target for fenced when the result is agreed in the ring the devices answered in', () => {
    // The ring still lists the incarnation the devices just killed.
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(1)).state;
    s = applyMessage(s, req('n1')).state;
    s = applyMessage(s, result('r123')).state;
    expect(n(s, 'n1')).toMatchObject({ inCcm: 'false', expected: 'down', lrm: { resources: [] } });
    // ... and the ring then loses it: cleanly down, nothing to fence again.
    s = ring(s, [2, 3]);
    expect(n(s, 'n1')).toMatchObject({ expected: 'down' });
    expect(schedule(s.cib, 400).summaryLines.join('\n')).not.toMatch(/Fence/);
  });

  it('takes a target back online when it speaks after a result agreed in its ring (the devices answered after it rejoined)', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, req('n1')).state;
    s = applyMessage(s, result('r123')).state;
    expect(n(s, 'n1')).toMatchObject({ crmd: 'offline', expected: 'down' });
    s = applyMessage(s, { kind: 'node-state', from: 1, lrm: [], transient: {} }).state;
    expect(n(s, 'n1')).toMatchObject({ inCcm: 'true', crmd: 'online', join: 'member', expected: 'member' });
  });

  it('applies a result alike on a replica that joined after the request', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(1)).state;
    s = ring(s, [2, 3]);
    s = applyMessage(s, req('n1')).state;
    s = ring(s, [2, 3]);
    // n3 restarted meanwhile: its replica has no record of the request.
    let fresh = ring(initialReplica(cibWith(['A']), nodes), [2, 3]);
    fresh = applyMessage(fresh, { kind: 'node-state', from: 2, lrm: [], transient: {}, unclean: [{ node: 'n1', lrm: n(s, 'n1').lrm!.resources }] }).state;
    s = applyMessage(s, result('r23')).state;
    fresh = applyMessage(fresh, result('r23')).state;
    expect(n(fresh, 'n1')).toEqual(n(s, 'n1'));
    expect(n(s, 'n1')).toMatchObject({ expected: 'down', lrm: { resources: [] } });
  });

  it('ignores an unclean report built before the fence and agreed after it in the same ring', () => {
    let s = ring(initialReplica(cibWith(['A']), nodes), [1, 2, 3]);
    s = applyMessage(s, started(1)).state;
    s = ring(s, [2, 3]);
    const staleLrm = n(s, 'n1').lrm!.resources;
    s = applyMessage(s, req('n1')).state;
    s = applyMessage(s, result('r23')).state;
    // n3's node-state for ring r23 was built when n1 had just vanished.
    s = applyMessage(s, { kind: 'node-state', from: 3, lrm: [], transient: {}, unclean: [{ node: 'n1', lrm: staleLrm }] }).state;
    expect(n(s, 'n1')).toMatchObject({ expected: 'down', lrm: { resources: [] } });
    expect(schedule(s.cib, 400).summaryLines.join('\n')).not.toMatch(/Fence/);
    // In a later ring the same report is news again (n1 may have come back and vanished since).
    s = ring(s, [2, 3]);
    s = applyMessage(s, { kind: 'node-state', from: 3, lrm: [], transient: {}, unclean: [{ node: 'n1', lrm: staleLrm }] }).state;
    expect(n(s, 'n1')).toMatchObject({ expected: 'member' });
  });
});
