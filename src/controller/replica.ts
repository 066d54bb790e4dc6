/**
 * The CIB replica: a pure fold over totem's agreed stream. Every node applies
 * the same messages and configuration changes in the same order, so every
 * replica is equal without a master copy (see docs/belayd.md).
 *
 * No I/O, no clock: times arrive inside messages (set by the sender).
 *
 * Cost: applying a message copies only what it changes (the CIB object, the
 * status array and the one node_state it touches); everything else is shared
 * with the previous state, which is never mutated. With hundreds of
 * resources a deep copy per message would block the event loop totem runs on.
 */
import type { Cib, Configuration, LrmOp, LrmResource, NodeState, NvSet } from '../cib/model.js';
import { HISTORY_LIMIT, upsertEvent, type FenceEvent, type FenceRequestAction } from '../fencing/history.js';
import { clusterProperty, fencingEnabled, isTrue, noQuorumPolicy } from './cluster-options.js';

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
  | {
      kind: 'cib-offer';
      from: number;
      version: CibVersion;
      configuration: Configuration;
      /** The offering node knows this version is on a majority's disk (it wins a tie of epochs). */
      committed?: boolean;
      /** The sequence of the ring in which this configuration's epoch was made (Cib.epochRing). */
      epochRing?: number;
      /** The ring it was made for: an offer made for an earlier ring and agreed in this one does not count here. */
      ring?: string;
    }
  | {
      kind: 'node-state';
      from: number;
      lrm: LrmResource[];
      transient: Record<string, string>;
      /**
       * What the sender knows of nodes outside the ring: those still UNCLEAN
       * (a node that joined later must not take them for cleanly down) and
       * the fencing history.
       */
      unclean?: Array<{ node: string; lrm: LrmResource[]; seen?: number }>;
      fencing?: FenceEvent[];
      /** The ring it was made for (one made for an earlier ring and agreed in this one is not this ring's). */
      ring?: string;
      /** The sender's processor cores: node-action-limit defaults to twice as many on that node. */
      cores?: number;
    }
  | {
      kind: 'op-result';
      from: number;
      resource: { id: string; class: string; provider?: string; type: string };
      op: LrmOp;
      /** The rc the transition expected; a different rc is a failure. */
      targetRc: number;
      /**
       * Recorded by the DC for this node (its action timer popped: the node
       * never answered); applied only while the node's record is still the
       * operation pending under the same transition key.
       */
      node?: number;
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
    }
  | {
      /** A clean shutdown: the node is about to leave; it must not be fenced for it. */
      kind: 'leave';
      from: number;
    }
  | {
      /** Fencing is asked for: `executor` runs the devices (never the target). */
      kind: 'fence-request';
      from: number;
      id: string;
      target: string;
      action: FenceRequestAction;
      executor: number;
      client: string;
      at: number;
      /** In [0, 1): picks pcmk_delay_max's random delay, the same on whichever node runs it. */
      random: number;
      /** priority-fencing-delay for this target, in ms (0 when it does not apply). */
      priorityDelayMs: number;
    }
  | {
      kind: 'fence-result';
      from: number;
      id: string;
      ok: boolean;
      devices: string[];
      at: number;
      exitReason?: string;
      /**
       * The request's target and action, so that a replica that never saw the
       * request (it joined since) applies the result alike.
       */
      target?: string;
      action?: FenceRequestAction;
      /**
       * The executor's ring when the devices answered: delivered in a later
       * ring with the target a member, the target has come back since.
       */
      ring?: string;
    }
  | {
      /** stonith_admin --confirm: the operator says the node is down. */
      kind: 'fence-confirm';
      from: number;
      id: string;
      target: string;
      client: string;
      at: number;
    }
  | {
      /** The DC's clear_failcount: a failure-timeout expired. */
      kind: 'clear-failcount';
      from: number;
      rsc: string;
      node: string;
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
  sync?: {
    awaiting: number[];
    best: { from: number; version: CibVersion; configuration: Configuration; committed: boolean; epochRing: number } | undefined;
    /** The newest version offered so far: the adopted one is raised above it, so no node's version goes back. */
    newest?: CibVersion;
  };
  /** Fencing operations, oldest first (stonith_admin --history). */
  fencing: FenceEvent[];
  /**
   * Nodes confirmed fenced in this ring (names). A peer's report that one of
   * them is unclean, built before it learnt of the fence and agreed after it,
   * is stale: the node cannot have come back within the ring.
   */
  fencedThisRing?: string[];
  /**
   * How fresh this replica's record of each node is (by name): the sequence
   * of the last ring it was a member of that this record saw, or the one an
   * adopted unclean report claimed. Sent with unclean reports, so that a
   * peer which saw the node later wins over one that last saw it earlier.
   */
  statusSeen?: Record<string, number>;
  /** Nodes whose unclean report was adopted in this ring (the first is taken whole; later ones only if as fresh). */
  reportedThisRing?: string[];
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
  /** Things an operator should see in the log (every node logs the same). */
  warnings?: string[];
  /** A fencing operation was recorded or finished (its entry as it now stands). */
  fenceEvent?: FenceEvent;
  /** The fence's target has rejoined since the devices answered: it was not this incarnation that they killed. */
  targetRejoined?: boolean;
  /** The sync after a ring change adopted an offer: whether its version is known to be on a majority's disk. */
  adopted?: { committed: boolean };
}

export function initialReplica(cib: Cib, nodes: ClusterNodeRef[]): ReplicaState {
  return { cib, nodes, membership: { ringId: '', members: [], quorate: false }, dc: undefined, fencing: [] };
}

/**
 * A configuration change from totem (the regular one). Offers are awaited
 * from every member so that the newest configuration wins after a merge.
 *
 * A node outside the ring that said it was leaving (or was never seen, or
 * was fenced) is cleanly down. One that vanished without saying so is
 * UNCLEAN: it may still run its resources, so its history stays and the
 * scheduler fences it before recovering them elsewhere, as in Pacemaker.
 * Only with stonith-enabled=false is it assumed down (with a warning).
 */
export function applyMembership(state: ReplicaState, membership: Membership): ApplyOutcome {
  const cib: Cib = { ...state.cib, haveQuorum: membership.quorate ? '1' : '0' };
  const status = [...(state.cib.status ?? [])];
  const warnings: string[] = [];
  const fencing = fencingEnabled(cib.configuration);
  for (const node of state.nodes) {
    const member = membership.members.includes(node.id);
    const { ns } = editNodeState(status, node);
    const wasUp = ns.inCcm === 'true';
    ns.inCcm = member ? 'true' : 'false';
    ns.crmd = member ? 'online' : 'offline';
    ns.join = member ? 'member' : 'down';
    if (member) {
      ns.expected = 'member';
      continue;
    }
    if (ns.expected === 'member' && fencing) {
      // Lost without a clean shutdown: UNCLEAN until fenced or back.
      if (wasUp) warnings.push(`node ${node.name} left the membership without a clean shutdown: it is UNCLEAN until fenced`);
      continue;
    }
    if (ns.expected === 'member' && wasUp) {
      warnings.push(`node ${node.name} is lost and will be assumed down (stonith-enabled=false): its resources may still be active there`);
    }
    // Cleanly down: its history no longer tells where anything runs, and
    // its transient attributes lapse.
    ns.expected = 'down';
    ns.lrm = { resources: [] };
    ns.transientAttributes = [];
  }
  cib.status = status;
  const dc = chooseDc(membership, noQuorumPolicy(cib.configuration));
  if (dc !== undefined) cib.dcUuid = String(dc);
  else delete cib.dcUuid;
  // A fencing operation whose executor left will never report: it failed.
  let history = state.fencing;
  for (const e of state.fencing) {
    if (e.state !== 'pending') continue;
    const executor = state.nodes.find((n) => n.name === e.executioner);
    if (executor && !membership.members.includes(executor.id)) {
      history = upsertEvent(history, { ...e, state: 'failed', exitReason: `${e.executioner} left the membership while fencing` });
    }
  }
  const { fencedThisRing: _lastRing, reportedThisRing: _reported, ...rest } = state;
  const statusSeen = { ...state.statusSeen };
  const seq = ringSeq(membership.ringId);
  for (const node of state.nodes) if (membership.members.includes(node.id)) statusSeen[node.name] = seq;
  const out: ApplyOutcome = {
    state: {
      ...rest,
      statusSeen,
      cib,
      membership,
      dc,
      fencing: history,
      sync: { awaiting: [...membership.members].sort((a, b) => a - b), best: undefined },
    },
    configChanged: false,
    statusChanged: true,
  };
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/**
 * The DC: the member with the lowest node id. It must be a function of the
 * agreed membership alone: after a merge every node's previous DC differs
 * (each singleton was its own), so stickiness would split the choice. A
 * partition without quorum has no DC (docs/belayd.md): each of its nodes
 * applies no-quorum-policy to its own resources; with no-quorum-policy=ignore
 * it behaves as if quorate.
 */
export function chooseDc(membership: Membership, policy = 'stop'): number | undefined {
  if (membership.members.length === 0) return undefined;
  if (!membership.quorate && policy !== 'ignore') return undefined;
  return Math.min(...membership.members);
}

/** One-shot operations whose pending record tells that a resource may be active there. */
const RECORDED_AT_DISPATCH = new Set(['start', 'stop', 'promote', 'demote', 'migrate_to', 'migrate_from']);

/**
 * The DC's request for `node` to run an operation was agreed: every replica
 * records it pending there (Pacemaker's record-pending, moved to dispatch).
 * The node starts the operation once it has the request; if it is cut off
 * before its own record reaches the others, the survivors still know the
 * resource may be active on it, and fence it before starting it elsewhere.
 */
export function applyDispatch(
  state: ReplicaState,
  d: { node: number; rsc: string; task: string; intervalMs: number; transitionKey: string },
): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === d.node);
  if (!node || d.intervalMs !== 0 || !RECORDED_AT_DISPATCH.has(d.task)) return unchanged(state);
  return editStatus(state, node, (ns) => {
    const resources = [...(ns.lrm?.resources ?? [])];
    ns.lrm = { ...(ns.lrm ?? { id: String(node.id) }), resources };
    const at = resources.findIndex((r) => r.id === d.rsc);
    const rsc: LrmResource = at < 0 ? { id: d.rsc, ops: [] } : { ...resources[at]!, ops: [...resources[at]!.ops] };
    if (at < 0) resources.push(rsc);
    else resources[at] = rsc;
    const pending: LrmOp = { id: `${d.rsc}_last_0`, operation: d.task, interval: '0', opStatus: '-1', rcCode: '193', transitionKey: d.transitionKey, onNode: node.name };
    const last = rsc.ops.findIndex((o) => o.id === pending.id);
    if (last < 0) rsc.ops.push(pending);
    else rsc.ops[last] = pending;
  });
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
    case 'clear-failcount':
      return applyClearFailcount(state, msg);
    case 'leave':
      return applyLeave(state, msg);
    case 'fence-request':
      return applyFenceRequest(state, msg);
    case 'fence-result':
      return applyFenceResult(state, msg);
    case 'fence-confirm':
      return applyFenceConfirm(state, msg);
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
  const cib: Cib = { ...state.cib, configuration: msg.configuration, epochRing: claimedRing(state) };
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
  if (!sync || !sync.awaiting.includes(msg.from) || (msg.ring !== undefined && msg.ring !== state.membership.ringId)) return unchanged(state);
  const offer = { from: msg.from, version: msg.version, configuration: msg.configuration, committed: msg.committed === true, epochRing: msg.epochRing ?? 0 };
  const best = sync.best === undefined || compareOffers(offer, sync.best) > 0 ? offer : sync.best;
  const newest = sync.newest === undefined || compareVersions(msg.version, sync.newest) > 0 ? msg.version : sync.newest;
  const awaiting = sync.awaiting.filter((id) => id !== msg.from);
  if (awaiting.length > 0) return { state: { ...state, sync: { awaiting, best, newest } }, configChanged: false, statusChanged: false };
  // Every member has offered: adopt the winner.
  const { sync: _done, ...rest } = state;
  // Adopt the winner even at an equal version: two partitions can each have
  // made a different edit that reached the same epoch. A winner from a later
  // ring may have a lower epoch than another offer: it is raised above every
  // version offered (alike on every node: they all saw the same offers), so
  // no node's version goes back.
  const version: CibVersion = compareVersions(best.version, newest) < 0 ? [newest[0], newest[1] + 1, 0] : best.version;
  const changed =
    compareVersions(version, versionOf(state.cib)) !== 0 ||
    JSON.stringify(best.configuration) !== JSON.stringify(state.cib.configuration);
  const cib: Cib = { ...state.cib, configuration: best.configuration, epochRing: best.epochRing };
  [cib.adminEpoch, cib.epoch, cib.numUpdates] = version;
  return { state: { ...rest, cib }, configChanged: changed, statusChanged: false, adopted: { committed: best.committed } };
}

/**
 * Which of two offers wins the sync: the newer admin_epoch (an operator's
 * override); then the configuration whose epoch was made in the later ring,
 * as Raft compares terms before indexes (a quorate ring always has a member
 * of every earlier quorate ring, so whatever a majority stored is offered in
 * every later one, and an edit made in a later ring was made on top of it;
 * a node that reached a higher epoch alone in an earlier ring, with changes
 * no majority stored, loses to it); then the newer epoch; at the same
 * epoch, the one known to be on a majority's disk; then num_updates; then
 * the lower node id.
 */
function compareOffers(
  a: { version: CibVersion; committed: boolean; from: number; epochRing: number },
  b: { version: CibVersion; committed: boolean; from: number; epochRing: number },
): number {
  return (
    a.version[0] - b.version[0] ||
    a.epochRing - b.epochRing ||
    a.version[1] - b.version[1] ||
    Number(a.committed) - Number(b.committed) ||
    a.version[2] - b.version[2] ||
    b.from - a.from
  );
}

/**
 * The ring an edit made now records: this ring's sequence, and never less
 * than the one its base configuration records (a cluster whose ring
 * sequence files were lost starts counting again; a configuration's ring
 * must not go back below its parent's, as a Raft term does not).
 */
function claimedRing(state: ReplicaState): number {
  return Math.max(ringSeq(state.membership.ringId), state.cib.epochRing ?? 0);
}

/** A totem ring id's sequence ("REP.SEQ", SEQ in hex): grows with every new ring a node joins. */
export function ringSeq(ringId: string): number {
  const seq = Number.parseInt(ringId.slice(ringId.indexOf('.') + 1), 16);
  return Number.isFinite(seq) ? seq : 0;
}

function applyNodeState(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'node-state' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === msg.from);
  if (!node) return unchanged(state);
  let next = editStatus(state, node, (ns) => {
    ns.lrm = { id: String(node.id), resources: msg.lrm };
    ns.transientAttributes = transientSet(node, msg.transient);
    if (ns.crmd === 'offline' && state.membership.members.includes(node.id)) {
      // Taken for fenced while a member of this ring (the devices answered
      // after it had come back): a node-state agreed after that is from a
      // live incarnation (the one they killed sent nothing after dying).
      ns.inCcm = 'true';
      ns.crmd = 'online';
      ns.join = 'member';
      ns.expected = 'member';
    }
  }).state;
  // Malformed extras from a peer are ignored alike on every replica, never thrown.
  // Part of the one edit above (num_updates + 1 once): a replica that already
  // knew a node unclean and one that learns it here stay at the same version.
  let status: NodeState[] | undefined;
  for (const u of Array.isArray(msg.unclean) ? msg.unclean : []) {
    if (typeof u !== 'object' || u === null || typeof u.node !== 'string' || !Array.isArray(u.lrm)) continue;
    const lost = next.nodes.find((n) => n.name === u.node);
    if (!lost || next.membership.members.includes(lost.id) || next.fencedThisRing?.includes(lost.name)) continue;
    // Unclean wins: taking a node for down when a peer saw it vanish could
    // run its resources twice. The first report in a ring is taken whole,
    // whatever this replica knew of the node before (replicas with different
    // pasts must end alike); a later one replaces it only if its reporter saw
    // the node as late: a DC that slept through a partition must not put back
    // its old record over that of a peer that saw the node start something since.
    const seen = typeof u.seen === 'number' && Number.isFinite(u.seen) ? u.seen : 0;
    if (next.reportedThisRing?.includes(lost.name) && seen < (next.statusSeen?.[lost.name] ?? 0)) continue;
    next = {
      ...next,
      statusSeen: { ...next.statusSeen, [lost.name]: seen },
      reportedThisRing: [...(next.reportedThisRing ?? []).filter((n) => n !== lost.name), lost.name],
    };
    status ??= [...(next.cib.status ?? [])];
    const { ns: x } = editNodeState(status, lost);
    x.inCcm = 'false';
    x.crmd = 'offline';
    x.join = 'down';
    x.expected = 'member';
    x.lrm = { id: String(lost.id), resources: u.lrm };
    x.transientAttributes = [];
  }
  if (status) next = { ...next, cib: { ...next.cib, status } };
  const theirs = Array.isArray(msg.fencing) ? msg.fencing.filter(isFenceEvent) : [];
  if (theirs.length > 0) next = { ...next, fencing: mergeHistory(next.fencing, theirs) };
  return { state: next, configChanged: false, statusChanged: true };
}

function isFenceEvent(e: unknown): e is FenceEvent {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x['id'] === 'string' &&
    typeof x['target'] === 'string' &&
    ['reboot', 'off', 'on'].includes(x['action'] as string) &&
    ['pending', 'done', 'failed'].includes(x['state'] as string) &&
    typeof x['origin'] === 'string' &&
    typeof x['client'] === 'string' &&
    typeof x['requestedAt'] === 'number'
  );
}

/** Union by id; a finished entry beats a pending one. Ordered by time, then id, so every replica gets the same list. */
function mergeHistory(mine: readonly FenceEvent[], theirs: readonly FenceEvent[]): FenceEvent[] {
  const byId = new Map(mine.map((e) => [e.id, e]));
  for (const e of theirs) {
    const have = byId.get(e.id);
    if (!have || (have.state === 'pending' && e.state !== 'pending')) byId.set(e.id, e);
  }
  const all = [...byId.values()].sort((a, b) => a.requestedAt - b.requestedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return all.slice(Math.max(0, all.length - HISTORY_LIMIT));
}

function applyOpResult(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'op-result' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === (msg.node ?? msg.from));
  if (!node) return unchanged(state);
  if (msg.node !== undefined) {
    // The node's own answer, when it came after all, stands.
    const ns = state.cib.status?.find((x) => x.id === String(node.id));
    const last = ns?.lrm?.resources.find((r) => r.id === msg.resource.id)?.ops.find((o) => o.id === `${msg.resource.id}_last_0`);
    if (!last || last.opStatus !== '-1' || last.transitionKey !== msg.op.transitionKey) return unchanged(state);
    // The node never ran it, so it has no call id of the node's. It takes the
    // node's highest so far (its later operations have higher ones; at an
    // equal call id the later last-rc-change sorts last): a call id of -1
    // would sort as pending, newer than anything, for ever.
    let callId = 0;
    for (const r of ns?.lrm?.resources ?? []) for (const o of r.ops) callId = Math.max(callId, Number.parseInt(o.callId ?? '0', 10) || 0);
    msg = { ...msg, op: { ...msg.op, callId: String(callId) } };
  }
  return editStatus(state, node, (ns) => {
    const resources = [...(ns.lrm?.resources ?? [])];
    ns.lrm = { ...(ns.lrm ?? { id: String(node.id) }), resources };
    const at = resources.findIndex((r) => r.id === msg.resource.id);
    let rsc: LrmResource;
    if (at < 0) {
      rsc = { id: msg.resource.id, class: msg.resource.class, type: msg.resource.type, ops: [] };
      if (msg.resource.provider !== undefined) rsc.provider = msg.resource.provider;
      resources.push(rsc);
    } else {
      rsc = { ...resources[at]!, ops: resources[at]!.ops };
      resources[at] = rsc;
    }
    if (msg.op.opStatus === '-1') {
      // A pending record (record-pending, said again after an older
      // operation's late result): it stands as last_0, as in a node-state.
      rsc.ops = [...rsc.ops.filter((o) => o.id !== `${rsc.id}_last_0`), { ...msg.op, id: `${rsc.id}_last_0` }];
      return;
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
      // As Pacemaker's controller: a failed stop, and a failed start with
      // start-failure-is-fatal (the default), count INFINITY at once.
      const fatal =
        msg.op.operation === 'stop' || (msg.op.operation === 'start' && isTrue(clusterProperty(state.cib.configuration, 'start-failure-is-fatal'), true));
      attrs[`fail-count-${key}`] = fatal ? 'INFINITY' : String(count + 1);
      attrs[`last-failure-${key}`] = msg.op.lastRcChange ?? '0';
      ns.transientAttributes = transientSet(node, attrs);
    }
  });
}

function applyAttrUpdate(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'attr-update' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.name === msg.node);
  if (!node) return unchanged(state);
  if (msg.lifetime === 'reboot') {
    return editStatus(state, node, (ns) => {
      const attrs = transientValues(ns);
      if (msg.value === undefined) delete attrs[msg.name];
      else attrs[msg.name] = msg.value;
      ns.transientAttributes = transientSet(node, attrs);
    });
  }
  const nodes = [...state.cib.configuration.nodes];
  const at = nodes.findIndex((n) => n.uname === node.name);
  const cfgNode = at >= 0 ? { ...nodes[at]! } : { id: String(node.id), uname: node.name, instanceAttributes: [], utilization: [] };
  if (at >= 0) nodes[at] = cfgNode;
  else nodes.push(cfgNode);
  const first = cfgNode.instanceAttributes[0] ?? { id: `nodes-${node.id}`, rules: [], nvpairs: [] };
  const nvpairs = first.nvpairs.filter((p) => p.name !== msg.name);
  if (msg.value !== undefined) nvpairs.push({ id: `nodes-${node.id}-${msg.name}`, name: msg.name, value: msg.value });
  cfgNode.instanceAttributes = [{ ...first, nvpairs }, ...cfgNode.instanceAttributes.slice(1)];
  // Only a quorate ring may claim the epoch (a lone node's ring can have a
  // higher sequence than the quorate partition's, and would win the next sync).
  const epochRing = state.membership.quorate ? claimedRing(state) : state.cib.epochRing;
  const cib: Cib = { ...state.cib, configuration: { ...state.cib.configuration, nodes }, epoch: state.cib.epoch + 1, numUpdates: 0 };
  if (epochRing !== undefined) cib.epochRing = epochRing;
  return { state: { ...state, cib }, configChanged: true, statusChanged: false };
}

function applyCleanup(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'cleanup' }>): ApplyOutcome {
  // Failure attributes are keyed RSC#OP_INTERVAL; clone instances share the base id.
  const matches = (attr: string) => {
    const m = /^(?:fail-count|last-failure)-(.+?)(?:#.*)?$/.exec(attr);
    return m !== null && (msg.rsc === undefined || m[1] === msg.rsc || m[1]!.split(':')[0] === msg.rsc);
  };
  const keep = (r: LrmResource) => msg.rsc !== undefined && r.id !== msg.rsc && r.id.split(':')[0] !== msg.rsc;
  return editMatchingNodes(state, (ns) => msg.node === undefined || ns.uname === msg.node, (ns) => {
    let changed = false;
    if (ns.lrm) {
      const kept = ns.lrm.resources.filter(keep);
      if (kept.length !== ns.lrm.resources.length) {
        ns.lrm = { ...ns.lrm, resources: kept };
        changed = true;
      }
    }
    const sets = ns.transientAttributes.map((set) => ({ ...set, nvpairs: set.nvpairs.filter((p) => !matches(p.name)) }));
    if (sets.some((set, i) => set.nvpairs.length !== ns.transientAttributes[i]!.nvpairs.length)) changed = true;
    ns.transientAttributes = sets.filter((set) => set.nvpairs.length > 0);
    return changed;
  });
}

/**
 * Pacemaker's clear_failcount: the failure-timeout of RSC's failures on NODE
 * expired. Its fail counts and its last failure go; the DC does not plan
 * the same clearing again.
 */
function applyClearFailcount(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'clear-failcount' }>): ApplyOutcome {
  const base = (id: string) => id.split(':')[0];
  const matches = (attr: string) => {
    const m = /^(?:fail-count|last-failure)-(.+?)#/.exec(attr);
    return m !== null && (m[1] === msg.rsc || base(m[1]!) === base(msg.rsc));
  };
  return editMatchingNodes(state, (ns) => ns.uname === msg.node, (ns) => {
    let changed = false;
    if (ns.lrm) {
      const resources = ns.lrm.resources.map((r) => {
        if (r.id !== msg.rsc && base(r.id) !== base(msg.rsc)) return r;
        const ops = r.ops.filter((o) => o.id !== `${r.id}_last_failure_0`);
        if (ops.length === r.ops.length) return r;
        changed = true;
        return { ...r, ops };
      });
      if (changed) ns.lrm = { ...ns.lrm, resources };
    }
    const sets = ns.transientAttributes.map((set) => ({ ...set, nvpairs: set.nvpairs.filter((p) => !matches(p.name)) }));
    if (sets.some((set, i) => set.nvpairs.length !== ns.transientAttributes[i]!.nvpairs.length)) changed = true;
    ns.transientAttributes = sets.filter((set) => set.nvpairs.length > 0);
    return changed;
  });
}

/** A clean shutdown: the node leaves next, expected down, as Pacemaker's controller records it. */
function applyLeave(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'leave' }>): ApplyOutcome {
  const node = state.nodes.find((n) => n.id === msg.from);
  if (!node) return unchanged(state);
  return editStatus(state, node, (ns) => {
    ns.expected = 'down';
  });
}

function applyFenceRequest(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'fence-request' }>): ApplyOutcome {
  const executor = state.nodes.find((n) => n.id === msg.executor);
  const origin = state.nodes.find((n) => n.id === msg.from);
  if (!executor || !origin || !state.nodes.some((n) => n.name === msg.target)) return unchanged(state);
  if (typeof msg.id !== 'string' || !['reboot', 'off', 'on'].includes(msg.action) || typeof msg.at !== 'number') return unchanged(state);
  if (state.fencing.some((e) => e.id === msg.id)) return unchanged(state);
  const event: FenceEvent = {
    id: msg.id,
    target: msg.target,
    action: msg.action,
    state: 'pending',
    origin: origin.name,
    client: msg.client,
    executioner: executor.name,
    requestedAt: msg.at,
  };
  return { state: { ...state, fencing: upsertEvent(state.fencing, event) }, configChanged: false, statusChanged: false, fenceEvent: event };
}

function applyFenceResult(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'fence-result' }>): ApplyOutcome {
  const known = state.fencing.find((e) => e.id === msg.id);
  const sender = state.nodes.find((n) => n.id === msg.from);
  // A request taken for failed because its executor left our ring may still
  // have been carried out: the executor's own answer, agreed later, is the truth.
  if (!sender || (known && (known.state === 'done' || sender.name !== known.executioner))) return unchanged(state);
  const target = known?.target ?? msg.target;
  const action = known?.action ?? msg.action;
  const victim = state.nodes.find((n) => n.name === target);
  if (!victim || action === undefined || !['reboot', 'off', 'on'].includes(action)) return unchanged(state);
  const ok = msg.ok === true;
  // Back already: the devices answered in an earlier ring, and the target
  // is a member of this one, so it joined after they killed it. What it
  // runs now it reports itself; taking it for down would split the view
  // (it does not count itself fenced) and fence it again.
  const cameBack = ok && msg.ring !== undefined && msg.ring !== state.membership.ringId && state.membership.members.includes(victim.id);
  let next: ReplicaState = state;
  let event: FenceEvent | undefined;
  if (known) {
    // A replica that joined after the request learns the outcome from the next node-states' history.
    event = {
      ...known,
      state: ok ? 'done' : 'failed',
      devices: Array.isArray(msg.devices) ? msg.devices.filter((d) => typeof d === 'string') : [],
      completedAt: typeof msg.at === 'number' ? msg.at : known.requestedAt,
    };
    if (typeof msg.exitReason === 'string') event.exitReason = msg.exitReason;
    next = { ...state, fencing: upsertEvent(state.fencing, event) };
  }
  const outcome: ApplyOutcome =
    !ok || action === 'on' || cameBack ? { state: next, configChanged: false, statusChanged: false } : markFenced(next, victim.name);
  if (event) outcome.fenceEvent = event;
  if (cameBack) {
    outcome.targetRejoined = true;
    outcome.warnings = [`node ${victim.name} was fenced (${msg.id}) and has rejoined since: it stays a member`];
  }
  return outcome;
}

function applyFenceConfirm(state: ReplicaState, msg: Extract<ReplicaMessage, { kind: 'fence-confirm' }>): ApplyOutcome {
  const origin = state.nodes.find((n) => n.id === msg.from);
  if (!origin || !state.nodes.some((n) => n.name === msg.target) || typeof msg.id !== 'string' || typeof msg.at !== 'number') return unchanged(state);
  if (state.fencing.some((e) => e.id === msg.id)) return unchanged(state);
  // The confirmation settles every operation still pending for the target.
  let history = state.fencing;
  for (const e of state.fencing) {
    if (e.target === msg.target && e.state === 'pending') history = upsertEvent(history, { ...e, state: 'done', devices: ['manual ack'], completedAt: msg.at });
  }
  const event: FenceEvent = {
    id: msg.id,
    target: msg.target,
    action: 'off',
    state: 'done',
    origin: origin.name,
    client: msg.client,
    executioner: origin.name,
    devices: ['manual ack'],
    requestedAt: msg.at,
    completedAt: msg.at,
  };
  return { ...markFenced({ ...state, fencing: upsertEvent(history, event) }, msg.target), fenceEvent: event };
}

/**
 * A node confirmed fenced: down, expected down, history and transient
 * attributes erased, as Pacemaker's DC does. If it is still in the ring the
 * devices answered in, that member is the incarnation they killed: the ring
 * loses it next (or, with a device that lied, its node-state after the next
 * membership change tells the truth again).
 */
function markFenced(state: ReplicaState, target: string): ApplyOutcome {
  const node = state.nodes.find((n) => n.name === target)!;
  const fencedThisRing = [...(state.fencedThisRing ?? []).filter((name) => name !== target), target];
  return editStatus({ ...state, fencedThisRing }, node, (ns) => {
    ns.inCcm = 'false';
    ns.crmd = 'offline';
    ns.join = 'down';
    ns.expected = 'down';
    ns.lrm = { resources: [] };
    ns.transientAttributes = [];
  });
}

/** Copy-on-write edit of one node's state; num_updates + 1. */
function editStatus(state: ReplicaState, node: ClusterNodeRef, edit: (ns: NodeState) => void): ApplyOutcome {
  const status = [...(state.cib.status ?? [])];
  const { ns } = editNodeState(status, node);
  edit(ns);
  const cib: Cib = { ...state.cib, status, numUpdates: state.cib.numUpdates + 1 };
  return { state: { ...state, cib }, configChanged: false, statusChanged: true };
}

/** Copy-on-write edit of the node states `which` selects; `edit` says whether it changed one. */
function editMatchingNodes(state: ReplicaState, which: (ns: NodeState) => boolean, edit: (ns: NodeState) => boolean): ApplyOutcome {
  let changed = false;
  const status = (state.cib.status ?? []).map((old) => {
    if (!which(old)) return old;
    const ns: NodeState = { ...old };
    if (!edit(ns)) return old;
    changed = true;
    return ns;
  });
  if (!changed) return unchanged(state);
  const cib: Cib = { ...state.cib, status, numUpdates: state.cib.numUpdates + 1 };
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
  // rsc is the caller's fresh copy; its ops array is replaced, never mutated.
  rsc.ops = rsc.ops.filter((o) => {
    if (o.id === id) return false;
    // A start or stop ends the recurring operations of the old instance.
    // (The last failure stays until a cleanup, whatever its interval.)
    return !(endsInstance && Number(o.interval) > 0 && o.id !== `${rsc.id}_last_failure_0`);
  });
  rsc.ops.push({ ...op, id });
  if (failed) {
    const failureId = `${rsc.id}_last_failure_0`;
    rsc.ops = rsc.ops.filter((o) => o.id !== failureId);
    rsc.ops.push({ ...op, id: failureId });
  }
}

/** Replace NODE's entry in `status` (a fresh array) by a shallow copy to edit, adding one when missing. */
function editNodeState(status: NodeState[], node: ClusterNodeRef): { ns: NodeState } {
  const at = status.findIndex((s) => s.id === String(node.id));
  const ns: NodeState = at >= 0 ? { ...status[at]! } : { id: String(node.id), uname: node.name, transientAttributes: [] };
  if (at >= 0) status[at] = ns;
  else status.push(ns);
  return { ns };
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
