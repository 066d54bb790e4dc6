/**
 * Core placement semantics on small hand-written CIBs: score arithmetic,
 * stickiness, colocation in both directions, groups, clones, failures and
 * bad-input diagnostics.
 */
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { schedule } from '../../src/scheduler/index.js';
import { addScores, INFINITY } from '../../src/cib/score.js';

const NOW = 1_700_000_000;

function cib(opts: { nodes?: string[]; resources: string; constraints?: string; status?: string; props?: string }): string {
  const nodes = opts.nodes ?? ['n1', 'n2', 'n3'];
  return `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" validate-with="pacemaker-3.0">
<configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="fencing-enabled" value="false"/>${opts.props ?? ''}</cluster_property_set></crm_config>
<nodes>${nodes.map((n, i) => `<node id="${i + 1}" uname="${n}"/>`).join('')}</nodes>
<resources>${opts.resources}</resources><constraints>${opts.constraints ?? ''}</constraints></configuration>
<status>${nodes.map((n, i) => `<node_state id="${i + 1}" uname="${n}" in_ccm="true" crmd="online" join="member" expected="member">${statusFor(opts.status, n)}</node_state>`).join('')}</status></cib>`;
}

/** status: "rsc@node,rsc2@node" = running there (started), everything else probed stopped. */
function statusFor(status: string | undefined, node: string): string {
  if (!status) return '';
  const entries = status.split(',').map((s) => s.split('@')).filter(([, n]) => n === node);
  return `<lrm id="l"><lrm_resources>${entries.map(([r]) => `<lrm_resource id="${r}" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="${r}_start_0" operation="start" call-id="1" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x"/></lrm_resource>`).join('')}</lrm_resources></lrm>`;
}

const prim = (id: string, meta = '') => `<primitive id="${id}" class="ocf" provider="pacemaker" type="Dummy">${meta ? `<meta_attributes id="${id}-m">${meta}</meta_attributes>` : ''}</primitive>`;
const nv = (name: string, value: string) => `<nvpair id="${name}-${value}" name="${name}" value="${value}"/>`;

function placement(xml: string): Map<string, string | null> {
  const r = schedule(parseCibXml(xml), NOW);
  const out = new Map<string, string | null>();
  for (const x of r.ws.byId.values()) if (x.kind === 'primitive') out.set(x.id, x.assigned?.name ?? null);
  return out;
}

describe('score arithmetic', () => {
  it('-INFINITY wins over +INFINITY and scores clamp', () => {
    expect(addScores(INFINITY, -INFINITY)).toBe(-INFINITY);
    expect(addScores(600_000, 600_000)).toBe(INFINITY);
    expect(addScores(5, -3)).toBe(2);
  });
  it('a ban on a node beats an INFINITY preference for it', () => {
    const p = placement(cib({ resources: prim('a'), constraints: '<rsc_location id="l1" rsc="a" node="n1" score="INFINITY"/><rsc_location id="l2" rsc="a" node="n1" score="-INFINITY"/>' }));
    expect(p.get('a')).not.toBe('n1');
    expect(p.get('a')).not.toBeNull();
  });
});

describe('placement', () => {
  it('follows the highest location score', () => {
    const p = placement(cib({ resources: prim('a'), constraints: '<rsc_location id="l1" rsc="a" node="n2" score="50"/>' }));
    expect(p.get('a')).toBe('n2');
  });
  it('spreads equal resources over nodes (fewest assigned first)', () => {
    const p = placement(cib({ resources: prim('a') + prim('b') + prim('c') }));
    expect(new Set(p.values()).size).toBe(3);
  });
  it('stickiness keeps a running resource where it is against a smaller preference', () => {
    const xml = cib({ resources: prim('a', nv('resource-stickiness', '100')), constraints: '<rsc_location id="l1" rsc="a" node="n2" score="50"/>', status: 'a@n3' });
    expect(placement(xml).get('a')).toBe('n3');
    const xml2 = cib({ resources: prim('a', nv('resource-stickiness', '10')), constraints: '<rsc_location id="l1" rsc="a" node="n2" score="50"/>', status: 'a@n3' });
    expect(placement(xml2).get('a')).toBe('n2');
  });
  it('an INFINITY colocation puts the dependent with its primary; -INFINITY keeps them apart', () => {
    const with_ = placement(cib({ resources: prim('a') + prim('b'), constraints: '<rsc_location id="l1" rsc="a" node="n3" score="10"/><rsc_colocation id="c" rsc="b" with-rsc="a" score="INFINITY"/>' }));
    expect(with_.get('b')).toBe('n3');
    const apart = placement(cib({ nodes: ['n1', 'n2'], resources: prim('a') + prim('b'), constraints: '<rsc_location id="l1" rsc="a" node="n1" score="10"/><rsc_location id="l2" rsc="b" node="n1" score="5"/><rsc_colocation id="c" rsc="b" with-rsc="a" score="-INFINITY"/>' }));
    expect(apart.get('a')).toBe('n1');
    expect(apart.get('b')).toBe('n2');
  });
  it("the dependent's preferences pull the primary (the other direction of influence)", () => {
    const p = placement(cib({ resources: prim('a') + prim('b'), constraints: '<rsc_location id="l1" rsc="b" node="n2" score="100"/><rsc_colocation id="c" rsc="b" with-rsc="a" score="INFINITY"/>' }));
    expect(p.get('a')).toBe('n2');
    expect(p.get('b')).toBe('n2');
  });
  it('group members run together and start in order', () => {
    const xml = cib({ resources: `<group id="g">${prim('m1')}${prim('m2')}${prim('m3')}</group>`, constraints: '<rsc_location id="l" rsc="g" node="n2" score="10"/>' });
    const r = schedule(parseCibXml(xml), NOW);
    const nodes = ['m1', 'm2', 'm3'].map((id) => r.ws.byId.get(id)!.assigned?.name);
    expect(nodes).toEqual(['n2', 'n2', 'n2']);
    const starts = r.actions.filter((a) => a.task === 'start' && !a.pseudo).map((a) => a.rsc!.id);
    expect(starts).toEqual(['m1', 'm2', 'm3']);
  });
  it('an anonymous clone places clone-max instances on distinct nodes', () => {
    const xml = cib({ resources: `<clone id="cl">${prim('c')}<meta_attributes id="cm">${nv('clone-max', '2')}</meta_attributes></clone>` });
    const p = placement(xml);
    const used = [...p.entries()].filter(([id]) => id.startsWith('c:')).map(([, n]) => n).filter((n) => n !== null);
    expect(used.length).toBe(2);
    expect(new Set(used).size).toBe(2);
  });
  it('reaching migration-threshold bans the node', () => {
    const xml = cib({ resources: prim('a', nv('migration-threshold', '2')), status: 'a@n1' }).replace(
      '<node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">',
      '<node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><transient_attributes id="t1"><instance_attributes id="t1i"><nvpair id="f" name="fail-count-a#monitor_10000" value="2"/></instance_attributes></transient_attributes>',
    );
    expect(placement(xml).get('a')).not.toBe('n1');
  });
  it('standby nodes run nothing', () => {
    const xml = cib({ resources: prim('a'), constraints: '<rsc_location id="l1" rsc="a" node="n1" score="INFINITY"/>' }).replace('<node id="1" uname="n1"/>', `<node id="1" uname="n1"><instance_attributes id="n1a">${nv('standby', 'on')}</instance_attributes></node>`);
    expect(placement(xml).get('a')).not.toBe('n1');
  });
});

describe('bad input', () => {
  it('names the constraint with an unknown reference and schedules the rest', () => {
    const r = schedule(parseCibXml(cib({ resources: prim('a'), constraints: '<rsc_colocation id="bad-col" rsc="a" with-rsc="ghost" score="INFINITY"/><rsc_location id="bad-score" rsc="a" node="n1" score="lots"/>' })), NOW);
    const msgs = r.diagnostics.map((d) => d.message).join('\n');
    expect(msgs).toMatch(/bad-col.*ghost/);
    expect(msgs).toMatch(/bad-score.*invalid score/);
    expect(r.ws.byId.get('a')!.assigned).not.toBeNull();
  });
  it('reports an ordering cycle', () => {
    const r = schedule(parseCibXml(cib({ resources: prim('a') + prim('b'), constraints: '<rsc_order id="o1" first="a" then="b"/><rsc_order id="o2" first="b" then="a"/>' })), NOW);
    expect(r.diagnostics.some((d) => /cycle/i.test(d.message))).toBe(true);
  });
});
