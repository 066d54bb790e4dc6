/**
 * crm_mon's layouts against real Pacemaker 2.1.5 output
 * (../shared/reference/pacemaker-2.1.5/). The healthy case is the very CIB
 * Pacemaker showed (cibadmin_query.xml); the node-offline and standby cases
 * are that CIB changed as the cluster changed it (history, DC, attributes).
 * The daemon line, "Last updated" and the DC version are inputs of the pure
 * view, set to what Pacemaker showed, so the comparison is exact.
 */
process.env.TZ = 'UTC';
import { describe, expect, it } from 'vitest';
import type { Cib } from '../../src/cib/model.js';
import { parseXmlTree } from '../../src/cib/xml.js';
import { at, healthyCib, nodeState, offlineCib, op, ref, standbyCib } from './cibs.js';
import { monJson, monText, monTree, monXml, type MonInput } from '../../src/status/mon.js';
import type { RawElement } from '../../src/cib/model.js';

const pacemakerd = (lastUpdated: number) => ({ name: 'pacemakerd', state: 'running', text: 'Pacemaker is running', lastUpdated });

const cases: Array<{ name: string; cib: () => Cib; now: string; daemon: string; text: string; xml?: string; args?: { inactive?: boolean; failcounts?: boolean; attributes?: boolean } }> = [
  { name: 'healthy', cib: healthyCib, now: '02:25:00', daemon: '02:24:59', text: 'crm_mon-1.txt', xml: 'crm_mon-1.xml' },
  { name: 'healthy -rfA', cib: healthyCib, now: '02:25:00', daemon: '02:24:59', text: 'crm_mon-1-rfA.txt', args: { inactive: true, failcounts: true, attributes: true } },
  { name: 'node offline', cib: offlineCib, now: '02:25:57', daemon: '02:25:57', text: 'crm_mon-1-node-offline.txt', xml: 'crm_mon-1-node-offline.xml' },
  { name: 'standby', cib: standbyCib, now: '02:29:34', daemon: '02:29:34', text: 'crm_mon-1-standby.txt', xml: 'crm_mon-1-standby.xml' },
];

describe('crm_mon matches Pacemaker 2.1.5 line by line', () => {
  for (const c of cases) {
    const input = (): MonInput => ({ cib: c.cib(), now: at(c.now), daemon: pacemakerd(at(c.daemon)), version: 'unused', stack: 'unused' });
    it(`text: ${c.name} (${c.text})`, () => {
      const want = ref(c.text).split('\n');
      const got = monText(input(), c.args ?? {}).split('\n');
      for (let i = 0; i < Math.max(want.length, got.length); i++) expect(`${i + 1}: ${got[i]}`).toBe(`${i + 1}: ${want[i]}`);
    });
    if (c.xml) {
      it(`xml: ${c.name} (${c.xml})`, () => {
        const want = ref(c.xml!).split('\n');
        const got = monXml(input(), { request: 'crm_mon -1 --output-as=xml' }).split('\n');
        for (let i = 0; i < Math.max(want.length, got.length); i++) expect(`${i + 1}: ${got[i]}`).toBe(`${i + 1}: ${want[i]}`);
      });
    }
  }
});

/** Every element and attribute of an XML tree, as paths, for comparing with the JSON. */
function xmlPaths(e: RawElement, prefix = ''): string[] {
  const here = `${prefix}/${e.tag}`;
  return [here, ...Object.entries(e.attrs).map(([k, v]) => `${here}@${k}=${v}`), ...e.children.flatMap((c) => xmlPaths(c, here))];
}
function jsonPaths(tag: string, o: Record<string, unknown>, prefix = ''): string[] {
  const here = `${prefix}/${tag}`;
  const out = [here];
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) for (const x of v) out.push(...jsonPaths(k, x as Record<string, unknown>, here));
    else if (v !== null && typeof v === 'object') out.push(...jsonPaths(k, v as Record<string, unknown>, here));
    else out.push(`${here}@${k}=${String(v)}`);
  }
  return out;
}

describe('crm_mon --output-as=json', () => {
  for (const c of cases.filter((x) => x.xml)) {
    it(`carries the same elements and values as the XML: ${c.name}`, () => {
      const input: MonInput = { cib: c.cib(), now: at(c.now), version: 'v', stack: 'belay' };
      const xml = parseXmlTree(monXml(input));
      const json = JSON.parse(monJson(input)) as Record<string, Record<string, unknown>>;
      expect(Object.keys(json)).toEqual(['pacemaker-result']);
      const a = xmlPaths(xml).sort();
      const b = jsonPaths('pacemaker-result', json['pacemaker-result']!).sort();
      expect(b).toEqual(a);
      expect(a.length).toBeGreaterThan(60);
    });
  }

  it('uses lists for repeatable elements and booleans for flags', () => {
    const json = JSON.parse(monJson({ cib: offlineCib(), now: at('02:25:57'), version: 'v', stack: 'belay' })) as {
      'pacemaker-result': { nodes: { node: Array<{ name: string; online: boolean }> }; resources: { clone: Array<{ resource: Array<{ role: string }> }> } };
    };
    const r = json['pacemaker-result'];
    expect(r.nodes.node.map((n) => [n.name, n.online])).toEqual([['n1', false], ['n2', true], ['n3', true]]);
    expect(r.resources.clone[0]!.resource.map((x) => x.role)).toEqual(['Started', 'Started', 'Stopped']);
  });
});

describe('crm_mon sections beyond the reference captures', () => {
  const failing = (): Cib => {
    const cib = healthyCib();
    const n1 = nodeState(cib, 'n1');
    const lrm = n1.lrm!.resources.find((r) => r.id === 'FloatIP')!;
    lrm.ops.push({ ...op('FloatIP', 'monitor', 15000, 15, 7, '02:25:00', 3), id: 'FloatIP_last_failure_0', extra: { operation_key: 'FloatIP_monitor_15000', 'exit-reason': 'address gone' } });
    n1.transientAttributes = [
      {
        id: 'status-1',
        rules: [],
        nvpairs: [
          { name: '#feature-set', value: '3.16.1' },
          { name: 'fail-count-FloatIP#monitor_15000', value: '1' },
          { name: 'last-failure-FloatIP#monitor_15000', value: String(at('02:25:00')) },
          { name: 'rack', value: 'r1' },
        ],
      },
    ];
    return cib;
  };
  const input = (cib: Cib): MonInput => ({ cib, now: at('02:25:01'), version: 'v', stack: 'belay' });

  it('lists failed actions from the operation history, as Pacemaker words them', () => {
    const text = monText(input(failing()));
    expect(text).toContain(
      // 2.1.5's default (friendly) form.
      "\nFailed Resource Actions:\n  * FloatIP 15s-interval monitor on n1 returned 'not running' (address gone) at Sun Nov 22 02:25:00 2026 after 3ms\n",
    );
    expect(monText(input(healthyCib()))).not.toContain('Failed Resource Actions');
  });

  it('shows fail counts with -f and node attributes (not the internal ones) with -A', () => {
    const text = monText(input(failing()), { failcounts: true, attributes: true });
    expect(text).toContain("\nMigration Summary:\n  * Node: n1:\n    * FloatIP: migration-threshold=1000000 fail-count=1 last-failure='Sun Nov 22 02:25:00 2026'\n");
    expect(text).toContain(`\nNode Attributes:\n  * Node: n1:\n    * ${'rack'.padEnd(32)}\t: ${'r1'.padEnd(10)}\n\nMigration Summary:`);
    expect(text).not.toMatch(/fail-count-|#feature-set/);
    // The sections come in Pacemaker's order.
    const order = ['Node List:', 'Active Resources:', 'Node Attributes:', 'Migration Summary:', 'Failed Resource Actions:'].map((s) => text.indexOf(s));
    expect(order.every((v, i) => v >= 0 && (i === 0 || v > order[i - 1]!))).toBe(true);
  });

  it('puts failures, fail counts and attributes into the XML', () => {
    const t = monTree(input(failing()));
    const tags = t.children.map((c) => c.tag);
    expect(tags).toEqual(['summary', 'nodes', 'resources', 'node_attributes', 'node_history', 'failures', 'status']);
    const failure = t.children.find((c) => c.tag === 'failures')!.children[0]!;
    expect(Object.fromEntries(failure.attrs)).toMatchObject({ op_key: 'FloatIP_monitor_15000', node: 'n1', exitcode: '7', exitstatus: 'not running', call: '15', 'last-rc-change': '2026-11-22 02:25:00Z', interval: '15000', task: 'monitor' });
    const xml = monXml(input(failing()));
    expect(xml).toContain('<resource_history id="FloatIP" orphan="false" migration-threshold="1000000" fail-count="1" last-failure="Sun Nov 22 02:25:00 2026">');
  });

  it('hides inactive resources unless -r, and says so when nothing runs', () => {
    const cib = healthyCib();
    for (const ns of cib.status!) ns.lrm = { resources: [] };
    expect(monText(input(cib))).toContain('\nActive Resources:\n  * No active resources\n');
    const full = monText(input(cib), { inactive: true });
    expect(full).toContain('\nFull List of Resources:\n  * FloatIP\t(ocf:heartbeat:IPaddr2):\t Stopped\n  * Clone Set: nginx-clone [nginx]:\n    * Stopped: [ n1 n2 n3 ]\n');
  });

  it('lists bans (negative location constraints) with -L and in the XML', () => {
    const cib = healthyCib();
    cib.configuration.constraints.push({ tag: 'rsc_location', id: 'cli-ban-FloatIP-on-n1', rsc: 'FloatIP', role: 'Started', node: 'n1', score: '-INFINITY', rules: [], sets: [] });
    cib.configuration.constraints.push({ tag: 'rsc_location', id: 'prefer', rsc: 'FloatIP', node: 'n2', score: '100', rules: [], sets: [] });
    expect(monText(input(cib))).not.toContain('Negative Location Constraints');
    expect(monText(input(cib), { bans: true })).toMatch(/\nNegative Location Constraints:\n {2}\* cli-ban-FloatIP-on-n1\tprevents FloatIP from running on n1\n$/);
    expect(monXml(input(cib))).toContain(
      '  <bans>\n    <ban id="cli-ban-FloatIP-on-n1" resource="FloatIP" node="n1" weight="-1000000" promoted-only="false" master_only="false"/>\n  </bans>\n  <status code="0" message="OK"/>',
    );
  });

  it('reports no DC, no quorum, disabled resources and maintenance mode', () => {
    const cib = healthyCib();
    delete cib.dcUuid;
    expect(monText(input(cib))).toContain('\n  * Current DC: NONE\n');
    const noq = monText({ ...input(healthyCib()), quorate: false, dc: { id: '3', name: 'n3' } });
    expect(noq).toContain('\n  * Current DC: n3 (version 2.1.5-a3f44794f94) - partition WITHOUT quorum\n');
    const dis = healthyCib();
    const fip = dis.configuration.resources[0] as { metaAttributes: Cib['configuration']['crmConfig'] };
    fip.metaAttributes = [{ id: 'm', rules: [], nvpairs: [{ name: 'target-role', value: 'Stopped' }] }];
    dis.configuration.crmConfig[0]!.nvpairs.push({ name: 'maintenance-mode', value: 'true' });
    const text = monText(input(dis));
    expect(text).toContain('\n  * 4 resource instances configured (1 DISABLED)\n');
    expect(text).toContain('*** Resource management is DISABLED ***');
  });
});
