// bin/crm on a CIB file: the seed tutorial's commands verbatim, and every kind of bad input
// leaves the file byte-for-byte untouched with a message naming the problem.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { crm, requireBuild, ROOT, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(() => requireBuild());

// The seed tutorial (shared/seeds/003*): Nginx prepared first, then replaced by HAProxy.
const TUTORIAL: string[][] = [
  ['configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', 'ip=198.51.100.50', 'cidr_netmask=24', 'op', 'monitor', 'interval=15s'],
  ['configure', 'primitive', 'Nginx', 'ocf:heartbeat:nginx', 'op', 'monitor', 'interval=15s'],
  ['configure', 'clone', 'Nginx-clone', 'Nginx'],
  ['configure', 'colocation', 'FloatIP-Nginx', 'inf:', 'FloatIP', 'Nginx-clone'],
  ['resource', 'stop', 'Nginx'],
  ['configure', 'delete', 'Nginx'],
  ['configure', 'primitive', 'haproxy', 'ocf:heartbeat:haproxy', 'op', 'monitor', 'interval=15s'],
  ['configure', 'clone', 'haproxy-clone', 'haproxy'],
  ['configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone'],
  ['configure', 'property', 'stonith-enabled=false'],
];

describe('crm on CIB_file: the seed tutorial', () => {
  const file = join(tmp.dir, 'tutorial.xml');
  it('runs every command verbatim on a missing file (an empty CIB)', () => {
    expect(existsSync(file)).toBe(false);
    let epoch = 0;
    for (const args of TUTORIAL) {
      const r = crm(file, ...args);
      // crmsh's notes (INFO: hanging colocation:... deleted) are not errors.
      expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('INFO: ')), args.join(' ')).toEqual([]);
      expect(r.code, args.join(' ')).toBe(0);
      const cib = parseCibXml(readFileSync(file, 'utf8'));
      expect(cib.epoch, 'epoch bumped once per command').toBe(epoch + 1);
      epoch = cib.epoch;
    }
  });
  it('deleting Nginx removed its clone and colocation, as the tutorial says', () => {
    const cib = parseCibXml(readFileSync(file, 'utf8'));
    const ids = cib.configuration.resources.map((r) => r.id);
    expect(ids).toEqual(['FloatIP', 'haproxy-clone']);
    expect(cib.configuration.constraints.map((c) => c.id)).toEqual(['FloatIP-haproxy']);
  });
  it('crm configure show prints crmsh layout', () => {
    const r = crm(file, 'configure', 'show');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'primitive FloatIP ocf:belay:FloatIP \\',
        '\tparams ip=198.51.100.50 cidr_netmask=24 \\',
        '\top monitor interval=15s',
        'primitive haproxy haproxy \\',
        '\top monitor interval=15s',
        'clone haproxy-clone haproxy',
        'colocation FloatIP-haproxy inf: FloatIP haproxy-clone',
        'property cib-bootstrap-options: \\',
        '\tstonith-enabled=false',
        '',
      ].join('\n'),
    );
  });
  it('show NAME and show xml NAME', () => {
    expect(crm(file, 'configure', 'show', 'haproxy-clone').stdout).toBe('clone haproxy-clone haproxy\n');
    const x = crm(file, 'configure', 'show', 'xml', 'FloatIP-haproxy');
    expect(x.stdout).toBe('<rsc_colocation id="FloatIP-haproxy" rsc="FloatIP" with-rsc="haproxy-clone" score="INFINITY"/>\n');
    expect(crm(file, 'configure', 'show', 'nosuch').code).not.toBe(0);
  });
  it('accepts crmsh global flags and "commit"', () => {
    expect(crm(file, '-F', 'configure', 'show', 'haproxy-clone').stdout).toBe('clone haproxy-clone haproxy\n');
    const before = readFileSync(file);
    expect(crm(file, 'configure', 'commit').code).toBe(0);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
  it('crm resource stop/start set target-role', () => {
    expect(crm(file, 'resource', 'stop', 'FloatIP').code).toBe(0);
    expect(crm(file, 'configure', 'show', 'FloatIP').stdout).toContain('\tmeta target-role=Stopped \\\n');
    expect(crm(file, 'resource', 'start', 'FloatIP').code).toBe(0);
    expect(crm(file, 'configure', 'show', 'FloatIP').stdout).toContain('\tmeta target-role=Started \\\n');
    expect(readFileSync(file, 'utf8')).toContain('<nvpair id="FloatIP-meta_attributes-target-role" name="target-role" value="Started"/>');
  });
});

describe('crm on CIB_file: bad input changes nothing', () => {
  const file = join(tmp.dir, 'bad.xml');
  let before: Buffer;
  beforeAll(() => {
    for (const args of TUTORIAL) expect(crm(file, ...args).code).toBe(0);
    before = readFileSync(file);
  });
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown level', ['frobnicate'], /unknown level "frobnicate"/],
    ['an unknown configure command', ['configure', 'primitve', 'x', 'Dummy'], /unknown command "primitve"/],
    ['an unknown resource (stop)', ['resource', 'stop', 'Nope'], /resource "Nope" does not exist/],
    ['an unknown resource (delete)', ['configure', 'delete', 'Nope'], /object "Nope" does not exist/],
    ['an unknown resource (clone)', ['configure', 'clone', 'c', 'Nope'], /resource "Nope" does not exist/],
    ['a duplicate id', ['configure', 'primitive', 'haproxy', 'ocf:heartbeat:Dummy'], /"haproxy": the id is already used by a primitive/],
    ['a duplicate constraint id', ['configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone'], /"FloatIP-haproxy": the id is already used/],
    ['a dangling reference', ['configure', 'colocation', 'c1', 'inf:', 'FloatIP', 'ghost'], /refers to resource "ghost", which does not exist/],
    ['a dangling order', ['configure', 'order', 'o1', 'Mandatory:', 'ghost', 'FloatIP'], /refers to resource "ghost"/],
    ['a bad score', ['configure', 'colocation', 'c1', 'lots:', 'FloatIP', 'haproxy-clone'], /"lots" is not a score/],
    ['a bad location score', ['configure', 'location', 'l1', 'FloatIP', '1e9:', 'n1'], /"1e9" is not a score/],
    ['an unknown resource class', ['configure', 'primitive', 'x', 'foo:Dummy'], /unknown resource class "foo"/],
    ['a missing agent', ['configure', 'primitive', 'x'], /expected a resource agent/],
    ['a value without name', ['configure', 'primitive', 'x', 'Dummy', 'params', '=3'], /expected NAME=VALUE, got "=3"/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = crm(file, ...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
  it('malformed XML in the CIB file: names file and line, file untouched', () => {
    const broken = join(tmp.dir, 'broken.xml');
    const text = '<cib epoch="1" num_updates="0" admin_epoch="0">\n  <configuration>\n    <resources>\n  </configuration>\n</cib>\n';
    writeFileSync(broken, text);
    const r = crm(broken, 'configure', 'property', 'stonith-enabled=false');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${broken.replace(/[.]/g, '\\.')}:4:\\d+: malformed XML`));
    expect(readFileSync(broken, 'utf8')).toBe(text);
  });
  it('malformed YAML to load: names file and line, CIB untouched', () => {
    const y = join(tmp.dir, 'bad.yaml');
    writeFileSync(y, 'resources:\n  - primitive: x\n    agent: [ocf:heartbeat:Dummy\n');
    const r = crm(file, 'configure', 'load', 'replace', y);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: malformed YAML/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
  it('bad crmsh text to load: names file, line and token', () => {
    const c = join(tmp.dir, 'bad.crm');
    writeFileSync(c, 'primitive a Dummy\n\ncolocation c1 inf: a nothere\n');
    const r = crm(file, 'configure', 'load', 'update', c);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('refers to resource "nothere"');
    writeFileSync(c, 'primitive a Dummy \\\n\top monitor interval=10s junk\n');
    const r2 = crm(file, 'configure', 'load', 'update', c);
    expect(r2.stderr).toMatch(/bad\.crm:2:26: .*"junk"/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
  it('without CIB_file: a clear error that no cluster is reachable', () => {
    const r = crm(undefined, 'configure', 'show');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no cluster is reachable.*CIB_file/);
  });
});

describe('crm configure delete of a running resource', () => {
  it('is refused until the resource is stopped (as crmsh does), or with --force', () => {
    const file = join(tmp.dir, 'running.xml');
    expect(crm(file, 'configure', 'primitive', 'Nginx', 'ocf:heartbeat:nginx').code).toBe(0);
    expect(crm(file, 'configure', 'primitive', 'Other', 'ocf:heartbeat:Dummy').code).toBe(0);
    // Status as Pacemaker records it: Nginx started on n1 (call 3, rc 0).
    const text = readFileSync(file, 'utf8').replace(
      '<status/>',
      `<status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1">
        <lrm_resources>
          <lrm_resource id="Nginx" class="ocf" provider="heartbeat" type="nginx">
            <lrm_rsc_op id="Nginx_last_0" operation="start" interval="0" call-id="3" rc-code="0" op-status="0"/>
            <lrm_rsc_op id="Nginx_monitor_15000" operation="monitor" interval="15000" call-id="4" rc-code="0" op-status="0"/>
          </lrm_resource>
          <lrm_resource id="Other" class="ocf" provider="heartbeat" type="Dummy">
            <lrm_rsc_op id="Other_last_0" operation="stop" interval="0" call-id="5" rc-code="0" op-status="0"/>
          </lrm_resource>
        </lrm_resources>
      </lrm>
    </node_state>
  </status>`,
    );
    writeFileSync(file, text);
    const r = crm(file, 'configure', 'delete', 'Nginx');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('resource "Nginx" is running (on n1)');
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(crm(file, 'configure', 'delete', 'Other').code).toBe(0);
    expect(crm(file, 'resource', 'stop', 'Nginx').code).toBe(0);
    expect(crm(file, 'configure', 'delete', 'Nginx').code).toBe(0);
    expect(crm(file, 'configure', 'show').stdout).toBe('');
  });
});

describe('crm node', () => {
  it('standby/online and maintenance/ready set node attributes as crm_attribute does', () => {
    const file = join(tmp.dir, 'node.xml');
    expect(crm(file, 'configure', 'node', '1:', 'n1').code).toBe(0);
    expect(crm(file, 'node', 'standby', 'n1').code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('<instance_attributes id="nodes-1">\n          <nvpair id="nodes-1-standby" name="standby" value="on"/>');
    expect(crm(file, 'configure', 'show').stdout).toBe('node 1: n1 \\\n\tattributes standby=on\n');
    expect(crm(file, 'node', 'online', 'n1').code).toBe(0);
    expect(crm(file, 'node', 'attribute', 'n1', 'show', 'standby').stdout).toBe('scope=nodes  name=standby value=off\n');
    expect(crm(file, 'node', 'maintenance', 'n1', 'reboot').code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('<nvpair id="status-1-maintenance" name="maintenance" value="on"/>');
    expect(crm(file, 'node', 'attribute', 'n1', 'set', 'site', 'east').code).toBe(0);
    expect(crm(file, 'configure', 'show').stdout).toContain('attributes standby=off site=east');
    const before = readFileSync(file);
    const r = crm(file, 'node', 'standby', 'n9');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('node "n9" does not exist');
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});

describe('crm configure load', () => {
  it('loads each shipped configuration (YAML and crmsh) and update merges', () => {
    const file = join(tmp.dir, 'load.xml');
    const y = crm(file, 'configure', 'load', 'replace', join(ROOT, 'constraints/haproxy-floatip.yaml'));
    expect(y.stderr).toBe('');
    const fromYaml = crm(file, 'configure', 'show').stdout;
    const file2 = join(tmp.dir, 'load2.xml');
    expect(crm(file2, 'configure', 'load', 'replace', join(ROOT, 'constraints/haproxy-floatip.crm')).code).toBe(0);
    // As crmsh, the file's leading comments stay with its first object (primitive FloatIP, shown first).
    const header = readFileSync(join(ROOT, 'constraints/haproxy-floatip.crm'), 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n') + '\n';
    expect(crm(file2, 'configure', 'show').stdout).toBe(header + fromYaml);
    // update: replace one object, add another
    const upd = join(tmp.dir, 'upd.crm');
    writeFileSync(upd, 'primitive FloatIP ocf:belay:FloatIP params ip=198.51.100.60\nrsc_defaults resource-stickiness=100\n');
    expect(crm(file2, 'configure', 'load', 'update', upd).code).toBe(0);
    const shown = crm(file2, 'configure', 'show').stdout;
    expect(shown).toContain('params ip=198.51.100.60\n');
    expect(shown).toContain('clone haproxy-clone haproxy\n');
    expect(shown).toContain('rsc_defaults rsc-options: \\\n\tresource-stickiness=100\n');
    // load xml replace of our own show xml gives the same configuration back
    const xml = join(tmp.dir, 'show.xml');
    writeFileSync(xml, crm(file2, 'configure', 'show', 'xml').stdout);
    const file3 = join(tmp.dir, 'load3.xml');
    expect(crm(file3, 'configure', 'load', 'xml', 'replace', xml).code).toBe(0);
    expect(crm(file3, 'configure', 'show').stdout).toBe(shown);
  });
  it('edit runs $EDITOR on the crmsh text and loads the result', () => {
    const file = join(tmp.dir, 'edit.xml');
    expect(crm(file, 'configure', 'primitive', 'p', 'Dummy').code).toBe(0);
    const editor = join(tmp.dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/^primitive p Dummy$/primitive p Dummy meta target-role=Stopped/" "$1"\n', { mode: 0o755 });
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/crm'), 'configure', 'edit'], { env: { ...process.env, CIB_file: file, EDITOR: editor }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(crm(file, 'configure', 'show').stdout).toBe('primitive p Dummy \\\n\tmeta target-role=Stopped\n');
  });
});
