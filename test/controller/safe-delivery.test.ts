import { describe, expect, it } from 'vitest';
import { needsSafeDelivery, type ClusterMessage } from '../../src/controller/core.js';
import { Bus } from './bus.js';

/**
 * A configuration change is acknowledged only when totem delivered it in the
 * regular configuration with safe delivery (every member held it). Found by
 * the cluster simulator: a node cut off a moment before still believed in
 * its quorate ring, delivered its own edit at once (agreed order needs no
 * one else) and acknowledged it; the other side never had it (`acked-lost`).
 * And it is acknowledged only once a majority of the cluster's nodes has it
 * on disk: acknowledged by a ring of two, the edit was lost when one of the
 * two crashed between writing cib.xml and renaming it and the other was
 * powered off (seeds 552 and 752 of the default profile).
 */
describe('controller: acknowledging a configuration change', () => {
  it('sends configuration changes with safe delivery, and nothing else', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const dc = bus.dc();
    const out = dc.propose('r1', { ...dc.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '1' }] }] });
    expect(out.broadcast.map((m) => m.kind)).toEqual(['cib-update']);
    expect(needsSafeDelivery(out.broadcast)).toBe(true);
    expect(needsSafeDelivery([{ kind: 'exec' } as ClusterMessage, { kind: 'op-result' } as ClusterMessage])).toBe(false);
  });

  it('acknowledges a change delivered in the regular configuration once a majority has it on disk', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const [n1, n2, n3] = [bus.core('n1'), bus.core('n2'), bus.core('n3')];
    const [update] = n1.propose('r1', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '1' }] }] }).broadcast;
    // Applied everywhere, but on nobody's disk yet: no answer.
    for (const c of [n1, n2, n3]) expect(c.onDeliver(update!).replies).toEqual([]);
    const stored = (c: typeof n1) => c.onPersisted([c.cib.adminEpoch, c.cib.epoch, c.cib.numUpdates]).broadcast[0]!;
    const s1 = stored(n1);
    const s3 = stored(n3);
    expect(s1).toMatchObject({ kind: 'cib-stored', from: 1 });
    expect(n1.onDeliver(s1).replies).toEqual([]);
    // The second of three nodes to store it makes a majority.
    expect(n1.onDeliver(s3).replies).toEqual([{ requestId: 'r1', ok: true }]);
    expect(n1.onDeliver(stored(n2)).replies).toEqual([]);
  });

  it('does not acknowledge a change that one node stored before the ring changed (crash before rename, then the other node lost)', () => {
    const bus = new Bus();
    bus.membership([1, 3]);
    const [n1, n3] = [bus.core('n1'), bus.core('n3')];
    const [update] = n1.propose('r3', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '3' }] }] }).broadcast;
    for (const c of [n1, n3]) expect(c.onDeliver(update!).replies).toEqual([]);
    // n1 stored it; n3 crashed before its rename, so it never says it did.
    expect(n1.onDeliver(n1.onPersisted([n1.cib.adminEpoch, n1.cib.epoch, 0]).broadcast[0]!).replies).toEqual([]);
    const replies = n1.onMembership({ ringId: 'later', members: [1], quorate: false }).replies;
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ requestId: 'r3', ok: false });
    expect((replies[0] as { error: string }).error).toMatch(/before a majority of nodes had the change on disk \(1 of 2\)/);
  });

  it('counts only stores of the edit\'s own ring and of its version or later', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const [n1, n2] = [bus.core('n1'), bus.core('n2')];
    const before = n2.onPersisted([n2.cib.adminEpoch, n2.cib.epoch, 0]).broadcast[0]!;
    const [update] = n1.propose('r4', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '4' }] }] }).broadcast;
    n1.onDeliver(update!);
    n2.onDeliver(update!);
    expect(n1.onDeliver(n1.onPersisted([n1.cib.adminEpoch, n1.cib.epoch, 0]).broadcast[0]!).replies).toEqual([]);
    // n2's write of the version before the edit does not hold it.
    expect(n1.onDeliver(before).replies).toEqual([]);
    // Nor does a store claimed for another ring.
    const other = { ...(n2.onPersisted([n2.cib.adminEpoch, n2.cib.epoch, 0]).broadcast[0] as object), ring: 'another' } as ClusterMessage;
    expect(n1.onDeliver(other).replies).toEqual([]);
    expect(n1.onDeliver(n2.onPersisted([n2.cib.adminEpoch, n2.cib.epoch, 0]).broadcast[0]!).replies).toEqual([{ requestId: 'r4', ok: true }]);
  });

  it('marks its offer committed once a majority of the ring stored its configuration, and not after a newer change', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const n1 = bus.core('n1');
    const offerOf = (c: typeof n1) => c.onMembership({ ringId: `next-${Math.random()}`, members: [1, 2, 3], quorate: true }).broadcast.find((m) => m.kind === 'cib-offer');
    bus.take(n1, n1.propose('r5', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '5' }] }] }));
    bus.settle(); // delivered, written and announced by all three
    expect(n1.cib.configuration.crmConfig.flatMap((c) => c.nvpairs).find((p) => p.name === 'marker')?.value).toBe('5');
    expect(offerOf(n1)).toMatchObject({ committed: true });
    // A change applied but not yet stored anywhere is not committed.
    const bus2 = new Bus();
    bus2.membership([1, 2, 3]);
    const m1 = bus2.core('n1');
    const [update] = m1.propose('r6', { ...m1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '6' }] }] }).broadcast;
    m1.onDeliver(update!);
    expect(offerOf(m1)).not.toHaveProperty('committed');
  });

  it('applies a change delivered in a transitional configuration, but does not acknowledge it', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const n1 = bus.core('n1');
    const [update] = n1.propose('r2', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '2' }] }] }).broadcast;
    const replies = n1.onDeliver(update!, { transitional: true }).replies;
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ requestId: 'r2', ok: false });
    expect((replies[0] as { error: string }).error).toMatch(/may not have reached every node/);
    // Applied alike on every member that delivered it (no divergence).
    expect(n1.cib.configuration.crmConfig.flatMap((s) => s.nvpairs).some((p) => p.name === 'marker' && p.value === '2')).toBe(true);
  });
});
