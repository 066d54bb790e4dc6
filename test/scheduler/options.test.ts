/**
 * Cluster options under the names of Pacemaker 3 (fencing-*, stop-removed-*,
 * cancel-removed-*) and of 2.x (stonith-*, stop-orphan-*): either is read,
 * the new one wins; and a CIB Pacemaker reads with a malformed node_state
 * (no id) is read, the entry ignored.
 */
import { describe, expect, it } from 'vitest';
import { parseCibXml } from '../../src/cib/xml.js';
import { unpack } from '../../src/scheduler/unpack.js';
import { monXml } from '../../src/status/mon.js';

const NOW = 1_700_000_000;
const cib = (props: Array<[string, string]>, status = '') =>
  parseCibXml(`<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1"><configuration><crm_config><cluster_property_set id="o">${props
    .map(([n, v], i) => `<nvpair id="o${i}" name="${n}" value="${v}"/>`)
    .join('')}</cluster_property_set></crm_config><nodes><node id="1" uname="n1"/></nodes><resources/><constraints/></configuration><status>${status}</status></cib>`);

describe('cluster option aliases', () => {
  it('reads fencing-enabled and stonith-enabled alike; the new name wins', () => {
    expect(unpack(cib([]), NOW).options.fencingEnabled).toBe(true);
    expect(unpack(cib([['fencing-enabled', 'false']]), NOW).options.fencingEnabled).toBe(false);
    expect(unpack(cib([['stonith-enabled', 'false']]), NOW).options.fencingEnabled).toBe(false);
    expect(unpack(cib([['stonith-enabled', 'false'], ['fencing-enabled', 'true']]), NOW).options.fencingEnabled).toBe(true);
  });
  it('reads stop-orphan-resources as stop-removed-resources', () => {
    expect(unpack(cib([['stop-orphan-resources', 'false']]), NOW).options.stopOrphans).toBe(false);
    expect(unpack(cib([['stop-removed-resources', 'false']]), NOW).options.stopOrphans).toBe(false);
  });
  it('crm_mon shows fencing-timeout as stonith-timeout-ms', () => {
    const xml = monXml({ cib: cib([['fencing-timeout', '90s']]), now: NOW, version: 'v', stack: 's' });
    expect(xml).toContain('stonith-timeout-ms="90000"');
  });
});

describe('a node_state without id', () => {
  it('is read and ignored, as Pacemaker ignores it', () => {
    const c = cib([], '<node_state uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>');
    const ws = unpack(c, NOW);
    expect(ws.nodes.find((n) => n.name === 'n1')!.online).toBe(false);
    expect(ws.diagnostics.map((d) => d.message)).toContain('Ignoring malformed node_state entry without id');
  });
});
