// Resource templates expanded as Pacemaker does (src/cib/template.ts):
// the merge of a primitive with its template, and constraints naming a template.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deleteIds, renameObject } from '../../src/cib/edit.js';
import { validateCib } from '../../src/cib/validate.js';
import { monText, monXml } from '../../src/status/mon.js';
import { schedule } from '../../src/scheduler/index.js';
import { operationDigest } from '../../src/scheduler/digest.js';
import type { ColocationConstraint, LocationConstraint, OrderConstraint, Primitive } from '../../src/cib/model.js';
import { parseCibXml } from '../../src/cib/xml.js';
import { expandTemplates, expandPrimitive, templateOpKey } from '../../src/cib/template.js';
import { nvValues, resolveAction } from '../../src/controller/resource-info.js';

const cibOf = (resources: string, constraints = '', extra = '') =>
  parseCibXml(`<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/>
  <resources>${resources}</resources><constraints>${constraints}</constraints>${extra}</configuration><status/></cib>`);

const TEMPLATE = `
  <template id="vm" class="ocf" provider="heartbeat" type="Xen">
    <instance_attributes id="vm-params">
      <nvpair id="vm-params-xmfile" name="xmfile" value="/etc/xen/shared"/>
      <nvpair id="vm-params-name" name="name" value="template-name"/>
    </instance_attributes>
    <meta_attributes id="vm-meta">
      <nvpair id="vm-meta-tr" name="target-role" value="Stopped"/>
      <nvpair id="vm-meta-stick" name="resource-stickiness" value="50"/>
    </meta_attributes>
    <utilization id="vm-util"><nvpair id="vm-util-cpu" name="cpu" value="2"/><nvpair id="vm-util-mem" name="memory" value="512"/></utilization>
    <operations>
      <op id="vm-start" name="start" interval="0" timeout="60s"/>
      <op id="vm-monitor" name="monitor" interval="15s" timeout="10s"/>
      <op id="vm-monitor-promoted" name="monitor" interval="11s" role="Promoted"/>
      <op id="vm-stop" name="stop" interval="0" timeout="40s" role="Started"/>
    </operations>
  </template>`;

const VM1 = `
  <primitive id="vm1" template="vm" description="first vm">
    <instance_attributes id="vm1-params"><nvpair id="vm1-params-name" name="name" value="vm1"/></instance_attributes>
    <meta_attributes id="vm1-meta"><nvpair id="vm1-meta-tr" name="target-role" value="Started"/></meta_attributes>
    <utilization id="vm1-util"><nvpair id="vm1-util-cpu" name="cpu" value="1"/></utilization>
    <operations>
      <op id="vm1-monitor" name="monitor" interval="30s" timeout="20s"/>
      <op id="vm1-stop" name="stop" interval="0" timeout="90s"/>
    </operations>
  </primitive>`;

const prim = (cib: ReturnType<typeof cibOf>, id: string) => {
  const found = cib.configuration.resources.find((r) => r.id === id) as Primitive | undefined;
  if (!found) throw new Error(`no primitive ${id}`);
  return found;
};

describe('a primitive made from a template', () => {
  const cib = cibOf(TEMPLATE + VM1 + '<primitive id="vm2" template="vm"/>');
  const x = expandTemplates(cib);
  const vm1 = prim(x.value, 'vm1');
  const vm2 = prim(x.value, 'vm2');

  it('takes class, provider and type from the template, and no longer names it', () => {
    expect(x.problems).toEqual([]);
    expect([vm1.class, vm1.provider, vm1.type]).toEqual(['ocf', 'heartbeat', 'Xen']);
    expect(vm1.extra?.['template']).toBeUndefined();
    expect(vm1.description).toBe('first vm');
  });

  it("merges instance, meta and utilization sets, its own values winning on a clash", () => {
    expect(nvValues(vm1.instanceAttributes)).toEqual({ name: 'vm1', xmfile: '/etc/xen/shared' });
    expect(nvValues(vm1.metaAttributes)).toEqual({ 'target-role': 'Started', 'resource-stickiness': '50' });
    expect(nvValues(vm1.utilization)).toEqual({ cpu: '1', memory: '512' });
    // Without sets of its own it is the template's.
    expect(nvValues(vm2.instanceAttributes)).toEqual({ xmfile: '/etc/xen/shared', name: 'template-name' });
    expect(nvValues(vm2.metaAttributes)['target-role']).toBe('Stopped');
  });

  it('replaces the template operation of the same name and role (interval aside); Started is no role', () => {
    // vm1's monitor 30s replaces the template's monitor 15s; the Promoted monitor stays;
    // vm1's stop replaces the template's stop role=Started.
    expect(vm1.operations.map((o) => `${o.id} ${o.name} ${o.interval} ${o.timeout ?? ''}`)).toEqual([
      'vm1-monitor monitor 30s 20s',
      'vm1-stop stop 0 90s',
      'vm-start start 0 60s',
      'vm-monitor-promoted monitor 11s ',
    ]);
    expect(vm2.operations.map((o) => o.id)).toEqual(['vm-start', 'vm-monitor', 'vm-monitor-promoted', 'vm-stop']);
    expect(templateOpKey({ name: 'monitor', role: 'Unpromoted' } as never)).toBe(templateOpKey({ name: 'monitor' } as never));
    expect(templateOpKey({ name: 'monitor', role: 'Slave' } as never)).toBe('monitor-Unknown');
    expect(templateOpKey({ name: 'monitor', role: 'Master' } as never)).not.toBe('monitor-Unknown');
  });

  it('leaves the input alone and drops the template from the resources', () => {
    expect(x.value.configuration.resources.map((r) => `${r.tag}:${r.id}`)).toEqual(['primitive:vm1', 'primitive:vm2']);
    expect(cib.configuration.resources.map((r) => r.id)).toEqual(['vm', 'vm1', 'vm2']);
    expect(prim(cib, 'vm1').class).toBe('');
    expect(prim(cib, 'vm1').extra?.['template']).toBe('vm');
  });

  it('is expanded inside groups and clones too', () => {
    const c = cibOf(
      TEMPLATE +
        '<group id="g"><primitive id="a" template="vm"/><primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></group>' +
        '<clone id="cl"><primitive id="c" template="vm"/></clone>',
    );
    const v = expandTemplates(c).value;
    const g = v.configuration.resources[0] as unknown as { children: Primitive[] };
    const cl = v.configuration.resources[1] as unknown as { child: Primitive };
    expect(g.children.map((p) => p.type)).toEqual(['Xen', 'Dummy']);
    expect(cl.child.type).toBe('Xen');
  });

  it('is what the controller runs: agent, parameters and the op timeout from the merge', () => {
    const r = resolveAction(cib, 'vm1', 'monitor', 30_000);
    expect(r?.agent).toBe('ocf:heartbeat:Xen');
    expect(r?.params).toEqual({ name: 'vm1', xmfile: '/etc/xen/shared' });
    expect(r?.timeoutMs).toBe(20_000);
    expect(resolveAction(cib, 'vm1', 'start', 0)?.timeoutMs).toBe(60_000);
    expect(resolveAction(cib, 'vm2', 'stop', 0)?.timeoutMs).toBe(40_000);
    expect(resolveAction(cib, 'vm1', 'stop', 0)?.meta['target-role']).toBe('Started');
  });

  it('is ignored, with the reason, when its template is missing or is itself', () => {
    const c = cibOf('<primitive id="p" template="nope"/><primitive id="q" template="q"/><primitive id="r" class="ocf" provider="heartbeat" type="Dummy"/>');
    const v = expandTemplates(c);
    expect(v.value.configuration.resources.map((r) => r.id)).toEqual(['r']);
    expect(v.problems).toEqual([
      'Resource p is ignored: primitive "p": no template named "nope"',
      'Resource q is ignored: primitive "q" names itself as its template',
    ]);
    expect(() => expandPrimitive(c.configuration, prim(c, 'p'))).toThrow(/no template named "nope"/);
    expect(resolveAction(c, 'p', 'start', 0)).toBeUndefined();
  });

  it('a configuration without templates or tags comes back as the same object', () => {
    const c = cibOf('<primitive id="r" class="ocf" provider="heartbeat" type="Dummy"/>', '<rsc_location id="l" rsc="r" node="n1" score="1"/>');
    expect(expandTemplates(c).value).toBe(c);
  });
});

describe('constraints naming a template', () => {
  const resources = TEMPLATE + VM1 + '<primitive id="vm2" template="vm"/><primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/><template id="unused" class="ocf" provider="heartbeat" type="Dummy"/>';

  it('location: a set of every primitive made from it', () => {
    const v = expandTemplates(cibOf(resources, '<rsc_location id="l" rsc="vm" node="n1" score="100" role="Started"/>')).value;
    const l = v.configuration.constraints[0] as LocationConstraint;
    expect(l.rsc).toBeUndefined();
    expect(l.sets).toEqual([{ id: 'vm', sequential: 'false', resources: ['vm1', 'vm2'] }]);
    expect([l.node, l.score, l.role]).toEqual(['n1', '100', 'Started']);
  });

  it('colocation: one colocation per primitive, either side, roles kept', () => {
    const v = expandTemplates(
      cibOf(resources, '<rsc_colocation id="c1" rsc="vm" with-rsc="ip" score="INFINITY" with-rsc-role="Started"/><rsc_colocation id="c2" rsc="ip" with-rsc="vm" score="-100"/>'),
    ).value;
    const cs = v.configuration.constraints as ColocationConstraint[];
    expect(cs.map((c) => [c.id, c.rsc, c.withRsc, c.score, c.withRscRole])).toEqual([
      ['c1', 'vm1', 'ip', 'INFINITY', 'Started'],
      ['c1', 'vm2', 'ip', 'INFINITY', 'Started'],
      ['c2', 'ip', 'vm1', '-100', undefined],
      ['c2', 'ip', 'vm2', '-100', undefined],
    ]);
  });

  it('order: sets, the template one not sequential, the actions moved into the sets', () => {
    const v = expandTemplates(cibOf(resources, '<rsc_order id="o" first="ip" then="vm" then-action="promote" kind="Optional"/>')).value;
    const o = v.configuration.constraints[0] as OrderConstraint;
    expect([o.first, o.then, o.thenAction, o.kind]).toEqual([undefined, undefined, undefined, 'Optional']);
    expect(o.sets).toEqual([
      { id: 'ip', resources: ['ip'] },
      { id: 'vm', sequential: 'false', action: 'promote', resources: ['vm1', 'vm2'] },
    ]);
  });

  it('resource sets: the template reference becomes its primitives in place', () => {
    const v = expandTemplates(
      cibOf(resources, '<rsc_order id="o"><resource_set id="s1"><resource_ref id="ip"/><resource_ref id="vm"/><resource_ref id="ip2"/></resource_set></rsc_order>'),
    ).value;
    expect((v.configuration.constraints[0] as OrderConstraint).sets[0]!.resources).toEqual(['ip', 'vm1', 'vm2', 'ip2']);
  });

  it('is ignored when no primitive is made from the template, or two templates are colocated', () => {
    const v = expandTemplates(
      cibOf(
        resources + '<template id="t2" class="ocf" provider="heartbeat" type="Dummy"/><primitive id="d" template="t2"/>',
        '<rsc_location id="l" rsc="unused" node="n1" score="1"/><rsc_colocation id="c" rsc="vm" with-rsc="t2" score="INFINITY"/><rsc_location id="keep" rsc="ip" node="n1" score="1"/>',
      ),
    );
    expect(v.value.configuration.constraints.map((c) => c.id)).toEqual(['keep']);
    expect(v.problems).toEqual([
      "Ignoring constraint 'l' because 'unused' is not a valid resource or tag",
      "Ignoring constraint 'c' because two templates or tags cannot be colocated",
    ]);
  });

  it('tags stand for their members the same way', () => {
    const v = expandTemplates(
      cibOf(resources, '<rsc_colocation id="c" rsc="web" with-rsc="ip" score="INFINITY"/>', '<tags><tag id="web"><obj_ref id="vm1"/><obj_ref id="vm2"/></tag></tags>'),
    ).value;
    expect((v.configuration.constraints as ColocationConstraint[]).map((c) => `${c.rsc} with ${c.withRsc}`)).toEqual(['vm1 with ip', 'vm2 with ip']);
  });
});

describe('crm_mon of primitives made from a template', () => {
  // test/cib/template-cases/mon-template.cib: Pacemaker 2.1.5's `CIB_file=... crm_mon -1 -r`
  // prints "web (ocf:heartbeat:Dummy): Started node1" and, in the group, web2 Stopped;
  // its XML has resource_agent="ocf:heartbeat:Dummy" for both.
  const cib = parseCibXml(readFileSync(join(import.meta.dirname, 'template-cases', 'mon-template.cib'), 'utf8'));
  const input = { cib, now: 1_700_000_100, version: 'unused', stack: 'unused', fromFile: true };

  it("shows the template's class:provider:type, as Pacemaker's crm_mon does", () => {
    const lines = monText(input, { inactive: true }).split('\n');
    const from = lines.indexOf('Full List of Resources:');
    expect(lines.slice(from, from + 4)).toEqual([
      'Full List of Resources:',
      '  * web\t(ocf:heartbeat:Dummy):\t Started node1',
      '  * Resource Group: g:',
      '    * web2\t(ocf:heartbeat:Dummy):\t Stopped',
    ]);
    const xml = monXml(input);
    expect(xml).toContain('<resource id="web" resource_agent="ocf:heartbeat:Dummy" role="Started"');
    expect(xml).toContain('<resource id="web2" resource_agent="ocf:heartbeat:Dummy" role="Stopped"');
  });
});

describe('delete and rename of a template that primitives use', () => {
  const cib = cibOf(
    TEMPLATE + VM1 + '<group id="g"><primitive id="vm2" template="vm"/><primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/></group>',
    '<rsc_location id="l" rsc="vm" node="n1" score="100"/><rsc_colocation id="c" rsc="vm1" with-rsc="ip" score="INFINITY"/>',
  );

  it('delete takes the primitives made from it, and what names them, along (crmsh 4.4: "hanging primitive")', () => {
    const notes: string[] = [];
    const after = deleteIds(cib, ['vm'], notes);
    const ids = (c: typeof cib) => c.configuration.resources.map((r) => (r.tag === 'group' ? `${r.id}(${(r as unknown as { children: Primitive[] }).children.map((x) => x.id).join(' ')})` : r.id));
    expect(ids(after)).toEqual(['g(ip)']);
    expect(after.configuration.constraints).toEqual([]);
    expect(notes).toEqual(['hanging primitive:vm1 deleted', 'hanging colocation:c deleted', 'hanging primitive:vm2 deleted', 'hanging location:l deleted']);
    expect(validateCib(after)).toEqual([]);
  });

  it('rename makes its primitives and constraints follow', () => {
    const after = renameObject(cib, 'vm', 'xen');
    expect(after.configuration.resources[0]!.id).toBe('xen');
    expect(prim(after, 'vm1').extra?.['template']).toBe('xen');
    expect((after.configuration.constraints[0] as LocationConstraint).rsc).toBe('xen');
    expect(validateCib(after)).toEqual([]);
    expect(nvValues(prim(expandTemplates(after).value, 'vm1').instanceAttributes)['xmfile']).toBe('/etc/xen/shared');
  });
});

describe('the digest a node records for a primitive made from a template', () => {
  // The controller hashes the parameters resolveAction gives (template's merged with
  // the primitive's); the scheduler must find the same definition, or it would
  // restart the resource after every start.
  const xml = (digest: string) =>
    parseCibXml(`<cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
      <nodes><node id="n1" uname="n1"/></nodes><resources>${TEMPLATE.replace('type="Xen"', 'type="Dummy"')}${VM1}</resources><constraints/></configuration>
      <status><node_state id="n1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="n1"><lrm_resources>
        <lrm_resource id="vm1" class="ocf" provider="heartbeat" type="Dummy">
          <lrm_rsc_op id="vm1_last_0" operation_key="vm1_start_0" operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="1" rc-code="0" op-status="0" interval="0" op-digest="${digest}"/>
          <lrm_rsc_op id="vm1_monitor_30000" operation_key="vm1_monitor_30000" operation="monitor" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="30000"/>
        </lrm_resource></lrm_resources></lrm></node_state></status></cib>`);

  it('is the one the scheduler expects: the resource stays put', () => {
    const probe = xml('0');
    const r = resolveAction(probe, 'vm1', 'start', 0)!;
    const cib = xml(operationDigest(r.params, 0, r.timeoutMs));
    expect(schedule(cib, 1_700_000_000).summaryLines).toEqual([]);
    // A changed definition is noticed.
    expect(schedule(xml(operationDigest({ ...r.params, name: 'other' }, 0, r.timeoutMs)), 1_700_000_000).summaryLines.join('\n')).toMatch(/Restart\s+vm1/);
  });
});
