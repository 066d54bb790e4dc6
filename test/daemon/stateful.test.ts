/**
 * A promotable clone of Pacemaker's own ocf:pacemaker:Stateful (Debian's
 * pacemaker package) on a 3-node belay cluster in the lab: the agent sets
 * its promotion score with crm_attribute (belay's), one instance is
 * Promoted, the others Unpromoted, and when the Promoted node crashes
 * another instance is promoted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp, powerOff, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));
const STATEFUL = '/usr/lib/ocf/resource.d/pacemaker/Stateful';

describe('a promotable clone of ocf:pacemaker:Stateful, live', () => {
  let lab: ClusterLabState;
  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  /** Each powered node's Stateful state file: "promoted", "unpromoted" (Pacemaker 2.1 writes them capitalised) or "none". */
  const roles = async (nodes: string[]): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const n of nodes) {
      const r = await labExec(lab, n, ['sh', '-c', 'cat /run/Stateful-st.state 2>/dev/null || echo none']);
      out[n] = String(r.stdout).trim().toLowerCase();
    }
    return out;
  };
  const waitFor = waiter(60_000, 300);
  const oneOf = (r: Record<string, string>, nodes: string[]) =>
    nodes.filter((n) => r[n] === 'promoted').length === 1 && nodes.filter((n) => r[n] === 'unpromoted').length === nodes.length - 1;

  beforeAll(async () => {
    if (!existsSync(STATEFUL)) throw new Error(`${STATEFUL} is missing: install the Debian package pacemaker (scripts/debian-packages.txt)`);
    lab = await labUp({ name: `s${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
    await waitFor('a 3-node cluster', () => crm('n1', 'configure', 'show'), (t) => t.includes('node 3: n3'));
  }, 120_000);
  afterAll(async () => {
    if (lab) await labDown(lab);
  });

  it('promotes exactly one instance and the others run Unpromoted; crm_mon says so', async () => {
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    await crm('n1', 'configure', 'primitive', 'st', 'ocf:pacemaker:Stateful', 'op', 'monitor', 'interval=3s', 'role=Promoted', 'op', 'monitor', 'interval=4s', 'role=Unpromoted');
    await crm('n1', 'configure', 'clone', 'st-clone', 'st', 'meta', 'promotable=true');
    const r = await waitFor('one Promoted, two Unpromoted', () => roles(lab.nodes), (x) => oneOf(x, lab.nodes));
    const promoted = lab.nodes.find((n) => r[n] === 'promoted')!;
    // The Promoted monitor (rc 8 expected) does not count as a failure: it stays put.
    await new Promise((res) => setTimeout(res, 8000));
    expect(await roles(lab.nodes)).toEqual(r);
    const mon = String((await labExec(lab, 'n2', [process.execPath, CRM_MON, '-1'])).all);
    expect(mon).toMatch(new RegExp(`Promoted: \\[ ${promoted} \\]`));
    expect(mon).toMatch(/Unpromoted: \[ n\d n\d \]/);
    expect(mon).not.toMatch(/Failed|FAILED|fail-count/);
  }, 120_000);

  it('moves promotion to another node when the Promoted node crashes', async () => {
    const before = await roles(lab.nodes);
    const promoted = lab.nodes.find((n) => before[n] === 'promoted')!;
    const rest = lab.nodes.filter((n) => n !== promoted);
    await powerOff(lab, promoted);
    const after = await waitFor('a new Promoted among the survivors', () => roles(rest), (x) => oneOf(x, rest));
    const next = rest.find((n) => after[n] === 'promoted')!;
    expect(next).not.toBe(promoted);
    const mon = String((await labExec(lab, rest[0]!, [process.execPath, CRM_MON, '-1'])).all);
    expect(mon).toMatch(new RegExp(`Promoted: \\[ ${next} \\]`));
  }, 120_000);
});
