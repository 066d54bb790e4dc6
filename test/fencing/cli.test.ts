// crm node fence|clearstate on a CIB file, crm configure verify without a
// fence device, crm_mon's fencing sections, and stonith_admin's argument errors.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { fencingSections } from '../../src/status/fencing.js';
import type { FenceEvent } from '../../src/fencing/history.js';
import { crm, requireBuild, ROOT, tempDir } from '../crm/helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(() => requireBuild());

describe('crm: fencing commands on a CIB file', () => {
  const file = join(tmp.dir, 'cib.xml');
  it('verify says why nothing starts when fencing is enabled without a device', () => {
    expect(crm(file, 'configure', 'node', 'n1').code).toBe(0);
    expect(crm(file, 'configure', 'node', 'n2').code).toBe(0);
    expect(crm(file, 'configure', 'primitive', 'web', 'ocf:heartbeat:Dummy').code).toBe(0);
    const bad = crm(file, 'configure', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'error: Resource start-up disabled since no STONITH resources have been defined\n' +
        'error: Either configure some or disable STONITH with the stonith-enabled option\n' +
        'error: NOTE: Clusters with shared data need STONITH to ensure data integrity\n' +
        'Errors found during check: config not valid\n',
    );
    expect(crm(file, 'configure', 'primitive', 'fence-a', 'stonith:fence_dummy', 'params', 'pcmk_host_list=n1 n2').code).toBe(0);
    expect(crm(file, 'configure', 'verify')).toMatchObject({ code: 0, stderr: '' });
  });

  it('crm node fence asks the scheduler to fence the node (terminate=true)', () => {
    const r = crm(file, 'node', 'fence', 'n2');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const cib = parseCibXml(readFileSync(file, 'utf8'));
    const n2 = cib.status!.find((s) => s.uname === 'n2')!;
    expect(n2.transientAttributes.flatMap((s) => s.nvpairs).map((p) => `${p.name}=${p.value}`)).toContain('terminate=true');
    expect(crm(file, 'node', 'fence', 'nope')).toMatchObject({ code: 1, stderr: expect.stringMatching(/node "nope" does not exist/) });
  });

  it('crm node clearstate forgets an offline node\'s state', () => {
    const r = crm(file, 'node', 'clearstate', 'n2');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const n2 = parseCibXml(readFileSync(file, 'utf8')).status!.find((s) => s.uname === 'n2')!;
    expect(n2).toMatchObject({ inCcm: 'false', crmd: 'offline', join: 'down', expected: 'down', transientAttributes: [] });
  });
});

describe('crm_mon: fencing sections', () => {
  const ev = (id: string, target: string, state: FenceEvent['state'], at: number, extra: Partial<FenceEvent> = {}): FenceEvent => ({
    id, target, action: 'reboot', state, origin: 'n1', client: 'pacemaker-controld', executioner: 'n2', requestedAt: at, completedAt: at + 1, ...extra,
  });
  it('shows failed and pending by default, successful with -m, in Pacemaker\'s layout', () => {
    const history = [
      ev('a', 'n3', 'failed', 100, { exitReason: 'fence-a returned 1' }),
      ev('b', 'n3', 'done', 200),
      ev('c', 'n4', 'failed', 300),
      ev('d', 'n5', 'pending', 400),
    ];
    const one = fencingSections(history, 1).join('\n');
    expect(one).toMatch(/^\nFailed Fencing Actions:\n {2}\* reboot of n4 failed: delegate=n2, client=pacemaker-controld, origin=n1, last-failed='\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d'\n/);
    expect(one).toMatch(/\* reboot of n3 failed \(fence-a returned 1\): delegate=n2, .* \(a later attempt from n2 succeeded\)/);
    expect(one).toMatch(/Pending Fencing Actions:\n {2}\* reboot of n5 pending: client=pacemaker-controld, origin=n1$/);
    expect(one).not.toMatch(/Fencing History/);
    expect(fencingSections(history, 2).join('\n')).toMatch(/Fencing History:\n {2}\* reboot of n3 successful: delegate=n2, client=pacemaker-controld, origin=n1, last-successful='/);
    expect(fencingSections(history, 0)).toEqual([]);
  });
});

describe('stonith_admin', () => {
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/stonith_admin'), ...args], { encoding: 'utf8', env: { ...process.env, BELAY_ADMIN_SOCKET: join(tmp.dir, 'none.sock') } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  it('refuses bad arguments and says why when no cluster answers', () => {
    expect(run('--reboot')).toMatchObject({ code: 64, stderr: 'stonith_admin: --reboot needs a node name\n' });
    expect(run('-B', 'n1', '-C', 'n2')).toMatchObject({ code: 64, stderr: 'stonith_admin: one command at a time\n' });
    expect(run('--frob')).toMatchObject({ code: 64 });
    expect(run('--help').stdout).toMatch(/-B, --reboot=NODE/);
    const down = run('--history', '*');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^stonith_admin: Command failed: /);
  });
  it('lists the installed fence agents', () => {
    const r = run('--list-installed');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ fence_dummy\n/);
    expect(r.stdout).toMatch(/ fence_belay_lab\n/);
    expect(r.stdout).toMatch(/\d+ fence devices found\n$/);
  });
});
