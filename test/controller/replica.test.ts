import { describe, expect, it } from 'vitest';
import { emptyCib, type Configuration } from '../../src/cib/model.js';
import { cibToXml, parseCibXml } from '../../src/cib/xml.js';
import {
  applyMembership, applyMessage, chooseDc, initialReplica, versionOf,
  type ReplicaMessage, type ReplicaState,
} from '../../src/controller/replica.js';

const nodes = [{ id: 1, name: 'n1' }, { id: 2, name: 'n2' }, { id: 3, name: 'n3' }];

function withPrimitive(cfg: Configuration, id: string): Configuration {
  const c = structuredClone(cfg);
  c.resources.push({ tag: 'primitive', id, class: 'ocf', provider: 'heartbeat', type: 'Dummy', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] });
  return c;
}

/** Bring a replica through a ring of `members` with every offer delivered. */
function formRing(state: ReplicaState, members: number[], offers: Array<[number, ReplicaState]>): ReplicaState {
  let s = applyMembership(state, { ringId: `r${members.join('')}`, members, quorate: members.length >= 2 }).state;
  for (const [from, replica] of offers) {
    s = applyMessage(s, { kind: 'cib-offer', from, version: versionOf(replica.cib), configuration: replica.cib.configuration }).state;
  }
  return s;
}

describe('CIB replica', () => {
  it('chooses the DC from the membership alone, so every node agrees after a merge', () => {
    expect(chooseDc({ ringId: 'a', members: [3, 2], quorate: true })).toBe(2);
    expect(chooseDc({ ringId: 'b', members: [1, 2, 3], quorate: true })).toBe(1);
    // A partition without quorum has no DC, unless no-quorum-policy=ignore.
    expect(chooseDc({ ringId: 'd', members: [3], quorate: false })).toBeUndefined();
    expect(chooseDc({ ringId: 'd', members: [3], quorate: false }, 'ignore')).toBe(3);
    expect(chooseDc({ ringId: 'e', members: [], quorate: false })).toBeUndefined();
    // Three singletons (each its own DC) merge: all must pick the same one.
    const merged = { ringId: 'm', members: [1, 2, 3], quorate: true };
    const picks = [1, 2, 3].map((self) => {
      const alone = applyMembership(initialReplica(emptyCib(), nodes), { ringId: `s${self}`, members: [self], quorate: false }).state;
      return applyMembership(alone, merged).state.dc;
    });
    expect(picks).toEqual([1, 1, 1]);
  });

  it('applies a configuration edit by compare-and-set on the version', () => {
    let s = formRing(initialReplica(emptyCib(), nodes), [1, 2, 3], []);
    for (const n of [1, 2, 3]) s = applyMessage(s, { kind: 'cib-offer', from: n, version: versionOf(s.cib), configuration: s.cib.configuration }).state;
    const base = versionOf(s.cib);
    const first = applyMessage(s, { kind: 'cib-update', from: 1, requestId: 'a', base, configuration: withPrimitive(s.cib.configuration, 'A') });
    expect(first.updateResult).toEqual({ requestId: 'a', from: 1, ok: true });
    expect(first.state.cib.epoch).toBe(base[1] + 1);
    // A second edit computed against the old version must not silently win.
    const stale = applyMessage(first.state, { kind: 'cib-update', from: 2, requestId: 'b', base, configuration: withPrimitive(s.cib.configuration, 'B') });
    expect(stale.updateResult?.ok).toBe(false);
    expect(stale.updateResult?.error).toMatch(/changed meanwhile/);
    expect(stale.state.cib.configuration.resources.map((r) => r.id)).toEqual(['A']);
  });

  it('at an equal epoch, adopts the offer known to be on a majority\'s disk over a higher num_updates (simulator seed 972)', () => {
    // n2 applied a change in a transitional configuration that only it kept
    // (0.1.1); n1 and n3 made and stored an acknowledged edit (0.1.0).
    const ring = applyMembership(initialReplica(emptyCib(), nodes), { ringId: 'r23', members: [2, 3], quorate: true }).state;
    const minority: ReplicaMessage = { kind: 'cib-offer', from: 2, version: [0, 1, 1], configuration: withPrimitive(emptyCib().configuration, 'lost') };
    const acked: ReplicaMessage = { kind: 'cib-offer', from: 3, version: [0, 1, 0], configuration: withPrimitive(emptyCib().configuration, 'acked'), committed: true };
    for (const order of [[minority, acked], [acked, minority]]) {
      let s = ring;
      let last;
      for (const m of order) s = (last = applyMessage(s, m)).state;
      expect(s.cib.configuration.resources.map((r) => r.id)).toEqual(['acked']);
      expect(last!.adopted).toEqual({ committed: true });
      // Raised above every version offered, so n2's does not go back.
      expect(versionOf(s.cib)).toEqual([0, 2, 0]);
    }
    // A newer epoch still wins over a committed older one (both made in the same ring).
    let s = applyMessage(ring, { ...acked }).state;
    s = applyMessage(s, { ...minority, version: [0, 2, 0] } as ReplicaMessage).state;
    expect(s.cib.configuration.resources.map((r) => r.id)).toEqual(['lost']);
  });

  it('a configuration whose epoch was made in a later ring wins over a higher epoch from an earlier one, raised above it (simulator seed 1835)', () => {
    // n1 alone kept edits of ring 0x10 up to 0.5.0 (never on a majority's disk); n2 and n3, from an older
    // disk, made and stored an acknowledged edit in ring 0x20 (0.3.0). Both rebooted: nobody remembers "committed".
    const ring = applyMembership(initialReplica(emptyCib(), nodes), { ringId: '1.30', members: [1, 2], quorate: true }).state;
    const early: ReplicaMessage = { kind: 'cib-offer', from: 1, version: [0, 5, 0], configuration: withPrimitive(emptyCib().configuration, 'alone'), epochRing: 0x10 };
    const later: ReplicaMessage = { kind: 'cib-offer', from: 2, version: [0, 3, 0], configuration: withPrimitive(emptyCib().configuration, 'acked'), epochRing: 0x20 };
    for (const order of [[early, later], [later, early]]) {
      let s = ring;
      for (const m of order) s = applyMessage(s, m).state;
      expect(s.cib.configuration.resources.map((r) => r.id)).toEqual(['acked']);
      expect(versionOf(s.cib)).toEqual([0, 6, 0]);
      expect(s.cib.epochRing).toBe(0x20);
    }
    // An edit takes the ring it was made in.
    const edited = applyMessage(ring, { ...later }).state;
    const done = applyMessage(applyMessage(edited, { ...early }).state, {
      kind: 'cib-update', from: 1, requestId: 'e', base: [0, 6, 0], configuration: withPrimitive(emptyCib().configuration, 'next'),
    } as ReplicaMessage).state;
    expect([versionOf(done.cib), done.cib.epochRing]).toEqual([[0, 7, 0], 0x30]);
    // A ring sequence that started again (its files lost) does not take a configuration's ring back.
    const restarted = applyMembership(done, { ringId: '1.5', members: [1, 2], quorate: true }).state;
    const again = applyMessage(applyMessage(applyMessage(restarted, { ...later, version: [0, 7, 0], epochRing: 0x30, from: 1 } as ReplicaMessage).state, { ...later, version: [0, 7, 0], epochRing: 0x30 } as ReplicaMessage).state, {
      kind: 'cib-update', from: 1, requestId: 'f', base: [0, 7, 0], configuration: withPrimitive(emptyCib().configuration, 'after'),
    } as ReplicaMessage).state;
    expect([versionOf(again.cib), again.cib.epochRing]).toEqual([[0, 8, 0], 0x30]);
    // cib.xml keeps it (a comment: Pacemaker's schema has no attribute for it).
    expect(parseCibXml(cibToXml(done.cib)).epochRing).toBe(0x30);
  });

  it('converges on the newest configuration when partitions merge', () => {
    const base = emptyCib();
    const old = { ...initialReplica(structuredClone(base), nodes) };
    old.cib.epoch = 4;
    const newer = initialReplica(structuredClone(base), nodes);
    newer.cib.epoch = 7;
    newer.cib.configuration = withPrimitive(newer.cib.configuration, 'FromNewer');
    const offers: Array<[number, ReplicaState]> = [[1, old], [2, newer], [3, old]];
    const a = formRing(old, [1, 2, 3], offers);
    const b = formRing(newer, [1, 2, 3], offers);
    expect(a.sync).toBeUndefined();
    expect(a.cib.configuration).toEqual(b.cib.configuration);
    expect(a.cib.configuration.resources.map((r) => r.id)).toEqual(['FromNewer']);
    expect(a.cib.epoch).toBe(7);
  });

  it('with stonith-enabled=false, assumes a lost node down, forgets its resources and warns', () => {
    const cib = emptyCib();
    cib.configuration.crmConfig.push({ id: 'cib-bootstrap-options', rules: [], nvpairs: [{ name: 'stonith-enabled', value: 'false' }] });
    let s = formRing(initialReplica(cib, nodes), [1, 2, 3], []);
    s = applyMessage(s, { kind: 'op-result', from: 3, resource: { id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy' }, op: { id: '', operation: 'start', interval: '0', rcCode: '0', opStatus: '0' }, targetRc: 0 }).state;
    const lost = applyMembership(s, { ringId: 'x', members: [1, 2], quorate: true });
    s = lost.state;
    const n3 = s.cib.status!.find((n) => n.uname === 'n3')!;
    expect(n3.inCcm).toBe('false');
    expect(n3.expected).toBe('down');
    expect(n3.lrm?.resources).toEqual([]);
    expect(s.cib.haveQuorum).toBe('1');
    expect(lost.warnings?.join('\n')).toMatch(/n3 is lost and will be assumed down \(stonith-enabled=false\)/);
  });

  it('counts a failed monitor in fail-count and keeps the last failure', () => {
    let s = formRing(initialReplica(emptyCib(), nodes), [1, 2, 3], []);
    const rsc = { id: 'web', class: 'ocf', provider: 'belay', type: 'nginx' };
    s = applyMessage(s, { kind: 'op-result', from: 2, resource: rsc, op: { id: '', operation: 'monitor', interval: '0', rcCode: '7', opStatus: '0' }, targetRc: 7 }).state;
    s = applyMessage(s, { kind: 'op-result', from: 2, resource: rsc, op: { id: '', operation: 'start', interval: '0', rcCode: '0', opStatus: '0' }, targetRc: 0 }).state;
    for (let i = 0; i < 2; i++) {
      s = applyMessage(s, { kind: 'op-result', from: 2, resource: rsc, op: { id: '', operation: 'monitor', interval: '15000', rcCode: '7', opStatus: '0', lastRcChange: String(1000 + i) }, targetRc: 0 }).state;
    }
    const n2 = s.cib.status!.find((n) => n.uname === 'n2')!;
    const attrs = Object.fromEntries(n2.transientAttributes.flatMap((set) => set.nvpairs.map((p) => [p.name, p.value])));
    expect(attrs['fail-count-web#monitor_15000']).toBe('2');
    expect(attrs['last-failure-web#monitor_15000']).toBe('1001');
    const ops = n2.lrm!.resources[0]!.ops.map((o) => o.id).sort();
    expect(ops).toEqual(['web_last_0', 'web_last_failure_0', 'web_monitor_15000']);
    // Recovery (stop, start) ends the old monitor but the last failure stays until a cleanup.
    for (const task of ['stop', 'start']) {
      s = applyMessage(s, { kind: 'op-result', from: 2, resource: rsc, op: { id: '', operation: task, interval: '0', rcCode: '0', opStatus: '0' }, targetRc: 0 }).state;
    }
    const after = s.cib.status!.find((n) => n.uname === 'n2')!.lrm!.resources[0]!.ops.map((o) => o.id).sort();
    expect(after).toEqual(['web_last_0', 'web_last_failure_0']);
  });

  it('forgets history and failures on cleanup, for one resource or all', () => {
    let s = formRing(initialReplica(emptyCib(), nodes), [1, 2, 3], []);
    const op = (rsc: string, rc: string) => ({ kind: 'op-result' as const, from: 2, resource: { id: rsc, class: 'ocf', provider: 'belay', type: 'Dummy' }, op: { id: '', operation: 'start', interval: '0', rcCode: rc, opStatus: '0' }, targetRc: 0 });
    s = applyMessage(s, op('web', '1')).state;
    s = applyMessage(s, op('db', '1')).state;
    s = applyMessage(s, { kind: 'cleanup', from: 1, rsc: 'web', node: undefined }).state;
    const n2 = () => s.cib.status!.find((n) => n.uname === 'n2')!;
    expect(n2().lrm!.resources.map((r) => r.id)).toEqual(['db']);
    expect(n2().transientAttributes.flatMap((x) => x.nvpairs.map((p) => p.name))).toEqual(['fail-count-db#start_0', 'last-failure-db#start_0']);
    s = applyMessage(s, { kind: 'cleanup', from: 1, rsc: undefined, node: 'n2' }).state;
    expect(n2().lrm!.resources).toEqual([]);
    expect(n2().transientAttributes).toEqual([]);
  });

  it('converges replicas that started apart, given the same stream (property, 300 random streams)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let run = 0; run < 300; run++) {
      const events: Array<ReplicaMessage | { kind: 'ring'; members: number[] }> = [];
      for (let i = 0; i < 30; i++) {
        const from = 1 + rand(3);
        switch (rand(5)) {
          case 0: events.push({ kind: 'ring', members: [1, 2, 3].filter(() => rand(3) > 0) }); break;
          case 1: events.push({ kind: 'op-result', from, resource: { id: `r${rand(3)}`, class: 'ocf', provider: 'belay', type: 'Dummy' }, op: { id: '', operation: ['start', 'stop', 'monitor'][rand(3)]!, interval: rand(2) ? '0' : '10000', rcCode: String(rand(8)), opStatus: '0' }, targetRc: 0 }); break;
          case 2: events.push({ kind: 'attr-update', from, node: `n${1 + rand(3)}`, name: rand(2) ? 'standby' : 'site', value: rand(3) ? 'on' : undefined, lifetime: rand(2) ? 'reboot' : 'forever' }); break;
          case 3: events.push({ kind: 'cib-offer', from, version: [0, rand(5), rand(3)], configuration: withPrimitive(emptyCib().configuration, `o${rand(4)}`) }); break;
          default: events.push({ kind: 'cib-update', from, requestId: `q${i}`, base: [0, rand(4), 0], configuration: withPrimitive(emptyCib().configuration, `u${i}`) });
        }
      }
      // Each replica starts from its own stored CIB; the ring's offers must
      // bring them to one configuration, and the stream keeps them equal.
      const offers: ReplicaMessage[] = [1, 2, 3].map((from) => ({ kind: 'cib-offer', from, version: [0, from + rand(3), 0], configuration: withPrimitive(emptyCib().configuration, `stored${from}`) }));
      const replay = (local: number) => {
        const stored = emptyCib();
        stored.epoch = local;
        stored.configuration = withPrimitive(stored.configuration, `local${local}`);
        let s = applyMembership(initialReplica(stored, nodes), { ringId: 'start', members: [1, 2, 3], quorate: true }).state;
        for (const o of offers) s = applyMessage(s, o).state;
        for (const e of events) s = e.kind === 'ring' ? applyMembership(s, { ringId: String(e.members), members: e.members, quorate: e.members.length >= 2 }).state : applyMessage(s, e).state;
        return s;
      };
      const first = replay(1);
      expect(replay(2)).toEqual(first);
      expect(replay(5)).toEqual(first);
    }
  });
});
