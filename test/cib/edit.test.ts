// Editing with Pacemaker/crmsh semantics, and validation problems with ids.
import { describe, expect, it } from 'vitest';
import { deleteIds, mergeConfiguration, setResourceMeta } from '../../src/cib/edit.js';
import { emptyCib, type Cib, type Clone, type Group } from '../../src/cib/model.js';
import { validateCib } from '../../src/cib/validate.js';
import { applyItems } from '../../src/crmsh/apply.js';
import { parseStatement } from '../../src/crmsh/parse.js';
import { tokenize } from '../../src/crmsh/tokenize.js';

const build = (text: string): Cib => applyItems(emptyCib(), tokenize(text).map((s) => parseStatement(s)), 'create');
const base = `primitive ip Dummy
primitive a Dummy
primitive b Dummy
primitive c Dummy
group g a b
clone c-clone c
colocation ip-with-g inf: ip g
order c-then-ip Mandatory: c-clone ip
order sets Mandatory: ( a ip ) c-clone
location ip-n1 ip 100: n1
`;

describe('delete', () => {
  it('a cloned primitive takes its clone and the constraints naming either', () => {
    const cib = deleteIds(build(base), ['c']);
    expect(cib.configuration.resources.map((r) => r.id)).toEqual(['ip', 'g']);
    // c-then-ip named the clone: gone. The set constraint loses its c-clone set.
    expect(cib.configuration.constraints.map((c) => c.id)).toEqual(['ip-with-g', 'sets', 'ip-n1']);
    const sets = (cib.configuration.constraints[1] as { sets: Array<{ resources: string[] }> }).sets;
    expect(sets.map((s) => s.resources)).toEqual([['a', 'ip']]);
    expect(validateCib(cib)).toEqual([]);
  });
  it('a group member leaves the group; the last member takes the group', () => {
    let cib = deleteIds(build(base), ['a']);
    expect(((cib.configuration.resources[1] as Group).children).map((c) => c.id)).toEqual(['b']);
    cib = deleteIds(cib, ['b']);
    expect(cib.configuration.resources.map((r) => r.id)).toEqual(['ip', 'c-clone']);
    expect(cib.configuration.constraints.map((c) => c.id)).not.toContain('ip-with-g');
  });
  it('several ids at once, one removed by the cascade of another', () => {
    const cib = deleteIds(build(base), ['c', 'c-clone', 'ip-n1']);
    expect(cib.configuration.resources.map((r) => r.id)).toEqual(['ip', 'g']);
    expect(() => deleteIds(build(base), ['c', 'nope'])).toThrow('object "nope" does not exist');
  });
  it('a constraint, a node, and an unknown id', () => {
    const cib = build(base + 'node 1: n1\n');
    expect(deleteIds(cib, ['ip-n1']).configuration.constraints.map((c) => c.id)).not.toContain('ip-n1');
    expect(deleteIds(cib, ['n1']).configuration.nodes).toEqual([]);
    expect(() => deleteIds(cib, ['nope'])).toThrow('object "nope" does not exist');
  });
  it('bumps the epoch and leaves the input alone', () => {
    const cib = build(base);
    const copy = structuredClone(cib);
    const next = deleteIds(cib, ['ip']);
    expect(cib).toStrictEqual(copy);
    expect(next.epoch).toBe(cib.epoch + 1);
    expect(next.numUpdates).toBe(0);
  });
});

describe('resource meta and merge', () => {
  it('target-role goes into <id>-meta_attributes', () => {
    const cib = setResourceMeta(build(base), 'c', 'target-role', 'Stopped');
    const c = (cib.configuration.resources.find((r) => r.id === 'c-clone') as Clone).child;
    expect(c.metaAttributes[0]).toEqual({ id: 'c-meta_attributes', rules: [], nvpairs: [{ id: 'c-meta_attributes-target-role', name: 'target-role', value: 'Stopped' }] });
    const again = setResourceMeta(cib, 'c', 'target-role', 'Started');
    expect((again.configuration.resources.find((r) => r.id === 'c-clone') as Clone).child.metaAttributes[0]!.nvpairs).toHaveLength(1);
  });
  it('merge replaces same-id objects in place and refuses to steal a child', () => {
    const cib = build(base);
    const upd = build('primitive ip ocf:heartbeat:IPaddr2 params ip=198.51.100.9\n');
    const merged = mergeConfiguration(cib, upd.configuration);
    expect(merged.configuration.resources[0]).toMatchObject({ id: 'ip', type: 'IPaddr2' });
    expect(() => mergeConfiguration(cib, build('primitive a Dummy\n').configuration)).toThrow('resource "a" is already inside group "g"');
  });
});

describe('validate', () => {
  it('a clean configuration has no problems', () => {
    expect(validateCib(build(base))).toEqual([]);
  });
  it('finds duplicate ids, dangling references, bad scores, unknown classes', () => {
    const cib = build(base);
    const conf = cib.configuration;
    conf.resources.push({ ...structuredClone(conf.resources[0]!), id: 'ip' } as never);
    conf.constraints.push({ tag: 'rsc_colocation', id: 'x', rsc: 'ip', withRsc: 'ghost', score: 'INFINITY', sets: [] });
    conf.constraints.push({ tag: 'rsc_order', id: 'y', first: 'a', then: 'b', score: 'lots', sets: [] });
    conf.resources.push({ tag: 'primitive', id: 'z', class: 'bogus', type: 'x', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] });
    const problems = validateCib(cib);
    expect(problems.map((p) => p.id)).toEqual(expect.arrayContaining(['ip', 'x', 'y', 'z']));
    expect(problems.map((p) => p.message).join('\n')).toMatch(/id "ip" is used twice/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/refers to resource "ghost"/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/bad score "lots"/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/unknown resource class "bogus"/);
  });
});
