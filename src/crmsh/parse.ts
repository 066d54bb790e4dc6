/**
 * crmsh 4.x `configure` syntax -> CIB model pieces.
 *
 * One statement (a token list) becomes one ConfigItem; applying items to a
 * CIB is edit.ts's job (apply.ts glues the two). Ids of sub-elements are
 * generated the way crmsh does: FloatIP-instance_attributes,
 * FloatIP-instance_attributes-ip, haproxy-monitor-15s, ...
 */
import { CibError } from '../cib/errors.js';
import { isScore } from '../cib/score.js';
import { uniqueId } from '../cib/edit.js';
import { opAttrOrder, parseCibXml, resourceToXml } from '../cib/xml.js';
import type {
  Clone,
  Configuration,
  ColocationConstraint,
  Group,
  LocationConstraint,
  Node,
  NvSet,
  Operation,
  OrderConstraint,
  Primitive,
  RawConstraint,
  RawElement,
  ResourceSet,
  RuleNode,
} from '../cib/model.js';
import { ACL_SHORTCUTS } from './show.js';
import { where, type Statement, type Token } from './tokenize.js';

export type ConfigItem =
  | { kind: 'primitive'; primitive: Primitive }
  | { kind: 'group'; group: Group; members: string[] }
  | { kind: 'clone'; clone: Omit<Clone, 'child'>; member: string }
  | { kind: 'constraint'; constraint: LocationConstraint | ColocationConstraint | OrderConstraint }
  | { kind: 'property' | 'rsc_defaults' | 'op_defaults'; setId?: string; pairs: Array<[string, string]>; rules?: RuleNode[] }
  | { kind: 'node'; node: Node }
  | { kind: 'ticket'; constraint: RawConstraint }
  | { kind: 'monitor'; rsc: string; role?: string; interval: string; timeout?: string }
  | { kind: 'tag'; tag: RawElement }
  /** An object of a section the model keeps as XML: a role or ACL target in <acls>, an alert in <alerts>. */
  | { kind: 'section'; section: 'acls' | 'alerts'; element: RawElement }
  | { kind: 'fencing_topology'; levels: FencingLevelSpec[] }
  | { kind: 'xml'; configuration: Configuration };

/**
 * One `fencing_topology` level as written: for a node (`node1: st`), for
 * the nodes whose attribute has a value (`attr:rack=1: st`), for nodes
 * matching a pattern (`pattern:node.*: st`), or for every node of the CIB
 * (no target given).
 */
export interface FencingLevelSpec {
  target: { node: string } | { attribute: string; value: string } | { pattern: string } | { allNodes: true };
  devices: string;
}

/** Resource classes Pacemaker knows. */
export const RESOURCE_CLASSES = ['ocf', 'lsb', 'systemd', 'service', 'stonith', 'upstart', 'nagios', 'heartbeat'];

/** Op attributes that are XML attributes of <op>; anything else is an op instance attribute. */
const OP_XML_ATTRS: Record<string, keyof Operation> = {
  interval: 'interval',
  timeout: 'timeout',
  role: 'role',
  'on-fail': 'onFail',
  enabled: 'enabled',
  'start-delay': 'startDelay',
  'interval-origin': 'intervalOrigin',
  'record-pending': 'recordPending',
  description: 'description',
};

const RESOURCE_KEYWORDS = new Set(['params', 'meta', 'utilization', 'op', 'operations', 'op_params', 'op_meta']);

class Parser {
  private i = 0;
  /** Ids made while parsing this statement, so generated ids do not clash with each other. */
  private readonly made = new Set<string>();

  constructor(
    private readonly toks: Token[],
    private readonly file: string | undefined,
    /** Gets every id the parser made up (not given in the text). */
    private readonly generated?: Set<string>,
  ) {}

  fail(msg: string, t: Token | undefined = this.toks[this.i]): never {
    const w = where(t, this.file);
    const at = t ? (t.arg !== undefined ? ` (word ${t.arg + 1})` : '') : ' at the end of the statement';
    throw new CibError(`${msg}${at}`, w);
  }

  peek(): Token | undefined {
    return this.toks[this.i];
  }

  next(what: string): Token {
    const t = this.toks[this.i];
    if (!t) this.fail(`expected ${what}`);
    this.i++;
    return t;
  }

  done(): boolean {
    return this.i >= this.toks.length;
  }

  id(base: string): string {
    const id = uniqueId(this.made, base);
    this.made.add(id);
    this.generated?.add(id);
    return id;
  }

  ident(what: string): string {
    const t = this.next(what);
    if (!/^[A-Za-z_][\w.:-]*$/.test(t.text)) this.fail(`"${t.text}" is not a valid ${what}`, t);
    return t.text;
  }

  // -------------------------------------------------------------------------

  statement(): ConfigItem {
    const kw = this.next('a command');
    const k = kw.text;
    switch (k) {
      case 'primitive':
        return this.primitive();
      case 'rsc_template':
        return this.template();
      case 'group':
        return this.group();
      case 'clone':
      case 'ms':
        return this.clone(k);
      case 'master':
        // crmsh 4.4: "master" is accepted as "ms".
        return this.clone('ms');
      case 'monitor':
        return this.monitor();
      case 'location':
        return this.location();
      case 'colocation':
      case 'collocation':
        return this.colocation();
      case 'order':
        return this.order();
      case 'property':
      case 'rsc_defaults':
      case 'op_defaults':
        return this.options(k);
      case 'node':
        return this.node();
      case 'xml':
        return this.xml(kw);
      case 'rsc_ticket':
        return this.ticket();
      case 'tag':
        return this.tag();
      case 'role':
        return this.aclRole();
      case 'acl_target':
      case 'acl_group':
        return this.aclTarget(k);
      case 'alert':
        return this.alert();
      case 'fencing_topology':
      case 'fencing-topology':
        return this.fencingTopology();
      default:
        this.fail(`unknown configure command "${k}" (known: primitive, group, clone, ms, location, colocation, order, property, rsc_defaults, op_defaults, node)`, kw);
    }
  }

  /** name=value; value may be empty ("name=") but the "=" must be there. */
  pair(t: Token): [string, string] {
    const eq = t.text.indexOf('=');
    if (eq <= 0) this.fail(`expected NAME=VALUE, got "${t.text}"`, t);
    return [t.text.slice(0, eq), t.text.slice(eq + 1)];
  }

  isPair(t: Token | undefined): boolean {
    return !!t && t.text.indexOf('=') > 0 && !RESOURCE_KEYWORDS.has(t.text);
  }

  /** An attribute list after params/meta/utilization: [$id=X] [SCORE:] [rule ...] name=value ... */
  attrSet(owner: string, tag: string, stop: Set<string>): NvSet {
    let setId: string | undefined;
    const first = this.peek();
    if (first && first.text.startsWith('$id=')) {
      this.i++;
      setId = first.text.slice(4);
    }
    const id = setId ?? this.id(`${owner}-${tag}`);
    this.made.add(id);
    const set: NvSet = { id, rules: [], nvpairs: [] };
    const pk = this.peek();
    const sc = this.scoreToken(pk);
    if (pk && sc !== undefined && !pk.text.includes('=')) {
      this.i++;
      set.score = this.score(sc, pk);
    }
    while (!this.done() && this.peek()!.text === 'rule') {
      this.i++;
      set.rules.push(this.rule(id, (t) => this.isPair(t) || stop.has(t.text)));
    }
    while (!this.done() && !stop.has(this.peek()!.text)) {
      const t = this.next('NAME=VALUE');
      const [n, v] = this.pair(t);
      if (n === '$id-ref') this.fail(`$id-ref is not supported by belay's crm`, t);
      // crmsh: "$ID:NAME=VALUE" gives the nvpair its own id.
      const own = /^\$([^:]+):(.+)$/.exec(n);
      if (own) {
        this.made.add(own[1]!);
        set.nvpairs.push({ id: own[1]!, name: own[2]!, value: v });
        continue;
      }
      if (n.startsWith('$')) this.fail(`"${n}" is not a parameter name`, t);
      set.nvpairs.push({ id: this.id(`${id}-${n}`), name: n, value: v });
    }
    return set;
  }

  agentSpec(): { class: string; provider?: string; type: string; template?: string } {
    const t = this.next('a resource agent (class:provider:type)');
    const parts = t.text.split(':');
    // A primitive made from a resource template (`@NAME`): the template gives class, provider and type.
    if (t.text.startsWith('@')) {
      if (!/^@[A-Za-z_][\w.:-]*$/.test(t.text)) this.fail(`"${t.text}" is not a template reference (@TEMPLATE-ID)`, t);
      return { class: '', type: '', template: t.text.slice(1) };
    }
    let cls: string;
    let provider: string | undefined;
    let type: string;
    if (parts.length === 1) [cls, provider, type] = ['ocf', 'heartbeat', parts[0]!];
    else if (parts.length === 2) {
      [cls, type] = [parts[0]!, parts[1]!];
      if (cls === 'ocf') provider = 'heartbeat';
    } else if (parts.length === 3) [cls, provider, type] = [parts[0]!, parts[1]!, parts[2]!];
    else this.fail(`"${t.text}" is not a resource agent (class:provider:type)`, t);
    if (!RESOURCE_CLASSES.includes(cls)) this.fail(`unknown resource class "${cls}" in "${t.text}" (known: ${RESOURCE_CLASSES.join(', ')})`, t);
    if (parts.length === 3 && cls !== 'ocf') this.fail(`only class ocf takes a provider: "${t.text}"`, t);
    if (type === '' || provider === '') this.fail(`"${t.text}" is not a resource agent (class:provider:type)`, t);
    return provider !== undefined ? { class: cls, provider, type } : { class: cls, type };
  }

  /**
   * `rsc_template ID AGENT ...`: a primitive's definition that primitives
   * name with `@ID` (<template> in the CIB, kept as XML by the model).
   */
  template(): ConfigItem {
    const item = this.primitive(false);
    if (item.kind !== 'primitive') return item;
    const xml = resourceToXml(item.primitive).replace(/^<primitive\b/, '<template').replace(/<\/primitive>\s*$/, '</template>');
    return { kind: 'xml', configuration: parseCibXml(`<cib><configuration><resources>${xml}</resources></configuration></cib>`).configuration };
  }

  primitive(fromTemplate = true): ConfigItem {
    const id = this.ident('resource id');
    this.made.add(id);
    const { template, ...agent } = this.agentSpec();
    if (template !== undefined && !fromTemplate) this.fail('a template cannot be made from a template');
    const p: Primitive = {
      tag: 'primitive',
      id,
      ...agent,
      instanceAttributes: [],
      metaAttributes: [],
      utilization: [],
      operations: [],
    };
    const stop = RESOURCE_KEYWORDS;
    while (!this.done()) {
      const t = this.peek()!;
      if (t.text.startsWith('description=')) {
        this.i++;
        p.description = t.text.slice('description='.length);
      } else if (t.text === 'params' || this.isPair(t)) {
        if (t.text === 'params') this.i++;
        p.instanceAttributes.push(this.attrSet(id, 'instance_attributes', stop));
      } else if (t.text === 'meta') {
        this.i++;
        p.metaAttributes.push(this.attrSet(id, 'meta_attributes', stop));
      } else if (t.text === 'utilization') {
        this.i++;
        p.utilization.push(this.attrSet(id, 'utilization', stop));
      } else if (t.text === 'operations') {
        this.i++;
        const [n, v] = this.pair(this.next('$id=ID'));
        if (n === '$id') p.operationsId = v;
        else if (n === '$id-ref') p.operationsIdRef = v;
        else this.fail(`expected $id=ID or $id-ref=ID after "operations"`);
      } else if (t.text === 'op') {
        this.i++;
        // crmsh bases op ids on the operations set's id when it has one (d1-ops-monitor-60m).
        p.operations.push(this.op(id, p.operations, p.operationsId));
      } else if (t.text === 'op_params' || t.text === 'op_meta') {
        // Another attribute set of the op before (crmsh 4.x): its score and rules are kept.
        this.i++;
        const o = p.operations[p.operations.length - 1];
        if (!o) this.fail(`"${t.text}" must follow an op`, t);
        if (t.text === 'op_params') o.instanceAttributes.push(this.attrSet(o.id, 'instance_attributes', stop));
        else o.metaAttributes.push(this.attrSet(o.id, 'meta_attributes', stop));
      } else this.fail(`unexpected "${t.text}" in primitive ${id} (expected params, meta, utilization or op)`, t);
    }
    if (template !== undefined) p.extra = { template };
    return { kind: 'primitive', primitive: p };
  }

  op(rsc: string, existing: Operation[], idBase = rsc): Operation {
    const nameTok = this.next('an operation name (monitor, start, stop, ...)');
    if (!/^[a-z_][\w-]*$/i.test(nameTok.text)) this.fail(`"${nameTok.text}" is not an operation name`, nameTok);
    const o = { name: nameTok.text, interval: '', instanceAttributes: [], metaAttributes: [] } as unknown as Operation;
    const params: Array<[string, string]> = [];
    let opId: string | undefined;
    let sawInterval = false;
    const order: string[] = [];
    while (!this.done() && !RESOURCE_KEYWORDS.has(this.peek()!.text)) {
      const t = this.next('NAME=VALUE');
      const [n, v] = this.pair(t);
      if (n === '$id' || n === 'id') opId = v;
      else if (n in OP_XML_ATTRS) {
        (o as unknown as Record<string, string>)[OP_XML_ATTRS[n]!] = v;
        if (!order.includes(n)) order.push(n);
        if (n === 'interval') sawInterval = true;
      } else params.push([n, v]);
    }
    // crmsh adds the missing interval after the attributes given.
    if (!sawInterval) order.push('interval');
    // crmsh always writes an interval: 0 when none is given.
    if (!sawInterval) o.interval = '0';
    else if (o.interval.trim() === '') this.fail(`op ${o.name} of ${rsc}: interval is empty (Pacemaker's schema needs one: interval=0 for a one-shot operation)`, nameTok);
    if (o.role !== undefined) o.role = normaliseRole(o.role);
    if (existing.some((x) => x.name === o.name && x.interval === o.interval && x.role === o.role)) {
      this.fail(`${rsc} already has a ${o.name} op with interval ${o.interval}`, nameTok);
    }
    o.id = opId ?? this.id(`${idBase}-${o.name}-${o.interval}`);
    this.made.add(o.id);
    if (params.length) {
      const setId = this.id(`${o.id}-instance_attributes`);
      o.instanceAttributes.push({
        id: setId,
        rules: [],
        nvpairs: params.map(([name, value]) => ({ id: this.id(`${setId}-${name}`), name, value })),
      });
    }
    // Keep a stable key order so models compare equal regardless of input order.
    const ordered = { id: o.id, name: o.name, interval: o.interval } as Operation;
    for (const f of Object.values(OP_XML_ATTRS)) {
      const v = (o as unknown as Record<string, unknown>)[f];
      if (v !== undefined && f !== 'interval') (ordered as unknown as Record<string, unknown>)[f] = v;
    }
    ordered.instanceAttributes = o.instanceAttributes;
    ordered.metaAttributes = o.metaAttributes;
    const attrOrder = opAttrOrder(order);
    if (attrOrder) ordered.attrOrder = attrOrder;
    return ordered;
  }

  containerBody(id: string, c: { description?: string; instanceAttributes: NvSet[]; metaAttributes: NvSet[] }): void {
    const stop = new Set(['params', 'meta']);
    while (!this.done()) {
      const t = this.next('meta or params');
      if (t.text.startsWith('description=')) c.description = t.text.slice('description='.length);
      else if (t.text === 'meta') c.metaAttributes.push(this.attrSet(id, 'meta_attributes', stop));
      else if (t.text === 'params') c.instanceAttributes.push(this.attrSet(id, 'instance_attributes', stop));
      else this.fail(`unexpected "${t.text}" (expected meta or params)`, t);
    }
  }

  group(): ConfigItem {
    const id = this.ident('group id');
    this.made.add(id);
    const members: string[] = [];
    while (!this.done() && !['meta', 'params'].includes(this.peek()!.text) && !this.peek()!.text.includes('=')) {
      members.push(this.ident('resource id'));
    }
    if (members.length === 0) this.fail(`group ${id} needs at least one resource`);
    const g: Group = { tag: 'group', id, instanceAttributes: [], metaAttributes: [], children: [] };
    this.containerBody(id, g);
    return { kind: 'group', group: g, members };
  }

  clone(kw: 'clone' | 'ms'): ConfigItem {
    const id = this.ident(`${kw} id`);
    this.made.add(id);
    const member = this.ident('resource id');
    const c = { tag: 'clone', id, instanceAttributes: [], metaAttributes: [] } as Omit<Clone, 'child'>;
    this.containerBody(id, c);
    // crmsh 4.4 writes "ms" as the legacy <master> element (Pacemaker 2 takes it as a
    // promotable clone) and says it is deprecated.
    if (kw === 'ms') c.tag = 'master';
    return { kind: 'clone', clone: c, member };
  }

  /** "inf:", "-inf:", "100:", "mandatory:" ... -> the text before ":" (undefined if the token is no score). */
  scoreToken(t: Token | undefined): string | undefined {
    if (!t || !t.text.endsWith(':') || t.text.length < 2) return undefined;
    return t.text.slice(0, -1);
  }

  /** Normalise a crmsh score for XML: inf -> INFINITY, mandatory -> INFINITY, advisory -> 0. */
  score(text: string, t: Token): string {
    const l = text.toLowerCase();
    if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity' || l === 'mandatory') return 'INFINITY';
    if (l === '-inf' || l === '-infinity') return '-INFINITY';
    if (l === 'advisory') return '0';
    if (!isScore(text)) this.fail(`"${text}" is not a score (use a number, inf, -inf, mandatory or advisory)`, t);
    return text;
  }

  location(): ConfigItem {
    const id = this.ident('constraint id');
    this.made.add(id);
    const c: LocationConstraint = { tag: 'rsc_location', id, rules: [], sets: [] };
    const rt = this.next('a resource');
    if (rt.text.length > 2 && rt.text.startsWith('/') && rt.text.endsWith('/')) c.rscPattern = rt.text.slice(1, -1);
    else if (/^[A-Za-z_][\w.:-]*$/.test(rt.text)) c.rsc = rt.text;
    else this.fail(`"${rt.text}" is not a resource id`, rt);
    while (!this.done() && /^(role|resource-discovery)=/.test(this.peek()!.text)) {
      const [n, v] = this.pair(this.next('role='));
      if (n === 'role') c.role = normaliseRole(v);
      else c.resourceDiscovery = v;
    }
    const t = this.peek();
    if (t && t.text === 'rule') {
      while (!this.done()) {
        const r = this.next('rule');
        if (r.text !== 'rule') this.fail(`expected "rule", got "${r.text}"`, r);
        c.rules.push(this.rule(id));
      }
    } else {
      const st = this.next('SCORE: NODE');
      const s = this.scoreToken(st);
      if (s === undefined) this.fail(`expected a score such as "inf:" or "100:", got "${st.text}"`, st);
      c.score = this.score(s, st);
      c.node = this.ident('node name');
      if (!this.done()) this.fail(`unexpected "${this.peek()!.text}" after the node name`);
    }
    // Key order as the XML importer gives it, so models compare equal.
    const ordered = { tag: c.tag, id: c.id } as LocationConstraint;
    for (const k of ['rsc', 'rscPattern', 'node', 'score', 'role', 'resourceDiscovery'] as const) {
      if (c[k] !== undefined) ordered[k] = c[k];
    }
    ordered.rules = c.rules;
    ordered.sets = c.sets;
    return { kind: 'constraint', constraint: ordered };
  }

  /** rule [$id=X] [$role=R] [SCORE:] EXPR [and|or EXPR ...] — up to the next "rule". */
  rule(owner: string, stop: (t: Token) => boolean = () => false): RuleNode {
    const ref = this.peek();
    if (ref && ref.text.startsWith('$id-ref=')) {
      // A rule defined elsewhere (crmsh also takes the id of a location: its first rule).
      this.i++;
      return { tag: 'rule', attrs: { 'id-ref': ref.text.slice('$id-ref='.length) }, children: [] };
    }
    const attrs: Record<string, string> = {};
    let rid: string | undefined;
    while (!this.done() && /^\$(id|role)=/.test(this.peek()!.text)) {
      const [n, v] = this.pair(this.next('$id='));
      if (n === '$id') rid = v;
      else attrs.role = normaliseRole(v);
    }
    const st = this.peek();
    const s = this.scoreToken(st);
    let score = 'INFINITY';
    if (s !== undefined && st) {
      this.i++;
      // A non-numeric, non-inf "score" names a node attribute holding the score.
      if (/^[+-]?(\d+|inf|infinity)$/i.test(s) || /^(mandatory|advisory)$/i.test(s)) score = this.score(s, st);
      else {
        score = '';
        attrs['score-attribute'] = s;
      }
    }
    const id = rid ?? this.id(`${owner}-rule`);
    this.made.add(id);
    const out: RuleNode = { tag: 'rule', attrs: { id, ...(score !== '' ? { score } : {}), ...attrs }, children: [] };
    let boolOp: string | undefined;
    for (;;) {
      out.children.push(this.expression(id));
      const t = this.peek();
      if (!t || t.text === 'rule' || stop(t)) break;
      if (t.text !== 'and' && t.text !== 'or') this.fail(`expected "and", "or" or "rule", got "${t.text}"`, t);
      if (boolOp !== undefined && boolOp !== t.text) this.fail(`a rule cannot mix "and" and "or"`, t);
      boolOp = t.text;
      this.i++;
    }
    if (boolOp === 'or') out.attrs['boolean-op'] = 'or';
    return out;
  }

  expression(ruleId: string): RuleNode {
    const first = this.next('an expression');
    const id = this.id(`${ruleId}-expression`);
    if (first.text === 'defined' || first.text === 'not_defined') {
      const attr = this.next('an attribute name');
      return { tag: 'expression', attrs: { id, attribute: attr.text, operation: first.text }, children: [] };
    }
    if (first.text === 'date') return this.dateExpression(id);
    const opTok = this.next('an operator (eq, ne, lt, gt, lte, gte)');
    const m = /^(?:(string|integer|number|version):)?(eq|ne|lt|gt|lte|gte)$/.exec(opTok.text);
    if (!m) this.fail(`"${opTok.text}" is not an operator (eq, ne, lt, gt, lte, gte, with an optional type: such as number:lt)`, opTok);
    const value = this.next('a value');
    const attrs: Record<string, string> = { id, attribute: first.text, operation: m[2]! };
    attrs.value = value.text;
    if (m[1]) attrs.type = m[1];
    return { tag: 'expression', attrs, children: [] };
  }

  /** date gt|lt VALUE | date in start=.. end=.. [years=..] | date spec years=.. ... */
  dateExpression(id: string): RuleNode {
    const opTok = this.next('gt, lt, in or spec');
    const op = opTok.text === 'in' ? 'in_range' : opTok.text === 'spec' ? 'date_spec' : opTok.text;
    const attrs: Record<string, string> = { id, operation: op };
    if (op === 'gt' || op === 'lt') {
      attrs[op === 'gt' ? 'start' : 'end'] = this.next('a date').text;
      return { tag: 'date_expression', attrs, children: [] };
    }
    if (op !== 'in_range' && op !== 'date_spec') this.fail(`"${opTok.text}" is not a date operation (gt, lt, in, spec)`, opTok);
    const child: Record<string, string> = {};
    while (!this.done() && /^[a-z]+=/.test(this.peek()!.text) && !['and', 'or', 'rule'].includes(this.peek()!.text)) {
      const [n, v] = this.pair(this.next('NAME=VALUE'));
      if (op === 'in_range' && (n === 'start' || n === 'end')) attrs[n] = v;
      else child[n] = v;
    }
    const children: RuleNode[] = [];
    if (Object.keys(child).length) {
      const tag = op === 'in_range' ? 'duration' : 'date_spec';
      const cid = this.id(`${id}-${tag}`);
      children.push({ tag, attrs: { id: cid, ...child }, children: [] });
    }
    return { tag: 'date_expression', attrs, children };
  }

  /** `xml <element/>`: raw CIB XML for what the syntax cannot say. */
  xml(kw: Token): ConfigItem {
    const t = this.next('XML');
    const m = /^<\s*([\w:-]+)/.exec(t.text);
    if (!m) this.fail('expected an XML element after "xml"', t);
    const tag = m[1]!;
    const section = ['primitive', 'group', 'clone', 'master', 'bundle', 'template'].includes(tag)
      ? `<resources>${t.text}</resources>`
      : ['rsc_location', 'rsc_colocation', 'rsc_order', 'rsc_ticket'].includes(tag)
        ? `<constraints>${t.text}</constraints>`
        : t.text;
    const w = where(kw, this.file);
    try {
      return { kind: 'xml', configuration: parseCibXml(`<cib><configuration>${section}</configuration></cib>`).configuration };
    } catch (e) {
      throw new CibError(`bad xml statement: ${(e as CibError).detail ?? (e as Error).message}`, w);
    }
  }

  /**
   * Resource list of colocation/order: plain ids, id:role (or id:action),
   * "( ... )" sets with sequential=false, "[ ... ]" sets with require-all=false.
   */
  rscList(owner: string, attrName: 'role' | 'action'): { simple?: Array<[string, string | undefined]>; sets?: ResourceSet[]; extra: Array<[string, string]> } {
    const items: Array<{ id: string; q: string | undefined; group: number; kind: '' | '(' | '[' }> = [];
    const extra: Array<[string, string]> = [];
    let group = 0;
    let open: '' | '(' | '[' = '';
    const bracketAttrs: Record<number, Record<string, string>> = {};
    let sawBrackets = false;
    while (!this.done()) {
      const t = this.next('a resource');
      const x = t.quoted ? '' : t.text;
      if (x === '(' || x === '[') {
        if (open) this.fail(`sets cannot nest: "${x}" inside "${open}"`, t);
        open = x;
        group++;
        sawBrackets = true;
        continue;
      }
      if (x === ')' || x === ']') {
        const want = open === '(' ? ')' : ']';
        if (!open || x !== want) this.fail(`unbalanced "${x}"`, t);
        open = '';
        group++;
        continue;
      }
      if (t.text.includes('=')) {
        const [n, v] = this.pair(t);
        if (open) {
          if (n !== 'sequential' && n !== 'require-all') this.fail(`unknown set option "${n}"`, t);
          (bracketAttrs[group] ??= {})[n] = v;
        } else extra.push([n, v]);
        continue;
      }
      const [id, q, more] = t.text.split(':');
      if (more !== undefined || !id || !/^[A-Za-z_][\w.-]*$/.test(id)) this.fail(`"${t.text}" is not a resource (ID or ID:${attrName === 'role' ? 'ROLE' : 'ACTION'})`, t);
      items.push({ id, q: q === '' ? undefined : q, group, kind: open });
    }
    if (open) this.fail(`missing "${open === '(' ? ')' : ']'}"`);
    if (items.length < 2) this.fail(`expected at least two resources`);
    if (!sawBrackets && items.length === 2) {
      return { simple: items.map((it) => [it.id, it.q]), extra };
    }
    // Resource sets: consecutive plain ids with the same role/action form one set.
    const sets: ResourceSet[] = [];
    let cur: ResourceSet | undefined;
    let curKey = '';
    for (const it of items) {
      const key = `${it.group}|${it.kind ? it.group : ''}|${it.kind || it.q || ''}`;
      if (!cur || key !== curKey) {
        cur = { id: this.id(`${owner}-${sets.length}`), resources: [] } as ResourceSet;
        if (it.kind === '(') cur.sequential = 'false';
        if (it.kind === '[') {
          cur.sequential = 'false';
          cur.requireAll = 'false';
        }
        const ba = bracketAttrs[it.group];
        if (ba?.sequential !== undefined) cur.sequential = ba.sequential;
        if (ba?.['require-all'] !== undefined) cur.requireAll = ba['require-all'];
        if (it.q !== undefined) cur[attrName] = attrName === 'role' ? normaliseRole(it.q) : it.q;
        sets.push(cur);
        curKey = key;
      } else if ((attrName === 'role' && it.q !== undefined ? normaliseRole(it.q) : it.q) !== cur[attrName]) {
        this.fail(`all members of a set must have the same ${attrName}`);
      }
      cur.resources.push(it.id);
    }
    return { sets: sets.map(orderSetKeys), extra };
  }

  colocation(): ConfigItem {
    const id = this.ident('constraint id');
    this.made.add(id);
    const st = this.next('SCORE:');
    const s = this.scoreToken(st);
    if (s === undefined) this.fail(`expected a score such as "inf:" or "-inf:", got "${st.text}"`, st);
    const score = this.score(s, st);
    const list = this.rscList(id, 'role');
    const c = { tag: 'rsc_colocation', id } as ColocationConstraint;
    if (list.simple) {
      const [[rsc, rRole], [withRsc, wRole]] = list.simple as [[string, string | undefined], [string, string | undefined]];
      c.rsc = rsc;
      c.withRsc = withRsc;
      c.score = score;
      if (rRole) c.rscRole = normaliseRole(rRole);
      if (wRole) c.withRscRole = normaliseRole(wRole);
    } else c.score = score;
    for (const [n, v] of list.extra) {
      if (n === 'node-attribute') c.nodeAttribute = v;
      else if (n === 'influence') c.influence = v;
      else this.fail(`unknown colocation option "${n}"`);
    }
    c.sets = list.sets ?? [];
    return { kind: 'constraint', constraint: c };
  }

  order(): ConfigItem {
    const id = this.ident('constraint id');
    this.made.add(id);
    const c = { tag: 'rsc_order', id } as OrderConstraint;
    const st = this.peek();
    const s = this.scoreToken(st);
    let kind: string | undefined;
    let score: string | undefined;
    if (s !== undefined && st) {
      this.i++;
      const l = s.toLowerCase();
      if (l === 'mandatory') kind = 'Mandatory';
      else if (l === 'optional' || l === 'advisory') kind = 'Optional';
      else if (l === 'serialize') kind = 'Serialize';
      else {
        // crmsh 4.4 writes a kind, never the legacy score: 0 is Optional, any other score Mandatory.
        const sc = this.score(s, st);
        kind = /^[+-]?0+$/.test(sc) ? 'Optional' : 'Mandatory';
      }
    }
    const list = this.rscList(id, 'action');
    if (list.simple) {
      const [[first, fa], [then, ta]] = list.simple as [[string, string | undefined], [string, string | undefined]];
      c.first = first;
      c.then = then;
      if (fa) c.firstAction = fa;
      if (ta) c.thenAction = ta;
    }
    if (kind) c.kind = kind;
    if (score !== undefined) c.score = score;
    for (const [n, v] of list.extra) {
      if (n === 'symmetrical') c.symmetrical = v;
      else if (n === 'require-all') c.requireAll = v;
      else this.fail(`unknown order option "${n}"`);
    }
    c.sets = list.sets ?? [];
    return { kind: 'constraint', constraint: c };
  }

  /** rsc_ticket ID TICKET: RSC[:ROLE]... [loss-policy=X]: one resource is a plain ticket, more make sets. */
  ticket(): ConfigItem {
    const id = this.ident('constraint id');
    this.made.add(id);
    const tt = this.next('TICKET:');
    const ticket = this.scoreToken(tt);
    if (ticket === undefined) this.fail(`expected a ticket name followed by ":", got "${tt.text}"`, tt);
    const refs: Array<[string, string | undefined]> = [];
    const extra: Record<string, string> = {};
    while (!this.done()) {
      const t = this.next('a resource');
      if (t.text.includes('=')) {
        const [n, v] = this.pair(t);
        if (n !== 'loss-policy') this.fail(`unknown rsc_ticket option "${n}"`, t);
        extra[n] = v;
        continue;
      }
      const [rid, role, more] = t.text.split(':');
      if (!rid || more !== undefined || !/^[A-Za-z_][\w.-]*$/.test(rid)) this.fail(`"${t.text}" is not a resource (ID or ID:ROLE)`, t);
      refs.push([rid, role ? normaliseRole(role) : undefined]);
    }
    if (refs.length === 0) this.fail('rsc_ticket needs at least one resource');
    const raw: RawElement = { tag: 'rsc_ticket', attrs: { id, ticket }, children: [] };
    if (refs.length === 1) {
      raw.attrs.rsc = refs[0]![0];
      if (refs[0]![1]) raw.attrs['rsc-role'] = refs[0]![1];
      Object.assign(raw.attrs, extra);
    } else {
      Object.assign(raw.attrs, extra);
      // Consecutive resources with the same role share a set, as crmsh groups them.
      let cur: RawElement | undefined;
      let curRole: string | undefined;
      for (const [rid, role] of refs) {
        if (!cur || role !== curRole) {
          cur = { tag: 'resource_set', attrs: {}, children: [] };
          if (role) cur.attrs.role = role;
          cur.attrs.id = this.id(`${id}-${raw.children.length}`);
          raw.children.push(cur);
          curRole = role;
        }
        cur.children.push({ tag: 'resource_ref', attrs: { id: rid }, children: [] });
      }
    }
    return { kind: 'ticket', constraint: { tag: 'rsc_ticket', id, raw } };
  }

  /** monitor RSC[:ROLE] INTERVAL[:TIMEOUT]: a monitor op on an existing primitive. */
  monitor(): ConfigItem {
    const rt = this.next('RSC[:ROLE]');
    const [rsc, role, more] = rt.text.split(':');
    if (!rsc || more !== undefined) this.fail(`"${rt.text}" is not RSC[:ROLE]`, rt);
    const it = this.next('INTERVAL[:TIMEOUT]');
    const [interval, timeout, more2] = it.text.split(':');
    if (!interval || more2 !== undefined) this.fail(`"${it.text}" is not INTERVAL[:TIMEOUT]`, it);
    if (!this.done()) this.fail(`unexpected "${this.peek()!.text}"`);
    return { kind: 'monitor', rsc, interval, ...(role ? { role: normaliseRole(role) } : {}), ...(timeout ? { timeout } : {}) };
  }

  /** tag ID: RSC... (also "tag ID RSC..."). */
  tag(): ConfigItem {
    const t = this.next('tag id');
    const id = t.text.endsWith(':') ? t.text.slice(0, -1) : t.text;
    if (!/^[A-Za-z_][\w.:-]*$/.test(id)) this.fail(`"${t.text}" is not a valid tag id`, t);
    const tag: RawElement = { tag: 'tag', attrs: { id }, children: [] };
    while (!this.done()) tag.children.push({ tag: 'obj_ref', attrs: { id: this.ident('resource id') }, children: [] });
    if (tag.children.length === 0) this.fail(`tag ${id} needs at least one resource`);
    return { kind: 'tag', tag };
  }

  /**
   * `role ID RIGHT SPEC... [RIGHT SPEC...]...` (Pacemaker 1.1.12+ ACLs): each
   * RIGHT (read, write, deny) starts an <acl_permission id=ID-N>; a SPEC is
   * xpath:X, ref:ID, type:TAG, attr:NAME or one of crmsh's shortcuts
   * (meta:RSC:ATTR, params:RSC:ATTR, utilization:RSC, location:RSC,
   * property[:NAME], nodeattr[:NAME], nodeutil[:NODE], node[:NODE], status, cib).
   */
  aclRole(): ConfigItem {
    const id = this.ident('role id');
    const role: RawElement = { tag: 'acl_role', attrs: { id }, children: [] };
    let cur: RawElement | undefined;
    const specAttr: Record<string, string> = { xpath: 'xpath', ref: 'reference', reference: 'reference', tag: 'object-type', type: 'object-type', attr: 'attribute', attribute: 'attribute' };
    while (!this.done()) {
      const t = this.next('read, write or deny');
      if (['read', 'write', 'deny'].includes(t.text)) {
        cur = { tag: 'acl_permission', attrs: { kind: t.text }, children: [] };
        role.children.push(cur);
        continue;
      }
      if (!cur) this.fail(`expected read, write or deny, got "${t.text}"`, t);
      if (t.text.startsWith('description=')) {
        cur.attrs.description = t.text.slice('description='.length);
        continue;
      }
      const colon = t.text.indexOf(':');
      const name = colon < 0 ? t.text : t.text.slice(0, colon);
      const rest = colon < 0 ? '' : t.text.slice(colon + 1);
      if (specAttr[name]) {
        if (rest === '') this.fail(`"${t.text}" needs a value (${name}:VALUE)`, t);
        cur.attrs[specAttr[name]!] = rest;
        continue;
      }
      const sc = ACL_SHORTCUTS.find(([n]) => n === name);
      if (!sc) this.fail(`"${t.text}" is not an ACL specification (xpath:, ref:, type:, attr: or a shortcut such as meta:RSC:ATTR)`, t);
      const args = rest === '' ? [] : rest.split(':');
      if (args.length > sc[1].length) this.fail(`too many arguments in "${t.text}"`, t);
      let xpath = '';
      let k = 0;
      sc[1].forEach((part, i) => {
        if (i > 0 && k >= args.length) return;
        const holes = part.split('@@').length - 1;
        if (holes > 0 && k >= args.length) this.fail(`"${t.text}" needs an argument (${name}:...)`, t);
        const arg = args[k];
        xpath += part.replace(/@@/g, () => arg ?? '');
        if (holes > 0) k++;
      });
      cur.attrs.xpath = xpath;
    }
    if (!role.children.length) this.fail(`role ${id} needs at least one rule (read|write|deny SPEC)`);
    role.children.forEach((c, i) => {
      c.attrs = { ...c.attrs, id: this.id(`${id}-${i}`) };
      if (c.attrs.xpath === undefined && c.attrs.reference === undefined && c.attrs['object-type'] === undefined) this.fail(`role ${id}: rule ${i + 1} names nothing (xpath:, ref:, type: or a shortcut)`);
    });
    return { kind: 'section', section: 'acls', element: role };
  }

  /** `acl_target ID [ROLE...]` (also acl_group): who gets which roles. */
  aclTarget(kind: string): ConfigItem {
    const id = this.ident(`${kind} id`);
    const el: RawElement = { tag: kind, attrs: { id }, children: [] };
    while (!this.done()) el.children.push({ tag: 'role', attrs: { id: this.ident('role id') }, children: [] });
    return { kind: 'section', section: 'acls', element: el };
  }

  /**
   * `alert ID PATH [attributes N=V...] [meta N=V...] [select KIND...] [to [{] VALUE [attributes ...] [meta ...] [}]]...`
   * KIND: nodes, fencing, resources, attributes [{ NAME... }].
   */
  alert(): ConfigItem {
    const id = this.ident('alert id');
    const path = this.next('the alert agent path').text;
    const el: RawElement = { tag: 'alert', attrs: { id, path }, children: [] };
    const stop = new Set(['attributes', 'meta', 'select', 'to', '{', '}']);
    const set = (owner: string, tok: Token): RawElement => {
      const tag = tok.text === 'meta' ? 'meta_attributes' : 'instance_attributes';
      const setId = this.id(`${owner}-${tag}`);
      const e: RawElement = { tag, attrs: { id: setId }, children: [] };
      while (!this.done() && !stop.has(this.peek()!.text)) {
        const [n, v] = this.pair(this.next('NAME=VALUE'));
        e.children.push({ tag: 'nvpair', attrs: { name: n, value: v, id: this.id(`${setId}-${n}`) }, children: [] });
      }
      return e;
    };
    let recipients = 0;
    while (!this.done()) {
      const t = this.next('attributes, meta, select or to');
      if (t.text.startsWith('description=')) el.attrs.description = t.text.slice('description='.length);
      else if (t.text === 'attributes' || t.text === 'meta') el.children.push(set(id, t));
      else if (t.text === 'select') {
        const sel: RawElement = { tag: 'select', attrs: {}, children: [] };
        while (!this.done() && ['nodes', 'fencing', 'resources', 'attributes'].includes(this.peek()!.text)) {
          const k = this.next('nodes, fencing, resources or attributes').text;
          const e: RawElement = { tag: `select_${k}`, attrs: {}, children: [] };
          if (k === 'attributes' && this.peek()?.text === '{') {
            this.i++;
            while (!this.done() && this.peek()!.text !== '}') e.children.push({ tag: 'attribute', attrs: { name: this.next('an attribute name').text }, children: [] });
            this.next('"}"');
            for (const a of e.children) a.attrs = { ...a.attrs, id: this.id(`${id}-0`) };
          }
          sel.children.push(e);
        }
        el.children.push(sel);
      } else if (t.text === 'to') {
        const braced = this.peek()?.text === '{';
        if (braced) this.i++;
        const rid = this.id(`${id}-recipient-${++recipients}`);
        const r: RawElement = { tag: 'recipient', attrs: { id: rid, value: this.next('a recipient').text }, children: [] };
        while (!this.done() && (this.peek()!.text === 'attributes' || this.peek()!.text === 'meta')) r.children.push(set(rid, this.next('attributes or meta')));
        if (braced) this.next('"}"');
        el.children.push(r);
      } else this.fail(`unexpected "${t.text}" in alert ${id} (expected attributes, meta, select or to)`, t);
    }
    return { kind: 'section', section: 'alerts', element: el };
  }

  /** fencing_topology [TARGET:] DEVICES... ; DEVICES is one level (a,b for several devices). */
  fencingTopology(): ConfigItem {
    const levels: FencingLevelSpec[] = [];
    let target: FencingLevelSpec['target'] = { allNodes: true };
    while (!this.done()) {
      const t = this.next('a fencing level');
      let m: RegExpExecArray | null;
      if ((m = /^attr:([\w-]+)=([\w-]+)$/i.exec(t.text))) target = { attribute: m[1]!, value: m[2]! };
      else if ((m = /^pattern:(.+)$/i.exec(t.text))) target = { pattern: m[1]! };
      else if ((m = /^([^:]+):$/.exec(t.text))) target = { node: m[1]! };
      else levels.push({ target, devices: t.text });
    }
    return { kind: 'fencing_topology', levels };
  }

  options(kind: 'property' | 'rsc_defaults' | 'op_defaults'): ConfigItem {
    let setId: string | undefined;
    const t = this.peek();
    if (t && t.text.endsWith(':') && !t.text.includes('=')) {
      this.i++;
      setId = t.text.slice(0, -1);
    }
    const pairs: Array<[string, string]> = [];
    const rules: RuleNode[] = [];
    while (!this.done()) {
      if (this.peek()!.text === 'rule') {
        // rsc_defaults / op_defaults sets may hold rules (crmsh: "op_defaults $id=X rule 100: ...").
        this.i++;
        const owner = setId ?? (kind === 'property' ? 'cib-bootstrap-options' : kind === 'rsc_defaults' ? 'rsc-options' : 'op-options');
        rules.push(this.rule(owner, (t) => this.isPair(t)));
        continue;
      }
      const p = this.next('NAME=VALUE');
      const [n, v] = this.pair(p);
      if (n === '$id') setId = v;
      else pairs.push([n, v]);
    }
    if (pairs.length === 0 && setId === undefined) this.fail(`${kind} needs at least one NAME=VALUE`);
    const out: ConfigItem = setId !== undefined ? { kind, setId, pairs } : { kind, pairs };
    if (rules.length) out.rules = rules;
    return out;
  }

  node(): ConfigItem {
    let id: string | undefined;
    let t = this.next('a node name');
    if (t.text.startsWith('$id=')) {
      id = t.text.slice(4);
      t = this.next('a node name');
    } else if (t.text.endsWith(':') && t.text.length > 1) {
      id = t.text.slice(0, -1);
      t = this.next('a node name');
    }
    const [uname, type, more] = t.text.split(':');
    if (!uname || !/^[\w.-]+$/.test(uname) || more !== undefined) this.fail(`"${t.text}" is not a node name (uname[:type])`, t);
    if (type !== undefined && !NODE_TYPES.includes(type)) this.fail(`"${type}" is not a node type (${NODE_TYPES.join(', ')})`, t);
    const n = { id: id ?? uname, uname, instanceAttributes: [], utilization: [] } as unknown as Node;
    const ordered: Node = { id: n.id, uname } as Node;
    if (type) ordered.type = type === 'normal' ? 'member' : type;
    const stop = new Set(['attributes', 'utilization']);
    while (!this.done()) {
      const k = this.next('attributes or utilization');
      if (k.text.startsWith('description=')) ordered.description = k.text.slice(12);
      else if (k.text === 'attributes') n.instanceAttributes.push(this.attrSet(n.id, 'instance_attributes', stop));
      else if (k.text === 'utilization') n.utilization.push(this.attrSet(n.id, 'utilization', stop));
      else this.fail(`unexpected "${k.text}" (expected attributes or utilization)`, k);
    }
    ordered.instanceAttributes = n.instanceAttributes;
    ordered.utilization = n.utilization;
    return { kind: 'node', node: ordered };
  }
}

/** Node types of Pacemaker's schema (crmsh also takes "normal", its old name for member). */
const NODE_TYPES = ['member', 'ping', 'remote', 'normal'];

/**
 * Roles as Pacemaker's schema spells them: crmsh 4.4 takes "master",
 * "started", ... in any case and writes Master, Started, ...
 */
export function normaliseRole(r: string): string {
  const known = ['Started', 'Stopped', 'Master', 'Slave', 'Promoted', 'Unpromoted'];
  return known.find((k) => k.toLowerCase() === r.toLowerCase()) ?? r;
}

function orderSetKeys(s: ResourceSet): ResourceSet {
  const o = { id: s.id } as ResourceSet;
  for (const k of ['sequential', 'requireAll', 'action', 'role'] as const) if (s[k] !== undefined) o[k] = s[k];
  o.resources = s.resources;
  return o;
}

/**
 * Parse one statement. Throws CibError naming the token and its position.
 * GENERATED, when given, gets the ids the parser made up (see ids.ts).
 */
export function parseStatement(st: Statement, generated?: Set<string>): ConfigItem {
  const p = new Parser(st.tokens, st.file, generated);
  const item = p.statement();
  if (st.comments?.length) {
    const o = item.kind === 'primitive' ? item.primitive : item.kind === 'group' ? item.group : item.kind === 'clone' ? item.clone : item.kind === 'constraint' ? item.constraint : item.kind === 'node' ? item.node : undefined;
    if (o) o.comments = st.comments;
  }
  return item;
}
