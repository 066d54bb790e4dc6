/**
 * Pacemaker CIB XML <-> the CIB model (model.ts).
 *
 * Import: a strict single-pass scanner (xml-parse.ts) builds a small element
 * tree, which is then mapped onto the model; each <node_state> is mapped as
 * soon as it closes and its subtree dropped, so the big status never exists
 * twice in memory. Every attribute the model does not name lands in `extra`, and
 * sections the model does not type are kept as RawElement, so that
 * import -> export -> import gives a deep-equal model.
 *
 * Export: 2-space indented XML in the layout of `cibadmin --query`.
 */
import { CibError } from './errors.js';
import { parseXmlElements, positionOf, type XEl } from './xml-parse.js';
import type {
  Commented,
  AnyConstraint,
  Cib,
  Clone,
  ColocationConstraint,
  Configuration,
  Extra,
  Group,
  LocationConstraint,
  LrmOp,
  LrmResource,
  Node,
  NodeState,
  NvPair,
  NvSet,
  Operation,
  OrderConstraint,
  Primitive,
  RawElement,
  ResourceSet,
  RuleNode,
  TopResource,
} from './model.js';

export { CibError } from './errors.js';

// ---------------------------------------------------------------------------
// Attribute tables: XML attribute name -> model field name.

type AttrMap = ReadonlyArray<readonly [xml: string, field: string]>;

const NVSET_ATTRS: AttrMap = [['id', 'id'], ['id-ref', 'idRef'], ['score', 'score']];
const NVPAIR_ATTRS: AttrMap = [['id', 'id'], ['name', 'name'], ['value', 'value'], ['id-ref', 'idRef']];
const OP_ATTRS: AttrMap = [
  ['id', 'id'], ['name', 'name'], ['interval', 'interval'], ['timeout', 'timeout'], ['role', 'role'],
  ['on-fail', 'onFail'], ['enabled', 'enabled'], ['start-delay', 'startDelay'],
  ['interval-origin', 'intervalOrigin'], ['record-pending', 'recordPending'], ['description', 'description'],
];
const PRIMITIVE_ATTRS: AttrMap = [
  ['id', 'id'], ['class', 'class'], ['provider', 'provider'], ['type', 'type'], ['description', 'description'],
];
const CONTAINER_ATTRS: AttrMap = [['id', 'id'], ['description', 'description']];
const SET_ATTRS: AttrMap = [
  ['id', 'id'], ['id-ref', 'idRef'], ['sequential', 'sequential'], ['require-all', 'requireAll'],
  ['ordering', 'ordering'], ['action', 'action'], ['role', 'role'], ['score', 'score'], ['kind', 'kind'],
];
const LOCATION_ATTRS: AttrMap = [
  ['id', 'id'], ['rsc', 'rsc'], ['rsc-pattern', 'rscPattern'], ['node', 'node'], ['score', 'score'],
  ['role', 'role'], ['resource-discovery', 'resourceDiscovery'],
];
const COLOCATION_ATTRS: AttrMap = [
  ['id', 'id'], ['rsc', 'rsc'], ['with-rsc', 'withRsc'], ['score', 'score'], ['rsc-role', 'rscRole'],
  ['with-rsc-role', 'withRscRole'], ['node-attribute', 'nodeAttribute'], ['influence', 'influence'],
];
const ORDER_ATTRS: AttrMap = [
  ['id', 'id'], ['first', 'first'], ['then', 'then'], ['first-action', 'firstAction'],
  ['then-action', 'thenAction'], ['kind', 'kind'], ['score', 'score'], ['symmetrical', 'symmetrical'],
  ['require-all', 'requireAll'],
];
const NODE_ATTRS: AttrMap = [['id', 'id'], ['uname', 'uname'], ['type', 'type'], ['description', 'description']];
const NODE_STATE_ATTRS: AttrMap = [
  ['id', 'id'], ['uname', 'uname'], ['in_ccm', 'inCcm'], ['crmd', 'crmd'], ['join', 'join'], ['expected', 'expected'],
];
const LRM_RESOURCE_ATTRS: AttrMap = [['id', 'id'], ['class', 'class'], ['provider', 'provider'], ['type', 'type']];
const LRM_OP_ATTRS: AttrMap = [
  ['id', 'id'], ['operation', 'operation'], ['interval', 'interval'], ['call-id', 'callId'],
  ['rc-code', 'rcCode'], ['op-status', 'opStatus'], ['transition-key', 'transitionKey'],
  ['transition-magic', 'transitionMagic'], ['last-rc-change', 'lastRcChange'], ['last-run', 'lastRun'],
  ['exec-time', 'execTime'], ['queue-time', 'queueTime'], ['op-digest', 'opDigest'], ['on_node', 'onNode'],
];
const CIB_STRING_ATTRS: AttrMap = [
  ['validate-with', 'validateWith'], ['crm_feature_set', 'crmFeatureSet'], ['have-quorum', 'haveQuorum'],
  ['dc-uuid', 'dcUuid'], ['execution-date', 'executionDate'],
];

const CIB_ROOT_ATTRS: AttrMap = [['admin_epoch', '_a'], ['epoch', '_e'], ['num_updates', '_n'], ...CIB_STRING_ATTRS];

const RULE_TAGS = new Set([
  'rule', 'expression', 'date_expression', 'date_spec', 'duration', 'rsc_expression', 'op_expression',
]);

// ---------------------------------------------------------------------------
// Import

class Importer {
  constructor(
    private readonly file: string | undefined,
    private readonly text: string,
  ) {}

  fail(el: XEl, msg: string): never {
    throw new CibError(msg, { file: this.file, ...positionOf(this.text, el.pos) });
  }

  describe(el: XEl): string {
    return el.attrs.id !== undefined ? `<${el.tag} id="${el.attrs.id}">` : `<${el.tag}>`;
  }

  /** Copy mapped attributes into target; the rest go to target.extra (left out when none). */
  attrs(el: XEl, map: AttrMap, target: Record<string, unknown>, required: string[] = []): void {
    const m = compiled(map);
    const extra = m.copy(el.a, target);
    for (const r of required) {
      const field = m.fieldOf.get(r);
      if (field === undefined ? !el.a.includes(r) : target[field] === undefined) {
        this.fail(el, `${this.describe(el)} lacks the required attribute "${r}"`);
      }
    }
    if (extra !== undefined) target.extra = extra;
  }

  /** An object's comments, as crmsh shows them: trimmed, starting with "#". */
  comments(el: XEl, target: Commented): void {
    if (el.comments?.length) target.comments = el.comments.map((c) => (c.trim().startsWith('#') ? c.trim() : `# ${c.trim()}`));
  }

  unexpected(parent: XEl, child: XEl): never {
    this.fail(child, `unexpected element <${child.tag}> inside ${this.describe(parent)}`);
  }

  cib(root: XEl): Cib {
    if (root.tag !== 'cib') this.fail(root, `the root element is <${root.tag}>, expected <cib>`);
    const cib: Cib = {
      adminEpoch: this.int(root, 'admin_epoch'),
      epoch: this.int(root, 'epoch'),
      numUpdates: this.int(root, 'num_updates'),
      configuration: emptyConfiguration(),
    };
    const strings: Record<string, unknown> = {};
    this.attrs(root, CIB_ROOT_ATTRS, strings);
    delete strings._a;
    delete strings._e;
    delete strings._n;
    Object.assign(cib, strings);
    let sawConfiguration = false;
    for (const c of root.children) {
      if (c.tag === 'configuration') {
        if (sawConfiguration) this.fail(c, 'a second <configuration> element');
        sawConfiguration = true;
        cib.configuration = this.configuration(c);
      } else if (c.tag === 'status') {
        cib.status = c.children.map((s) => (s.tag === 'node_state' ? this.imported(s, () => this.nodeState(s)) : this.unexpected(c, s)));
      } else this.unexpected(root, c);
    }
    if (!sawConfiguration) this.fail(root, '<cib> has no <configuration> element');
    return cib;
  }

  /** What the close hook already made of el (rethrowing its error, in document order), or make it now. */
  imported<T>(el: XEl, make: () => T): T {
    if (el.done === undefined) return make();
    if (el.done instanceof CibError) throw el.done;
    return el.done as T;
  }

  /**
   * The parser's close hook: a <node_state> directly in <cib><status> is
   * imported as soon as it closes and its subtree dropped. An error is kept
   * and thrown when the importer reaches the element, so that a malformed
   * document still reports the XML error, and errors come in document order.
   */
  onClose(el: XEl, stack: readonly XEl[]): void {
    let make: (() => unknown) | undefined;
    // <cib><status><node_state><lrm><lrm_resources><lrm_resource>: done each
    // resource too, so that its operations' element objects die young.
    if (el.tag === 'lrm_resource' && stack.length === 5 && stack[4]!.tag === 'lrm_resources' && stack[3]!.tag === 'lrm') make = () => this.lrmResource(el);
    else if (el.tag === 'node_state' && stack.length === 2) make = () => this.nodeState(el);
    if (make === undefined || stack[1]!.tag !== 'status' || stack[0]!.tag !== 'cib') return;
    try {
      el.done = make();
    } catch (e) {
      if (!(e instanceof CibError)) throw e;
      el.done = e;
    }
    el.children = [];
  }

  int(el: XEl, name: string): number {
    const v = el.attrs[name];
    if (v === undefined) return 0;
    if (!/^\d+$/.test(v.trim())) this.fail(el, `<${el.tag}> attribute ${name}="${v}" is not a non-negative integer`);
    return Number.parseInt(v, 10);
  }

  configuration(el: XEl): Configuration {
    const conf = emptyConfiguration();
    for (const c of el.children) {
      switch (c.tag) {
        case 'crm_config':
          conf.crmConfig.push(...this.nvsets(c, 'cluster_property_set'));
          break;
        case 'rsc_defaults':
          conf.rscDefaults.push(...this.nvsets(c, 'meta_attributes'));
          break;
        case 'op_defaults':
          conf.opDefaults.push(...this.nvsets(c, 'meta_attributes'));
          break;
        case 'nodes':
          for (const n of c.children) conf.nodes.push(n.tag === 'node' ? this.node(n) : this.unexpected(c, n));
          break;
        case 'resources':
          for (const r of c.children) conf.resources.push(this.topResource(r));
          break;
        case 'constraints':
          for (const r of c.children) conf.constraints.push(this.constraint(r));
          break;
        default:
          conf.otherSections.push(toRaw(c));
      }
    }
    return conf;
  }

  /** The sets inside crm_config, rsc_defaults, op_defaults: all of one tag. */
  nvsets(el: XEl, tag: string): NvSet[] {
    return el.children.map((c) => (c.tag === tag ? this.nvset(c) : this.unexpected(el, c)));
  }

  nvset(el: XEl): NvSet {
    const set: NvSet = { rules: [], nvpairs: [] };
    this.attrs(el, NVSET_ATTRS, set as unknown as Record<string, unknown>);
    if (set.id === undefined && set.idRef === undefined) this.fail(el, `<${el.tag}> has neither id nor id-ref`);
    for (const c of el.children) {
      if (c.tag === 'nvpair') {
        const p = {} as NvPair;
        this.attrs(c, NVPAIR_ATTRS, p as unknown as Record<string, unknown>);
        if (p.name === undefined) {
          if (p.idRef === undefined) this.fail(c, `<nvpair${p.id ? ` id="${p.id}"` : ''}> lacks the required attribute "name"`);
          p.name = '';
        }
        const stray = (p as unknown as { extra?: Extra }).extra;
        if (stray) this.fail(c, `<nvpair name="${p.name}"> has unknown attributes: ${Object.keys(stray).join(', ')}`);
        set.nvpairs.push(p);
      } else if (c.tag === 'rule') set.rules.push(this.rule(c));
      else this.unexpected(el, c);
    }
    return set;
  }

  rule(el: XEl): RuleNode {
    if (!RULE_TAGS.has(el.tag)) this.fail(el, `unknown rule element <${el.tag}>`);
    return { tag: el.tag, attrs: { ...el.attrs }, children: el.children.map((c) => this.rule(c)) };
  }

  node(el: XEl): Node {
    const n = { instanceAttributes: [], utilization: [] } as unknown as Node;
    this.attrs(el, NODE_ATTRS, n as unknown as Record<string, unknown>, ['id']);
    this.comments(el, n);
    if (n.uname === undefined) n.uname = n.id;
    for (const c of el.children) {
      if (c.tag === 'instance_attributes') n.instanceAttributes.push(this.nvset(c));
      else if (c.tag === 'utilization') n.utilization.push(this.nvset(c));
      else this.unexpected(el, c);
    }
    return n;
  }

  topResource(el: XEl): TopResource {
    switch (el.tag) {
      case 'primitive':
        return this.primitive(el);
      case 'group':
        return this.group(el);
      case 'clone':
      case 'master':
        return this.clone(el);
      case 'bundle':
      case 'template':
        if (el.attrs.id === undefined) this.fail(el, `<${el.tag}> lacks the required attribute "id"`);
        return { tag: el.tag, id: el.attrs.id, raw: toRaw(el) };
      default:
        this.fail(el, `unknown resource element <${el.tag}>`);
    }
  }

  primitive(el: XEl): Primitive {
    const p = {
      tag: 'primitive',
      instanceAttributes: [],
      metaAttributes: [],
      utilization: [],
      operations: [],
    } as unknown as Primitive;
    // A primitive made from a template names the template instead of class/type.
    const fromTemplate = el.attrs.template !== undefined;
    this.attrs(el, PRIMITIVE_ATTRS, p as unknown as Record<string, unknown>, fromTemplate ? ['id'] : ['id', 'class', 'type']);
    this.comments(el, p);
    if (p.class === undefined) p.class = '';
    if (p.type === undefined) p.type = '';
    if (p.class === 'ocf' && p.provider === undefined) {
      this.fail(el, `<primitive id="${p.id}"> of class ocf lacks the required attribute "provider"`);
    }
    for (const c of el.children) {
      switch (c.tag) {
        case 'instance_attributes':
          p.instanceAttributes.push(this.nvset(c));
          break;
        case 'meta_attributes':
          p.metaAttributes.push(this.nvset(c));
          break;
        case 'utilization':
          p.utilization.push(this.nvset(c));
          break;
        case 'operations':
          if (c.attrs.id !== undefined) p.operationsId = c.attrs.id;
          if (c.attrs['id-ref'] !== undefined) p.operationsIdRef = c.attrs['id-ref'];
          for (const o of c.children) p.operations.push(o.tag === 'op' ? this.op(o) : this.unexpected(c, o));
          break;
        default:
          this.unexpected(el, c);
      }
    }
    return p;
  }

  op(el: XEl): Operation {
    const o = { instanceAttributes: [], metaAttributes: [] } as unknown as Operation;
    this.attrs(el, OP_ATTRS, o as unknown as Record<string, unknown>, ['id', 'name']);
    if (o.interval === undefined) o.interval = '';
    const order = opAttrOrder(Object.keys(el.attrs));
    if (order) o.attrOrder = order;
    for (const c of el.children) {
      if (c.tag === 'instance_attributes') o.instanceAttributes.push(this.nvset(c));
      else if (c.tag === 'meta_attributes') o.metaAttributes.push(this.nvset(c));
      else this.unexpected(el, c);
    }
    return o;
  }

  group(el: XEl): Group {
    const g = { tag: 'group', instanceAttributes: [], metaAttributes: [], children: [] } as unknown as Group;
    this.attrs(el, CONTAINER_ATTRS, g as unknown as Record<string, unknown>, ['id']);
    this.comments(el, g);
    for (const c of el.children) {
      if (c.tag === 'primitive') g.children.push(this.primitive(c));
      else if (c.tag === 'instance_attributes') g.instanceAttributes.push(this.nvset(c));
      else if (c.tag === 'meta_attributes') g.metaAttributes.push(this.nvset(c));
      else this.unexpected(el, c);
    }
    return g;
  }

  clone(el: XEl): Clone {
    const cl = { tag: el.tag, instanceAttributes: [], metaAttributes: [] } as unknown as Clone;
    this.attrs(el, CONTAINER_ATTRS, cl as unknown as Record<string, unknown>, ['id']);
    this.comments(el, cl);
    for (const c of el.children) {
      if (c.tag === 'primitive' || c.tag === 'group') {
        if ((cl as { child?: unknown }).child) this.fail(c, `<${el.tag} id="${cl.id}"> has more than one child resource`);
        cl.child = c.tag === 'primitive' ? this.primitive(c) : this.group(c);
      } else if (c.tag === 'instance_attributes') cl.instanceAttributes.push(this.nvset(c));
      else if (c.tag === 'meta_attributes') cl.metaAttributes.push(this.nvset(c));
      else this.unexpected(el, c);
    }
    if (!(cl as { child?: unknown }).child) this.fail(el, `<${el.tag} id="${cl.id}"> has no primitive or group inside`);
    return cl;
  }

  constraint(el: XEl): AnyConstraint {
    switch (el.tag) {
      case 'rsc_location': {
        const c = { tag: 'rsc_location', rules: [], sets: [] } as unknown as LocationConstraint;
        this.attrs(el, LOCATION_ATTRS, c as unknown as Record<string, unknown>, ['id']);
        this.comments(el, c);
        for (const k of el.children) {
          if (k.tag === 'rule') c.rules.push(this.rule(k));
          else if (k.tag === 'resource_set') c.sets.push(this.resourceSet(k));
          else this.unexpected(el, k);
        }
        return c;
      }
      case 'rsc_colocation': {
        const c = { tag: 'rsc_colocation', sets: [] } as unknown as ColocationConstraint;
        this.attrs(el, COLOCATION_ATTRS, c as unknown as Record<string, unknown>, ['id']);
        this.comments(el, c);
        c.sets = this.sets(el);
        return c;
      }
      case 'rsc_order': {
        const c = { tag: 'rsc_order', sets: [] } as unknown as OrderConstraint;
        this.attrs(el, ORDER_ATTRS, c as unknown as Record<string, unknown>, ['id']);
        this.comments(el, c);
        c.sets = this.sets(el);
        return c;
      }
      default:
        if (el.attrs.id === undefined) this.fail(el, `<${el.tag}> lacks the required attribute "id"`);
        return { tag: el.tag, id: el.attrs.id, raw: toRaw(el) };
    }
  }

  sets(el: XEl): ResourceSet[] {
    return el.children.map((k) => (k.tag === 'resource_set' ? this.resourceSet(k) : this.unexpected(el, k)));
  }

  resourceSet(el: XEl): ResourceSet {
    const s = { resources: [] } as unknown as ResourceSet;
    this.attrs(el, SET_ATTRS, s as unknown as Record<string, unknown>);
    for (const c of el.children) {
      if (c.tag !== 'resource_ref') this.unexpected(el, c);
      if (c.attrs.id === undefined) this.fail(c, `<resource_ref> lacks the required attribute "id"`);
      s.resources.push(c.attrs.id);
    }
    return s;
  }

  nodeState(el: XEl): NodeState {
    const ns = { transientAttributes: [] } as unknown as NodeState;
    // No required id: Pacemaker reads a CIB with such an entry and ignores the entry.
    this.attrs(el, NODE_STATE_ATTRS, ns as unknown as Record<string, unknown>, []);
    for (const c of el.children) {
      if (c.tag === 'transient_attributes') {
        if (c.attrs.id !== undefined) ns.transientAttributesId = c.attrs.id;
        for (const s of c.children) {
          ns.transientAttributes.push(s.tag === 'instance_attributes' ? this.nvset(s) : this.unexpected(c, s));
        }
      } else if (c.tag === 'lrm') {
        const lrm: NonNullable<NodeState['lrm']> = { resources: [] };
        if (c.attrs.id !== undefined) lrm.id = c.attrs.id;
        for (const rs of c.children) {
          if (rs.tag !== 'lrm_resources') this.unexpected(c, rs);
          if (rs.attrs.id !== undefined) lrm.resourcesId = rs.attrs.id;
          for (const r of rs.children) lrm.resources.push(r.tag === 'lrm_resource' ? this.imported(r, () => this.lrmResource(r)) : this.unexpected(rs, r));
        }
        ns.lrm = lrm;
      } else this.unexpected(el, c);
    }
    return ns;
  }

  lrmResource(el: XEl): LrmResource {
    const r = buildObject(LRM_RESOURCE_ATTRS, el, true) as unknown as LrmResource;
    if (r.id === undefined) this.fail(el, `${this.describe(el)} lacks the required attribute "id"`);
    // map() makes an array of the exact length: push() would reserve 17 slots
    // for each of the hundreds of thousands of one- or two-operation lists.
    r.ops = el.children.map((c) => {
      if (c.tag !== 'lrm_rsc_op') this.unexpected(el, c);
      const op = buildObject(LRM_OP_ATTRS, c, false) as unknown as LrmOp;
      if (op.id === undefined) this.fail(c, `${this.describe(c)} lacks the required attribute "id"`);
      if (op.operation === undefined) this.fail(c, `${this.describe(c)} lacks the required attribute "operation"`);
      if (op.interval === undefined) op.interval = '0';
      return op;
    });
    return r;
  }
}

function emptyConfiguration(): Configuration {
  return { crmConfig: [], nodes: [], resources: [], constraints: [], rscDefaults: [], opDefaults: [], otherSections: [] };
}

function toRaw(el: XEl): RawElement {
  const raw: RawElement = { tag: el.tag, attrs: { ...el.attrs }, children: el.children.map(toRaw) };
  const t = el.text.trim();
  if (t !== '') raw.text = t;
  return raw;
}

interface CompiledMap {
  /** Copies the mapped attributes of a flat name/value list into target, in the table's order; returns the others. */
  copy: (a: readonly string[], target: Record<string, unknown>) => Extra | undefined;
  /** Puts the mapped attributes' values into v by table index; returns the others. */
  collect: (a: readonly string[], v: Array<string | undefined>) => Extra | undefined;
  /** Object-literal makers by which fields are present (bit i: table entry i; bit 31: a leading "ops"). */
  makers: Map<number, (v: ReadonlyArray<string | undefined>) => Record<string, unknown>>;
  fieldOf: Map<string, string>;
  /** collect's output, reused (one entry per table entry). */
  values: Array<string | undefined>;
}
const compiledMaps = new WeakMap<AttrMap, CompiledMap>();

/**
 * Functions made for one attribute table. They are generated code (from
 * the constant tables above, quoted with JSON.stringify) because literal
 * names give V8 monomorphic property stores and pointer comparisons, and an
 * object literal of the exact fields takes half the memory of properties
 * added one by one: the generic loop over a table cost most of the import
 * time of a large status.
 */
function compiled(map: AttrMap): CompiledMap {
  let c = compiledMaps.get(map);
  if (c) return c;
  const q = JSON.stringify;
  const scan = (store: (i: number) => string) => [
    'let extra;',
    'for (let i = 0; i < a.length; i += 2) {',
    '  const v = a[i + 1];',
    '  switch (a[i]) {',
    ...map.map(([xml], i) => `    case ${q(xml)}: ${store(i)} = v; break;`),
    '    default: (extra ??= {})[a[i]] = v;',
    '  }',
    '}',
  ];
  const copy = [
    map.map((_, i) => `let v${i};`).join(' '),
    ...scan((i) => `v${i}`),
    ...map.map(([, field], i) => `if (v${i} !== undefined) t[${q(field)}] = v${i};`),
    'return extra;',
  ].join('\n');
  const collect = [map.map((_, i) => `w[${i}] = undefined;`).join(' '), ...scan((i) => `w[${i}]`), 'return extra;'].join('\n');
  c = {
    copy: new Function('a', 't', copy) as CompiledMap['copy'],
    collect: new Function('a', 'w', collect) as CompiledMap['collect'],
    makers: new Map(),
    values: map.map(() => undefined),
    fieldOf: new Map(map.map(([x, f]) => [x, f])),
  };
  compiledMaps.set(map, c);
  return c;
}

const OPS_FIRST = 1 << 31;

/**
 * A new object with the mapped attributes of el in the table's order (after
 * an "ops" field when withOps, left for the caller to set), then extra.
 */
function buildObject(map: AttrMap, el: XEl, withOps: boolean): Record<string, unknown> {
  const c = compiled(map);
  const v = c.values;
  const extra = c.collect(el.a, v);
  let mask = withOps ? OPS_FIRST : 0;
  for (let i = 0; i < map.length; i++) if (v[i] !== undefined) mask |= 1 << i;
  let make = c.makers.get(mask);
  if (make === undefined) {
    const fields = map.flatMap(([, f], i) => (mask & (1 << i) ? [`${JSON.stringify(f)}: v[${i}]`] : []));
    if (withOps) fields.unshift('ops: undefined');
    make = new Function('v', `return { ${fields.join(', ')} };`) as (v: ReadonlyArray<string | undefined>) => Record<string, unknown>;
    c.makers.set(mask, make);
  }
  const o = make(v);
  if (extra !== undefined) o.extra = extra;
  return o;
}

/** Every name the importer compares against, for the scanner's name table. */
const KNOWN_NAMES = [
  ...new Set([
    ...[NVSET_ATTRS, NVPAIR_ATTRS, OP_ATTRS, PRIMITIVE_ATTRS, CONTAINER_ATTRS, SET_ATTRS, LOCATION_ATTRS, COLOCATION_ATTRS,
      ORDER_ATTRS, NODE_ATTRS, NODE_STATE_ATTRS, LRM_RESOURCE_ATTRS, LRM_OP_ATTRS, CIB_ROOT_ATTRS].flatMap((m) => m.map(([x]) => x)),
    'cib', 'configuration', 'crm_config', 'cluster_property_set', 'nodes', 'node', 'resources', 'primitive', 'group',
    'clone', 'master', 'operations', 'op', 'instance_attributes', 'meta_attributes', 'utilization', 'nvpair',
    'constraints', 'rsc_location', 'rsc_colocation', 'rsc_order', 'resource_set', 'resource_ref', 'rule', 'expression',
    'status', 'node_state', 'transient_attributes', 'lrm', 'lrm_resources', 'lrm_resource', 'lrm_rsc_op',
    'crm-debug-origin', 'rsc_defaults', 'op_defaults',
  ]),
];

/** Parse a whole CIB (`<cib>...</cib>`). Throws CibError naming file, line and the element. */
export function parseCibXml(text: string, fileName?: string): Cib {
  const im = new Importer(fileName, text);
  const cib = im.cib(parseXmlElements(text, fileName, (el, stack) => im.onClose(el, stack), KNOWN_NAMES));
  const ring = EPOCH_RING_COMMENT.exec(text.slice(0, Math.max(0, text.indexOf('<cib'))));
  if (ring) cib.epochRing = Number(ring[1]);
  return cib;
}

/** belay's Cib.epochRing in cib.xml: a comment before <cib> (Pacemaker's tools skip it; its schema has no attribute for it). */
const EPOCH_RING_COMMENT = /<!-- belay epoch-ring (\d+) -->/;

/**
 * Parse an XML fragment: a whole <cib>, a <configuration>, or a single
 * section (<resources>, <constraints>, ...) such as `cibadmin -o` would take.
 * Returns the pieces it found, for `crm configure load`.
 */
export function parseXmlTree(text: string, fileName?: string): RawElement {
  return toRaw(parseXmlElements(text, fileName, undefined, KNOWN_NAMES));
}

// ---------------------------------------------------------------------------
// Export

const INDENT: string[] = [];
function indent(depth: number): string {
  return (INDENT[depth] ??= '  '.repeat(depth));
}

/** Attributes as text: ` k="v"` each, escaped; pre-formatted text passes through. */
function attrText(attrs: string | Array<[string, string]>): string {
  if (typeof attrs === 'string') return attrs;
  let a = '';
  for (const [k, v] of attrs) a += ` ${k}="${escapeAttr(v)}"`;
  return a;
}

class Writer {
  /** Finished lines, joined a few thousand at a time so that the many small strings die young. */
  private readonly chunks: string[] = [];
  private lines: string[] = [];
  /** Lines pushed so far. */
  private count = 0;

  push(line: string): void {
    // Flush before adding, never after: el() may still turn the last line into a self-closing tag.
    if (this.lines.length >= 4096) {
      this.chunks.push(this.lines.join('\n'));
      this.lines = [];
    }
    this.lines.push(line);
    this.count++;
  }

  /** Everything written, one line each, ending with a newline. */
  text(): string {
    this.chunks.push(this.lines.join('\n'));
    this.lines = [];
    return this.chunks.join('\n') + '\n';
  }

  open(depth: number, tag: string, attrs: string | Array<[string, string]>, empty: boolean): void {
    this.push(`${indent(depth)}<${tag}${attrText(attrs)}${empty ? '/' : ''}>`);
  }

  close(depth: number, tag: string): void {
    this.push(`${indent(depth)}</${tag}>`);
  }

  /** An element whose children are written by body(); self-closing when body writes nothing. */
  el(depth: number, tag: string, attrs: string | Array<[string, string]>, body?: () => void): void {
    this.open(depth, tag, attrs, false);
    const before = this.count;
    body?.();
    // Nothing written since open() (so no flush either): the open tag is still the last line.
    if (this.count === before) this.lines[this.lines.length - 1] = this.lines[this.lines.length - 1]!.slice(0, -1) + '/>';
    else this.close(depth, tag);
  }
}

const ATTR_ESCAPED = /[&<>"\n\r\t]/;

function escapeAttr(v: string): string {
  if (!ATTR_ESCAPED.test(v)) return v;
  return v.replace(/[&<>"\n\r\t]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : `&#${c.charCodeAt(0)};`,
  );
}

const attrWriters = new WeakMap<AttrMap, (o: object, esc: (v: string) => string) => string>();

/**
 * The attributes of a model object as text, like attrText(pairs(obj, map)):
 * generated per table (as compiled() for import) for the status, whose
 * hundreds of thousands of operations dominate the export time.
 */
function attrsOf(obj: object, map: AttrMap): string {
  let w = attrWriters.get(map);
  if (w === undefined) {
    const q = JSON.stringify;
    const body = [
      "let r = '';",
      ...map.map(([xml, field]) => `if (typeof o[${q(field)}] === 'string') r += ${q(` ${xml}="`)} + esc(o[${q(field)}]) + '"';`),
      'const extra = o.extra;',
      'if (extra) for (const k of Object.keys(extra)) r += ` ${k}="${esc(extra[k])}"`;',
      'return r;',
    ].join('\n');
    w = new Function('o', 'esc', body) as (o: object, esc: (v: string) => string) => string;
    attrWriters.set(map, w);
  }
  return w(obj, escapeAttr);
}

function escapeText(v: string): string {
  return v.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** The model's own order of <op> attributes after id and name. */
const OP_DEFAULT_ORDER = OP_ATTRS.map(([x]) => x).filter((x) => x !== 'id' && x !== 'name');

/** An <op>'s attribute order (without id and name), when it differs from the model's order. */
export function opAttrOrder(names: string[]): string[] | undefined {
  const seen = names.filter((n) => n !== 'id' && n !== 'name');
  const known = seen.filter((n) => OP_DEFAULT_ORDER.includes(n));
  const canonical = OP_DEFAULT_ORDER.filter((n) => known.includes(n));
  const extras = seen.filter((n) => !OP_DEFAULT_ORDER.includes(n));
  const asDefault = [...canonical, ...extras];
  return seen.every((n, i) => asDefault[i] === n) ? undefined : seen;
}

/** An <op>'s attributes: id and name first, then in its recorded order. */
export function opPairs(o: Operation): Array<[string, string]> {
  const all = pairs(o, OP_ATTRS).filter(([k, v]) => !(k === 'interval' && v === ''));
  if (!o.attrOrder) return all;
  const head = all.filter(([k]) => k === 'id' || k === 'name');
  const rest = all.filter(([k]) => k !== 'id' && k !== 'name');
  const rank = (k: string) => {
    const i = o.attrOrder!.indexOf(k);
    return i < 0 ? o.attrOrder!.length : i;
  };
  return [...head, ...rest.map((x, i) => [x, i] as const).sort((a, b) => rank(a[0][0]) - rank(b[0][0]) || a[1] - b[1]).map(([x]) => x)];
}

function pairs(obj: object, map: AttrMap): Array<[string, string]> {
  const o = obj as Record<string, unknown>;
  const out: Array<[string, string]> = [];
  for (const [xml, field] of map) {
    const v = o[field];
    if (typeof v === 'string') out.push([xml, v]);
  }
  const extra = o.extra as Extra | undefined;
  if (extra) for (const [k, v] of Object.entries(extra)) out.push([k, v]);
  return out;
}

function writeRaw(w: Writer, d: number, r: RawElement): void {
  const attrs = Object.entries(r.attrs);
  if (r.text !== undefined && r.children.length === 0) {
    w.push(`${indent(d)}<${r.tag}${attrText(attrs)}>${escapeText(r.text)}</${r.tag}>`);
    return;
  }
  w.el(d, r.tag, attrs, () => {
    if (r.text !== undefined) w.push(`${indent(d + 1)}${escapeText(r.text)}`);
    for (const c of r.children) writeRaw(w, d + 1, c);
  });
}

function writeRule(w: Writer, d: number, r: RuleNode): void {
  w.el(d, r.tag, Object.entries(r.attrs), () => {
    for (const c of r.children) writeRule(w, d + 1, c);
  });
}

function writeNvSet(w: Writer, d: number, tag: string, s: NvSet): void {
  w.el(d, tag, pairs(s, NVSET_ATTRS), () => {
    for (const r of s.rules) writeRule(w, d + 1, r);
    for (const p of s.nvpairs) {
      const attrs = pairs(p, NVPAIR_ATTRS).filter(([k, v]) => !(k === 'name' && v === '' && p.idRef !== undefined));
      w.open(d + 1, 'nvpair', attrs, true);
    }
  });
}

function writeNvSets(w: Writer, d: number, tag: string, sets: NvSet[]): void {
  for (const s of sets) writeNvSet(w, d, tag, s);
}

/** An object's comments, first inside its element (`--` cannot be in a comment: it becomes "- -"). */
function writeComments(w: Writer, d: number, o: Commented): void {
  for (const c of o.comments ?? []) w.push(`${indent(d)}<!--${c.replace(/--/g, '- -').replace(/-$/, '- ')}-->`);
}

function writePrimitive(w: Writer, d: number, p: Primitive): void {
  const attrs = pairs(p, PRIMITIVE_ATTRS).filter(([k, v]) => !((k === 'class' || k === 'type') && v === ''));
  w.el(d, 'primitive', attrs, () => {
    writeComments(w, d + 1, p);
    writeNvSets(w, d + 1, 'instance_attributes', p.instanceAttributes);
    writeNvSets(w, d + 1, 'meta_attributes', p.metaAttributes);
    writeNvSets(w, d + 1, 'utilization', p.utilization);
    if (p.operations.length > 0 || p.operationsId !== undefined || p.operationsIdRef !== undefined) {
      const oattrs: Array<[string, string]> = [];
      if (p.operationsId !== undefined) oattrs.push(['id', p.operationsId]);
      if (p.operationsIdRef !== undefined) oattrs.push(['id-ref', p.operationsIdRef]);
      w.el(d + 1, 'operations', oattrs, () => {
        for (const o of p.operations) {
          const oa = opPairs(o);
          w.el(d + 2, 'op', oa, () => {
            writeNvSets(w, d + 3, 'instance_attributes', o.instanceAttributes);
            writeNvSets(w, d + 3, 'meta_attributes', o.metaAttributes);
          });
        }
      });
    }
  });
}

function writeGroup(w: Writer, d: number, g: Group): void {
  w.el(d, 'group', pairs(g, CONTAINER_ATTRS), () => {
    writeComments(w, d + 1, g);
    writeNvSets(w, d + 1, 'instance_attributes', g.instanceAttributes);
    writeNvSets(w, d + 1, 'meta_attributes', g.metaAttributes);
    for (const c of g.children) writePrimitive(w, d + 1, c);
  });
}

function writeResource(w: Writer, d: number, r: TopResource): void {
  switch (r.tag) {
    case 'primitive':
      return writePrimitive(w, d, r as Primitive);
    case 'group':
      return writeGroup(w, d, r as Group);
    case 'clone':
    case 'master': {
      const c = r as Clone;
      return w.el(d, c.tag, pairs(c, CONTAINER_ATTRS), () => {
        writeComments(w, d + 1, c);
        writeNvSets(w, d + 1, 'instance_attributes', c.instanceAttributes);
        writeNvSets(w, d + 1, 'meta_attributes', c.metaAttributes);
        if (c.child.tag === 'primitive') writePrimitive(w, d + 1, c.child);
        else writeGroup(w, d + 1, c.child);
      });
    }
    default:
      return writeRaw(w, d, (r as { raw: RawElement }).raw);
  }
}

function writeSets(w: Writer, d: number, sets: ResourceSet[]): void {
  for (const s of sets) {
    w.el(d, 'resource_set', pairs(s, SET_ATTRS), () => {
      for (const id of s.resources) w.open(d + 1, 'resource_ref', [['id', id]], true);
    });
  }
}

function writeConstraint(w: Writer, d: number, c: AnyConstraint): void {
  switch (c.tag) {
    case 'rsc_location': {
      const l = c as LocationConstraint;
      return w.el(d, l.tag, pairs(l, LOCATION_ATTRS), () => {
        writeComments(w, d + 1, l);
        for (const r of l.rules) writeRule(w, d + 1, r);
        writeSets(w, d + 1, l.sets);
      });
    }
    case 'rsc_colocation': {
      const l = c as ColocationConstraint;
      return w.el(d, l.tag, pairs(l, COLOCATION_ATTRS), () => {
        writeComments(w, d + 1, l);
        writeSets(w, d + 1, l.sets);
      });
    }
    case 'rsc_order': {
      const l = c as OrderConstraint;
      return w.el(d, l.tag, pairs(l, ORDER_ATTRS), () => {
        writeComments(w, d + 1, l);
        writeSets(w, d + 1, l.sets);
      });
    }
    default:
      return writeRaw(w, d, (c as { raw: RawElement }).raw);
  }
}

function writeNode(w: Writer, d: number, n: Node): void {
  w.el(d, 'node', pairs(n, NODE_ATTRS), () => {
    writeComments(w, d + 1, n);
    writeNvSets(w, d + 1, 'instance_attributes', n.instanceAttributes);
    writeNvSets(w, d + 1, 'utilization', n.utilization);
  });
}

/** Write the <configuration> element at the given depth. */
function writeConfiguration(w: Writer, d: number, conf: Configuration): void {
  w.open(d, 'configuration', [], false);
  w.el(d + 1, 'crm_config', [], () => writeNvSets(w, d + 2, 'cluster_property_set', conf.crmConfig));
  w.el(d + 1, 'nodes', [], () => conf.nodes.forEach((n) => writeNode(w, d + 2, n)));
  w.el(d + 1, 'resources', [], () => conf.resources.forEach((r) => writeResource(w, d + 2, r)));
  w.el(d + 1, 'constraints', [], () => conf.constraints.forEach((c) => writeConstraint(w, d + 2, c)));
  if (conf.rscDefaults.length) w.el(d + 1, 'rsc_defaults', [], () => writeNvSets(w, d + 2, 'meta_attributes', conf.rscDefaults));
  if (conf.opDefaults.length) w.el(d + 1, 'op_defaults', [], () => writeNvSets(w, d + 2, 'meta_attributes', conf.opDefaults));
  for (const s of conf.otherSections) writeRaw(w, d + 1, s);
  w.close(d, 'configuration');
}

function writeNodeState(w: Writer, d: number, ns: NodeState): void {
  w.el(d, 'node_state', attrsOf(ns, NODE_STATE_ATTRS), () => {
    if (ns.transientAttributes.length || ns.transientAttributesId !== undefined) {
      const ta: Array<[string, string]> = ns.transientAttributesId !== undefined ? [['id', ns.transientAttributesId]] : [];
      w.el(d + 1, 'transient_attributes', ta, () => writeNvSets(w, d + 2, 'instance_attributes', ns.transientAttributes));
    }
    if (ns.lrm) {
      const lrm = ns.lrm;
      w.el(d + 1, 'lrm', lrm.id !== undefined ? [['id', lrm.id]] : [], () => {
        w.el(d + 2, 'lrm_resources', lrm.resourcesId !== undefined ? [['id', lrm.resourcesId]] : [], () => {
          for (const r of lrm.resources) {
            if (r.ops.length === 0) {
              w.open(d + 3, 'lrm_resource', attrsOf(r, LRM_RESOURCE_ATTRS), true);
              continue;
            }
            w.open(d + 3, 'lrm_resource', attrsOf(r, LRM_RESOURCE_ATTRS), false);
            const opIndent = `${indent(d + 4)}<lrm_rsc_op`;
            for (const op of r.ops) w.push(`${opIndent}${attrsOf(op, LRM_OP_ATTRS)}/>`);
            w.close(d + 3, 'lrm_resource');
          }
        });
      });
    }
  });
}

export interface CibToXmlOptions {
  /** Leave out <status> (what `crm configure show xml` prints). */
  omitStatus?: boolean;
  /** Start with an `<?xml version="1.0" ?>` declaration. */
  declaration?: boolean;
}

/** Export the model as 2-space indented CIB XML, ending with a newline. */
export function cibToXml(cib: Cib, opts: CibToXmlOptions = {}): string {
  const w = new Writer();
  if (opts.declaration) w.push('<?xml version="1.0" ?>');
  if (cib.epochRing) w.push(`<!-- belay epoch-ring ${cib.epochRing} -->`);
  const attrs: Array<[string, string]> = [];
  if (cib.crmFeatureSet !== undefined) attrs.push(['crm_feature_set', cib.crmFeatureSet]);
  if (cib.validateWith !== undefined) attrs.push(['validate-with', cib.validateWith]);
  attrs.push(['epoch', String(cib.epoch)], ['num_updates', String(cib.numUpdates)], ['admin_epoch', String(cib.adminEpoch)]);
  if (cib.extra) attrs.push(...Object.entries(cib.extra));
  if (cib.haveQuorum !== undefined) attrs.push(['have-quorum', cib.haveQuorum]);
  if (cib.dcUuid !== undefined) attrs.push(['dc-uuid', cib.dcUuid]);
  if (cib.executionDate !== undefined) attrs.push(['execution-date', cib.executionDate]);
  w.open(0, 'cib', attrs, false);
  writeConfiguration(w, 1, cib.configuration);
  if (cib.status !== undefined && !opts.omitStatus) {
    w.el(1, 'status', [], () => cib.status!.forEach((ns) => writeNodeState(w, 2, ns)));
  }
  w.close(0, 'cib');
  return w.text();
}

/** Export single pieces (for messages and `show xml NAME`). */
export function resourceToXml(r: TopResource): string {
  const w = new Writer();
  writeResource(w, 0, r);
  return w.text();
}

export function constraintToXml(c: AnyConstraint): string {
  const w = new Writer();
  writeConstraint(w, 0, c);
  return w.text();
}

/** One option set inside its section (`<op_defaults><meta_attributes .../></op_defaults>`). */
export function optionSetToXml(section: 'crm_config' | 'rsc_defaults' | 'op_defaults', s: NvSet): string {
  const w = new Writer();
  w.el(0, section, [], () => writeNvSet(w, 1, section === 'crm_config' ? 'cluster_property_set' : 'meta_attributes', s));
  return w.text();
}

/** A kept-verbatim element as XML text. */
export function rawToXml(r: RawElement): string {
  const w = new Writer();
  writeRaw(w, 0, r);
  return w.text();
}
