// Acceptance: the seed tutorial's crm commands on an empty CIB file give XML that
// Pacemaker's own crm_simulate (Debian pacemaker-cli-utils) accepts.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crm, requireBuild, tempDir } from './helpers.js';

const PACEMAKER_SIMULATE = '/usr/sbin/crm_simulate';
const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(() => {
  requireBuild();
  if (!existsSync(PACEMAKER_SIMULATE)) {
    throw new Error(`${PACEMAKER_SIMULATE} is missing: install the Debian package pacemaker-cli-utils (scripts/debian-packages.txt)`);
  }
});

describe("Pacemaker's crm_simulate accepts crm configure show xml", () => {
  it('after the tutorial commands on an empty CIB', () => {
    const file = join(tmp.dir, 'cib.xml');
    writeFileSync(file, '');
    const cmds: string[][] = [
      ['configure', 'primitive', 'FloatIP', 'ocf:heartbeat:IPaddr2', 'params', 'ip=198.51.100.50', 'cidr_netmask=24', 'op', 'monitor', 'interval=15s'],
      ['configure', 'primitive', 'haproxy', 'ocf:heartbeat:haproxy', 'op', 'monitor', 'interval=15s'],
      ['configure', 'clone', 'haproxy-clone', 'haproxy'],
      ['configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone'],
      ['configure', 'property', 'stonith-enabled=false'],
      ['configure', 'node', '1:', 'primary'],
      ['configure', 'node', '2:', 'secondary'],
    ];
    for (const c of cmds) expect(crm(file, ...c).code, c.join(' ')).toBe(0);
    const show = crm(file, 'configure', 'show', 'xml');
    expect(show.code).toBe(0);
    const xml = join(tmp.dir, 'show.xml');
    writeFileSync(xml, show.stdout);
    const r = spawnSync(PACEMAKER_SIMULATE, ['-x', xml, '-S'], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/error|invalid/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Current cluster status:');
    expect(r.stdout).toMatch(/FloatIP\s+\(ocf:heartbeat:IPaddr2\)/);
    expect(r.stdout).toContain('Clone Set: haproxy-clone [haproxy]');
    // The stored file (with its status section) is accepted too.
    const r2 = spawnSync(PACEMAKER_SIMULATE, ['-x', file, '-S'], { encoding: 'utf8' });
    expect(r2.status).toBe(0);
    // And crm_verify finds the configuration valid against Pacemaker's schema.
    const v = spawnSync('/usr/sbin/crm_verify', ['-x', xml], { encoding: 'utf8' });
    expect(v.stderr.split('\n').filter((l) => /error/i.test(l) && !/stonith|fencing|STONITH/.test(l))).toEqual([]);
  });
});
