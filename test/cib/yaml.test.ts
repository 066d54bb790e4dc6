// belay YAML: the shipped configurations load, YAML round-trips, errors name file and line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CibError } from '../../src/cib/errors.js';
import { emptyCib } from '../../src/cib/model.js';
import { validateCib } from '../../src/cib/validate.js';
import { parseCibXml } from '../../src/cib/xml.js';
import { cibToYaml, parseCibYaml } from '../../src/cib/yaml.js';
import { applyItems } from '../../src/crmsh/apply.js';
import { parseStatement } from '../../src/crmsh/parse.js';
import { tokenize } from '../../src/crmsh/tokenize.js';

const dir = join(import.meta.dirname, '../../constraints');
const yamls = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

describe('constraints/ configurations', () => {
  it('ships the tutorial and the nginx variant', () => {
    expect(yamls).toEqual(expect.arrayContaining(['haproxy-floatip.yaml', 'nginx-floatip.yaml']));
  });
  it.each(yamls)('%s loads, validates and round-trips', (f) => {
    const cib = parseCibYaml(readFileSync(join(dir, f), 'utf8'), f);
    expect(validateCib(cib)).toEqual([]);
    expect(cib.configuration.resources.length).toBeGreaterThan(0);
    expect(parseCibYaml(cibToYaml(cib))).toStrictEqual(cib);
  });
  it('the tutorial YAML equals the tutorial crmsh file', () => {
    const y = parseCibYaml(readFileSync(join(dir, 'haproxy-floatip.yaml'), 'utf8'));
    // YAML has no comments: the crmsh file's are left out.
    const items = tokenize(readFileSync(join(dir, 'haproxy-floatip.crm'), 'utf8')).map((s) => parseStatement({ tokens: s.tokens }));
    const c = applyItems(emptyCib(), items, 'create');
    expect(y.configuration).toStrictEqual(c.configuration);
    const colo = y.configuration.constraints[0]!;
    expect(colo).toMatchObject({ id: 'FloatIP-haproxy', rsc: 'FloatIP', withRsc: 'haproxy-clone', score: 'INFINITY' });
  });
});

describe('YAML round-trip of richer configurations', () => {
  const text = `properties:
  stonith-enabled: "false"
  no-quorum-policy: ignore
rsc_defaults:
  resource-stickiness: 100
op_defaults:
  timeout: 20s
nodes:
  - name: n1
    id: "1"
    attributes: {standby: "off"}
  - name: n2
resources:
  - primitive: ip
    agent: ocf:heartbeat:IPaddr2
    description: the VIP
    params: {ip: 198.51.100.7, cidr_netmask: 24}
    meta: {target-role: Started}
    utilization: {cpu: 1}
    ops:
      - monitor: {interval: 10s, timeout: 20s, OCF_CHECK_LEVEL: 10}
      - start: {timeout: 30s}
  - group: web
    resources:
      - primitive: fs
        agent: ocf:heartbeat:Filesystem
      - "primitive www systemd:nginx op monitor interval=30s"
    meta: {ordered: "true"}
  - clone: web-clone
    resource: web
    meta: {interleave: true}
  - ms: db-ms
    resource: {primitive: db, agent: ocf:pacemaker:Stateful}
constraints:
  - location: ip-prefers-n1
    rsc: ip
    score: 100
    node: n1
  - colocation: ip-with-web
    score: inf
    rsc: ip
    with-rsc: web-clone
  - order: web-then-ip
    kind: Optional
    first: web-clone
    then: ip
    symmetrical: false
  - "location ip-not-n2 ip rule -inf: #uname eq n2"
  - "order sets Mandatory: db-ms ( ip web-clone )"
`;
  it('parses every section with crmsh ids', () => {
    const cib = parseCibYaml(text, 'rich.yaml');
    expect(validateCib(cib)).toEqual([]);
    expect(cib.configuration.nodes.map((n) => [n.id, n.uname])).toEqual([['1', 'n1'], ['n2', 'n2']]);
    expect(cib.configuration.resources.map((r) => r.id)).toEqual(['ip', 'web-clone', 'db-ms']);
    expect(cib.configuration.crmConfig[0]!.nvpairs[0]!.id).toBe('cib-bootstrap-options-stonith-enabled');
    expect(cib.configuration.opDefaults[0]!.nvpairs[0]).toEqual({ id: 'op-options-timeout', name: 'timeout', value: '20s' });
  });
  it('export -> import gives an equal model; export is stable', () => {
    const cib = parseCibYaml(text);
    const y = cibToYaml(cib);
    expect(parseCibYaml(y)).toStrictEqual(cib);
    expect(cibToYaml(parseCibYaml(y))).toBe(y);
  });
  it('exports the reference crmsh CIB to readable YAML', () => {
    const ref = readFileSync(join(import.meta.dirname, '../../../shared/reference/pacemaker-2.1.5/crm_configure_show_xml.xml'), 'utf8');
    const y = cibToYaml(parseCibXml(ref));
    expect(y).toContain('  - primitive: FloatIP\n    agent: ocf:heartbeat:IPaddr2\n    params:\n      ip: 198.51.100.50\n');
    expect(y).toContain('  - colocation: FloatIP-nginx\n    score: inf\n    rsc: FloatIP\n    with-rsc: nginx-clone\n');
    expect(parseCibYaml(y).configuration).toStrictEqual(parseCibXml(ref).configuration);
  });
});

describe('YAML errors name file, line and the problem', () => {
  const err = (text: string): CibError => {
    try {
      parseCibYaml(text, 'c.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(CibError);
      return e as CibError;
    }
    throw new Error('expected an error');
  };
  it('malformed YAML', () => {
    const e = err('resources:\n  - primitive: x\n    agent: [a\n');
    expect(e.message).toMatch(/^c\.yaml:\d+:\d+: malformed YAML/);
  });
  it('an unknown section', () => {
    const e = err('properties: {a: b}\nresorces: []\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain('unknown section "resorces"');
  });
  it('a primitive without agent', () => {
    const e = err('resources:\n  - primitive: x\n    params: {a: b}\n');
    expect(e.line).toBe(3 - 1);
    expect(e.message).toContain('primitive "x" needs an agent');
  });
  it('a bad agent class names the line', () => {
    const e = err('resources:\n  - primitive: x\n    agent: foo:bar\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain('unknown resource class "foo"');
  });
  it('a dangling reference and a bad score', () => {
    expect(err('constraints:\n  - colocation: c\n    score: inf\n    rsc: a\n    with-rsc: b\n').message).toContain('refers to resource "a"');
    const e = err('resources:\n  - primitive: a\n    agent: Dummy\n  - primitive: b\n    agent: Dummy\nconstraints:\n  - colocation: c\n    score: lots\n    rsc: a\n    with-rsc: b\n');
    expect(e.message).toContain('"lots" is not a score');
    expect(e.line).toBe(7);
  });
  it('an unknown key', () => {
    expect(err('resources:\n  - primitive: a\n    agent: Dummy\n    parms: {x: y}\n').message).toContain('unknown resource key "parms"');
  });
});

describe('YAML export over the scheduler corpus', () => {
  const root = join(import.meta.dirname, '../../../shared/scheduler-cases');
  const files = ['tier1', 'tier2'].flatMap((t) =>
    readdirSync(join(root, t))
      .filter((f) => f.endsWith('.xml'))
      .map((f) => join(t, f)),
  );
  // Either a clear refusal (rules in sets, several sets, acls/alerts/fencing: keep those as XML)
  // or a YAML text that reads back and writes out identically.
  it.each(files)('%s', (f) => {
    const cib = parseCibXml(readFileSync(join(root, f), 'utf8'), f);
    let y: string;
    try {
      y = cibToYaml(cib);
    } catch (e) {
      expect(e).toBeInstanceOf(CibError);
      expect((e as CibError).message).toMatch(/cannot be written as belay YAML/);
      return;
    }
    const back = parseCibYaml(y, f + '.yaml');
    expect(cibToYaml(back)).toBe(y);
    expect(back.configuration.resources.map((r) => r.id)).toEqual(cib.configuration.resources.map((r) => r.id));
  });
});
