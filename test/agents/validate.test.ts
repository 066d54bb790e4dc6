/** validate-all of belay's agents: bad parameters give the right OCF code (read-only checks, no namespace needed). */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { BELAY_OCF_ROOT } from '../../src/executor/resolve.js';

function validate(agent: string, params: Record<string, string>): { rc: number | null; err: string } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', OCF_BELAY_SYSLOG: '0', OCF_RESOURCE_INSTANCE: 'v' };
  for (const [k, v] of Object.entries(params)) env[`OCF_RESKEY_${k}`] = v;
  const r = spawnSync(join(BELAY_OCF_ROOT, 'resource.d', 'belay', agent), ['validate-all'], { env, encoding: 'utf8' });
  return { rc: r.status, err: r.stderr };
}

describe('FloatIP validate-all', () => {
  const cases: [Record<string, string>, number, RegExp?][] = [
    [{ ip: '127.0.0.2', nic: 'lo' }, 0],
    [{ ip: '127.0.0.2', nic: 'lo', cidr_netmask: '255.0.0.0' }, 0],
    [{ ip: '::2', nic: 'lo', cidr_netmask: '128' }, 0],
    [{}, 6, /ip is required/],
    [{ ip: '300.1.1.1', nic: 'lo' }, 6, /not an IPv4 or IPv6/],
    [{ ip: '2001:db8::1::2', nic: 'lo' }, 6, /not an IPv4 or IPv6/],
    [{ ip: '127.0.0.2', nic: 'lo', cidr_netmask: '33' }, 6, /prefix length 0-32/],
    [{ ip: '127.0.0.2', nic: 'lo', cidr_netmask: '255.0.255.0' }, 6, /not a valid netmask/],
    [{ ip: '::2', nic: 'lo', label: 'x' }, 6, /IPv4 addresses only/],
    [{ ip: '127.0.0.2', nic: 'lo', label: 'much-too-long-label' }, 6, /longer than 15/],
    [{ ip: '127.0.0.2', nic: 'lo', arp_count: 'many' }, 6, /arp_count/],
    [{ ip: '127.0.0.2', nic: 'lo', vrid: '256' }, 6, /vrid/],
    [{ ip: '127.0.0.2', nic: 'lo', priority: '255' }, 6, /priority/],
    [{ ip: '127.0.0.2', nic: 'lo', advert_int: 'fast' }, 6, /advert_int/],
    [{ ip: '127.0.0.2', nic: 'nosuch0' }, 2, /does not exist/],
  ];
  it.each(cases)('%j -> rc %i', (params, rc, msg) => {
    const r = validate('FloatIP', params);
    expect(r.rc, r.err).toBe(rc);
    if (msg) expect(r.err).toMatch(msg);
    if (rc !== 0) expect(r.err).toMatch(/^ocf-exit-reason:/m);
  });
});

const tmp = mkdtempSync(join(tmpdir(), `belay-val-${process.pid}-`));
const garbage = join(tmp, 'garbage.conf');
writeFileSync(garbage, 'this is { not a valid configuration\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('service agents validate-all', () => {
  it.each([
    ['haproxy', { conffile: '/nonexistent/haproxy.cfg' }, 5],
    ['haproxy', { binary: 'no-such-haproxy' }, 5],
    ['haproxy', { conffile: garbage }, 6],
    ['nginx', { conffile: '/nonexistent/nginx.conf' }, 5],
    ['nginx', { conffile: garbage }, 6],
    ['Dummy', { op_sleep: 'soon' }, 6],
    ['Dummy', { fail_start: 'x' }, 6],
  ] as [string, Record<string, string>, number][])('%s %j -> rc %i', (agent, params, rc) => {
    const r = validate(agent, params);
    expect(r.rc, r.err).toBe(rc);
  });
});
