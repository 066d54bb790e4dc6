/** `crm ra ...` and `belay agent ...` through the built launchers (run `npm run build` first). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const ROOT = resolve(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(() => {
  for (const f of ['dist/cli/crm.js', 'dist/cli/belay.js', 'dist/executor/executor.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  dir = mkdtempSync(join(tmpdir(), `belay-cli-${process.pid}-`));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (cmd: string, args: string[]) => execa(join(ROOT, 'bin', cmd), args, { reject: false, cwd: ROOT });

describe('crm ra', () => {
  it('lists belay agents and stock ones', async () => {
    const belay = await run('crm', ['ra', 'list', 'ocf', 'belay']);
    expect(belay.exitCode).toBe(0);
    expect(belay.stdout.split(/\s+/).sort()).toEqual(['Dummy', 'FloatIP', 'haproxy', 'nginx']);
    const all = await run('crm', ['ra', 'list', 'ocf']);
    expect(all.stdout.split(/\s+/)).toEqual(expect.arrayContaining(['FloatIP', 'IPaddr2', 'Dummy']));
    const classes = await run('crm', ['ra', 'classes']);
    expect(classes.stdout).toMatch(/^lsb\nocf \/ .*belay.*heartbeat/);
    expect((await run('crm', ['ra', 'list', 'ocf', 'nosuch'])).exitCode).toBe(1);
    expect((await run('crm', ['ra', 'list', 'systemd'])).exitCode).toBe(2);
  });

  it('shows an agent the crmsh way', async () => {
    const r = await run('crm', ['ra', 'info', 'ocf:belay:FloatIP']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Floating IPv4\/IPv6 address \(ocf:belay:FloatIP\)/);
    expect(r.stdout).toContain('ip* (string): IPv4 or IPv6 address');
    expect(r.stdout).toContain('arp_count (integer, [5]):');
    expect(r.stdout).toMatch(/Operations' defaults[\s\S]*monitor\s+timeout=20s interval=10s/);
    const meta = await run('crm', ['ra', 'meta', 'ocf:heartbeat:haproxy']);
    expect(meta.stdout).toContain('[provided by ocf:belay:haproxy]');
    expect(meta.stdout).toContain('conffile (string, [/etc/haproxy/haproxy.cfg])');
    const xml = await run('crm', ['ra', 'info', 'ocf:belay:Dummy', '--xml']);
    expect(xml.stdout).toMatch(/^<\?xml[\s\S]*<resource-agent name="Dummy"/);
    const missing = await run('crm', ['ra', 'info', 'ocf:belay:NoSuch']);
    expect(missing.exitCode).toBe(5);
    expect(missing.stderr).toMatch(/not found/);
    expect((await run('crm', ['ra', 'info', 'bad:x:y:z'])).exitCode).toBe(2);
  });
});

describe('belay agent', () => {
  it('runs start / monitor / stop by hand and exits with the rc', async () => {
    const state = join(dir, 'd.state');
    const start = await run('belay', ['agent', 'ocf:belay:Dummy', 'start', '--param', `state=${state}`]);
    expect(start.exitCode).toBe(0);
    expect(start.stdout).toContain("Operation force-start (start) for Dummy (ocf:belay:Dummy) returned: 'ok' (0, OCF_SUCCESS)");
    expect(start.stdout).toMatch(/>  stderr: Dummy\(Dummy\)\[\d+\]: INFO: started/);
    expect((await run('belay', ['agent', 'ocf:belay:Dummy', 'monitor', '-p', `state=${state}`])).exitCode).toBe(0);
    expect((await run('belay', ['agent', 'ocf:belay:Dummy', 'stop', '-p', `state=${state}`])).exitCode).toBe(0);
    const check = await run('belay', ['agent', 'ocf:belay:Dummy', 'monitor', '-p', `state=${state}`]);
    expect(check.exitCode).toBe(7);
    expect(check.stdout).toContain("returned: 'not running' (7, OCF_NOT_RUNNING)");
  });

  it('reports a missing required parameter, a timeout, and JSON', async () => {
    const noip = await run('belay', ['agent', 'ocf:belay:FloatIP', 'start']);
    expect(noip.exitCode).toBe(6);
    expect(noip.stdout).toContain("required parameter 'ip' of FloatIP is missing");
    const slow = await run('belay', ['agent', 'ocf:belay:Dummy', 'start', '-p', `state=${join(dir, 's')}`, '-p', 'delay_start=30', '--timeout', '500ms']);
    expect(slow.exitCode).toBe(124);
    expect(slow.stdout).toMatch(/timed out after \d+ms: process group killed/);
    const json = await run('belay', ['agent', 'ocf:belay:Dummy', 'validate-all', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ rc: 0, rcName: 'OCF_SUCCESS', status: 'done', agent: 'ocf:belay:Dummy' });
    const bad = await run('belay', ['agent', 'ocf:belay:Dummy', 'start', '--param', 'novalue']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/NAME=VALUE/);
  });
});
