import { describe, expect, it } from 'vitest';
import { emptyCib } from '../../src/cib/model.js';
import { checkClusterMessage, checkConfiguration } from '../../src/controller/message-schema.js';
import { decodeMessage, encodeMessage } from '../../src/daemon/belayd.js';
import { simConfiguration } from '../../src/sim/cluster.js';

const conf = simConfiguration(['n1', 'n2', 'n3']).configuration;
const good = [
  { kind: 'cib-update', from: 1, requestId: '1-1', base: [0, 3, 0], configuration: conf, origin: { node: 'n1', client: 'crm', user: 'root', at: 'x' } },
  { kind: 'cib-offer', from: 2, version: [0, 3, 1], configuration: emptyCib().configuration },
  { kind: 'node-state', from: 3, lrm: [{ id: 'A', class: 'ocf', ops: [{ id: 'A_last_0', operation: 'start', interval: '0', rcCode: '0' }] }], transient: { 'fail-count-A#start_0': '1' } },
  { kind: 'op-result', from: 1, resource: { id: 'A', class: 'ocf', provider: 'heartbeat', type: 'Dummy' }, op: { id: '', operation: 'start', interval: '0' }, targetRc: 0 },
  { kind: 'cleanup', from: 1 },
  { kind: 'attr-update', from: 2, node: 'n1', name: 'standby', value: 'on', lifetime: 'forever' },
  { kind: 'exec', from: 1, node: 2, transition: 3, action: 4, rsc: 'A', task: 'start', intervalMs: 0, targetRc: 0, ring: '1.5' },
];

describe('cluster message schema', () => {
  it.each(good.map((m) => [m.kind, m] as const))('accepts a well-formed %s, also through the codec', (_k, m) => {
    expect(checkClusterMessage(m)).toEqual({ ok: true, value: m });
    expect(decodeMessage(encodeMessage(m as never))).toEqual(m);
  });

  it.each([
    ['an unknown kind', { kind: 'nope', from: 1 }, /unknown message kind/],
    ['a missing field', { kind: 'cleanup' }, /cleanup\.from: missing/],
    ['a wrong type', { ...good[6], intervalMs: '0' }, /exec\.intervalMs: expected an integer/],
    ['a fraction', { ...good[6], action: 1.5 }, /exec\.action: expected an integer/],
    ['node id 0', { ...good[4], from: 0 }, /cleanup\.from: 0 is outside/],
    ['an unknown key', { ...good[4], extra: 1 }, /cleanup\.extra: unknown key/],
    ['a bad lifetime', { ...good[5], lifetime: 'always' }, /lifetime: expected one of reboot, forever/],
    ['a short version', { ...good[1], version: [0, 1] }, /version: expected 3 entries/],
    ['a huge array', { ...good[2], lrm: new Array(100_001).fill({ id: 'x', ops: [] }) }, /array of 100001 entries is too long/],
    ['a non-string transient attribute', { ...good[2], transient: { a: 1 } }, /transient\.a: expected a string/],
    ['a resource of an unknown shape', { ...good[0], configuration: { ...conf, resources: [{ tag: 'primitive', id: 'x' }] } }, /resources\[0\]\.class: missing/],
  ])('refuses %s, naming the path', (_what, msg, error) => {
    const r = checkClusterMessage(msg);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });

  it('refuses prototype-pollution keys as they arrive from JSON', () => {
    for (const text of [
      '{"kind":"cleanup","from":1,"__proto__":{"polluted":1}}',
      '{"kind":"node-state","from":1,"lrm":[],"transient":{"__proto__":"x"}}',
      '{"kind":"cleanup","from":1,"constructor":{"prototype":{"polluted":1}}}',
    ]) {
      const r = checkClusterMessage(JSON.parse(text));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/forbidden key/);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses nesting deeper than its bound', () => {
    let rule: Record<string, unknown> = { tag: 'rule', attrs: {}, children: [] };
    for (let i = 0; i < 100; i++) rule = { tag: 'rule', attrs: {}, children: [rule] };
    const c = structuredClone(conf);
    c.constraints = [{ tag: 'rsc_location', id: 'l', rsc: 'A', rules: [rule as never], sets: [] }];
    const r = checkConfiguration(c);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/nested deeper than/);
  });

  it("belayd's decodeMessage throws on an invalid message (counted and dropped by its caller)", () => {
    expect(() => decodeMessage(encodeMessage({ kind: 'cleanup', from: 1, oops: true } as never))).toThrow(/invalid message: cleanup\.oops: unknown key/);
  });
});
