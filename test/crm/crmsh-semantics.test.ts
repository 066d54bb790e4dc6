// crmsh 4.4 semantics that belay's `crm configure` got wrong (issue 14,
// "found on today's code"): each case runs bin/crm on a CIB file, checks
// what crmsh writes or prints, and has Pacemaker's crm_verify check the CIB.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crm, requireBuild, tempDir } from './helpers.js';

const CRM_VERIFY = '/usr/sbin/crm_verify';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());
beforeAll(() => {
  requireBuild();
  if (!existsSync(CRM_VERIFY)) throw new Error(`${CRM_VERIFY} is missing: apt-get install pacemaker-cli-utils (scripts/debian-packages.txt)`);
});

function cibFile(): string {
  const t = tempDir();
  cleanup = t.cleanup;
  const f = join(t.dir, 'cib.xml');
  ok(f, 'property', 'stonith-enabled=false');
  return f;
}

function ok(f: string, ...args: string[]): string {
  const r = crm(f, 'configure', ...args);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('ERROR')), `crm configure ${args.join(' ')}`).toEqual([]);
  expect(r.code).toBe(0);
  return r.stderr;
}

function script(f: string, lines: string[]): void {
  for (const l of lines) {
    const words = l.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)!.map((w) => w.replace(/^(\w[\w-]*=)?["'](.*)["']$/, '$1$2'));
    ok(f, ...words);
  }
}

/** Pacemaker's own check of the file: schema and configuration (crm_verify -x). */
function verify(f: string): void {
  const r = spawnSync(CRM_VERIFY, ['-x', f], { encoding: 'utf8' });
  const errors = (r.stderr + r.stdout).split('\n').filter((l) => /error|invalid|does not validate/i.test(l));
  expect(errors, `crm_verify -x ${f}`).toEqual([]);
  expect(r.status).toBe(0);
}

function xml(f: string): string {
  return readFileSync(f, 'utf8');
}

describe('delete of a group, clone or ms keeps its members (crmsh)', () => {
  it('group: members stay, constraints name the first member', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'primitive d2 ocf:pacemaker:Dummy', 'primitive d3 ocf:pacemaker:Dummy', 'group g1 d1 d2', 'location l1 g1 100: node1', 'colocation c1 inf: g1 d3', 'order o1 Mandatory: d3 g1']);
    const note = ok(f, 'delete', 'g1');
    expect(note).toContain('INFO: modified location:l1 from g1 to d1');
    const x = xml(f);
    expect(x).not.toContain('id="g1"');
    expect(x).toContain('<primitive id="d1"');
    expect(x).toContain('<primitive id="d2"');
    expect(x).toMatch(/<rsc_location id="l1" rsc="d1"/);
    expect(x).toMatch(/<rsc_colocation id="c1" rsc="d1" with-rsc="d3"/);
    expect(x).toMatch(/<rsc_order id="o1" first="d3" then="d1"/);
    verify(f);
  });
  it('clone and ms: the child stays, constraints name it', () => {
    const f = cibFile();
    script(f, ['primitive d4 ocf:pacemaker:Dummy', 'clone cl d4', 'location l4 cl 10: node1', 'primitive s5 ocf:pacemaker:Stateful', 'ms m5 s5', 'colocation c5 inf: m5:Master d4']);
    ok(f, 'delete', 'cl', 'm5');
    const x = xml(f);
    expect(x).toContain('<primitive id="d4"');
    expect(x).toContain('<primitive id="s5"');
    expect(x).not.toMatch(/<clone /);
    expect(x).toMatch(/<rsc_location id="l4" rsc="d4"/);
    expect(x).toMatch(/<rsc_colocation id="c5" rsc="s5"/);
  });
});

describe('show hides secrets', () => {
  it('prints password and passwd as ****** (crmsh obscure_pattern passw*)', () => {
    const f = cibFile();
    ok(f, 'primitive', 'st', 'stonith:fence_ipmilan', 'params', 'ip=198.51.100.9', 'username=admin', 'password=s3cret', 'passwd=old');
    const shown = crm(f, 'configure', 'show', 'st').stdout;
    expect(shown).toContain('params ip=198.51.100.9 username=admin password="******" passwd="******"');
    expect(shown).not.toContain('s3cret');
    // The CIB keeps the value: only the display hides it.
    expect(xml(f)).toContain('value="s3cret"');
  });
});

describe('writes keep what crmsh wrote', () => {
  it('<operations id-ref=...> survives any crm write, and crmsh syntax makes it', () => {
    const f = cibFile();
    const withRef = xml(f).replace(
      '<resources/>',
      `<resources>
      <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">
        <operations id="d1-ops">
          <op name="monitor" interval="60m" id="d1-monitor-60m"/>
        </operations>
      </primitive>
      <primitive id="s5" class="ocf" provider="pacemaker" type="Dummy">
        <operations id-ref="d1-ops"/>
      </primitive>
    </resources>`,
    );
    writeFileSync(f, withRef);
    ok(f, 'primitive', 'd9', 'ocf:pacemaker:Dummy');
    expect(xml(f)).toContain('<operations id-ref="d1-ops"/>');
    ok(f, 'primitive', 's6', 'ocf:pacemaker:Dummy', 'operations', '$id-ref=d1');
    expect(xml(f)).toMatch(/<primitive id="s6"[^]*?<operations id-ref="d1-ops"\/>/);
    expect(crm(f, 'configure', 'show', 's5').stdout).toBe('primitive s5 ocf:pacemaker:Dummy \\\n\toperations  $id-ref=d1-ops\n');
    verify(f);
  });
});

describe('CIBs that pass Pacemaker schema and crm_verify', () => {
  it('colocation roles are written as Pacemaker spells them (a:master -> Master)', () => {
    const f = cibFile();
    script(f, ['primitive a ocf:pacemaker:Stateful', 'primitive b ocf:pacemaker:Dummy', 'ms ma a', 'colocation c 0: ma:master b']);
    expect(xml(f)).toMatch(/rsc-role="Master"/);
    expect(crm(f, 'configure', 'show', 'c').stdout).toBe('colocation c 0: ma:Master b\n');
    verify(f);
  });
  it('an op with an empty interval is refused and the file left alone', () => {
    const f = cibFile();
    const before = xml(f);
    const r = crm(f, 'configure', 'primitive', 'd1', 'ocf:pacemaker:Dummy', 'op', 'monitor', 'interval=');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR: op monitor of d1: interval is empty/);
    expect(xml(f)).toBe(before);
  });
  it('an op without interval gets interval=0 as crmsh writes it', () => {
    const f = cibFile();
    ok(f, 'primitive', 'd1', 'ocf:pacemaker:Dummy', 'op', 'start', 'timeout=60s');
    expect(xml(f)).toContain('<op id="d1-start-0" name="start" timeout="60s" interval="0"/>');
    expect(crm(f, 'configure', 'show', 'd1').stdout).toBe('primitive d1 ocf:pacemaker:Dummy \\\n\top start timeout=60s interval=0\n');
    verify(f);
  });
  it('node types outside the schema are refused (node n:unknown)', () => {
    const f = cibFile();
    const r = crm(f, 'configure', 'node', 'n:unknown');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"unknown" is not a node type');
    ok(f, 'node', 'n2:member');
    verify(f);
  });
  it('cloning a group moves its constraints to the clone', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'primitive d2 ocf:pacemaker:Dummy', 'group g1 d1 d2', 'location l1 g1 100: node1']);
    const note = ok(f, 'clone', 'c1', 'g1');
    expect(note).toContain('INFO: modified location:l1 from g1 to c1');
    expect(xml(f)).toMatch(/<rsc_location id="l1" rsc="c1"/);
    verify(f);
  });
  it('order with a score gets a kind, as crmsh 4.4 writes it', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'primitive d2 ocf:pacemaker:Dummy', 'order o1 100: d1 d2', 'order o2 0: d1 d2', 'order o3 inf: d1 d2']);
    const x = xml(f);
    expect(x).toMatch(/<rsc_order id="o1" first="d1" then="d2" kind="Mandatory"\/>/);
    expect(x).toMatch(/<rsc_order id="o2" first="d1" then="d2" kind="Optional"\/>/);
    expect(x).toMatch(/<rsc_order id="o3" first="d1" then="d2" kind="Mandatory"\/>/);
    expect(x).not.toMatch(/<rsc_order[^>]*score=/);
    verify(f);
  });
  it('params $ID:NAME=VALUE names the nvpair id', () => {
    const f = cibFile();
    ok(f, 'primitive', 'p0', 'ocf:pacemaker:Dummy', 'params', '$p0-state:state=1');
    expect(xml(f)).toContain('<nvpair id="p0-state" name="state" value="1"/>');
    expect(crm(f, 'configure', 'show', 'p0').stdout).toBe('primitive p0 ocf:pacemaker:Dummy \\\n\tparams state=1\n');
    verify(f);
  });
});

describe('show says everything the CIB holds', () => {
  it('op_params / op_meta with scores and rules load back to the same configuration', () => {
    const f = cibFile();
    ok(f, ...'primitive d7 ocf:heartbeat:Dummy op start interval=0 timeout=60s op_params 2: rule #uname eq node1 op_param=dummy op_params 1: op_param=smart op_meta 2: rule #ra-version version:gt 1.0 start-delay=120m op_meta 1: start-delay=60m'.split(' '));
    const shown = crm(f, 'configure', 'show', 'd7').stdout;
    expect(shown).toBe(
      'primitive d7 Dummy \\\n\top start interval=0 timeout=60s \\\n\top_params 2: rule #uname eq node1 op_param=dummy \\\n\top_params 1: op_param=smart \\\n\top_meta 2: rule #ra-version version:gt 1.0 start-delay=120m \\\n\top_meta 1: start-delay=60m\n',
    );
    const before = xml(f).replace(/ epoch="\d+"/, '');
    const t = join(f, '..', 'd7.crm');
    writeFileSync(t, shown);
    ok(f, 'load', 'update', t);
    expect(xml(f).replace(/ epoch="\d+"/, '')).toBe(before);
    verify(f);
  });
});

describe('crmsh statements kept as CIB XML sections', () => {
  it('fencing_topology writes <fencing-topology><fencing-level id target index devices/>', () => {
    const f = cibFile();
    script(f, ['node node1', 'node node2', 'primitive st1 stonith:fence_dummy', 'primitive st2 stonith:fence_dummy', 'fencing_topology st1 st2']);
    let x = xml(f);
    expect(x).toContain('<fencing-level target="node1" index="1" devices="st1" id="fencing"/>');
    expect(x).toContain('<fencing-level target="node2" index="2" devices="st2" id="fencing-2"/>');
    expect(crm(f, 'configure', 'show', 'fencing_topology').stdout).toBe('fencing_topology st1 st2\n');
    ok(f, 'fencing_topology', 'node1:', 'st1,st2', 'node2:', 'st2');
    x = xml(f);
    expect(x).toContain('<fencing-level target="node1" index="1" devices="st1,st2" id="fencing"/>');
    expect(x).toContain('<fencing-level target="node2" index="1" devices="st2" id="fencing-0"/>');
    expect(crm(f, 'configure', 'show', 'fencing_topology').stdout).toBe('fencing_topology \\\n\tnode1: st1,st2 \\\n\tnode2: st2\n');
    verify(f);
  });
  it('tag, rsc_ticket, modgroup and rename', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'primitive d2 ocf:pacemaker:Dummy', 'primitive d3 ocf:pacemaker:Dummy', 'group g1 d1 d2', 'tag t1: d1 d3', 'rsc_ticket tk ticketA: d3 loss-policy=stop']);
    ok(f, 'modgroup', 'g1', 'add', 'd3', 'before', 'd2');
    ok(f, 'rename', 'd1', 'dd1');
    const shown = crm(f, 'configure', 'show').stdout;
    expect(shown).toContain('group g1 dd1 d3 d2\n');
    expect(shown).toContain('tag t1 dd1 d3\n');
    expect(shown).toContain('rsc_ticket tk ticketA: d3 loss-policy=stop\n');
    verify(f);
  });
});

describe('edits keep the ids the text leaves out (crmsh fix_node_ids)', () => {
  it('filter of a location keeps its rule and expression ids; a new expression gets one from its rule', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'location loc-d1 d1 rule $id=r1 -inf: not_defined webserver rule $id=r2 webserver: defined webserver']);
    // show hides rule ids, so the edited text has none.
    expect(crm(f, 'configure', 'show', 'loc-d1').stdout).not.toContain('r1');
    ok(f, 'filter', "sed 's/not_defined webserver/& or mem number:lte 0/'", 'loc-d1');
    let x = xml(f);
    expect(x).toContain('<rule id="r1" score="-INFINITY" boolean-op="or">');
    expect(x).toContain('<expression id="r1-expression" attribute="webserver" operation="not_defined"/>');
    expect(x).toContain('<expression id="r1-expression-0" attribute="mem" operation="lte" value="0" type="number"/>');
    expect(x).toContain('<rule id="r2" score-attribute="webserver">');
    // A rule that matches no old one gets a new id.
    ok(f, 'filter', "sed 's/ or mem number:lte 0/ rule -inf: not_defined a2/'", 'loc-d1');
    x = xml(f);
    expect(x).toContain('<rule id="loc-d1-rule" score="-INFINITY">');
    expect(x).toContain('<rule id="r2" score-attribute="webserver">');
    // A filter of the whole configuration keeps them too.
    ok(f, 'filter', "sed 's/stonith-enabled=false/& no-quorum-policy=ignore/'");
    x = xml(f);
    expect(x).toContain('name="no-quorum-policy"');
    expect(x).toContain('<rule id="r1" score="-INFINITY">');
    verify(f);
  });
});

describe('comments stay with their object (crmsh)', () => {
  it('a "# ..." line before a statement is kept in the CIB and shown above the object', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy']);
    const t = tempDir();
    const prev = cleanup;
    cleanup = () => {
      t.cleanup();
      prev?.();
    };
    const text = join(t.dir, 'conf.crm');
    writeFileSync(text, '# the web server\n# second line\nprimitive d2 ocf:pacemaker:Dummy \\\n\top monitor interval=10s\nlocation l1 d2 100: node1\n');
    ok(f, 'load', 'update', text);
    expect(xml(f)).toContain('<!--# the web server-->');
    expect(crm(f, 'configure', 'show', 'd2').stdout).toBe('# the web server\n# second line\nprimitive d2 ocf:pacemaker:Dummy \\\n\top monitor interval=10s\n');
    expect(crm(f, 'configure', 'show', 'l1').stdout).toBe('location l1 d2 100: node1\n');
    // A filter sees one line per object, without the comments (crmsh's format for filters).
    ok(f, 'filter', "sed 's/^/# filtered\\n/'", 'l1');
    expect(crm(f, 'configure', 'show', 'l1').stdout).toBe('# filtered\nlocation l1 d2 100: node1\n');
    expect(crm(f, 'configure', 'show', 'd2').stdout).toContain('# second line\n');
    verify(f);
  });
});

describe('resource templates (crmsh rsc_template, @template)', () => {
  it('rsc_template writes <template>, @NAME a primitive with template=, and show prints both as crmsh', () => {
    const f = cibFile();
    script(f, [
      'rsc_template web-server ocf:heartbeat:apache params port=8000 op monitor interval=10s',
      'primitive w1 @web-server params port=8001 meta target-role=Stopped',
      'primitive w2 @web-server',
      'colocation c-web inf: w1 web-server',
    ]);
    const x = xml(f);
    expect(x).toContain('<template id="web-server" class="ocf" provider="heartbeat" type="apache">');
    expect(x).toContain('<primitive id="w2" template="web-server"/>');
    expect(crm(f, 'configure', 'show', 'web-server', 'w1', 'w2').stdout).toBe(
      'rsc_template web-server apache \\\n\tparams port=8000 \\\n\top monitor interval=10s\nprimitive w1 @web-server \\\n\tparams port=8001 \\\n\tmeta target-role=Stopped\nprimitive w2 @web-server\n',
    );
    verify(f);
  });

  // crmsh 4.4 on a CIB file: `delete TEMPLATE` also deletes the primitives made from it
  // ("INFO: hanging primitive:w1 deleted"); `rename TEMPLATE NEW` leaves them naming the old id,
  // which the schema refuses (crmsh fails), so belay makes them follow instead;
  // `primitive X @MISSING` is refused ("MISSING: no such resource template").
  const templateScript = [
    'rsc_template web-server ocf:pacemaker:Dummy params fake=8000 op monitor interval=10s',
    'primitive w1 @web-server params fake=8001',
    'primitive w2 @web-server',
    'primitive ip ocf:pacemaker:Dummy',
    'colocation c-web inf: w1 ip',
    'location l-web web-server 100: node1',
  ];
  it('delete of a template takes the primitives made from it and their constraints along, as crmsh does', () => {
    const f = cibFile();
    script(f, templateScript);
    const notes = ok(f, 'delete', 'web-server');
    expect(notes).toContain('INFO: hanging primitive:w1 deleted');
    expect(notes).toContain('INFO: hanging primitive:w2 deleted');
    const shown = crm(f, 'configure', 'show').stdout;
    expect(shown).not.toMatch(/web-server|w1|w2|c-web|l-web/);
    expect(shown).toContain('primitive ip ocf:pacemaker:Dummy');
    verify(f);
  });
  it('rename of a template: the primitives made from it and the constraints follow', () => {
    const f = cibFile();
    script(f, templateScript);
    ok(f, 'rename', 'web-server', 'dummy-tpl');
    expect(crm(f, 'configure', 'show', 'w1', 'w2', 'l-web').stdout).toBe('primitive w1 @dummy-tpl \\\n\tparams fake=8001\nprimitive w2 @dummy-tpl\nlocation l-web dummy-tpl 100: node1\n');
    verify(f);
  });
  it('a primitive naming a template that does not exist is refused', () => {
    const f = cibFile();
    const r = crm(f, 'configure', 'primitive', 'w9', '@nope');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('nope: no such resource template');
    expect(crm(f, 'configure', 'show').stdout).not.toContain('w9');
  });
});

describe('ACLs and alerts in crmsh syntax', () => {
  it('role, acl_target and alert write what crmsh writes and show back the same text', () => {
    const f = cibFile();
    script(f, [
      'primitive d1 ocf:pacemaker:Dummy',
      'role basic-read read status read type:node attribute:uname read property',
      'role admin write meta:d1:target-role read ref:d1',
      'acl_target alice basic-read admin',
      'alert notify_9 /usr/share/pacemaker/alerts/alert_snmp.sh attributes trap_add_hires_timestamp_oid=false meta timeout=10s to { 192.168.40.9 attributes trap_node_states=all }',
      'alert notify_10 /tmp/x.sh select nodes fencing attributes { standby } to 192.168.1.5',
    ]);
    const x = xml(f);
    expect(x).toContain('<acl_permission kind="read" xpath="/cib/status" id="basic-read-0"/>');
    expect(x).toContain('<acl_permission kind="read" object-type="node" attribute="uname" id="basic-read-1"/>');
    expect(x).toContain(`<acl_permission kind="write" xpath="//primitive[@id='d1']/meta_attributes/nvpair[@name='target-role']" id="admin-0"/>`);
    expect(x).toContain('<recipient id="notify_9-recipient-1" value="192.168.40.9">');
    expect(x).toContain('<attribute name="standby" id="notify_10-0"/>');
    expect(crm(f, 'configure', 'show', 'admin', 'basic-read', 'alice', 'notify_9', 'notify_10').stdout).toBe(
      [
        'role admin \\\n\twrite meta:d1:target-role \\\n\tread ref:d1',
        'role basic-read \\\n\tread status \\\n\tread attr:uname type:node \\\n\tread property',
        'acl_target alice \\\n\tbasic-read \\\n\tadmin',
        'alert notify_10 "/tmp/x.sh" \\\n\tselect nodes fencing attributes { standby } \\\n\tto 192.168.1.5',
        'alert notify_9 "/usr/share/pacemaker/alerts/alert_snmp.sh" \\\n\tattributes trap_add_hires_timestamp_oid=false \\\n\tmeta timeout=10s \\\n\tto 192.168.40.9 attributes trap_node_states=all',
        '',
      ].join('\n'),
    );
    verify(f);
  });
});

describe('delete in resource sets (crmsh delete_rscref_rset, rset_convert)', () => {
  it('sets left with two resources become a plain colocation / order; with one, the constraint goes', () => {
    const f = cibFile();
    script(f, ['primitive d1 ocf:pacemaker:Dummy', 'primitive d2 ocf:pacemaker:Dummy', 'primitive d3 ocf:pacemaker:Dummy', 'primitive d4 ocf:pacemaker:Dummy', 'colocation c1 inf: d1 d2 d3', 'order o1 Mandatory: d1 d2 d3', 'colocation c2 inf: d1 d4']);
    const out = ok(f, 'delete', 'd2');
    expect(out).toContain('constraint colocation:c1 updated');
    let x = xml(f);
    expect(x).toContain('<rsc_colocation id="c1" rsc="d3" with-rsc="d1" score="INFINITY"/>');
    expect(x).toContain('<rsc_order id="o1" first="d1" then="d3" kind="Mandatory"/>');
    ok(f, 'delete', 'd3');
    x = xml(f);
    expect(x).not.toContain('id="c1"');
    expect(x).not.toContain('id="o1"');
    verify(f);
  });
});

describe('set ID.[OP.][INTERVAL.]NAME VALUE (crmsh 4.4)', () => {
  it('changes one parameter or op attribute in place, and names what it cannot find', () => {
    const f = cibFile();
    script(f, ['primitive d2 ocf:heartbeat:Delay params mondelay=60 startdelay=2 op monitor interval=10s timeout=20s']);
    ok(f, 'set', 'd2.mondelay', '45');
    ok(f, 'set', 'd2.monitor.10s.timeout', '40s');
    expect(crm(f, 'configure', 'show', 'd2').stdout).toBe('primitive d2 Delay \\\n\tparams mondelay=45 startdelay=2 \\\n\top monitor interval=10s timeout=40s\n');
    const r = crm(f, 'configure', 'set', 'd2.nosuch', '1');
    expect(r.stderr).toContain('Attribute not found: d2.nosuch');
    expect(r.code).not.toBe(0);
    verify(f);
  });
});
