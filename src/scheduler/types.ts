/**
 * The scheduler's working set: the CIB unpacked into nodes, a resource tree
 * (with clone instances expanded) and their current state. Names follow
 * Pacemaker's scheduler (allowed nodes, assigned node, next role, ...).
 */
import type { Clone, Primitive, Operation } from '../cib/model.js';

export type Role = 'Stopped' | 'Started' | 'Unpromoted' | 'Promoted';

/** Order of roles, as Pacemaker compares them (Unknown < Stopped < Started < Unpromoted < Promoted). */
export const ROLE_RANK: Record<Role, number> = { Stopped: 1, Started: 2, Unpromoted: 3, Promoted: 4 };

export interface SNode {
  id: string;
  name: string;
  index: number;
  online: boolean;
  unclean: boolean;
  pending: boolean;
  standby: boolean;
  standbyOnFail: boolean;
  maintenance: boolean;
  shutdown: boolean;
  /** Node attributes for rules: #uname, #id, config and transient attributes. */
  attrs: Map<string, string>;
  /** Resources assigned to it so far (Pacemaker's num_resources). */
  numResources: number;
  /** Why the node must be fenced (set when it becomes unclean). */
  fenceReason?: string;
  /** Primitives active on it (for "standby (with active resources)"). */
  runningCount: number;
}

export type OnFail = 'ignore' | 'demote' | 'restart' | 'ban' | 'block' | 'stop' | 'standby' | 'fence';
export const ON_FAIL_RANK: Record<OnFail, number> = {
  ignore: 0, demote: 1, restart: 2, ban: 3, block: 4, stop: 5, standby: 6, fence: 7,
};

export interface Coloc {
  id: string;
  dependent: Rsc;
  primary: Rsc;
  score: number;
  dependentRole?: Role;
  primaryRole?: Role;
  influence: boolean;
  /** Configured by the user (not implied by a group). */
  explicit: boolean;
}

export type Kind = 'primitive' | 'group' | 'clone';

export interface Rsc {
  id: string;
  /** Id without the clone instance suffix. */
  baseId: string;
  kind: Kind;
  parent?: Rsc;
  children: Rsc[];
  prim?: Primitive;
  cls: string;
  provider?: string;
  type: string;
  meta: Map<string, string>;
  /** Flags (Pacemaker's pcmk__rsc_*). */
  managed: boolean;
  failed: boolean;
  orphan: boolean;
  blocked: boolean;
  maintenance: boolean;
  failureIgnored: boolean;
  stopIfFailed: boolean;
  unique: boolean;
  promotable: boolean;
  critical: boolean;
  startPending: boolean;
  stopUnexpected: boolean;
  /** Settings. */
  priority: number;
  stickiness: number;
  migrationThreshold: number;
  failureTimeoutMs: number;
  multipleActive: string;
  targetRole?: Role;
  requires: string;
  cloneMax: number;
  cloneNodeMax: number;
  interleave: boolean;
  ordered: boolean;
  /** Group: ordered/colocated. */
  groupOrdered: boolean;
  groupColocated: boolean;
  /** Current state. */
  role: Role;
  running: SNode[];
  knownOn: Set<SNode>;
  /** Nodes where a probe failed (stopped display: "(not installed)" etc.). */
  failedProbes: Map<SNode, number>;
  /** Active recurring monitors per node (interval ms). */
  activeMonitors: Map<SNode, Set<number>>;
  /** The lrm_resource id of its history on each node (clone instances may differ). */
  historyIds: Map<SNode, string>;
  /** Nodes where a stop failed. */
  stopFailedOn: Set<SNode>;
  /** The pending node of an in-flight op. */
  pendingNode?: SNode;
  /** The first pending operation's task (not a probe), as Pacemaker's rsc->pending_task. */
  pendingTask?: string;
  /** Scheduling state. */
  allowed: Map<SNode, number>;
  assigned: SNode | null;
  unassigned: boolean;
  /**
   * A clone instance past clone-max (2.1's clone:limit_reached): Pacemaker
   * bans it but leaves it provisional, so colocations with the clone skip it.
   */
  limitReached?: boolean;
  assigning: boolean;
  updatingNodes: boolean;
  nextRole?: Role;
  nextRoleReason?: string;
  thisWith: Coloc[];
  withThis: Coloc[];
  /** Actions created for this resource. */
  actions: import('./actions.js').Action[];
  /** Instance number for clone instances. */
  instance?: number;
  operations: Operation[];
  /** The clone's configuration (clones only). */
  cloneCfg?: Clone;
  restarting?: boolean;
  /** Resource is the config element of a clone instance template (not scheduled). */
  index: number;
}

export interface Options {
  symmetric: boolean;
  fencingEnabled: boolean;
  noQuorumPolicy: string;
  stopOrphans: boolean;
  stopOrphanActions: boolean;
  maintenanceMode: boolean;
  startFailureIsFatal: boolean;
  stopAll: boolean;
  haveQuorum: boolean;
  placementStrategy: string;
  startupFencing: boolean;
  haveFencing: boolean;
}

export interface Diagnostic {
  level: 'error' | 'warning';
  message: string;
}
