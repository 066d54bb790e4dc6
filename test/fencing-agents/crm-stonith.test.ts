/**
 * The stonith class in crm: `crm ra list stonith` (the fence agents
 * installed), `crm ra info stonith:...` from the agent's own metadata plus
 * the fencer's parameters, and `crm configure primitive ... stonith:X`
 * refused when X is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));

describe('crm and the stonith class', () => {
  let dir: string;
  let cib: string;
  const crm = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CRM, ...args], { encoding: 'utf8', env: { ...process.env, CIB_file: cib } });
    return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
  };

  beforeAll(() => {
    for (const f of ['dist/cli/crm.js', 'dist/cli/fence-belay-lab.js']) {
      if (!existsSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)))) throw new Error(`${f} is missing: run npm run build first`);
    }
    if (!existsSync('/usr/sbin/fence_dummy')) throw new Error('/usr/sbin/fence_dummy is missing: install the Debian package fence-agents');
    dir = mkdtempSync(join(tmpdir(), 'crm-stonith-'));
    cib = join(dir, 'cib.xml');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('crm ra classes and crm ra list stonith name the installed fence agents, ours among them', () => {
    expect(crm('ra', 'classes').out).toMatch(/^stonith$/m);
    const r = crm('ra', 'list', 'stonith');
    expect(r.rc).toBe(0);
    const names = r.out.split(/\s+/).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['fence_dummy', 'fence_virsh', 'fence_ipmilan', 'fence_belay_lab']));
    expect(names.every((n) => n.startsWith('fence_'))).toBe(true);
  });

  it('crm ra info stonith:fence_dummy shows its metadata and the fencer parameters', () => {
    const r = crm('ra', 'info', 'stonith:fence_dummy');
    expect(r.rc, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toBe('Dummy fence agent (stonith:fence_dummy)');
    expect(r.out).toMatch(/^status_file \(string, \[\/tmp\/fence_dummy\.status\]\): File with status$/m);
    expect(r.out).toMatch(/^type \(string, \[file\]\): Type of the dummy fence agent$/m);
    expect(r.out).toMatch(/^pcmk_host_check \(string, \[dynamic-list\]\): /m);
    expect(r.out).toMatch(/^pcmk_delay_max \(time, \[0s\]\): /m);
    expect(r.out).toMatch(/Operations' defaults[^\n]*\n\n(\s+\w[^\n]*\n)*\s+reboot\s*\n/);
    expect(r.out).toMatch(/^\s+start\s+timeout=20s$/m);
    const xml = crm('ra', 'info', 'stonith:fence_belay_lab', '--xml');
    expect(xml.out).toContain('<resource-agent name="fence_belay_lab"');
    const missing = crm('ra', 'info', 'stonith:fence_nonexistent');
    expect(missing.rc).toBe(5);
    expect(missing.err).toContain('fence agent stonith:fence_nonexistent not found');
  });

  it('crm configure on a CIB file accepts a fence device whose agent is not installed here, as crmsh does (the live cluster refuses it: test/daemon/fencing.test.ts)', () => {
    expect(crm('configure', 'property', 'stonith-enabled=true').rc).toBe(0);
    expect(crm('configure', 'primitive', 'fence-lab', 'stonith:fence_belay_lab').rc).toBe(0);
    const r = crm('configure', 'primitive', 'f1', 'stonith:fence_nonexistent', 'params', 'pcmk_host_list=n1');
    expect(r.rc).toBe(0);
    expect(crm('configure', 'show').out).toMatch(/primitive f1 stonith:fence_nonexistent/);
    // The same through a file loaded with crm configure load.
    const file = join(dir, 'devices.crm');
    writeFileSync(file, 'primitive fd stonith:fence_dummy params type=file\nprimitive bad stonith:fence_nonexistent\n');
    const load = crm('configure', 'load', 'update', file);
    expect(load.rc).toBe(0);
    expect(crm('configure', 'show').out).toMatch(/primitive bad stonith:fence_nonexistent/);
    expect(crm('configure', 'show').out).toMatch(/primitive fd stonith:fence_dummy \\\n\s+params type=file/);
  });
});
