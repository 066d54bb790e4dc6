import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentCandidates, parseAgentSpec, formatAgentSpec, AgentSpecError } from '../../src/executor/agent-id.js';
import { buildAgentEnv } from '../../src/executor/env.js';
import { MetadataError, parseMetadata, prepareParams, uniqueConflicts } from '../../src/executor/metadata.js';
import { BELAY_OCF_ROOT, resolveAgent } from '../../src/executor/resolve.js';

const OURS = ['FloatIP', 'haproxy', 'nginx', 'Dummy'];

function metaOf(path: string): string {
  return execFileSync(path, ['meta-data'], { encoding: 'utf8' });
}

describe('agent names', () => {
  it('parses ocf, lsb and bare names', () => {
    expect(parseAgentSpec('ocf:heartbeat:IPaddr2')).toEqual({ class: 'ocf', provider: 'heartbeat', type: 'IPaddr2' });
    expect(parseAgentSpec('lsb:nginx')).toEqual({ class: 'lsb', type: 'nginx' });
    expect(parseAgentSpec('Dummy')).toEqual({ class: 'ocf', provider: 'heartbeat', type: 'Dummy' });
    expect(formatAgentSpec(parseAgentSpec('ocf:belay:FloatIP'))).toBe('ocf:belay:FloatIP');
  });
  it.each(['systemd:nginx', 'ocf:heartbeat', 'ocf:a:b:c', 'ocf:heartbeat:../../bin/sh', 'lsb:a/b', 'ocf::X'])('rejects %s', (bad) => {
    expect(() => parseAgentSpec(bad)).toThrow(AgentSpecError);
  });
  it('tries every root for the provider, then belay for heartbeat only', () => {
    const c = agentCandidates(parseAgentSpec('ocf:heartbeat:haproxy'), ['/a', '/b'], []);
    expect(c.map((x) => x.path)).toEqual([
      '/a/resource.d/heartbeat/haproxy',
      '/b/resource.d/heartbeat/haproxy',
      '/a/resource.d/belay/haproxy',
      '/b/resource.d/belay/haproxy',
    ]);
    expect(agentCandidates(parseAgentSpec('ocf:other:haproxy'), ['/a'], []).map((x) => x.path)).toEqual(['/a/resource.d/other/haproxy']);
  });
  it('resolves the tutorial name ocf:heartbeat:haproxy to belay haproxy and keeps stock heartbeat agents', () => {
    const search = { ocfRoots: [BELAY_OCF_ROOT, '/usr/lib/ocf'], lsbDirs: ['/etc/init.d'] };
    const h = resolveAgent(parseAgentSpec('ocf:heartbeat:haproxy'), search);
    expect(h?.path).toBe(join(BELAY_OCF_ROOT, 'resource.d/belay/haproxy'));
    expect(h?.provider).toBe('belay');
    expect(h?.root).toBe(BELAY_OCF_ROOT);
    if (!existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2')) throw new Error('needs Debian package resource-agents');
    expect(resolveAgent(parseAgentSpec('ocf:heartbeat:IPaddr2'), search)?.root).toBe('/usr/lib/ocf');
    expect(resolveAgent(parseAgentSpec('ocf:belay:Dummy'), search)?.path).toBe(join(BELAY_OCF_ROOT, 'resource.d/belay/Dummy'));
    expect(resolveAgent(parseAgentSpec('ocf:heartbeat:NoSuchAgent'), search)).toBeUndefined();
  });
});

describe('meta-data', () => {
  it.each(OURS)('%s meta-data parses and describes its parameters and actions', (name) => {
    const meta = parseMetadata(metaOf(join(BELAY_OCF_ROOT, 'resource.d/belay', name)));
    expect(meta.name).toBe(name);
    expect(meta.shortdesc).not.toBe('');
    expect(meta.longdesc).not.toBe('');
    for (const a of ['start', 'stop', 'monitor', 'meta-data', 'validate-all']) expect(meta.actions.map((x) => x.name)).toContain(a);
    for (const p of meta.parameters) expect(p.shortdesc, `${name} ${p.name}`).not.toBe('');
  });

  it('FloatIP: ip required and unique; VRRP parameters reserved', () => {
    const meta = parseMetadata(metaOf(join(BELAY_OCF_ROOT, 'resource.d/belay/FloatIP')));
    const ip = meta.parameters.find((p) => p.name === 'ip')!;
    expect(ip.required && ip.unique).toBe(true);
    for (const p of ['nic', 'cidr_netmask', 'label', 'arp_count', 'vrid', 'advert_int', 'priority']) {
      expect(meta.parameters.map((x) => x.name)).toContain(p);
    }
  });

  it('haproxy defaults conffile to /etc/haproxy/haproxy.cfg (the tutorial gives no params)', () => {
    const meta = parseMetadata(metaOf(join(BELAY_OCF_ROOT, 'resource.d/belay/haproxy')));
    expect(meta.parameters.find((p) => p.name === 'conffile')?.default).toBe('/etc/haproxy/haproxy.cfg');
  });

  it('parses stock IPaddr2 meta-data', () => {
    const path = '/usr/lib/ocf/resource.d/heartbeat/IPaddr2';
    if (!existsSync(path)) throw new Error('needs Debian package resource-agents');
    const xml = execFileSync(path, ['meta-data'], { encoding: 'utf8', env: { OCF_ROOT: '/usr/lib/ocf', PATH: process.env.PATH } });
    const meta = parseMetadata(xml);
    expect(meta.name).toBe('IPaddr2');
    expect(meta.parameters.find((p) => p.name === 'ip')?.required).toBe(true);
  });

  it('rejects broken XML with a position', () => {
    expect(() => parseMetadata('<resource-agent name="x"><parameters>')).toThrow(MetadataError);
    expect(() => parseMetadata('garbage \u0000\u00ff')).toThrow(/meta-data/);
    expect(() => parseMetadata('<other/>')).toThrow(/resource-agent/);
  });

  const xml = `<?xml version="1.0"?><resource-agent name="T"><version>1.1</version>
    <longdesc lang="en">l</longdesc><shortdesc lang="en">s</shortdesc><parameters>
    <parameter name="a" required="1" unique="1"><longdesc>x</longdesc><shortdesc>x</shortdesc><content type="string"/></parameter>
    <parameter name="n"><longdesc>x</longdesc><shortdesc>x</shortdesc><content type="integer" default="5"/></parameter>
    <parameter name="e"><longdesc>x</longdesc><shortdesc>x</shortdesc><content type="string" default=""/></parameter>
    </parameters><actions><action name="start" timeout="20s"/></actions></resource-agent>`;

  it('checks required parameters and applies defaults', () => {
    const meta = parseMetadata(xml);
    const ok = prepareParams(meta, { a: 'x' });
    expect(ok.errors).toEqual([]);
    expect(ok.params).toEqual({ a: 'x', n: '5' });
    expect(prepareParams(meta, {}).errors[0]).toMatch(/required parameter 'a'/);
    expect(prepareParams(meta, { a: '' }).errors.length).toBe(1);
    expect(prepareParams(meta, { a: 'x', n: 'five' }).errors[0]).toMatch(/integer/);
    expect(prepareParams(meta, { a: 'x', zz: '1' }).warnings[0]).toMatch(/zz/);
  });

  it('finds unique parameter clashes between resources', () => {
    const meta = parseMetadata(xml);
    const others = new Map([
      ['r1', { a: 'same' }],
      ['r2', { a: 'other' }],
    ]);
    expect(uniqueConflicts(meta, 'r3', { a: 'same' }, others)).toHaveLength(1);
    expect(uniqueConflicts(meta, 'r1', { a: 'same' }, others)).toHaveLength(0);
    expect(uniqueConflicts(meta, 'r3', { a: 'new' }, others)).toHaveLength(0);
  });
});

describe('agent environment', () => {
  it('sets the OCF RA API 1.1 variables', () => {
    const env = buildAgentEnv({
      spec: parseAgentSpec('ocf:heartbeat:haproxy'),
      ocfRoot: '/x',
      provider: 'belay',
      instance: 'haproxy:1',
      params: { conffile: '/etc/h.cfg' },
      meta: { clone: '1', 'clone-max': '2', notify: 'false' },
      timeoutMs: 20000,
      intervalMs: 15000,
      action: 'monitor',
      depth: 10,
    });
    expect(env).toMatchObject({
      OCF_ROOT: '/x',
      OCF_RA_VERSION_MAJOR: '1',
      OCF_RA_VERSION_MINOR: '1',
      OCF_RESOURCE_INSTANCE: 'haproxy:1',
      OCF_RESOURCE_TYPE: 'haproxy',
      OCF_RESOURCE_PROVIDER: 'belay',
      OCF_RESKEY_conffile: '/etc/h.cfg',
      OCF_RESKEY_CRM_meta_clone: '1',
      OCF_RESKEY_CRM_meta_clone_max: '2',
      OCF_RESKEY_CRM_meta_notify: 'false',
      OCF_RESKEY_CRM_meta_timeout: '20000',
      OCF_RESKEY_CRM_meta_interval: '15000',
      OCF_CHECK_LEVEL: '10',
    });
    expect(env.PATH).toContain('/usr/sbin');
  });
  it('refuses names with = and values with NUL', () => {
    const base = { spec: parseAgentSpec('Dummy'), instance: 'd', timeoutMs: 1, intervalMs: 0, action: 'start' };
    expect(() => buildAgentEnv({ ...base, params: { 'a=b': 'x' } })).toThrow(/bad parameter name/);
    expect(() => buildAgentEnv({ ...base, params: { a: 'x\0y' } })).toThrow(/NUL/);
  });
});
