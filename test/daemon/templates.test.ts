/**
 * Resource templates on a live 2-node belay cluster in the lab: `crm
 * configure rsc_template` and `primitive X @TEMPLATE` start the resource
 * through its agent (Pacemaker's ocf:pacemaker:Dummy, Debian's pacemaker
 * package) with the template's parameters and operations, the primitive's
 * own meta attributes winning over the template's; crm_mon shows the
 * template's agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));
const DUMMY = '/usr/lib/ocf/resource.d/pacemaker/Dummy';
/** Only the template names this state file: the agent writes it only if the template's parameters reach it. */
const STATE = '/run/belay-template-web.state';

describe('resource templates, live', () => {
  let lab: ClusterLabState;
  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const mon = async (node: string) => String((await labExec(lab, node, [process.execPath, CRM_MON, '-1', '-r'])).all);
  /** The nodes whose /run (each lab host has its own) holds the file. */
  const holders = async (file: string): Promise<string[]> => {
    const out: string[] = [];
    for (const n of lab.nodes) if ((await labExec(lab, n, ['test', '-e', file])).exitCode === 0) out.push(n);
    return out;
  };
  const waitFor = waiter(60_000, 300);

  beforeAll(async () => {
    if (!existsSync(DUMMY)) throw new Error(`${DUMMY} is missing: install the Debian package pacemaker (scripts/debian-packages.txt)`);
    lab = await labUp({ name: `tp${process.pid % 100000}`, nodes: 2, apps: 1, daemonArgv: belaydArgv() });
    await waitFor('a 2-node cluster', () => crm('n1', 'configure', 'show'), (t) => t.includes('node 2: n2'));
  }, 120_000);
  afterAll(async () => {
    if (lab) await labDown(lab);
  });

  it("starts a primitive made from a template through the template's agent, parameters and monitor", async () => {
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    await crm('n1', 'configure', 'rsc_template', 'dummy-tpl', 'ocf:pacemaker:Dummy', 'params', `state=${STATE}`, 'meta', 'target-role=Stopped', 'op', 'monitor', 'interval=2s', 'timeout=20s');
    // The template's target-role=Stopped is overridden by the primitive's own.
    await crm('n1', 'configure', 'primitive', 'web', '@dummy-tpl', 'meta', 'target-role=Started');
    // web2 has only the template's target-role: it stays Stopped (disabled).
    await crm('n2', 'configure', 'primitive', 'web2', '@dummy-tpl', 'params', 'state=/run/belay-template-web2.state');
    const on = await waitFor('web running on one node', () => holders(STATE), (h) => h.length === 1);
    const text = await waitFor('crm_mon showing web started', () => mon('n2'), (t) => t.includes(`web\t(ocf:pacemaker:Dummy):\t Started ${on[0]}`));
    expect(text).toContain('web2\t(ocf:pacemaker:Dummy):\t Stopped (disabled)');
    expect(await holders('/run/belay-template-web2.state')).toEqual([]);
    expect(await crm('n1', 'configure', 'show', 'web')).toMatch(/^primitive web @dummy-tpl/m);

    // The template's 2 s monitor runs: the state file gone, it sees web stopped and recovers it.
    await labExec(lab, on[0]!, ['rm', '-f', STATE]);
    // Only a recurring monitor can see it: a running resource is not probed again.
    const failed = await waitFor('the monitor failure in crm_mon', () => mon('n1'), (t) => /Failed Resource Actions:\n {2}\* web_\S+ .*on n\d .*'not running'/.test(t));
    expect(failed).not.toMatch(/web2_/);
    expect(await waitFor('web running again', () => holders(STATE), (h) => h.length === 1)).toHaveLength(1);
  }, 120_000);
});
