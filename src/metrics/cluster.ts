/**
 * belayd's metrics as a pure function of what the daemon knows: the CIB
 * (through crm_mon's own XML tree, src/status/mon.ts, which is exactly what
 * ClusterLabs' ha_cluster_exporter parses from `crm_mon --as-xml`), the
 * totem ring status (what it reads from `corosync-cfgtool -s` and
 * `corosync-quorumtool -p`) and belay's own counters. Names, labels and
 * value semantics follow ha_cluster_exporter so its Grafana dashboards
 * work unchanged:
 *
 * - one `ha_cluster_pacemaker_nodes` sample per node and status (online,
 *   standby, standby_onfail, maintenance, pending, unclean, shutdown,
 *   expected_up, dc), 1 when the node is in it;
 * - one `ha_cluster_pacemaker_resources` sample per resource instance and
 *   status (active, orphaned, blocked, failed, failure_ignored), with the
 *   lower-cased role, the agent, and the group / clone it belongs to;
 * - fail counts and migration thresholds per node history entry (1000000,
 *   Pacemaker's INFINITY, as +Inf for fail counts as the exporter does);
 * - location constraints with their score (+Inf / -Inf for INFINITY).
 */
import type { Cib } from '../cib/model.js';
import { monTree, type El, type MonInput } from '../status/mon.js';
import type { QuorumStatus } from '../quorum/votequorum.js';
import { counter, gauge, histogram, sample, type Family, type Sample, type Histogram } from './exposition.js';

/** The parts of the totem ring status (src/totem/udp.ts RingStatus) the metrics read. */
export interface RingView {
  nodeId: number;
  state: string;
  ring: string;
  nodes: Array<{ id: number; address: string; status: string }>;
  counters: Record<string, number>;
  drops: Record<string, number>;
  quorum: QuorumStatus;
}

export interface BelayCounters {
  delivered: number;
  sent: number;
  badMessages: number;
  executed: number;
}

export interface ClusterMetricsInput {
  mon: MonInput;
  /** This node and every configured node's votes. */
  self: { id: number; name: string; address: string };
  nodes: Array<{ id: number; name: string; votes: number }>;
  membership: { ringId: string; members: number[]; quorate: boolean };
  ring?: RingView;
  counters: BelayCounters;
  transitions: Record<string, number>;
  failover: Histogram;
  scheduler: Histogram;
  alertsRun?: Record<string, number>;
}

const attr = (e: El, name: string): string | undefined => e.attrs.find(([k]) => k === name)?.[1];
const flag = (e: El, name: string): number => (attr(e, name) === 'true' ? 1 : 0);
const kids = (e: El | undefined, tag: string): El[] => (e ? e.children.filter((c) => c.tag === tag) : []);
const kid = (e: El | undefined, tag: string): El | undefined => e?.children.find((c) => c.tag === tag);

const NODE_STATUSES: Array<[string, (n: El) => number]> = [
  ['online', (n) => flag(n, 'online')],
  ['standby', (n) => flag(n, 'standby')],
  ['standby_onfail', (n) => flag(n, 'standby_onfail')],
  ['maintenance', (n) => flag(n, 'maintenance')],
  ['pending', (n) => flag(n, 'pending')],
  ['unclean', (n) => flag(n, 'unclean')],
  ['shutdown', (n) => flag(n, 'shutdown')],
  ['expected_up', (n) => flag(n, 'expected_up')],
  ['dc', (n) => flag(n, 'is_dc')],
];

const RESOURCE_STATUSES = ['active', 'orphaned', 'blocked', 'failed', 'failure_ignored'];

function resourceSamples(r: El, group: string, clone: string): Sample[] {
  const nodes = kids(r, 'node').map((n) => attr(n, 'name') ?? '');
  const base = {
    resource: attr(r, 'id') ?? '',
    role: (attr(r, 'role') ?? '').toLowerCase(),
    managed: attr(r, 'managed') ?? 'false',
  };
  const out: Sample[] = [];
  // A resource active on several nodes (a multi-active failure) gets a line per node.
  for (const node of nodes.length ? nodes : ['']) {
    for (const status of RESOURCE_STATUSES) {
      out.push(sample(flag(r, status), { node, ...base, status, agent: attr(r, 'resource_agent') ?? '', group, clone }));
    }
  }
  return out;
}

/** The score of a location constraint, as the exporter reads it (INFINITY as ±Inf, junk as 0). */
function scoreValue(score: string | undefined): number {
  const s = (score ?? '').trim().toUpperCase();
  if (s === 'INFINITY' || s === '+INFINITY' || s === 'INF' || s === '+INF') return Infinity;
  if (s === '-INFINITY' || s === '-INF') return -Infinity;
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

function thresholdValue(t: string | undefined): number {
  const n = Number.parseInt(t ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/** The ha_cluster_pacemaker_* families. */
export function pacemakerFamilies(mon: MonInput, cib: Cib): Family[] {
  return pacemakerFamiliesFromTree(monTree(mon, { inactive: true, failcounts: true, attributes: true }), cib, mon.lastChange?.at ?? lastWritten(cib));
}

/**
 * The same from a `crm_mon --output-as=xml` tree, whoever made it (belay's
 * crm_mon or Pacemaker's, which is what ha_cluster_exporter reads).
 */
export function pacemakerFamiliesFromTree(tree: El, cib: Cib, lastChange: number | undefined): Family[] {
  const summary = kid(tree, 'summary');
  const options = kid(summary, 'cluster_options');

  const nodes: Sample[] = [];
  for (const n of kids(kid(tree, 'nodes'), 'node')) {
    for (const [status, f] of NODE_STATUSES) nodes.push(sample(f(n), { node: attr(n, 'name') ?? '', type: attr(n, 'type') ?? 'member', status }));
  }

  const resources: Sample[] = [];
  for (const r of kid(tree, 'resources')?.children ?? []) {
    if (r.tag === 'resource') resources.push(...resourceSamples(r, '', ''));
    else if (r.tag === 'group') for (const c of kids(r, 'resource')) resources.push(...resourceSamples(c, attr(r, 'id') ?? '', ''));
    else if (r.tag === 'clone') {
      const cloneId = attr(r, 'id') ?? '';
      for (const c of r.children) {
        if (c.tag === 'resource') resources.push(...resourceSamples(c, '', cloneId));
        else if (c.tag === 'group') for (const g of kids(c, 'resource')) resources.push(...resourceSamples(g, attr(c, 'id') ?? '', cloneId));
      }
    }
  }

  const failCounts: Sample[] = [];
  const thresholds: Sample[] = [];
  for (const n of kids(kid(tree, 'node_history'), 'node')) {
    const node = attr(n, 'name') ?? '';
    for (const h of kids(n, 'resource_history')) {
      const resource = attr(h, 'id') ?? '';
      const fc = thresholdValue(attr(h, 'fail-count'));
      failCounts.push(sample(fc >= 1_000_000 ? Infinity : fc, { node, resource }));
      thresholds.push(sample(thresholdValue(attr(h, 'migration-threshold')), { node, resource }));
    }
  }

  const nodeAttributes: Sample[] = [];
  for (const n of kids(kid(tree, 'node_attributes'), 'node')) {
    for (const a of kids(n, 'attribute')) nodeAttributes.push(sample(1, { node: attr(n, 'name') ?? '', name: attr(a, 'name') ?? '', value: attr(a, 'value') ?? '' }));
  }

  const locations: Sample[] = [];
  for (const c of cib.configuration.constraints) {
    if (c.tag !== 'rsc_location' || !('rules' in c)) continue;
    locations.push(sample(scoreValue(c.score), { constraint: c.id, node: c.node ?? '', resource: c.rsc ?? '', role: (c.role ?? '').toLowerCase() }));
  }

  return [
    gauge('ha_cluster_pacemaker_nodes', 'The status of each node in the cluster; 1 means the node is in that status, 0 otherwise', nodes),
    gauge('ha_cluster_pacemaker_node_attributes', 'Metadata attributes of each node; value is always 1', nodeAttributes),
    gauge('ha_cluster_pacemaker_resources', 'The status of each resource in the cluster; 1 means the resource is in that status, 0 otherwise', resources),
    gauge('ha_cluster_pacemaker_stonith_enabled', 'Whether or not stonith is enabled', [sample(options ? flag(options, 'stonith-enabled') : 0)]),
    gauge('ha_cluster_pacemaker_maintenance_mode_enabled', 'Whether or not cluster wide maintenance-mode is enabled', [sample(options ? flag(options, 'maintenance-mode') : 0)]),
    gauge('ha_cluster_pacemaker_fail_count', 'The Fail count number per node and resource id', failCounts),
    gauge('ha_cluster_pacemaker_migration_threshold', 'The migration_threshold number per node and resource id', thresholds),
    // ha_cluster_exporter types this as a counter; a timestamp is a gauge, and
    // `promtool check metrics` rejects a counter without _total. Same name, so
    // dashboards and queries are unaffected.
    gauge('ha_cluster_pacemaker_config_last_change', 'The timestamp of the last change of the cluster configuration', lastChange === undefined ? [] : [sample(lastChange)]),
    gauge('ha_cluster_pacemaker_location_constraints', 'Resource location constraints. The value indicates the score.', locations),
  ];
}

/** cib-last-written ("Sun Nov 22 02:24:57 2026", local time) as seconds, when present. */
function lastWritten(cib: Cib): number | undefined {
  const w = cib.extra?.['cib-last-written'];
  if (!w) return undefined;
  const ms = Date.parse(w);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** The ha_cluster_corosync_* families, from belay's totem ring and votequorum. */
export function corosyncFamilies(input: Pick<ClusterMetricsInput, 'self' | 'nodes' | 'membership' | 'ring'>): Family[] {
  const { self, nodes, membership, ring } = input;
  // One ring (belay has no redundant links); faulty when totem is not operational.
  const faulty = ring ? ring.state !== 'operational' : true;
  const votesOf = new Map(nodes.map((n) => [n.id, n.votes]));
  const q = ring?.quorum;
  return [
    gauge('ha_cluster_corosync_quorate', 'Whether or not the cluster is quorate', [sample(membership.quorate ? 1 : 0)]),
    gauge('ha_cluster_corosync_rings', 'The status of each Corosync ring; 1 means healthy, 0 means faulty.', [
      sample(faulty ? 0 : 1, { ring_id: membership.ringId, node_id: String(self.id), number: '0', address: self.address }),
    ]),
    gauge('ha_cluster_corosync_ring_errors', 'The total number of faulty corosync rings', [sample(faulty ? 1 : 0)]),
    gauge(
      'ha_cluster_corosync_member_votes',
      'How many votes each member node has contributed with to the current quorum',
      membership.members.map((id) =>
        sample(votesOf.get(id) ?? 1, { node_id: String(id), node: nodes.find((n) => n.id === id)?.name ?? '', local: id === self.id ? 'true' : 'false' }),
      ),
    ),
    gauge(
      'ha_cluster_corosync_quorum_votes',
      'Cluster quorum votes; one line per type',
      q
        ? [
            sample(q.expectedVotes, { type: 'expected_votes' }),
            sample(q.highestExpected, { type: 'highest_expected' }),
            sample(q.totalVotes, { type: 'total_votes' }),
            sample(q.quorum, { type: 'quorum' }),
          ]
        : [],
    ),
  ];
}

/** Packet drops of the totem shell and core, by reason. */
function dropSamples(ring: RingView): Sample[] {
  const out = Object.entries(ring.drops).map(([reason, n]) => sample(n, { reason }));
  const core: Array<[string, string]> = [
    ['droppedOldRing', 'old_ring'],
    ['droppedDuplicate', 'duplicate'],
    ['droppedStaleJoin', 'stale_join'],
    ['droppedOther', 'other'],
  ];
  for (const [k, reason] of core) if (k in ring.counters) out.push(sample(ring.counters[k]!, { reason }));
  return out;
}

/** belay's own families: totem, messages, transitions, failovers, scheduler. */
export function belayFamilies(input: ClusterMetricsInput): Family[] {
  const r = input.ring;
  const c = (k: string) => r?.counters[k] ?? 0;
  const fams: Family[] = [
    counter('belay_totem_token_rotations_total', 'Tokens received by this node (one per token rotation)', [sample(c('tokensReceived'))]),
    counter('belay_totem_token_retransmits_total', 'Tokens this node sent again because the next node did not pass it on in time', [sample(c('tokensRetransmitted'))]),
    counter('belay_totem_retransmits_total', 'Messages this node sent again on a retransmission request', [sample(c('retransmits'))]),
    counter('belay_totem_token_lost_total', 'Times the token was declared lost (a membership round follows)', [sample(c('tokenLost'))]),
    counter('belay_totem_rings_formed_total', 'New rings (memberships) this node installed', [sample(c('ringsFormed'))]),
    counter('belay_totem_dropped_packets_total', 'Totem packets dropped, by reason', r ? dropSamples(r) : []),
    counter('belay_cluster_messages_total', 'Cluster messages, by direction', [
      sample(input.counters.delivered, { direction: 'delivered' }),
      sample(input.counters.sent, { direction: 'sent' }),
    ]),
    counter('belay_cluster_bad_messages_total', 'Cluster messages dropped as undecodable or forged', [sample(input.counters.badMessages)]),
    counter('belay_operations_executed_total', 'Resource operations this node ran', [sample(input.counters.executed)]),
    counter(
      'belay_transitions_total',
      'Transitions this node ran as DC, by how they ended',
      Object.entries(input.transitions).map(([result, n]) => sample(n, { result })),
    ),
    histogram('belay_failover_duration_seconds', 'From a node leaving the membership to its resources running on another node', input.failover.samples()),
    histogram('belay_scheduler_run_seconds', 'Scheduler runs on this node (as DC)', input.scheduler.samples()),
  ];
  if (input.alertsRun) {
    fams.push(counter('belay_alerts_run_total', 'Alert agent runs, by result', Object.entries(input.alertsRun).map(([result, n]) => sample(n, { result }))));
  }
  return fams;
}

export function clusterFamilies(input: ClusterMetricsInput): Family[] {
  return [...pacemakerFamilies(input.mon, input.mon.cib), ...corosyncFamilies(input), ...belayFamilies(input)];
}
