/**
 * What the operation history means, where the cluster simulator found the
 * scheduler wrong (each checked against Pacemaker 2.1.5's crm_simulate on the
 * same CIB): a recurring monitor recorded before the last start is not
 * active, and every node without history of an anonymous clone is probed,
 * even when all its instances are active elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { schedule } from '../../src/scheduler/index.js';

const NOW = 1_800_000_100;

/** Dummy's parameters as recorded (none, and for the monitor its interval and timeout): digests belay and Pacemaker compute alike, so nothing restarts. */
const DIGEST = 'f2317cad3d54cec5d7d7aa7d0bf35cf8';
const MONITOR_10S_DIGEST = '4811cef7f7f94e3a35a70be7916cb2fd';

function op(rsc: string, id: string, task: string, interval: number, rc: number, call: number): string {
  return `<lrm_rsc_op id="${id}" operation="${task}" interval="${interval}" call-id="${call}" rc-code="${rc}" op-status="0" transition-key="1:${call}:0:x" last-rc-change="${1_800_000_000 + call}" op-digest="${interval ? MONITOR_10S_DIGEST : DIGEST}"/>`;
}

function cib(resources: string, status: Record<string, string>): string {
  const nodes = ['n1', 'n2', 'n3'];
  return `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" validate-with="pacemaker-3.0">
<configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes>${nodes.map((n, i) => `<node id="${i + 1}" uname="${n}"/>`).join('')}</nodes>
<resources>${resources}</resources><constraints/></configuration>
<status>${nodes.map((n, i) => `<node_state id="${i + 1}" uname="${n}" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="${i + 1}"><lrm_resources>${status[n] ?? ''}</lrm_resources></lrm></node_state>`).join('')}</status></cib>`;
}

const monitored = (id: string) =>
  `<primitive id="${id}" class="ocf" provider="heartbeat" type="Dummy"><operations><op id="${id}-mon" name="monitor" interval="10s"/></operations></primitive>`;
const lrm = (id: string, ops: string) => `<lrm_resource id="${id}" class="ocf" provider="heartbeat" type="Dummy">${ops}</lrm_resource>`;

function actions(xml: string): string[] {
  return schedule(parseCibXml(xml), NOW).actions.filter((a) => !a.pseudo).map((a) => `${a.task}${a.interval ? `=${a.interval}` : ''} ${a.rsc?.baseId ?? ''} on ${a.node?.name ?? ''}`);
}

describe('the operation history, as Pacemaker reads it', () => {
  it('a failed recurring monitor before the last start does not count as active: the monitor is scheduled again', () => {
    // n1: the monitor failed (call 3), the resource was recovered by a start (call 5) whose monitor never ran.
    const xml = cib(monitored('A'), {
      n1: lrm('A', op('A', 'A_last_failure_0', 'monitor', 10000, 7, 3) + op('A', 'A_last_0', 'start', 0, 0, 5)),
      n2: lrm('A', op('A', 'A_last_0', 'monitor', 0, 7, 1)),
      n3: lrm('A', op('A', 'A_last_0', 'monitor', 0, 7, 1)),
    });
    expect(actions(xml)).toEqual(['monitor=10000 A on n1']);
  });

  it('a monitor recorded after the last start is active: nothing to do', () => {
    const xml = cib(monitored('A'), {
      n1: lrm('A', op('A', 'A_last_0', 'start', 0, 0, 5) + op('A', 'A_monitor_10000', 'monitor', 10000, 0, 6)),
      n2: lrm('A', op('A', 'A_last_0', 'monitor', 0, 7, 1)),
      n3: lrm('A', op('A', 'A_last_0', 'monitor', 0, 7, 1)),
    });
    expect(actions(xml)).toEqual([]);
  });

  it('an anonymous clone whose instances are all active elsewhere is still probed on a node without its history', () => {
    const clone = `<clone id="web-clone">${monitored('web')}<meta_attributes id="wm"><nvpair id="wm1" name="clone-max" value="2"/></meta_attributes></clone>`;
    const running = (call: number) => lrm('web', op('web', 'web_last_0', 'start', 0, 0, call) + op('web', 'web_monitor_10000', 'monitor', 10000, 0, call + 1));
    const xml = cib(clone, { n1: running(2), n3: running(4) });
    expect(actions(xml)).toEqual(['monitor web on n2']);
  });
});
