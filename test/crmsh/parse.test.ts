// crmsh syntax: forms crmsh 4.x accepts, the ids it generates, and errors that name the token.
import { describe, expect, it } from 'vitest';
import { CibError } from '../../src/cib/errors.js';
import { emptyCib, type Clone, type Primitive } from '../../src/cib/model.js';
import { cibToXml } from '../../src/cib/xml.js';
import { applyItems } from '../../src/crmsh/apply.js';
import { parseStatement, type ConfigItem } from '../../src/crmsh/parse.js';
import { showConfiguration } from '../../src/crmsh/show.js';
import { argvTokens, tokenize } from '../../src/crmsh/tokenize.js';

const one = (text: string): ConfigItem => {
  const st = tokenize(text, 'test.crm');
  expect(st).toHaveLength(1);
  return parseStatement(st[0]!);
};
const build = (text: string) => applyItems(emptyCib(), tokenize(text, 'test.crm').map((s) => parseStatement(s)), 'create');
const err = (text: string): CibError => {
  try {
    build(text);
  } catch (e) {
    expect(e).toBeInstanceOf(CibError);
    return e as CibError;
  }
  throw new Error('expected an error');
};

describe('crmsh tokenizer', () => {
  it('joins backslash continuations, strips quotes, keeps #uname, drops comment lines', () => {
    const st = tokenize('# a comment\nprimitive p Dummy \\\n\tparams a="x y" b=\'z\' \\\n\top monitor interval=10s\nlocation l p rule #uname eq n1\n');
    expect(st).toHaveLength(2);
    expect(st[0]!.tokens.map((t) => t.text)).toEqual(['primitive', 'p', 'Dummy', 'params', 'a=x y', 'b=z', 'op', 'monitor', 'interval=10s']);
    expect(st[0]!.tokens[4]!.line).toBe(3);
    expect(st[1]!.tokens.map((t) => t.text)).toContain('#uname');
  });
  it('reports an unterminated quote with its position', () => {
    expect(() => tokenize('primitive p Dummy params a="x\n', 'f.crm')).toThrow(/^f\.crm:1:28: unterminated double quote/);
  });
});

describe('crmsh primitives', () => {
  it('generates crmsh ids for params, meta, utilization and ops', () => {
    const it0 = one('primitive FloatIP ocf:heartbeat:IPaddr2 params ip=198.51.100.50 meta target-role=Stopped utilization cpu=1 op monitor interval=15s timeout=20s op start timeout=30s OCF_CHECK_LEVEL=10');
    expect(it0.kind).toBe('primitive');
    const p = (it0 as { primitive: Primitive }).primitive;
    expect(p).toMatchObject({ id: 'FloatIP', class: 'ocf', provider: 'heartbeat', type: 'IPaddr2' });
    expect(p.instanceAttributes[0]).toEqual({ id: 'FloatIP-instance_attributes', rules: [], nvpairs: [{ id: 'FloatIP-instance_attributes-ip', name: 'ip', value: '198.51.100.50' }] });
    expect(p.metaAttributes[0]!.nvpairs[0]!.id).toBe('FloatIP-meta_attributes-target-role');
    expect(p.utilization[0]!.nvpairs[0]!.id).toBe('FloatIP-utilization-cpu');
    expect(p.operations.map((o) => [o.id, o.name, o.interval, o.timeout])).toEqual([
      ['FloatIP-monitor-15s', 'monitor', '15s', '20s'],
      ['FloatIP-start-0', 'start', '0', '30s'],
    ]);
    expect(p.operations[1]!.instanceAttributes[0]!.nvpairs[0]).toEqual({ id: 'FloatIP-start-0-instance_attributes-OCF_CHECK_LEVEL', name: 'OCF_CHECK_LEVEL', value: '10' });
  });
  it('accepts the agent forms crmsh accepts', () => {
    const agent = (spec: string) => {
      const p = (one(`primitive x ${spec}`) as { primitive: Primitive }).primitive;
      return [p.class, p.provider, p.type];
    };
    expect(agent('IPaddr2')).toEqual(['ocf', 'heartbeat', 'IPaddr2']);
    expect(agent('ocf:belay:FloatIP')).toEqual(['ocf', 'belay', 'FloatIP']);
    expect(agent('systemd:nginx')).toEqual(['systemd', undefined, 'nginx']);
    expect(agent('lsb:haproxy')).toEqual(['lsb', undefined, 'haproxy']);
    expect(agent('stonith:fence_xvm')).toEqual(['stonith', undefined, 'fence_xvm']);
  });
  it('rejects an unknown resource class, naming it and where', () => {
    const e = err('\nprimitive x foo:bar:baz');
    expect(e.message).toMatch(/^test\.crm:2:13: unknown resource class "foo"/);
  });
  it('rejects a duplicate op', () => {
    expect(err('primitive x Dummy op monitor interval=10s op monitor interval=10s').message).toContain('already has a monitor op with interval 10s');
  });
  it('rejects a stray word', () => {
    const e = err('primitive x Dummy op monitor interval=10s bogus');
    expect(e.message).toContain('"bogus"');
    expect(e.column).toBe(43);
  });
});

describe('crmsh containers', () => {
  it('clone, group and ms move resources inside', () => {
    const cib = build('primitive a Dummy\nprimitive b Dummy\nprimitive c Stateful\ngroup g a b meta target-role=Started\nclone g-clone g meta interleave=true\nms c-ms c meta promoted-max=1');
    const [gc, ms] = cib.configuration.resources as Clone[];
    expect(gc!.id).toBe('g-clone');
    expect(gc!.child.tag).toBe('group');
    expect(gc!.metaAttributes[0]!.nvpairs[0]!.id).toBe('g-clone-meta_attributes-interleave');
    // crmsh 4.4 writes "ms" as the legacy <master> element.
    expect(ms!.tag).toBe('master');
    expect(ms!.metaAttributes[0]!.nvpairs.map((p) => [p.name, p.value])).toEqual([['promoted-max', '1']]);
    expect(showConfiguration(cib)).toContain('ms c-ms c \\\n\tmeta promoted-max=1\n');
  });
  it('refuses to clone a resource that does not exist or is already cloned', () => {
    expect(err('clone x-clone x').message).toContain('resource "x" does not exist');
    expect(err('primitive x Dummy\nclone c1 x\nclone c2 x').message).toContain('already in clone "c1"');
  });
});

describe('crmsh constraints', () => {
  const base = 'primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\nprimitive d Dummy\n';
  it('colocation with scores and roles', () => {
    const cib = build(base + 'colocation c1 inf: a b\ncolocation c2 -inf: a:Started b:Promoted\ncolocation c3 mandatory: a b\ncolocation c4 advisory: a b\ncolocation c5 100: a b');
    const cs = cib.configuration.constraints as unknown as Array<Record<string, unknown>>;
    expect(cs.map((c) => c.score)).toEqual(['INFINITY', '-INFINITY', 'INFINITY', '0', '100']);
    expect(cs[1]).toMatchObject({ rsc: 'a', rscRole: 'Started', withRsc: 'b', withRscRole: 'Promoted' });
  });
  it('order kinds, scores, actions and symmetrical', () => {
    const cib = build(base + 'order o1 Mandatory: a b\norder o2 Optional: a:start b:promote symmetrical=false\norder o3 inf: a b\norder o4 a b\norder o5 advisory: a b');
    const cs = cib.configuration.constraints as unknown as Array<Record<string, unknown>>;
    expect(cs[0]).toMatchObject({ first: 'a', then: 'b', kind: 'Mandatory' });
    expect(cs[1]).toMatchObject({ firstAction: 'start', thenAction: 'promote', kind: 'Optional', symmetrical: 'false' });
    // crmsh 4.4 writes a kind for a score: inf (any non-zero score) is Mandatory, 0 Optional.
    expect(cs[2]).toMatchObject({ kind: 'Mandatory' });
    expect(cs[2]!.score).toBeUndefined();
    expect(cs[3]!.kind).toBeUndefined();
    expect(cs[4]!.kind).toBe('Optional');
  });
  it('resource sets in parentheses and brackets', () => {
    const cib = build(base + 'order o1 Mandatory: a ( b c ) d\ncolocation c1 inf: [ a b ] c\norder o2 inf: a b c');
    const [o1, c1, o2] = cib.configuration.constraints as unknown as Array<{ sets: Array<Record<string, unknown>> }>;
    expect(o1!.sets).toEqual([
      { id: 'o1-0', resources: ['a'] },
      { id: 'o1-1', sequential: 'false', resources: ['b', 'c'] },
      { id: 'o1-2', resources: ['d'] },
    ]);
    expect(c1!.sets[0]).toEqual({ id: 'c1-0', sequential: 'false', requireAll: 'false', resources: ['a', 'b'] });
    expect(o2!.sets).toEqual([{ id: 'o2-0', resources: ['a', 'b', 'c'] }]);
    const text = showConfiguration(cib);
    expect(text).toContain('order o1 Mandatory: a ( b c ) d\n');
    expect(text).toContain('order o2 Mandatory: a b c\n');
  });
  it('location with a score and with rules', () => {
    const cib = build(base + 'location l1 a 100: n1\nlocation l2 a rule -inf: #uname eq n2 or #uname eq n3\nlocation l3 a rule $role=Promoted 50: defined pingd and pingd number:gte 1');
    const [l1, l2, l3] = cib.configuration.constraints as unknown as Array<Record<string, unknown>>;
    expect(l1).toMatchObject({ rsc: 'a', score: '100', node: 'n1' });
    expect(l2!.rules).toEqual([
      {
        tag: 'rule',
        attrs: { id: 'l2-rule', score: '-INFINITY', 'boolean-op': 'or' },
        children: [
          { tag: 'expression', attrs: { id: 'l2-rule-expression', attribute: '#uname', operation: 'eq', value: 'n2' }, children: [] },
          { tag: 'expression', attrs: { id: 'l2-rule-expression-0', attribute: '#uname', operation: 'eq', value: 'n3' }, children: [] },
        ],
      },
    ]);
    expect((l3!.rules as Array<{ attrs: Record<string, string> }>)[0]!.attrs.role).toBe('Promoted');
    const text = showConfiguration(cib);
    expect(text).toContain('location l1 a 100: n1\n');
    expect(text).toContain('location l2 a \\\n\trule -inf: #uname eq n2 or #uname eq n3\n');
  });
  it('bad scores and dangling references name the problem', () => {
    expect(err(base + 'colocation cx x: a b').message).toContain('"x" is not a score');
    expect(err(base + 'colocation cz inf: a zz').message).toContain('refers to resource "zz", which does not exist');
    expect(err(base + 'location l a 100:').message).toContain('expected node name');
    expect(err(base + 'order o1 Mandatory: a ( b c').message).toContain('missing ")"');
  });
});

describe('xml statements', () => {
  it('what the syntax cannot say is shown as xml and read back', () => {
    const cib = build('primitive a Dummy\nprimitive b Dummy\n');
    cib.configuration.constraints.push({ tag: 'rsc_location', id: 'ls', score: '10', node: 'n1', rules: [], sets: [{ id: 'ls-0', resources: ['a', 'b'] }] });
    cib.configuration.otherSections.push({ tag: 'tags', attrs: {}, children: [{ tag: 'tag', attrs: { id: 't1' }, children: [{ tag: 'obj_ref', attrs: { id: 'a' }, children: [] }] }] });
    const text = showConfiguration(cib);
    expect(text).toContain('xml <rsc_location id="ls" node="n1" score="10"> \\\n  <resource_set id="ls-0"> \\\n');
    expect(text).toContain('tag t1 a\n');
    const again = applyItems(emptyCib(), tokenize(text).map((s) => parseStatement(s)), 'create');
    expect(again.configuration).toStrictEqual(cib.configuration);
  });
});

describe('crmsh options and nodes', () => {
  it('property, rsc_defaults, op_defaults, node', () => {
    const cib = build('property stonith-enabled=false no-quorum-policy=ignore\nproperty stonith-enabled=true\nrsc_defaults resource-stickiness=100\nop_defaults timeout=20s\nnode 1: n1 attributes standby=on\nnode n2');
    expect(cib.configuration.crmConfig).toEqual([
      {
        id: 'cib-bootstrap-options',
        rules: [],
        nvpairs: [
          { id: 'cib-bootstrap-options-stonith-enabled', name: 'stonith-enabled', value: 'true' },
          { id: 'cib-bootstrap-options-no-quorum-policy', name: 'no-quorum-policy', value: 'ignore' },
        ],
      },
    ]);
    expect(cib.configuration.rscDefaults[0]!.nvpairs[0]!.id).toBe('rsc-options-resource-stickiness');
    expect(cib.configuration.opDefaults[0]!.id).toBe('op-options');
    expect(cib.configuration.nodes[0]).toMatchObject({ id: '1', uname: 'n1' });
    expect(showConfiguration(cib)).toContain('node 1: n1 \\\n\tattributes standby=on\nnode n2\n');
    expect(cibToXml(cib)).toContain('<node id="1" uname="n1">');
  });
  it('unknown commands name the word', () => {
    expect(() => parseStatement({ tokens: argvTokens(['primitiv', 'x']) })).toThrow(/unknown configure command "primitiv" \(known: .*\) \(word 1\)/);
  });
});
