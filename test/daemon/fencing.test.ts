/**
 * Fencing end to end: three real belayd on lab machines, the lab's power
 * switch (fence_belay_lab) and fence_dummy (Debian fence-agents) as devices,
 * driven with crm, crm_mon and stonith_admin as a user would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { Lab } from '../../src/lab/netns.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cib } from '../../src/cib/model.js';
import { belaydArgv, heal, labDown, labExec, labUp, loadLabState, partition, powerOff, powerOn, saveLabState, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { unpack } from '../../src/scheduler/index.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));
const STONITH_ADMIN = fileURLToPath(new URL('../../bin/stonith_admin', import.meta.url));
const SOCKET_JS = fileURLToPath(new URL('../../dist/admin/socket.js', import.meta.url));

interface Status {
  node: { name: string };
  dc: { name: string } | null;
  membership: { members: number[]; quorate: boolean };
  synced: boolean;
  transition: { state: string } | null;
  cib: Cib;
}

describe('belayd: fencing in a 3-node lab', () => {
  let lab: ClusterLabState;
  const log: string[] = [];

  const run = async (node: string, argv: string[]) => {
    const r = await labExec(lab, node, argv);
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
  };
  const crm = async (node: string, ...args: string[]) => {
    const r = await run(node, [process.execPath, CRM, ...args]);
    if (r.code !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.code}): ${r.all}`);
    return r.stdout;
  };
  const admin = async (node: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const script = `const { adminCall } = await import(${JSON.stringify(SOCKET_JS)}); process.stdout.write(JSON.stringify(await adminCall('/run/belay/admin.sock', ${JSON.stringify(cmd)}, ${JSON.stringify(args)}, { timeoutMs: 5000 })));`;
    const r = await run(node, [process.execPath, '--input-type=module', '-e', script]);
    if (r.code !== 0) throw new Error(`admin ${cmd} on ${node}: ${r.all}`);
    return JSON.parse(r.stdout);
  };
  const status = (node: string) => admin(node, 'status') as Promise<Status>;
  const runningOn = async (node: string, rsc: string): Promise<string[]> => {
    const s = await status(node);
    const ws = unpack(s.cib, Math.floor(Date.now() / 1000));
    return ws.resources.filter((r) => r.id === rsc).flatMap((r) => r.running.map((n) => n.name)).sort();
  };
  /** Hosts where the Dummy's state file really exists (the service runs there). */
  const holders = async (file: string): Promise<string[]> => {
    const out: string[] = [];
    for (const n of lab.nodes) {
      try {
        if ((await run(n, ['test', '-e', file])).code === 0) out.push(n);
      } catch {
        /* powered off */
      }
    }
    return out;
  };
  const waitFor = waiter(60_000, 200);
  const powerCycles = (host: string) => loadLabState(lab.name).powerCycles?.[host] ?? 0;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, iptables)');
    if (!existsSync('/usr/sbin/fence_dummy')) throw new Error('fence_dummy is missing: apt-get install fence-agents');
    lab = await labUp({ name: `f${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
    for (const n of lab.nodes) {
      await waitFor(`${n} in a 3-node ring`, () => status(n), (s) => s.membership.members.length === 3 && s.synced && s.membership.quorate);
    }
  });
  afterAll(async () => {
    // The daemons' logs, for a failure's post-mortem.
    if (lab && process.env.BELAY_KEEP_LOGS) {
      for (const n of lab.nodes) {
        try {
          copyFileSync(join(lab.dir, n, 'belayd.log'), join(process.env.BELAY_KEEP_LOGS, `${n}-belayd.log`));
        } catch {
          /* never started */
        }
      }
    }
    if (lab) await labDown(lab);
    if (log.length) console.log(log.join('\n'));
  });

  it('starts nothing while fencing is enabled without a device, and says why', async () => {
    await crm('n1', 'configure', 'primitive', 'web', 'ocf:belay:Dummy', 'params', 'state=/run/web.state', 'op', 'monitor', 'interval=2s');
    // Probed everywhere and the transition done: the cluster has decided.
    await waitFor('web probed on every node, cluster idle', () => status('n1'), (s) =>
      lab.nodes.every((n) => s.cib.status?.find((x) => x.uname === n)?.lrm?.resources.some((r) => r.id === 'web')) && s.transition?.state !== 'running');
    expect(await runningOn('n1', 'web')).toEqual([]);
    expect(await holders('/run/web.state')).toEqual([]);
    const verify = await run('n2', [process.execPath, CRM, 'configure', 'verify']);
    expect(verify.code).not.toBe(0);
    expect(verify.stderr).toMatch(/error: Resource start-up disabled since no STONITH resources have been defined/);
    const mon = await run('n3', [process.execPath, CRM_MON, '-1']);
    expect(mon.stderr).toMatch(/error: Resource start-up disabled since no STONITH resources have been defined/);
    const full = await run('n3', [process.execPath, CRM_MON, '-1', '-r']);
    expect(full.stdout).toMatch(/web\s+\(ocf:belay:Dummy\):\s+Stopped/);
  });

  let home = '';
  it('refuses a fence device whose agent is not installed on the live cluster, and keeps the configuration', async () => {
    const before = await crm('n1', 'configure', 'show');
    const r = await run('n1', [process.execPath, CRM, 'configure', 'primitive', 'fence-x', 'stonith:fence_nonexistent']);
    expect(r.code).not.toBe(0);
    expect(r.all).toContain('stonith:fence_nonexistent of "fence-x": no such fence agent');
    expect(await crm('n1', 'configure', 'show')).toBe(before);
  });

  it('with the lab power switch as device, starts web on one node', async () => {
    await crm('n1', 'configure', 'primitive', 'fence-lab', 'stonith:fence_belay_lab', 'op', 'monitor', 'interval=10s');
    const on = await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1);
    home = on[0]!;
    await waitFor('web state file on its node only', () => holders('/run/web.state'), (h) => h.length === 1 && h[0] === home, 20_000);
    const reg = await run('n2', [process.execPath, STONITH_ADMIN, '--list-registered']);
    expect(reg.stdout).toContain('fence-lab');
    const can = await run('n2', [process.execPath, STONITH_ADMIN, '--list', home]);
    expect(can.stdout).toMatch(/fence-lab\n1 fence device found/);
  });

  it('fences an isolated node before starting its resources on the majority, never on both', async () => {
    const isolated = home;
    const majority = lab.nodes.filter((n) => n !== isolated);
    const cyclesBefore = powerCycles(isolated);
    const t0 = Date.now();
    await partition(lab, isolated);
    // The power switch (another process) must know, so a power cycle clears the rules as on a real host.
    saveLabState(lab);
    const seenTogether: string[][] = [];
    const on = await waitFor('web on the majority after fencing', async () => {
      const h = await holders('/run/web.state');
      if (h.length > 1) seenTogether.push(h);
      return runningOn(majority[0]!, 'web');
    }, (nodes) => nodes.length === 1 && majority.includes(nodes[0]!), 90_000);
    log.push(`partition of ${isolated}: web on ${on[0]} after ${Date.now() - t0} ms`);
    expect(seenTogether).toEqual([]);
    await waitFor('power cycle of the isolated node', async () => powerCycles(isolated), (c) => c > cyclesBefore, 30_000);
    const hist = await run(majority[0]!, [process.execPath, STONITH_ADMIN, '--history', isolated]);
    expect(hist.stdout).toMatch(new RegExp(`reboot of ${isolated} successful: delegate=n\\d, client=pacemaker-controld, origin=n\\d`));
    const mon = await run(majority[1]!, [process.execPath, CRM_MON, '-1', '-m']);
    expect(mon.stdout).toMatch(/Fencing History:\n {2}\* reboot of .* successful/);
    expect(await holders('/run/web.state')).toEqual(on);
    await heal(lab);
    await waitFor('ring healed', () => status(isolated), (s) => s.membership.members.length === 3 && s.synced, 90_000);
    home = on[0]!;
  }, 180_000);

  it('fences a node whose belayd was killed (its service still running) before starting the service elsewhere', async () => {
    const victim = (await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1))[0]!;
    const others = lab.nodes.filter((n) => n !== victim);
    const cyclesBefore = powerCycles(victim);
    const lab2 = Lab.attach(lab.lab);
    const daemonPid = lab2.pids(victim).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
      } catch {
        return false;
      }
    });
    expect(daemonPid).toBeDefined();
    const t0 = Date.now();
    process.kill(daemonPid!, 'SIGKILL');
    const seenTogether: string[][] = [];
    const on = await waitFor('web on another node after fencing', async () => {
      const h = await holders('/run/web.state');
      if (h.length > 1) seenTogether.push(h);
      return runningOn(others[0]!, 'web');
    }, (nodes) => nodes.length === 1 && others.includes(nodes[0]!), 90_000);
    log.push(`kill -9 of belayd on ${victim}: web on ${on[0]} after ${Date.now() - t0} ms`);
    expect(seenTogether).toEqual([]);
    expect(powerCycles(victim)).toBeGreaterThan(cyclesBefore);
    await waitFor(`${victim} back after the power cycle`, () => status(victim), (s) => s.membership.members.length === 3 && s.synced, 90_000);
    expect(await holders('/run/web.state')).toEqual(on);
  }, 180_000);

  it('does not fence a node whose belayd stops cleanly (SIGTERM)', async () => {
    const leaving = lab.nodes.find((n) => n !== home) ?? 'n3';
    const cyclesBefore = powerCycles(leaving);
    const lab2 = Lab.attach(lab.lab);
    const daemonPid = lab2.pids(leaving).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
      } catch {
        return false;
      }
    });
    expect(daemonPid).toBeDefined();
    const watcher = lab.nodes.find((n) => n !== leaving)!;
    const before = ((await admin(watcher, 'fence-history', { target: leaving })) as { history: unknown[] }).history.length;
    process.kill(daemonPid!, 'SIGTERM');
    await waitFor('belayd exited', async () => lab2.pids(leaving).includes(daemonPid!), (alive) => !alive, 60_000);
    const s = await waitFor(`${leaving} cleanly down`, () => status(watcher), (x) => x.membership.members.length === 2 && x.synced && x.transition?.state !== 'running');
    expect(s.cib.status?.find((n) => n.uname === leaving)).toMatchObject({ expected: 'down', inCcm: 'false' });
    const mon = await run(watcher, [process.execPath, CRM_MON, '-1']);
    expect(mon.stdout).toMatch(new RegExp(`OFFLINE: \\[ ${leaving} \\]`));
    expect(((await admin(watcher, 'fence-history', { target: leaving })) as { history: unknown[] }).history.length).toBe(before);
    expect(powerCycles(leaving)).toBe(cyclesBefore);
    // Back, as systemd would start it again.
    await powerOff(lab, leaving);
    await powerOn(lab, leaving);
    // lab.json is shared with the power switch: record the new machine there.
    saveLabState(lab);
    await waitFor(`${leaving} back`, () => status(leaving), (x) => x.membership.members.length === 3 && x.synced, 90_000);
  }, 180_000);

  it('with a device that fails, keeps the crashed node\'s resources stopped until stonith_admin --confirm', async () => {
    await crm('n1', 'configure', 'delete', '--force', 'fence-lab');
    await crm('n1', 'configure', 'primitive', 'fence-bad', 'stonith:fence_dummy', 'params', 'type=fail', 'power_timeout=1', 'pcmk_host_check=none');
    await crm('n1', 'configure', 'property', 'stonith-max-attempts=2');
    const crashed = (await waitFor('web running', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1))[0]!;
    const survivors = lab.nodes.filter((n) => n !== crashed);
    await powerOff(lab, crashed);
    saveLabState(lab);
    await waitFor('failed fencing in crm_mon', () => run(survivors[0]!, [process.execPath, CRM_MON, '-1']), (r) =>
      new RegExp(`Failed Fencing Actions:\\n {2}\\* reboot of ${crashed} failed`).test(r.stdout), 90_000);
    // Until the operator says so, web stays stopped everywhere (it may still run on the unclean node).
    await waitFor('fencing gave up', () => admin(survivors[0]!, 'fence-history', { target: crashed }) as Promise<{ history: Array<{ state: string }> }>, (h) => h.history.filter((e) => e.state === 'failed').length >= 2, 90_000);
    expect(await runningOn(survivors[0]!, 'web')).toEqual([crashed]);
    expect(await holders('/run/web.state')).toEqual([]);
    const mon = await run(survivors[1]!, [process.execPath, CRM_MON, '-1']);
    expect(mon.stdout).toMatch(new RegExp(`Node ${crashed}: UNCLEAN \\(offline\\)`));
    const confirm = await run(survivors[1]!, [process.execPath, STONITH_ADMIN, '--confirm', crashed]);
    expect(confirm.code).toBe(0);
    const on = await waitFor('web recovered after the confirmation', () => runningOn(survivors[0]!, 'web'), (nodes) => nodes.length === 1 && survivors.includes(nodes[0]!), 60_000);
    await waitFor('web state file on the new node', () => holders('/run/web.state'), (h) => h.length === 1 && h[0] === on[0], 20_000);
    await powerOn(lab, crashed);
    saveLabState(lab);
  }, 180_000);
});
