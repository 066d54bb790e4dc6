/**
 * runFenceAgent against real processes: the fence-agents package's
 * fence_dummy (type=file keeps its plug's power in a file; type=fail never
 * manages to switch), and small agents written here to watch what an agent
 * is given (stdin, argv, environment) and what happens on a timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fenceAgentInput, fenceAgentPath, fenceListTargets, listFenceAgents, parseFenceList, parseFenceMetadata, runFenceAgent,
} from '../../src/fencing/agent.js';

const DUMMY = '/usr/sbin/fence_dummy';

function requireFenceAgents(): void {
  if (!existsSync(DUMMY)) throw new Error(`${DUMMY} is missing: install the Debian package fence-agents (scripts/debian-packages.txt)`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('runFenceAgent with the real fence_dummy', () => {
  let dir: string;
  beforeAll(() => {
    requireFenceAgents();
    dir = mkdtempSync(join(tmpdir(), 'fence-dummy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds fence_dummy in /usr/sbin and lists it among the installed agents', () => {
    expect(fenceAgentPath('fence_dummy')).toBe(DUMMY);
    expect(fenceAgentPath('fence_no_such_agent')).toBeUndefined();
    expect(fenceAgentPath('../sbin/fence_dummy')).toBeUndefined();
    const all = listFenceAgents();
    expect(all).toContain('fence_dummy');
    expect(all).toContain('fence_virsh');
  });

  it('reads its metadata the way fence-agents print it', async () => {
    const r = await runFenceAgent('fence_dummy', 'metadata', {}, { timeoutMs: 30_000 });
    expect(r.rc).toBe(0);
    const meta = parseFenceMetadata(r.stdout);
    expect(meta.name).toBe('fence_dummy');
    expect(meta.shortdesc).toBe('Dummy fence agent');
    expect(meta.parameters.find((p) => p.name === 'status_file')?.default).toBe('/tmp/fence_dummy.status');
    expect(meta.actions.map((a) => a.name)).toEqual(expect.arrayContaining(['on', 'off', 'reboot', 'status', 'monitor']));
    expect(meta.hostArgument).toBeUndefined(); // fence_dummy takes no plug
  });

  it('type=file: on, status says ON (rc 0), off, status says OFF (rc 2), reboot succeeds', async () => {
    const statusFile = join(dir, 'power');
    const params = { type: 'file', status_file: statusFile };
    const run = (action: 'on' | 'off' | 'status' | 'reboot' | 'monitor') => runFenceAgent('fence_dummy', action, params, { timeoutMs: 30_000 });
    let r = await run('on');
    expect(r.rc, r.stderr).toBe(0);
    expect(readFileSync(statusFile, 'utf8')).toBe('on');
    r = await run('status');
    expect(r.rc).toBe(0);
    expect(r.stdout).toContain('Status: ON');
    r = await run('off');
    expect(r.rc, r.stderr).toBe(0);
    expect(r.stdout).toContain('Success: Powered OFF');
    expect(readFileSync(statusFile, 'utf8')).toBe('off');
    r = await run('status');
    expect(r.rc).toBe(2);
    expect(r.stdout).toContain('Status: OFF');
    r = await run('reboot');
    expect(r.rc, r.stderr).toBe(0);
    expect(r.stdout).toContain('Success: Rebooted');
    expect(readFileSync(statusFile, 'utf8')).toBe('on');
    expect((await run('monitor')).rc).toBe(0);
  });

  it('type=fail: the device never switches, off fails with rc 1', async () => {
    const r = await runFenceAgent('fence_dummy', 'off', { type: 'fail', power_timeout: '1', stonith_status_sleep: '0' }, { timeoutMs: 60_000 });
    expect(r.timedOut).toBe(false);
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain('Timed out waiting to power OFF');
  });

  it('a device slower than its timeout: the agent is killed, timedOut is set', async () => {
    const r = await runFenceAgent('fence_dummy', 'reboot', { type: 'file', status_file: join(dir, 'slow'), delay: '60' }, { timeoutMs: 1500 });
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(30_000);
    expect(existsSync(join(dir, 'slow'))).toBe(false);
  });

  it('a missing agent is rc 127, no process run', async () => {
    const r = await runFenceAgent('fence_no_such_agent', 'status', {}, { timeoutMs: 5000 });
    expect(r.rc).toBe(127);
    expect(r.stderr).toContain("fence agent 'fence_no_such_agent' not found");
  });
});

describe('runFenceAgent: what the agent is given, and the process group on timeout', () => {
  let dir: string;
  const saved = process.env.BELAY_FENCE_DIRS;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fence-own-'));
    // Prints its stdin, its arguments and its environment, as a device would see them.
    writeFileSync(join(dir, 'fence_echo'), '#!/bin/sh\necho "argv=$*"\nenv | sed "s/^/env:/"\nsed "s/^/stdin:/"\n', { mode: 0o755 });
    // Starts a child that outlives it unless the whole group is killed, then hangs.
    writeFileSync(join(dir, 'fence_hang'), `#!/bin/sh\nsleep 300 &\necho $! > ${join(dir, 'child.pid')}\nsleep 300\n`, { mode: 0o755 });
    process.env.BELAY_FENCE_DIRS = dir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.BELAY_FENCE_DIRS;
    else process.env.BELAY_FENCE_DIRS = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes action, target and secrets on stdin only: nothing in argv or the environment', async () => {
    const r = await runFenceAgent('fence_echo', 'reboot', { plug: 'n2', nodename: 'n2', passwd: 's3cret', ip: '192.0.2.1' }, { timeoutMs: 10_000 });
    expect(r.rc).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('stdin:'))).toEqual(['stdin:action=reboot', 'stdin:plug=n2', 'stdin:nodename=n2', 'stdin:passwd=s3cret', 'stdin:ip=192.0.2.1']);
    expect(lines).toContain('argv=');
    const env = lines.filter((l) => l.startsWith('env:'));
    expect(env.join('\n')).not.toContain('s3cret');
    expect(env.some((l) => l.startsWith('env:PATH='))).toBe(true);
  });

  it('refuses a value that would smuggle in a second line, without running the agent', async () => {
    const r = await runFenceAgent('fence_echo', 'status', { plug: 'n1\naction=off' }, { timeoutMs: 10_000 });
    expect(r.rc).toBe(126);
    expect(r.stdout).toBe('');
    expect(() => fenceAgentInput('off', { 'bad name': 'x' })).toThrow(/bad fence agent parameter name/);
    expect(fenceAgentInput('off', { action: 'on', port: 'n1' })).toBe('action=off\nport=n1\n');
  });

  it('on timeout kills the whole process group, children included', async () => {
    const r = await runFenceAgent('fence_hang', 'off', { plug: 'n1' }, { timeoutMs: 1000 });
    expect(r.timedOut).toBe(true);
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    expect(child).toBeGreaterThan(0);
    // The runner returns once the group is gone; the child may linger only as a zombie until reaped.
    const state = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]![0] : 'gone';
    expect(alive(child) ? state : 'gone').toMatch(/^(gone|Z)$/);
  });
});

describe('parsing list output', () => {
  it('reads "plug,alias" lines and skips notices', () => {
    const out = 'n1,\nn2,node-two\nvm3,,ON\nNOTICE: List option is not working on this device yet\n\n';
    expect(parseFenceList(out)).toEqual([{ plug: 'n1' }, { plug: 'n2', alias: 'node-two' }, { plug: 'vm3', status: 'ON' }]);
    expect(fenceListTargets(out)).toEqual(['n1', 'n2', 'node-two', 'vm3']);
    expect(parseFenceList('N/A\n')).toEqual([]);
  });
});
