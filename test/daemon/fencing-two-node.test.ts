/**
 * Two-node fencing (votequorum two_node): when the link between them breaks
 * both keep quorum and both try to fence the other. priority-fencing-delay
 * holds back the side that would fence the FloatIP holder, so exactly one
 * node survives, and it is the holder. Real belayd, the lab power switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Cib } from '../../src/cib/model.js';
import { belaydArgv, heal, labDown, labExec, labUp, loadLabState, partition, saveLabState, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { unpack } from '../../src/scheduler/index.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const SOCKET_JS = fileURLToPath(new URL('../../dist/admin/socket.js', import.meta.url));
const ROUNDS = 10;

interface Status {
  membership: { members: number[]; quorate: boolean };
  synced: boolean;
  cib: Cib;
}

describe('belayd: two nodes, fencing race', () => {
  let lab: ClusterLabState;
  const log: string[] = [];
  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const status = async (node: string): Promise<Status> => {
    const script = `const { adminCall } = await import(${JSON.stringify(SOCKET_JS)}); process.stdout.write(JSON.stringify(await adminCall('/run/belay/admin.sock', 'status', {}, { timeoutMs: 5000 })));`;
    const r = await labExec(lab, node, [process.execPath, '--input-type=module', '-e', script]);
    if (r.exitCode !== 0) throw new Error(`status on ${node}: ${r.all}`);
    return JSON.parse(String(r.stdout)) as Status;
  };
  const runningOn = async (node: string, rsc: string): Promise<string[]> => {
    const ws = unpack((await status(node)).cib, Math.floor(Date.now() / 1000));
    return ws.resources.filter((r) => r.id === rsc).flatMap((r) => r.running.map((n) => n.name)).sort();
  };
  const waitFor = waiter(60_000, 200);
  const cycles = (host: string) => loadLabState(lab.name).powerCycles?.[host] ?? 0;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, iptables)');
    lab = await labUp({ name: `t${process.pid % 100000}`, nodes: 2, apps: 1, daemonArgv: belaydArgv() });
    for (const n of lab.nodes) await waitFor(`${n} in a 2-node ring`, () => status(n), (s) => s.membership.members.length === 2 && s.synced);
  });
  afterAll(async () => {
    if (lab) await labDown(lab);
    if (log.length) console.log(log.join('\n'));
  });

  it(`leaves exactly one survivor, the holder of the prioritised resource, ${ROUNDS} times`, async () => {
    await crm('n1', 'configure', 'property', 'priority-fencing-delay=5s');
    await crm('n1', 'configure', 'rsc_defaults', 'resource-stickiness=100');
    await crm('n1', 'configure', 'primitive', 'fence-lab', 'stonith:fence_belay_lab');
    await crm('n1', 'configure', 'primitive', 'web', 'ocf:belay:Dummy', 'params', 'state=/run/web.state', 'op', 'monitor', 'interval=2s', 'meta', 'priority=10');
    // On n2, the node that loses every tie otherwise (the DC is the lowest id): the delay alone must save it.
    await crm('n1', 'configure', 'location', 'web-prefers-n2', 'web', '200:', 'n2');
    for (let round = 1; round <= ROUNDS; round++) {
      const holder = (await waitFor('web running on n2', () => runningOn('n1', 'web'), (nodes) => nodes.length === 1 && nodes[0] === 'n2'))[0]!;
      const other = lab.nodes.find((n) => n !== holder)!;
      const before = { [holder]: cycles(holder), [other]: cycles(other) };
      const t0 = Date.now();
      // Cut the link between them (rules inside one host drop both directions).
      await partition(lab, other);
      saveLabState(lab);
      await waitFor(`${other} power-cycled`, async () => cycles(other), (c) => c > before[other]!, 60_000);
      log.push(`round ${round}: ${holder} (holder) fenced ${other} after ${Date.now() - t0} ms`);
      // The power cycle cleared the rules (the switch saved that); never save our stale copy over it.
      await heal(lab);
      await waitFor(`${other} back`, () => status(other), (s) => s.membership.members.length === 2 && s.synced, 90_000);
      // Exactly one survivor: the holder was never power-cycled, and kept web.
      expect(cycles(holder)).toBe(before[holder]);
      expect(cycles(other)).toBe(before[other]! + 1);
      expect(await runningOn(holder, 'web')).toEqual([holder]);
    }
  }, ROUNDS * 120_000);
});
