import { describe, expect, it } from 'vitest';
import { needsSafeDelivery, type ClusterMessage } from '../../src/controller/core.js';
import { Bus } from './bus.js';

/**
 * A configuration change is acknowledged only when totem delivered it in the
 * regular configuration with safe delivery (every member held it). Found by
 * the cluster simulator: a node cut off a moment before still believed in
 * its quorate ring, delivered its own edit at once (agreed order needs no
 * one else) and acknowledged it; the other side never had it (`acked-lost`).
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

  it('acknowledges a change delivered in the regular configuration', () => {
    const bus = new Bus();
    bus.membership([1, 2, 3]);
    const n1 = bus.core('n1');
    const [update] = n1.propose('r1', { ...n1.cib.configuration, crmConfig: [{ id: 'x', rules: [], nvpairs: [{ name: 'marker', value: '1' }] }] }).broadcast;
    expect(n1.onDeliver(update!).replies).toEqual([{ requestId: 'r1', ok: true }]);
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
