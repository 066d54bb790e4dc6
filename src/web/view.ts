/**
 * What the console shows, as pure functions of belayd's status snapshot:
 * crm_mon's own JSON tree (nodes, resources, clone sets, failed actions,
 * node attributes, fail counts), where each floating IP is, and the
 * what-if view (take nodes down, see the scheduler's placement), which is
 * crm_simulate's output for the CIB with those nodes cleanly down.
 */
import type { Cib } from '../cib/model.js';
import { monTree, treeToJson } from '../status/mon.js';
import { crmSimulate } from '../status/simulate-output.js';
import { unpack } from '../scheduler/index.js';
import type { Rsc } from '../scheduler/types.js';
import { monInputOf, type DaemonSnapshot } from '../metrics/daemon.js';

export interface ConsoleView {
  clusterName: string;
  node: string;
  quorate: boolean;
  dc: string | null;
  members: number;
  nodesConfigured: number;
  mon: Record<string, unknown>;
  vips: Array<{ rsc: string; ip: string; nodes: string[] }>;
  /** Fencing operations, newest first. */
  fencing: Array<{ target: string; action: string; state: string; by: string; origin: string; at: number; reason?: string }>;
  version: string;
}


/** Floating IPs: primitives with an `ip` parameter (FloatIP, IPaddr2, IPaddr). */
function vipsOf(cib: Cib, now: number): ConsoleView['vips'] {
  const out: ConsoleView['vips'] = [];
  const walk = (r: Rsc) => {
    if (r.kind === 'primitive') {
      const ip = r.prim?.instanceAttributes.flatMap((set) => set.nvpairs).find((p) => p.name === 'ip')?.value;
      if (ip && /IPaddr|FloatIP/i.test(r.type)) out.push({ rsc: r.id, ip, nodes: r.running.map((n) => n.name) });
    }
    for (const c of r.children) walk(c);
  };
  for (const r of unpack(cib, now).resources) walk(r);
  return out;
}

export function consoleView(s: DaemonSnapshot & { clusterName?: string }): ConsoleView {
  const tree = monTree(monInputOf(s), { inactive: true, failcounts: true, attributes: true });
  return {
    clusterName: s.clusterName ?? '',
    node: s.node.name,
    quorate: s.membership.quorate,
    dc: s.dc?.name ?? null,
    members: s.membership.members.length,
    nodesConfigured: s.cib.configuration.nodes.length,
    mon: treeToJson(tree),
    vips: vipsOf(s.cib, s.now),
    fencing: (s.fencing ?? [])
      .map((f) => ({
        target: f.target,
        action: f.action,
        state: f.state,
        by: f.executioner ?? '',
        origin: `${f.client ?? ''}@${f.origin ?? ''}`,
        at: f.completedAt ?? f.requestedAt ?? 0,
        ...(f.exitReason ? { reason: f.exitReason } : {}),
      }))
      .reverse(),
    version: `${s.cib.adminEpoch}.${s.cib.epoch}.${s.cib.numUpdates}`,
  };
}

/** crm_simulate's view of the cluster with `down` cleanly stopped (as `crm_simulate --node-down`). */
export function whatIf(cib: Cib, down: string[], now: number): string {
  const copy = structuredClone(cib);
  for (const name of down) {
    const node = copy.configuration.nodes.find((n) => n.uname === name);
    if (!node) throw new Error(`no node named '${name}'`);
    copy.status ??= [];
    let ns = copy.status.find((x) => x.uname === name);
    if (!ns) {
      ns = { id: node.id, uname: name, transientAttributes: [] };
      copy.status.push(ns);
    }
    Object.assign(ns, { inCcm: 'false', crmd: 'offline', join: 'down', expected: 'down' });
  }
  const out = crmSimulate(copy, { simulate: true, run: false, showScores: false, quiet: false, now });
  return [...out.stdout, ...out.stderr].join('\n');
}
