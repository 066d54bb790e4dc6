/**
 * The CIB (Cluster Information Base) model: Pacemaker's configuration and
 * status as typed data. Names follow Pacemaker's XML so that a reader who
 * knows `cibadmin --query` output knows this file.
 *
 * Rules of the model:
 * - It is plain data (JSON-safe): no classes, no Maps, no source positions,
 *   so two models compare with a deep equality and serialise as they are.
 * - Values are kept as the user wrote them (scores such as "INFINITY" or
 *   "inf", intervals such as "15s"): parsing happens where they are used
 *   (see score.ts, duration.ts), and export writes back what was read.
 * - Order is document order; nothing is sorted on import.
 * - Attributes the model does not name are kept in `extra` so that an import
 *   followed by an export loses nothing. Whole sections the model does not
 *   name (acls, alerts, fencing-topology, tags, ...) are kept as RawElement.
 */

/** An XML element kept verbatim, for parts of the CIB the model does not type. */
export interface RawElement {
  tag: string;
  attrs: Record<string, string>;
  children: RawElement[];
  /** Text content, when the element has any (rare in a CIB). */
  text?: string;
}

/**
 * XML comments inside an object's element (crmsh keeps the `# ...` lines
 * typed before a statement there and shows them above it). Written back as
 * the element's first children.
 */
export interface Commented {
  comments?: string[];
}

/** Attributes not named by the model, by XML attribute name. */
export type Extra = Record<string, string>;

// ---------------------------------------------------------------------------
// Name/value sets: instance_attributes, meta_attributes, utilization,
// cluster_property_set, and the sets inside rsc_defaults / op_defaults.

export interface NvPair {
  id?: string;
  name: string;
  /** Absent in the XML means "unset" (Pacemaker allows value-less nvpairs). */
  value?: string;
  idRef?: string;
}

export interface NvSet {
  id?: string;
  /** id-ref to a set defined elsewhere. */
  idRef?: string;
  /** Precedence among sets of the same kind (higher first). */
  score?: string;
  /** A set applies only when its rule holds. */
  rules: RuleNode[];
  nvpairs: NvPair[];
  extra?: Extra;
}

// ---------------------------------------------------------------------------
// Rules (location rules, rules inside nvsets). Kept as a small tree because
// the grammar (rule / expression / date_expression / date_spec / duration /
// rsc_expression / op_expression) is open-ended; evaluation lives with the
// scheduler.

export type RuleTag =
  | 'rule'
  | 'expression'
  | 'date_expression'
  | 'date_spec'
  | 'duration'
  | 'rsc_expression'
  | 'op_expression';

export interface RuleNode {
  tag: RuleTag | string;
  attrs: Record<string, string>;
  children: RuleNode[];
}

// ---------------------------------------------------------------------------
// Resources

export interface Operation {
  id: string;
  /** start, stop, monitor, promote, demote, notify, reload, migrate_to, ... */
  name: string;
  /** As written: "0", "15s", "10000", "PT1M". */
  interval: string;
  timeout?: string;
  role?: string;
  onFail?: string;
  enabled?: string;
  startDelay?: string;
  intervalOrigin?: string;
  recordPending?: string;
  description?: string;
  instanceAttributes: NvSet[];
  metaAttributes: NvSet[];
  extra?: Extra;
  /**
   * The order of the <op> attributes other than id and name, as written,
   * when it is not the model's own order (crmsh prints them in that order:
   * `op start timeout=60s interval=0`).
   */
  attrOrder?: string[];
}

export interface Primitive extends Commented {
  tag: 'primitive';
  id: string;
  /** ocf, lsb, systemd, service, stonith */
  class: string;
  provider?: string;
  type: string;
  description?: string;
  instanceAttributes: NvSet[];
  metaAttributes: NvSet[];
  utilization: NvSet[];
  operations: Operation[];
  /** The id of the <operations> element, when it had one. */
  operationsId?: string;
  /** <operations id-ref=X>: the operations of another resource, used here too. */
  operationsIdRef?: string;
  extra?: Extra;
}

export interface Group extends Commented {
  tag: 'group';
  id: string;
  description?: string;
  instanceAttributes: NvSet[];
  metaAttributes: NvSet[];
  children: Primitive[];
  extra?: Extra;
}

/**
 * A clone. `tag: 'master'` is the legacy spelling of a promotable clone
 * (crmsh's `ms`); a modern promotable clone is `tag: 'clone'` with the meta
 * attribute promotable=true. Both are kept as written so they round-trip.
 */
export interface Clone extends Commented {
  tag: 'clone' | 'master';
  id: string;
  description?: string;
  instanceAttributes: NvSet[];
  metaAttributes: NvSet[];
  child: Primitive | Group;
  extra?: Extra;
}

/** Bundles are not scheduled by belay; kept verbatim so they round-trip. */
export interface RawResource {
  tag: 'bundle' | 'template' | string;
  id: string;
  raw: RawElement;
}

export type Resource = Primitive | Group | Clone;
export type TopResource = Resource | RawResource;

// ---------------------------------------------------------------------------
// Constraints

export interface ResourceSet {
  id?: string;
  idRef?: string;
  sequential?: string;
  requireAll?: string;
  ordering?: string;
  action?: string;
  role?: string;
  score?: string;
  kind?: string;
  /** Member resource ids (the <resource_ref id=.../> elements), in order. */
  resources: string[];
  extra?: Extra;
}

export interface LocationConstraint extends Commented {
  tag: 'rsc_location';
  id: string;
  rsc?: string;
  rscPattern?: string;
  /** Simple form: a node name and a score. */
  node?: string;
  score?: string;
  role?: string;
  resourceDiscovery?: string;
  /** Rule form: one or more rules giving scores. */
  rules: RuleNode[];
  sets: ResourceSet[];
  extra?: Extra;
}

export interface ColocationConstraint extends Commented {
  tag: 'rsc_colocation';
  id: string;
  /** The dependent resource: placed relative to withRsc. */
  rsc?: string;
  withRsc?: string;
  score?: string;
  rscRole?: string;
  withRscRole?: string;
  nodeAttribute?: string;
  influence?: string;
  sets: ResourceSet[];
  extra?: Extra;
}

export interface OrderConstraint extends Commented {
  tag: 'rsc_order';
  id: string;
  first?: string;
  then?: string;
  firstAction?: string;
  thenAction?: string;
  /** Mandatory (default), Optional, Serialize. */
  kind?: string;
  /** Legacy: a score instead of kind (0 = Optional). */
  score?: string;
  symmetrical?: string;
  requireAll?: string;
  sets: ResourceSet[];
  extra?: Extra;
}

/** rsc_ticket and anything newer: kept verbatim. */
export interface RawConstraint {
  tag: string;
  id: string;
  raw: RawElement;
}

export type Constraint = LocationConstraint | ColocationConstraint | OrderConstraint;
export type AnyConstraint = Constraint | RawConstraint;

// ---------------------------------------------------------------------------
// Nodes and cluster options

export interface Node extends Commented {
  id: string;
  uname: string;
  /** member (default), remote, ping */
  type?: string;
  description?: string;
  /** standby, maintenance and custom attributes live here. */
  instanceAttributes: NvSet[];
  utilization: NvSet[];
  extra?: Extra;
}

export interface Configuration {
  /** <crm_config>: the cluster_property_set elements. */
  crmConfig: NvSet[];
  nodes: Node[];
  resources: TopResource[];
  constraints: AnyConstraint[];
  /** <rsc_defaults>: its meta_attributes sets. */
  rscDefaults: NvSet[];
  /** <op_defaults>: its meta_attributes sets. */
  opDefaults: NvSet[];
  /**
   * Sections of <configuration> the model does not type (fencing-topology,
   * acls, alerts, tags, ...), verbatim and in document order.
   */
  otherSections: RawElement[];
}

// ---------------------------------------------------------------------------
// Status

export interface LrmOp {
  id: string;
  /** start, stop, monitor, promote, demote, notify, ... */
  operation: string;
  /** Milliseconds, as written. "0" for one-shot operations and probes. */
  interval: string;
  callId?: string;
  rcCode?: string;
  /** 0 done, 1 cancelled, 2 timed out, 3 not supported, 4 error, -1 pending, ... */
  opStatus?: string;
  transitionKey?: string;
  transitionMagic?: string;
  lastRcChange?: string;
  lastRun?: string;
  execTime?: string;
  queueTime?: string;
  opDigest?: string;
  onNode?: string;
  extra?: Extra;
}

export interface LrmResource {
  id: string;
  class?: string;
  provider?: string;
  type?: string;
  ops: LrmOp[];
  extra?: Extra;
}

export interface NodeState {
  /** Absent in a malformed entry, which Pacemaker ignores (it is kept so the CIB is written back as it was). */
  id?: string;
  uname?: string;
  /** "true"/"false", or a timestamp in newer Pacemaker. */
  inCcm?: string;
  /** "online"/"offline", or a timestamp in newer Pacemaker. */
  crmd?: string;
  join?: string;
  expected?: string;
  /** Transient node attributes: fail-count-*, last-failure-*, custom. */
  transientAttributes: NvSet[];
  /** The id of <transient_attributes>, when present. */
  transientAttributesId?: string;
  /** Operation history of resources on this node, when <lrm> is present. */
  lrm?: { id?: string; resourcesId?: string; resources: LrmResource[] };
  extra?: Extra;
}

// ---------------------------------------------------------------------------
// The whole CIB

export interface Cib {
  adminEpoch: number;
  epoch: number;
  numUpdates: number;
  validateWith?: string;
  crmFeatureSet?: string;
  /** "1"/"true" or "0"/"false" as written. */
  haveQuorum?: string;
  dcUuid?: string;
  /** Pacemaker's simulator uses it as "now" (seconds since the epoch). */
  executionDate?: string;
  /** Other root attributes (cib-last-written, update-origin, ...). */
  extra?: Extra;
  /**
   * belay: the sequence of the ring in which this epoch was made (the sync
   * compares it first, as Raft's term). Not an XML attribute (Pacemaker's
   * schema has none for it): cib.xml carries it in a comment.
   */
  epochRing?: number;
  configuration: Configuration;
  /** Undefined when the CIB had no <status> element at all. */
  status?: NodeState[];
}

/** An empty CIB, as `cibadmin --empty` would give. */
export function emptyCib(): Cib {
  return {
    adminEpoch: 0,
    epoch: 0,
    numUpdates: 0,
    validateWith: 'pacemaker-3.9',
    crmFeatureSet: '3.16.1',
    configuration: {
      crmConfig: [],
      nodes: [],
      resources: [],
      constraints: [],
      rscDefaults: [],
      opDefaults: [],
      otherSections: [],
    },
    status: [],
  };
}
