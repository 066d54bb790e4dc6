/**
 * The CIB replica: a pure fold over totem's agreed stream. Every node applies
 * the same messages and configuration changes in the same order, so every
 * replica is equal without a master copy (see docs/belayd.md).
 *
 * No I/O, no clock: times arrive inside messages (set by the sender).
 */
import type { Cib, Configuration, LrmOp, LrmResource, NodeState, NvSet } from '../cib/model.js';

/** Pacemaker's version triple, compared lexicographically. */
export type CibVersion = readonly [adminEpoch: number, epoch: number, numUpdates: number];

export function versionOf(cib: Cib): CibVersion {
  return [cib.adminEpoch, cib.epoch, cib.numUpdates];
}

/** <0 when a is older than b, 0 when equal, >0 when newer. */
export function compareVersions(a: CibVersion, b: CibVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export interface ClusterNodeRef {
  id: number;
  name: string;
}

/** Messages that change the replica. All carry the sender's node id. */
export type ReplicaMessage =
  | {
      kind: 'cib-update';
      from: number;
      /** Lets the sender match the outcome to its client request. */
      requestId: string;
      /** The version the edit was computed against: compare-and-set. */
      base: CibVersion;
      configuration: Configuration;
      /** Bump admin_epoch instead of epoch (cibadmin --replace semantics). */
      adminEpoch?: number;
      /** Who made the change, as Pacemaker records it (update-origin/client/user, cib-last-written). */
      origin?: { node: string; client: string; user: string; at: string };
    }
  | { kind: 'cib-offer'; from: number; version: CibVersion; configuration: Configuration }
  | { kind: 'node-state'; from: number; lrm: LrmResource[]; transient: Record<string, string> }
  | {
      kind: 'op-result';
      from: number;
      resource: { id: string; class: string; provider?: string; type: string };
      op: LrmOp;
      /** The rc the transition expected; a different rc is a failure. */
      targetRc: number;
    }
  | {
      /** crm resource cleanup: forget history and failures so the DC probes again. */
      kind: 'cleanup';
      from: number;
      /** One resource (its history id), or every resource when undefined. */
      rsc: string | undefined;
      /** One node by name, or every node when undefined. */
      node: string | undefined;
    }
  | {
      kind: 'attr-update';
      from: number;
      node: string;
      name: string;
      /** undefined deletes the attribute. */
      value: string | undefined;
      /** reboot: a transient attribute (status); forever: a node attribute (configuration). */
      lifetime: 'reboot' | 'forever';
    };

export interface Membership {
  ringId: string;
  members: number[];
  quorate: boolean;
}

export interface ReplicaState {
  cib: Cib;
  nodes: ClusterNodeRef[];
  membership: Membership;
  dc: number | undefined;
  /** After a configuration change: offers still awaited, by node id. */
  sync?: { awaiting: number[]; best: { from: number; version: CibVersion; configuration: Configuration } | undefined };
}

/** What applying one message produced, for the caller's side effects. */
export interface ApplyOutcome {
  state: ReplicaState;
  /** The configuration changed (persist it; the DC reschedules). */
  configChanged: boolean;
  /** The status changed (the DC reschedules). */
  statusChanged: boolean;
  /** Outcome of a cib-update, for the node that sent it. */
  updateResult?: { requestId: string; from: number; ok: boolean; error?: string };
}

export function initialReplica(cib: Cib, nodes: ClusterNodeRef[]): ReplicaState {
  return { cib, nodes, membership: { ringId: '', members: [], quorate: false }, dc: undefined };
}

/**
 * A configuration change from totem (the regular one). Nodes outside the
 * ring are marked lost in status; offers are awaited from every member so
 * that the newest configuration wins after a merge.
 */
export function applyMembership(state: ReplicaState, membership: Membership): ApplyOutcome {
  const cib = structuredClone(state.cib);
  cib.haveQuorum = membership.quorate ? '1' : '0';
  const status = (cib.status ??= []);
  for (const node of state.nodes) {
    const member = membership.members.includes(node.id);
    const ns = findOrAddNodeState(status, node);
    ns.inCcm = member ? 'true' : 'false';
    ns.crmd = member ? 'online' : 'offline';
    ns.join = member ? 'member' : 'down';
    ns.expected = member ? 'member' : 'down';
    if (!member) {
      // A lost node's resources are gone with it: its history no longer
      // tells where anything runs, and its transient attributes lapse.
      ns.lrm = { resources: [] };
      ns.transientAttributes = [];
    }
  }
  const dc = chooseDc(membership);
  if (dc !== undefined) cib.dcUuid = String(dc);
  else delete cib.dcUuid;
  return {
    state: {
      ...state,
      cib,
      membership,
      dc,
      sync: { awaiting: [...membership.members].sort((a, b) => a - b), best: undefined },
    },
    configChanged: false,
    statusChanged: true,
  };
}

/**
 * The DC: the member with the lowest node id. It must be a function of the
 * agreed membership alone: after a merge every node's previous DC differs
 * (each singleton was its own), so stickiness would split the choice. As in
 * Pacemaker every partition has a DC, quorate or not: without quorum the
 * scheduler applies no-quorum-policy (stop, freeze, ignore).
 */
export function chooseDc(membership: Membership): number | undefined {
  if (membership.members.length === 0) return undefined;
  return Math.min(...membership.members);
}

export function applyMessage(state: ReplicaState, msg: ReplicaMessage): ApplyOutcome {
  switch (msg.kind) {
    case 'cib-update':
      return applyCibUpdate(state, msg);
    case 'cib-offer':
      return applyOffer(state, msg);
    case 'node-state':
      return applyNodeState(state, msg);
    case 'op-result':
      return applyOpResult(state, msg);
    case 'attr-update':
      return applyAttrUpdate(state, msg);
    case 'cleanup':
      return applyCleanup(state, msg);
  }
}

function unchanged(state: ReplicaState): ApplyOutcome {
  return { state, configChanged: false, statusChanged: false };
}

function applyCibUpdate(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'cib-update' }>): ApplyOutcome {
  const current = versionOf(state.cib);
  const result = { requestId: msg.requestId, from: msg.from };
  if (state.sync) {
    return { ...unchanged(state), updateResult: { ...result, ok: false, error: 'the cluster is synchronising its configuration; try again' } };
  }
  // As Pacemaker's CIB manager: no configuration write without quorum. A
  // partition without it could reach the same epoch as the quorate one with
  // another edit, and lose the quorate side's acknowledged change at the merge.
  if (!state.membership.quorate) {
    return { ...unchanged(state), updateResult: { ...result, ok: false, error: 'the partition has no quorum; configuration changes are refused' } };
  }
  if (current[0] !== msg.base[0] || current[1] !== msg.base[1]) {
    return {
      ...unchanged(state),
      updateResult: { ...result, ok: false, error: `the configuration changed meanwhile (now ${current.join('.')}); try again` },
    };
  }
  const cib = structuredClone(state.cib);
  cib.configuration = structuredClone(msg.configuration);
  if (msg.adminEpoch !== undefined && msg.adminEpoch > cib.adminEpoch) {
    cib.adminEpoch = msg.adminEpoch;
    cib.epoch = 0;
  } else {
    cib.epoch += 1;
  }
  cib.numUpdates = 0;
  if (msg.origin) {
    cib.extra = {
      ...cib.extra,
      'cib-last-written': msg.origin.at,
      'update-origin': msg.origin.node,
      'update-client': msg.origin.client,
      'update-user': msg.origin.user,
    };
  }
  return { state: { ...state, cib }, configChanged: true, statusChanged: false, updateResult: { ...result, ok: true } };
}

function applyOffer(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'cib-offer' }>): ApplyOutcome {
  const sync = state.sync;
  if (!sync || !sync.awaiting.includes(msg.from)) return unchanged(state);
  const better =
    sync.best === undefined ||
    compareVersions(msg.version, sync.best.version) > 0 ||
    (compareVersions(msg.version, sync.best.version) === 0 && msg.from < sync.best.from);
  const best = better ? { from: msg.from, version: msg.version, configuration: msg.configuration } : sync.best;
  const awaiting = sync.awaiting.filter((id) => id !== msg.from);
  if (awaiting.length > 0) return { state: { ...state, sync: { awaiting, best } }, configChanged: false, statusChanged: false };
  // Every member has offered: adopt the newest configuration.
  const { sync: _done, ...rest } = state;
  const cib = structuredClone(state.cib);
  const adopted = best!;
  // Adopt the winner even at an equal version: two partitions can each have
  // made a different edit that reached the same epoch.
  const changed =
    compareVersions(adopted.version, versionOf(cib)) !== 0 ||
    JSON.stringify(adopted.configuration) !== JSON.stringify(cib.configuration);
  cib.configuration = structuredClone(adopted.configuration);
  [cib.adminEpoch, cib.epoch, cib.numUpdates] = adopted.version;
  return { state: { ...rest, cib }, configChanged: changed, statusChanged: false };
}

function applyNodeState(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'node-state' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === msg.from);
  if (!node) return unchanged(state);
  const cib = structuredClone(state.cib);
  const ns = findOrAddNodeState((cib.status ??= []), node);
  ns.lrm = { id: String(node.id), resources: structuredClone(msg.lrm) };
  ns.transientAttributes = transientSet(node, msg.transient);
  cib.numUpdates += 1;
  return { state: { ...state, cib }, configChanged: false, statusChanged: true };
}

function applyOpResult(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'op-result' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === msg.from);
  if (!node) return unchanged(state);
  const cib = structuredClone(state.cib);
  const ns = findOrAddNodeState((cib.status ??= []), node);
  ns.lrm ??= { id: String(node.id), resources: [] };
  let rsc = ns.lrm.resources.find((r) => r.id === msg.resource.id);
  if (!rsc) {
    rsc = { id: msg.resource.id, class: msg.resource.class, type: msg.resource.type, ops: [] };
    if (msg.resource.provider !== undefined) rsc.provider = msg.resource.provider;
    ns.lrm.resources.push(rsc);
  }
  const rc = Number(msg.op.rcCode ?? '0');
  const isProbe = msg.op.operation === 'monitor' && Number(msg.op.interval) === 0;
  const cancelled = msg.op.opStatus === '1';
  const failed = !cancelled && rc !== msg.targetRc && !(isProbe && (rc === 0 || rc === 7 || rc === 8));
  recordOp(rsc, msg.op, failed);
  if (failed) {
    const key = `${msg.resource.id}#${msg.op.operation}_${msg.op.interval}`;
    const attrs = transientValues(ns);
    const count = Number(attrs[`fail-count-${key}`] ?? '0');
    attrs[`fail-count-${key}`] = String(count + 1);
    attrs[`last-failure-${key}`] = msg.op.lastRcChange ?? '0';
    ns.transientAttributes = transientSet(node, attrs);
  }
  cib.numUpdates += 1;
  return { state: { ...state, cib }, configChanged: false, statusChanged: true };
}

function applyAttrUpdate(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'attr-update' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.name === msg.node);
  if (!node) return unchanged(state);
  const cib = structuredClone(state.cib);
  if (msg.lifetime === 'reboot') {
    const ns = findOrAddNodeState((cib.status ??= []), node);
    const attrs = transientValues(ns);
    if (msg.value === undefined) delete attrs[msg.name];
    else attrs[msg.name] = msg.value;
    ns.transientAttributes = transientSet(node, attrs);
    cib.numUpdates += 1;
    return { state: { ...state, cib }, configChanged: false, statusChanged: true };
  }
  let cfgNode = cib.configuration.nodes.find((n) => n.uname === node.name);
  if (!cfgNode) {
    cfgNode = { id: String(node.id), uname: node.name, instanceAttributes: [], utilization: [] };
    cib.configuration.nodes.push(cfgNode);
  }
  let set = cfgNode.instanceAttributes[0];
  if (!set) {
    set = { id: `nodes-${node.id}`, rules: [], nvpairs: [] };
    cfgNode.instanceAttributes.push(set);
  }
  set.nvpairs = set.nvpairs.filter((p) => p.name !== msg.name);
  if (msg.value !== undefined) set.nvpairs.push({ id: `nodes-${node.id}-${msg.name}`, name: msg.name, value: msg.value });
  cib.epoch += 1;
  cib.numUpdates = 0;
  return { state: { ...state, cib }, configChanged: true, statusChanged: false };
}

function applyCleanup(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'cleanup' }>): ApplyOutcome {
  const cib = structuredClone(state.cib);
  let changed = false;
  // Failure attributes are keyed RSC#OP_INTERVAL; clone instances share the base id.
  const matches = (attr: string) => {
    const m = /^(?:fail-count|last-failure)-(.+?)(?:#.*)?$/.exec(attr);
    return m !== null && (msg.rsc === undefined || m[1] === msg.rsc || m[1]!.split(':')[0] === msg.rsc);
  };
  for (const ns of cib.status ?? []) {
    if (msg.node !== undefined && ns.uname !== msg.node) continue;
    if (ns.lrm) {
      const kept = ns.lrm.resources.filter((r) => msg.rsc !== undefined && r.id !== msg.rsc && r.id.split(':')[0] !== msg.rsc);
      if (kept.length !== ns.lrm.resources.length) {
        ns.lrm.resources = kept;
        changed = true;
      }
    }
    for (const set of ns.transientAttributes) {
      const kept = set.nvpairs.filter((p) => !matches(p.name));
      if (kept.length !== set.nvpairs.length) {
        set.nvpairs = kept;
        changed = true;
      }
    }
    ns.transientAttributes = ns.transientAttributes.filter((set) => set.nvpairs.length > 0);
  }
  if (!changed) return unchanged(state);
  cib.numUpdates += 1;
  return { state: { ...state, cib }, configChanged: false, statusChanged: true };
}

/**
 * Keep the history Pacemaker keeps, under its ids: RSC_last_0 (the last
 * one-shot operation), RSC_last_failure_0 (the last failure, until a
 * cleanup), and RSC_OP_INTERVAL for each recurring operation.
 */
function recordOp(rsc: LrmResource, op: LrmOp, failed: boolean): void {
  const recurring = Number(op.interval) > 0;
  const id = recurring ? `${rsc.id}_${op.operation}_${op.interval}` : `${rsc.id}_last_0`;
  const endsInstance = op.operation === 'stop' || op.operation === 'start';
  rsc.ops = rsc.ops.filter((o) => {
    if (o.id === id) return false;
    // A start or stop ends the recurring operations of the old instance.
    // (The last failure stays until a cleanup, whatever its interval.)
    return !(endsInstance && Number(o.interval) > 0 && o.id !== `${rsc.id}_last_failure_0`);
  });
  rsc.ops.push({ ...structuredClone(op), id });
  if (failed) {
    const failureId = `${rsc.id}_last_failure_0`;
    rsc.ops = rsc.ops.filter((o) => o.id !== failureId);
    rsc.ops.push({ ...structuredClone(op), id: failureId });
  }
}

function findOrAddNodeState(status: NodeState[], node: ClusterNodeRef): NodeState {
  let ns = status.find((s) => s.id === String(node.id));
  if (!ns) {
    ns = { id: String(node.id), uname: node.name, transientAttributes: [] };
    status.push(ns);
  }
  return ns;
}

function transientValues(ns: NodeState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of ns.transientAttributes) for (const p of set.nvpairs) if (p.value !== undefined) out[p.name] = p.value;
  return out;
}

function transientSet(node: ClusterNodeRef, values: Record<string, string>): NvSet[] {
  const names = Object.keys(values).sort();
  if (names.length === 0) return [];
  return [
    {
      id: `status-${node.id}`,
      rules: [],
      nvpairs: names.map((name) => ({ id: `status-${node.id}-${name}`, name, value: values[name]! })),
    },
  ];
}
