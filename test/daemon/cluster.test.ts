/**
 * belayd end to end: three real daemons on lab machines (network
 * namespaces, own /run and /etc), driven with crm as a user would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/netns.js';
import type { Cib } from '../../src/cib/model.js';
import { belaydArgv, labDown, labExec, labUp, partition, heal, powerOff, powerOn, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { unpack } from '../../src/scheduler/index.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const BELAY = fileURLToPath(new URL('../../bin/belay', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));
const SOCKET_JS = fileURLToPath(new URL('../../dist/admin/socket.js', import.meta.url));

interface Status {
  node: { name: string };
  dc: { name: string } | null;
  membership: { members: number[]; quorate: boolean };
  synced: boolean;
  cib: Cib;
}

describe('belayd: a 3-node cluster in the lab', () => {
  let lab: ClusterLabState;
  const log: string[] = [];

  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const admin = async (node: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const script = `const { adminCall } = await import(${JSON.stringify(SOCKET_JS)}); process.stdout.write(JSON.stringify(await adminCall('/run/belay/admin.sock', ${JSON.stringify(cmd)}, ${JSON.stringify(args)}, { timeoutMs: 3000 })));`;
    const r = await labExec(lab, node, [process.execPath, '--input-type=module', '-e', script]);
    if (r.exitCode !== 0) throw new Error(`admin ${cmd} on ${node}: ${r.all}`);
    return JSON.parse(String(r.stdout));
  };
  const status = (node: string) => admin(node, 'status') as Promise<Status>;
  /** Where the resource runs, as the scheduler reads this node's CIB. */
  const runningOn = async (node: string, rsc: string): Promise<string[]> => {
    const s = await status(node);
    const ws = unpack(s.cib, Math.floor(Date.now() / 1000));
    return ws.resources.filter((r) => r.id === rsc).flatMap((r) => r.running.map((n) => n.name)).sort();
  };
  const waitFor = waiter(20_000, 150);
  const failCount = async (node: string, on: string, rsc: string) => {
    const s = await status(node);
    const ns = s.cib.status?.find((n) => n.uname === on);
    return (ns?.transientAttributes ?? [])
      .flatMap((set) => set.nvpairs)
      .filter((p) => p.name.startsWith(`fail-count-${rsc}#`))
      .reduce((sum, p) => sum + Number(p.value), 0);
  };

  beforeAll(async () => {
    lab = await labUp({ name: `c${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
  });
  afterAll(async () => {
    if (lab) await labDown(lab);
    if (log.length) console.log(log.join('\n'));
  });

  it('forms one ring of all three nodes with one DC', async () => {
    for (const n of lab.nodes) {
      await waitFor(`${n} in a 3-node ring`, () => status(n), (s) => s.membership.members.length === 3 && s.synced && s.membership.quorate);
    }
    const dcs = await Promise.all(lab.nodes.map(async (n) => (await status(n)).dc?.name));
    expect(new Set(dcs).size).toBe(1);
    // corosync-cfgtool -s / corosync-quorumtool -s, from belayd's own totem.
    const ring = await labExec(lab, 'n3', [process.execPath, BELAY, 'ring', 'status']);
    expect(String(ring.stdout)).toMatch(/state operational, 3 members/);
    const quorum = await labExec(lab, 'n3', [process.execPath, BELAY, 'quorum', 'status']);
    expect(String(quorum.stdout)).toMatch(/Quorate:\s+Yes/);
  });

  it('shows a configuration made on one node on every node', async () => {
    await crm('n2', 'configure', 'property', 'stonith-enabled=false');
    await crm('n2', 'configure', 'primitive', 'web', 'ocf:belay:Dummy', 'params', 'state=/run/web.state', 'op', 'monitor', 'interval=2s', 'meta', 'migration-threshold=2');
    for (const n of lab.nodes) {
      await waitFor(`web configured on ${n}`, () => crm(n, 'configure', 'show', 'web'), (text) => text.includes('primitive web ocf:belay:Dummy'));
    }
    // Who changed it, on every node, as Pacemaker's crm_mon says it.
    const mon = await labExec(lab, 'n3', [process.execPath, CRM_MON, '-1']);
    expect(String(mon.stdout)).toMatch(/Last change: .* by root via crm on n2/);
  });

  let home = '';
  it('starts the primitive on exactly one node', async () => {
    const on = await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1);
    home = on[0]!;
    // The service is really there: the Dummy's state file on that machine only.
    expect((await labExec(lab, home, ['test', '-e', '/run/web.state'])).exitCode).toBe(0);
    for (const n of lab.nodes.filter((x) => x !== home)) expect((await labExec(lab, n, ['test', '-e', '/run/web.state'])).exitCode).not.toBe(0);
  });

  it('restarts the service in place when its monitor fails, then moves it at migration-threshold', async () => {
    const t0 = Date.now();
    await labExec(lab, home, ['rm', '-f', '/run/web.state']);
    await waitFor('fail-count 1', () => failCount('n1', home, 'web'), (c) => c === 1);
    await waitFor('web restarted in place', () => labExec(lab, home, ['test', '-e', '/run/web.state']), (r) => r.exitCode === 0);
    log.push(`monitor failure -> restarted in place: ${Date.now() - t0} ms (monitor interval 2 s)`);
    expect(await runningOn('n1', 'web')).toEqual([home]);
    await labExec(lab, home, ['rm', '-f', '/run/web.state']);
    const moved = await waitFor('web moved away', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1 && nodes[0] !== home);
    log.push(`second failure (migration-threshold=2): moved ${home} -> ${moved[0]}`);
    home = moved[0]!;
  });

  it('starts the resources of a crashed node elsewhere', async () => {
    const survivor = lab.nodes.find((n) => n !== home)!;
    const t0 = Date.now();
    await powerOff(lab, home);
    const on = await waitFor('web recovered', () => runningOn(survivor, 'web'), (nodes) => nodes.length === 1 && nodes[0] !== home);
    log.push(`crash of ${home}: web started on ${on[0]} after ${Date.now() - t0} ms`);
    expect((await labExec(lab, on[0]!, ['test', '-e', '/run/web.state'])).exitCode).toBe(0);
    await powerOn(lab, home);
    await waitFor(`${home} back in the ring`, () => status(home), (s) => s.membership.members.length === 3 && s.synced);
    home = on[0]!;
  });

  it('stops the resources of an isolated node (no quorum) and keeps them on the majority, never both', async () => {
    const isolated = home;
    const majority = lab.nodes.filter((n) => n !== isolated);
    await partition(lab, isolated);
    await waitFor('isolated node without quorum', () => status(isolated), (s) => !s.membership.quorate && s.membership.members.length === 1);
    await waitFor('isolated node stopped web', () => labExec(lab, isolated, ['test', '-e', '/run/web.state']), (r) => r.exitCode !== 0);
    const on = await waitFor('web on the majority', () => runningOn(majority[0]!, 'web'), (nodes) => nodes.length === 1 && majority.includes(nodes[0]!));
    const holders = [];
    for (const n of lab.nodes) if ((await labExec(lab, n, ['test', '-e', '/run/web.state'])).exitCode === 0) holders.push(n);
    expect(holders).toEqual(on);
    await heal(lab);
    await waitFor('ring healed', () => status(isolated), (s) => s.membership.members.length === 3 && s.synced);
    home = on[0]!;
  });

  it('restarts a resource whose parameters changed, stopping what was started with the old ones', async () => {
    const on = await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1);
    const node = on[0]!;
    // crm configure edit with a scripted editor: state=/run/web.state -> /run/web2.state
    const dir = mkdtempSync(join(tmpdir(), 'belay-edit-'));
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s|/run/web.state|/run/web2.state|" "$1"\n', { mode: 0o755 });
    const r = await labExec(lab, 'n2', ['env', `EDITOR=${editor}`, process.execPath, CRM, 'configure', 'edit', 'web']);
    rmSync(dir, { recursive: true, force: true });
    expect(r.exitCode).toBe(0);
    await waitFor('web restarted with the new state file', () => labExec(lab, node, ['test', '-e', '/run/web2.state']), (x) => x.exitCode === 0, 20_000);
    expect((await labExec(lab, node, ['test', '-e', '/run/web.state'])).exitCode).not.toBe(0);
    expect(await runningOn('n1', 'web')).toEqual([node]);
  });

  it('on SIGTERM moves its resources away and stops them before leaving (a clean stop)', async () => {
    const on = await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1);
    const leaving = on[0]!;
    const lab2 = Lab.attach(lab.lab);
    const daemonPid = lab2.pids(leaving).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
      } catch {
        return false;
      }
    });
    expect(daemonPid).toBeDefined();
    process.kill(daemonPid!, 'SIGTERM');
    const survivor = lab.nodes.find((n) => n !== leaving)!;
    const moved = await waitFor('web moved off the leaving node', () => runningOn(survivor, 'web'), (nodes) => nodes.length === 1 && nodes[0] !== leaving);
    // Stopped there by the cluster, not left behind as an orphan.
    expect((await labExec(lab, leaving, ['test', '-e', '/run/web2.state'])).exitCode).not.toBe(0);
    await waitFor('belayd exited', async () => lab2.pids(leaving).includes(daemonPid!), (alive) => !alive);
    log.push(`clean stop of ${leaving}: web moved to ${moved[0]}`);
    await powerOff(lab, leaving);
    await powerOn(lab, leaving);
    await waitFor(`${leaving} back`, () => status(leaving), (s) => s.membership.members.length === 3 && s.synced);
  });

  it('keeps the configuration across a full cluster restart', async () => {
    for (const n of lab.nodes) await powerOff(lab, n);
    for (const n of lab.nodes) await powerOn(lab, n);
    for (const n of lab.nodes) {
      await waitFor(`${n} back`, () => status(n), (s) => s.membership.members.length === 3 && s.synced);
      expect(await crm(n, 'configure', 'show', 'web')).toContain('primitive web ocf:belay:Dummy');
    }
    await waitFor('web running again', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1);
  });

  it('answers bad admin input with an error and keeps running', async () => {
    const script = `const s = (await import('node:net')).createConnection('/run/belay/admin.sock'); s.setEncoding('utf8'); let b = ''; s.on('data', (d) => { b += d; if (b.split('\\n').length > 2) { process.stdout.write(b); s.destroy(); } }); s.write('{not json\\n{"cmd":"frobnicate"}\\n');`;
    const r = await labExec(lab, 'n1', [process.execPath, '--input-type=module', '-e', script]);
    const replies = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error: string });
    expect(replies.map((x) => x.error)).toEqual([expect.stringMatching(/malformed JSON/), 'unknown command: frobnicate']);
    expect((await status('n1')).membership.members).toHaveLength(3);
  });
});
