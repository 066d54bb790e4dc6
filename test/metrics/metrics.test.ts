/**
 * The metrics text as a pure function: the scheduler corpus CIBs and the
 * Pacemaker 2.1.5 reference cluster through src/metrics/cluster.ts, checked
 * by Prometheus' own `promtool check metrics`, and compared with what
 * ha_cluster_exporter would read from real Pacemaker's `crm_mon` XML.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCibXml } from '../../src/cib/xml.js';
import { parseXmlElements, type XEl } from '../../src/cib/xml-parse.js';
import type { El } from '../../src/status/mon.js';
import { clusterFamilies, pacemakerFamilies, pacemakerFamiliesFromTree, type RingView } from '../../src/metrics/cluster.js';
import { Histogram, renderFamilies, type Family } from '../../src/metrics/exposition.js';
import { keepalivedMetricsText } from '../../src/metrics/keepalived.js';
import { FailoverTracker } from '../../src/metrics/failover.js';
import type { RouterStatus } from '../../src/vrrp/core.js';
import { promtool } from './promtool.js';

const CASES = join(import.meta.dirname, '../../../shared/scheduler-cases');
const REF = join(import.meta.dirname, '../../../shared/reference/pacemaker-2.1.5');

/** Every sample line of an exposition text, parsed. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: string }> {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3]! });
  }
  return out;
}

const ring: RingView = {
  nodeId: 1,
  state: 'operational',
  ring: '1.8',
  nodes: [],
  counters: { tokensReceived: 1200, tokensRetransmitted: 3, retransmits: 7, tokenLost: 1, ringsFormed: 4, droppedOldRing: 2, droppedDuplicate: 5, droppedStaleJoin: 0, droppedOther: 0 },
  drops: { badAuth: 2, truncated: 0 },
  quorum: { quorate: true, members: [1, 2, 3], ring: '1.8', totalVotes: 3, expectedVotes: 3, highestExpected: 3, quorum: 2, flags: ['Quorate'], waitingForAll: false },
};

function input(cib: ReturnType<typeof parseCibXml>, now: number) {
  const failover = new Histogram([1, 5, 30]);
  failover.observe(2.5);
  return {
    mon: { cib, now, dc: { id: '2', name: 'n2' }, quorate: true, version: 'belay', stack: 'belay' },
    self: { id: 1, name: 'n1', address: '198.18.0.11' },
    nodes: [1, 2, 3].map((id) => ({ id, name: `n${id}`, votes: 1 })),
    membership: { ringId: '1.8', members: [1, 2, 3], quorate: true },
    ring,
    counters: { delivered: 10, sent: 4, badMessages: 0, executed: 6 },
    transitions: { complete: 3, aborted: 1 },
    failover,
    scheduler: new Histogram([0.01, 0.1]),
  };
}

function toEl(x: XEl): El {
  return { tag: x.tag, attrs: Object.entries(x.attrs), children: x.children.map(toEl) };
}

const seriesOf = (fams: Family[], name: string) =>
  fams
    .find((f) => f.name === name)!
    .samples.map((s) => `${JSON.stringify(s.labels)} ${s.value}`)
    .sort();

describe('belayd metrics text', () => {
  it('passes promtool and has one line per series on every corpus CIB', () => {
    const files = ['tier1', 'tier2'].flatMap((t) => readdirSync(join(CASES, t)).filter((f) => f.endsWith('.xml')).map((f) => join(CASES, t, f)));
    expect(files.length).toBeGreaterThan(300);
    let checked = 0;
    for (const [i, file] of files.entries()) {
      const cib = parseCibXml(readFileSync(file, 'utf8'), file);
      const now = Number(cib.executionDate ?? 0) || 1_700_000_000;
      const text = renderFamilies(clusterFamilies(input(cib, now)));
      const s = samples(text);
      const keys = s.map((x) => `${x.name}${JSON.stringify(x.labels)}`);
      expect(new Set(keys).size, file).toBe(keys.length);
      // Every resource the scheduler knows shows up with its five status lines.
      const rs = s.filter((x) => x.name === 'ha_cluster_pacemaker_resources');
      expect(rs.length % 5, file).toBe(0);
      // promtool on a spread of cases (a process each; the rest are checked above).
      if (i % 40 === 0) {
        const r = promtool(text);
        expect(r.ok, `${file}: ${r.out}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(7);
  });

  it('reads like ha_cluster_exporter reading real Pacemaker crm_mon XML (reference cluster)', () => {
    const cib = parseCibXml(readFileSync(join(REF, 'cibadmin_query.xml'), 'utf8'), 'cibadmin_query.xml');
    const real = toEl(parseXmlElements(readFileSync(join(REF, 'crm_mon-1.xml'), 'utf8'), 'crm_mon-1.xml'));
    const theirs = pacemakerFamiliesFromTree(real, cib, 0);
    const ours = pacemakerFamilies({ cib, now: Date.parse('2026-11-22T02:25:00Z') / 1000, dc: { id: '2', name: 'n2' }, quorate: true, lastChange: { at: 0 }, version: 'belay', stack: 'belay' }, cib);
    for (const name of ['ha_cluster_pacemaker_nodes', 'ha_cluster_pacemaker_resources', 'ha_cluster_pacemaker_stonith_enabled', 'ha_cluster_pacemaker_location_constraints']) {
      expect(seriesOf(ours, name), name).toEqual(seriesOf(theirs, name));
    }
    const text = renderFamilies(ours);
    expect(text).toContain('ha_cluster_pacemaker_resources{node="n1",resource="FloatIP",role="started",managed="true",status="active",agent="ocf:heartbeat:IPaddr2",group="",clone=""} 1');
    expect(text).toContain('ha_cluster_pacemaker_nodes{node="n2",type="member",status="dc"} 1');
    expect(text).toMatch(/ha_cluster_pacemaker_resources\{node="n3",resource="nginx",role="started",managed="true",status="active",agent="ocf:heartbeat:nginx",group="",clone="nginx-clone"\} 1/);
  });

  it('corosync and belay families', () => {
    const cib = parseCibXml(readFileSync(join(REF, 'cibadmin_query.xml'), 'utf8'), 'cibadmin_query.xml');
    const text = renderFamilies(clusterFamilies(input(cib, 1_800_000_000)));
    expect(promtool(text).ok).toBe(true);
    for (const line of [
      'ha_cluster_corosync_quorate 1',
      'ha_cluster_corosync_rings{ring_id="1.8",node_id="1",number="0",address="198.18.0.11"} 1',
      'ha_cluster_corosync_ring_errors 0',
      'ha_cluster_corosync_member_votes{node_id="2",node="n2",local="false"} 1',
      'ha_cluster_corosync_member_votes{node_id="1",node="n1",local="true"} 1',
      'ha_cluster_corosync_quorum_votes{type="quorum"} 2',
      'ha_cluster_corosync_quorum_votes{type="expected_votes"} 3',
      'belay_totem_token_rotations_total 1200',
      'belay_totem_dropped_packets_total{reason="badAuth"} 2',
      'belay_totem_dropped_packets_total{reason="duplicate"} 5',
      'belay_transitions_total{result="aborted"} 1',
      'belay_failover_duration_seconds_bucket{le="5"} 1',
      'belay_failover_duration_seconds_bucket{le="1"} 0',
      'belay_failover_duration_seconds_sum 2.5',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('escapes label values and prints infinities as Prometheus does', () => {
    const text = renderFamilies([
      { name: 'x', type: 'gauge', help: 'a\\b\nc', samples: [{ labels: { v: 'q"u\\o\nte' }, value: Infinity }, { labels: { v: 'n' }, value: -Infinity }] },
    ]);
    expect(text).toBe('# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{v="q\\"u\\\\o\\nte"} +Inf\nx{v="n"} -Inf\n');
    expect(promtool(text).ok).toBe(true);
  });
});

describe('failover durations', () => {
  it('counts from the node loss to the resource running elsewhere', () => {
    const t = new FailoverTracker();
    const run = (m: Record<string, string[]>) => new Map(Object.entries(m));
    expect(t.update({ members: ['n1', 'n2', 'n3'], running: run({ ip: ['n1'], web: ['n2'] }) }, 1000)).toEqual([]);
    // n1 is lost; the CIB still says ip runs there until it is fenced or recovered.
    expect(t.update({ members: ['n2', 'n3'], running: run({ ip: ['n1'], web: ['n2'] }) }, 2000)).toEqual([]);
    expect(t.update({ members: ['n2', 'n3'], running: run({ ip: [], web: ['n2'] }) }, 3000)).toEqual([]);
    expect(t.update({ members: ['n2', 'n3'], running: run({ ip: ['n3'], web: ['n2'] }) }, 5500)).toEqual([{ rsc: 'ip', from: 'n1', to: 'n3', seconds: 3.5 }]);
    // A planned move is not a failover.
    expect(t.update({ members: ['n2', 'n3'], running: run({ ip: ['n2'], web: ['n2'] }) }, 6000)).toEqual([]);
  });
});

describe('belay keepalived metrics text', () => {
  it('uses the keepalived exporters names and passes promtool', () => {
    const status: RouterStatus = {
      routerId: 'lb1',
      instances: [
        {
          name: 'VI_1', vrid: 51, interface: 'eth0', state: 'MASTER', basePriority: 100, effectivePriority: 98, advertIntMs: 1000,
          masterAddress: '198.18.0.11', vips: ['198.18.0.50/24', '198.18.0.51/32'], preempt: true, syncGroup: null, faultReasons: [],
          stats: { advertRcvd: 4, advertSent: 90, becomeMaster: 2, releaseMaster: 1, priorityZeroRcvd: 0, priorityZeroSent: 1, dropped: { malformed: 0, ttl: 1, version: 0, checksum: 0, auth: 3, interval: 0, addresses: 0, own: 0, group: 0, peer: 0 } },
        },
      ],
      scripts: [{ name: 'chk_nginx', ok: false, consecutiveOk: 0, consecutiveFail: 3, running: false, lastDetail: 'exit 1', runs: 9 }],
      unmatched: { wrongVrid: 2, wrongInterface: 0, malformed: 0 },
    };
    const text = keepalivedMetricsText(status);
    const r = promtool(text);
    expect(r.ok, r.out).toBe(true);
    for (const line of [
      'keepalived_up 1',
      'keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="198.18.0.50"} 2',
      'keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="198.18.0.51"} 2',
      'keepalived_advertisements_received_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 4',
      'keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 2',
      'keepalived_authentication_failure_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 3',
      'keepalived_ip_ttl_errors_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 1',
      'keepalived_script_status{name="chk_nginx"} 0',
    ]) {
      expect(text).toContain(line);
    }
    expect(keepalivedMetricsText(undefined)).toContain('keepalived_up 0');
  });
});
