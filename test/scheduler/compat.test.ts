/**
 * Semantics that differ between Pacemaker releases or that belay got wrong
 * in both, on generated CIBs (bench/scheduler-random.mjs) whose expected
 * lines come from Pacemaker 2.1.5's crm_simulate (recorded here, so the test
 * runs without Pacemaker). Each expectation failed before the change it
 * guards.
 */
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { crmSimulate } from '../../src/status/simulate-output.js';
import { schedule } from '../../src/scheduler/index.js';
// @ts-expect-error: a plain ES module without types
import { randomCib } from '../../bench/scheduler-random.mjs';
import { scoreLines, section } from './harness.js';

const NOW = 1_700_000_000;

function run(seed: number, compat: '2.1' | '3.0') {
  const out = crmSimulate(parseCibXml(randomCib(seed) as string, `seed-${seed}.xml`), { simulate: true, run: false, showScores: true, quiet: false, now: NOW, compat });
  return { summary: section(out.stdout, 'Transition Summary:') ?? [], scores: scoreLines(out.scores).map((l) => l.replace(/^\S+: /, '')) };
}

describe('Pacemaker 2.1 placement (compat 2.1)', () => {
  it('merges the preferences of a chain of colocated resources at full strength (seed 1)', () => {
    // cln3 with rsc2 at -50, grp1 with cln3 at INFINITY: 2.1 carries grp1's
    // stickiness (2 x 100) into rsc2 with the sign of -50 only
    const r = run(1, '2.1');
    expect(r.scores).toContain('rsc2 allocation score on node1: -200');
    // 3.0 attenuates by each score on the way, which leaves nothing here
    expect(run(1, '3.0').scores).toContain('rsc2 allocation score on node1: 0');
  });

  it('keeps the first of two conflicting colocations of the same pair that g_list_insert_sorted puts first (seed 500)', () => {
    // rsc1 with rsc2 at -50 then at INFINITY: the later one is applied first,
    // and the -50 that would leave no node is rolled back
    const r = run(500, '2.1');
    expect(r.summary).toEqual(['* Move rsc1 ( node3 -> node2 )', '* Recover rsc2 ( node2 )']);
  });

  it('names the node "none" for an inactive instance in 2.1 and says "(inactive)" in 3.0', () => {
    const xml = `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/></nodes><resources><clone id="ms"><meta_attributes id="ms-m"><nvpair id="ms-m1" name="promotable" value="true"/><nvpair id="ms-m2" name="clone-max" value="2"/></meta_attributes><primitive id="s" class="ocf" provider="pacemaker" type="Stateful"/></clone></resources><constraints/></configuration>
<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>`;
    const lines = (compat: '2.1' | '3.0') => schedule(parseCibXml(xml), NOW, { scores: true, compat }).scores.filter((l) => l.includes('promotion score'));
    expect(lines('2.1')).toContain('s:1 promotion score on none: -INFINITY');
    expect(lines('3.0')).toContain('s:1 promotion score (inactive): -INFINITY');
  });
});

describe('semantics shared by 2.1 and 3.0', () => {
  it('never shows the scores of orphaned clone instances (seed 5)', () => {
    for (const compat of ['2.1', '3.0'] as const) {
      const r = run(5, compat);
      expect(r.scores.filter((l) => /^c3:[12] /.test(l)), compat).toEqual([]);
      expect(r.summary).toContain('* Stop c3:1 ( node2 ) due to node availability');
    }
  });

  it('drops a Mandatory order that repeats an Optional one on the same pair (seed 379)', () => {
    // order_actions: the second ordering of the same two actions sharing a flag is a duplicate
    for (const compat of ['2.1', '3.0'] as const) expect(run(379, compat).summary, compat).toEqual(['* Recover rsc1 ( node2 )']);
  });

  it('bans the node after a hard error and every node after a fatal one', () => {
    const op = (rsc: string, rc: number) =>
      `<lrm_resource id="${rsc}" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="${rsc}_last_failure_0" operation_key="${rsc}_start_0" operation="start" call-id="3" rc-code="${rc}" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:${rc};1:1:0:x"/></lrm_resource>`;
    const xml = `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/><primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/></configuration>
<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>${op('a', 4)}${op('b', 6)}</lrm_resources></lrm></node_state><node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>`;
    const scores = schedule(parseCibXml(xml), NOW, { scores: true }).scores;
    expect(scores).toContain('pcmk__primitive_assign: a allocation score on n1: -INFINITY');
    expect(scores).toContain('pcmk__primitive_assign: a allocation score on n2: 0');
    expect(scores).toContain('pcmk__primitive_assign: b allocation score on n2: -INFINITY');
  });
});
