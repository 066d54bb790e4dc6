/**
 * A belayd crash is not a host crash: `kill -9` of belayd while the services
 * it started keep running, then a start again as the systemd unit's
 * Restart= does. The restarted daemon's probes must find what it left (the
 * floating IP on the interface, the Dummy's state file), report it active,
 * and leave it to the cluster (multiple-active: stop both, start one), never
 * beside a new holder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/netns.js';
import { machineSpawn } from '../../src/lab/machine.js';
import { belaydArgv, labDown, labExec, labUp, type ClusterLabState } from '../../src/lab/cluster-lab.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const BELAY = fileURLToPath(new URL('../../bin/belay', import.meta.url));

describe('belayd killed with -9 and started again (systemd Restart=) on the FloatIP holder', () => {
  let lab: ClusterLabState;
  const log: string[] = [];
  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const holders = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const n of lab.nodes) {
      const r = await labExec(lab, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      if (String(r.stdout).includes(` ${lab.vip}/`)) out.push(n);
    }
    return out;
  };
  const dummyOn = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const n of lab.nodes) if ((await labExec(lab, n, ['test', '-e', '/run/crash-dummy.state'])).exitCode === 0) out.push(n);
    return out;
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> => {
    const start = Date.now();
    let last: T | undefined;
    while (Date.now() - start < timeoutMs) {
      last = await probe().catch(() => undefined as T);
      if (last !== undefined && ok(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
  };
  /** belayd's pid on a node (the node process whose argv has "daemon"). */
  const daemonPid = (node: string): number | undefined =>
    Lab.attach(lab.lab)
      .pids(node)
      .find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('daemon');
        } catch {
          return false;
        }
      });
  const ringOf = async (node: string) => String((await labExec(lab, node, [process.execPath, BELAY, 'ring', 'status'])).stdout);

  beforeAll(async () => {
    lab = await labUp({ name: `k${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
    await waitFor('a 3-node ring', () => ringOf('n1'), (s) => /state operational, 3 members/.test(s));
    await waitFor('n1 synced', () => crm('n1', 'configure', 'show'), (t) => t.includes('node 3: n3'));
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    await crm('n1', 'configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', `ip=${lab.vip}`, 'cidr_netmask=24', 'vrid=50', 'op', 'monitor', 'interval=5s');
    await crm('n1', 'configure', 'primitive', 'keep', 'ocf:belay:Dummy', 'params', 'state=/run/crash-dummy.state', 'op', 'monitor', 'interval=5s');
    await crm('n1', 'configure', 'colocation', 'keep-with-ip', 'inf:', 'keep', 'FloatIP');
  }, 120_000);
  afterAll(async () => {
    if (lab) await labDown(lab);
    if (log.length) console.log(log.join('\n'));
  });

  it('finds the address it left, lets the cluster keep exactly one holder, and stops it on crm resource stop', async () => {
    const [holder] = await waitFor('the floating IP on one node', holders, (h) => h.length === 1);
    await waitFor('the Dummy beside it', dummyOn, (d) => d.length === 1 && d[0] === holder);
    const pid = daemonPid(holder!);
    expect(pid, `belayd on ${holder}`).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor('belayd gone', async () => daemonPid(holder!) === undefined, (gone) => gone);
    // The services outlive the daemon (KillMode=process): the address stays for now.
    expect(await holders()).toContain(holder);
    // The cluster sees the node leave and starts the address elsewhere; the
    // old one is still on the crashed daemon's host (the case to handle).
    const during = await waitFor('a new holder beside the old one', holders, (h) => h.length === 2);
    log.push(`while belayd was down: address on ${during.join(' and ')}`);
    // Restart=on-failure (the unit's RestartSec has long passed by now).
    machineSpawn(lab.init[holder!]!, lab.daemonArgv!, join(lab.dir, holder!, 'belayd.log'));
    const t0 = Date.now();
    await waitFor(`${holder} back in the ring`, () => ringOf(holder!), (s) => /state operational, 3 members/.test(s));
    // Whatever the cluster decides, after it settles exactly one node holds
    // the address and the Dummy runs on that same node.
    const settled = await waitFor(
      'one holder of the address and the Dummy with it',
      async () => {
        const h = await holders();
        const d = await dummyOn();
        const mon = await crm(holder!, 'resource', 'status');
        return { h, d, mon };
      },
      (v) => v.h.length === 1 && v.d.length === 1 && v.h[0] === v.d[0] && !/FAILED|Stopped/.test(v.mon) && (v.mon.match(/Started/g) ?? []).length === 2,
      60_000,
    );
    log.push(`kill -9 of belayd on ${holder}, restarted: settled on ${settled.h[0]} after ${Date.now() - t0} ms`);
    const daemonLog = readFileSync(join(lab.dir, holder!, 'belayd.log'), 'utf8');
    expect(daemonLog).toMatch(/left by an earlier belayd/);
    // Stays that way (no holder left behind to show up later).
    await new Promise((r) => setTimeout(r, 6000));
    expect(await holders()).toEqual(settled.h);
    expect(await dummyOn()).toEqual(settled.d);
    // The address is the cluster's to stop.
    await crm('n1', 'resource', 'stop', 'FloatIP');
    await waitFor('no node holds the address', holders, (h) => h.length === 0);
    await waitFor('the Dummy stopped with it', dummyOn, (d) => d.length === 0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await holders()).toEqual([]);
    const ping = await labExec(lab, 'client', ['ping', '-c', '1', '-W', '1', lab.vip]);
    expect(ping.exitCode).not.toBe(0);
  }, 240_000);
});
