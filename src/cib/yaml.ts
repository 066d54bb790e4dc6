/**
 * belay's own YAML form of a cluster configuration (the files under
 * constraints/). The shape follows crmsh's words so a Pacemaker user can
 * read it at once; see docs/foundation.md for the full description.
 *
 *   properties: {stonith-enabled: false}
 *   rsc_defaults: {resource-stickiness: 100}
 *   op_defaults: {timeout: 20s}
 *   nodes: [{name: n1, id: "1", attributes: {standby: off}}]
 *   resources:
 *     - primitive: FloatIP
 *       agent: ocf:belay:FloatIP
 *       params: {ip: 198.51.100.50, cidr_netmask: 24}
 *       meta: {target-role: Started}
 *       ops: [{monitor: {interval: 15s, timeout: 20s}}]
 *     - clone: haproxy-clone
 *       resource: haproxy            # or an inline primitive/group
 *       meta: {interleave: true}
 *     - group: web
 *       resources: [ip, nginx]
 *   constraints:
 *     - colocation: FloatIP-haproxy
 *       score: inf
 *       rsc: FloatIP
 *       with-rsc: haproxy-clone
 *     - "order o1 Mandatory: haproxy-clone FloatIP"   # crmsh syntax works too
 *
 * Import builds crmsh statements and applies them, so generated ids are
 * crmsh's ids and a YAML file and the equivalent `crm configure` commands
 * give the same CIB. All scalars are read as strings (YAML failsafe schema):
 * "0.10" stays "0.10", "off" stays "off".
 */
import YAML, { isMap, isScalar, isSeq, LineCounter, type Node as YNode, type Pair } from 'yaml';
import { CibError } from './errors.js';
import { allResources } from './edit.js';
import { emptyCib, type Cib, type Clone, type Group, type Node, type NvSet, type Operation, type Primitive } from './model.js';
import { applyItems } from '../crmsh/apply.js';
import { parseStatement, type ConfigItem } from '../crmsh/parse.js';
import { showConstraint } from '../crmsh/show.js';
import { tokenize, type Token } from '../crmsh/tokenize.js';

class YamlReader {
  constructor(
    private readonly file: string | undefined,
    private readonly lc: LineCounter,
  ) {}

  fail(node: YNode | Pair | null | undefined, msg: string): never {
    const off = node && 'range' in node && node.range ? node.range[0] : undefined;
    const key = node && 'key' in node ? (node.key as YNode | null) : undefined;
    const o = off ?? (key && key.range ? key.range[0] : undefined);
    const pos = o !== undefined ? this.lc.linePos(o) : undefined;
    throw new CibError(msg, { file: this.file, ...(pos ? { line: pos.line, column: pos.col } : {}) });
  }

  str(node: unknown, what: string): string {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    this.fail(node as YNode, `${what} must be a single value`);
  }

  /** A mapping as [key, value node, pair] entries, in order. */
  entries(node: unknown, what: string): Array<[string, YNode | null, Pair]> {
    if (node === null || node === undefined) return [];
    if (!isMap(node)) this.fail(node as YNode, `${what} must be a mapping (name: value)`);
    return node.items.map((p) => {
      const k = isScalar(p.key) ? String(p.key.value) : this.fail(p as Pair, `${what}: keys must be plain names`);
      return [k, p.value as YNode | null, p as Pair];
    });
  }

  /** name: value pairs of params/meta/attributes. */
  pairs(node: unknown, what: string): Array<[string, string]> {
    return this.entries(node, what).map(([k, v]) => [k, v === null ? '' : this.str(v, `${what}.${k}`)]);
  }

  seq(node: unknown, what: string): unknown[] {
    if (node === null || node === undefined) return [];
    if (!isSeq(node)) this.fail(node as YNode, `${what} must be a list`);
    return node.items;
  }

  /** A crmsh statement written as a YAML string: tokens carry the YAML position. */
  crmsh(node: YNode, text: string): ConfigItem {
    const st = tokenize(text, this.file);
    if (st.length !== 1) this.fail(node, `expected one crmsh statement, got ${st.length}`);
    const pos = node.range ? this.lc.linePos(node.range[0]) : undefined;
    const toks: Token[] = st[0]!.tokens.map((t) => ({ text: t.text, ...(pos ? { line: pos.line, column: pos.col } : {}), ...(t.quoted ? { quoted: true } : {}) }));
    return parseStatement({ tokens: toks, ...(this.file !== undefined ? { file: this.file } : {}) });
  }

  /** Turn a structured entry into crmsh tokens and parse them (one grammar, one id scheme). */
  viaCrmsh(node: YNode, words: string[]): ConfigItem {
    const pos = node.range ? this.lc.linePos(node.range[0]) : undefined;
    const toks: Token[] = words.map((text) => ({ text, ...(pos ? { line: pos.line, column: pos.col } : {}), quoted: true }));
    // Brackets of sets must stay brackets.
    for (const t of toks) if (['(', ')', '[', ']'].includes(t.text)) delete t.quoted;
    return parseStatement({ tokens: toks, ...(this.file !== undefined ? { file: this.file } : {}) });
  }

  attrWords(keyword: string, node: unknown, what: string): string[] {
    const ps = this.pairs(node, what);
    return ps.length ? [keyword, ...ps.map(([k, v]) => `${k}=${v}`)] : [];
  }

  resource(node: unknown, items: ConfigItem[]): string {
    if (isScalar(node) && typeof node.value === 'string') {
      // A bare name refers to a resource defined elsewhere in the list.
      if (!/\s/.test(node.value.trim())) return node.value.trim();
      const it = this.crmsh(node, node.value);
      items.push(it);
      return itemId(it);
    }
    const e = this.entries(node, 'a resource');
    const get = (k: string) => e.find(([n]) => n === k);
    const known = new Set(['primitive', 'agent', 'description', 'params', 'meta', 'utilization', 'ops', 'clone', 'ms', 'group', 'resource', 'resources', 'promotable']);
    for (const [k, , p] of e) if (!known.has(k)) this.fail(p, `unknown resource key "${k}"`);
    const desc = get('description');
    const descWords = desc ? [`description=${this.str(desc[1], 'description')}`] : [];
    const prim = get('primitive');
    if (prim) {
      const id = this.str(prim[1], 'primitive');
      const agent = get('agent');
      if (!agent) this.fail(prim[2], `primitive "${id}" needs an agent (such as ocf:heartbeat:IPaddr2)`);
      const words = ['primitive', id, this.str(agent[1], 'agent'), ...descWords];
      words.push(...this.attrWords('params', get('params')?.[1], `${id}.params`));
      words.push(...this.attrWords('meta', get('meta')?.[1], `${id}.meta`));
      words.push(...this.attrWords('utilization', get('utilization')?.[1], `${id}.utilization`));
      for (const op of this.seq(get('ops')?.[1], `${id}.ops`)) {
        const oe = this.entries(op, `an op of ${id}`);
        if (oe.length !== 1) this.fail(op as YNode, `an op is written "- NAME: {interval: 10s, ...}"`);
        const [name, attrs] = oe[0]!;
        words.push('op', name, ...this.pairs(attrs, `${id}.ops.${name}`).map(([k, v]) => `${k}=${v}`));
      }
      for (const k of ['clone', 'ms', 'group', 'resource', 'resources', 'promotable']) {
        const bad = get(k);
        if (bad) this.fail(bad[2], `"${k}" does not belong in primitive "${id}"`);
      }
      items.push(this.viaCrmsh(prim[1]!, words));
      return id;
    }
    const grp = get('group');
    if (grp) {
      const id = this.str(grp[1], 'group');
      const members = this.seq(get('resources')?.[1], `${id}.resources`).map((m) => this.resource(m, items));
      if (members.length === 0) this.fail(grp[2], `group "${id}" needs resources: [...]`);
      const words = ['group', id, ...members, ...descWords, ...this.attrWords('meta', get('meta')?.[1], `${id}.meta`), ...this.attrWords('params', get('params')?.[1], `${id}.params`)];
      items.push(this.viaCrmsh(grp[1]!, words));
      return id;
    }
    const cl = get('clone') ?? get('ms');
    if (cl) {
      const id = this.str(cl[1], cl[0]);
      const r = get('resource');
      if (!r) this.fail(cl[2], `${cl[0]} "${id}" needs a resource: (a name, or a primitive/group)`);
      const member = this.resource(r[1], items);
      const meta = this.pairs(get('meta')?.[1], `${id}.meta`);
      const prom = get('promotable');
      if (prom) meta.unshift(['promotable', this.str(prom[1], 'promotable')]);
      // belay YAML's "ms:" is a promotable clone (Pacemaker 2's form), not crmsh's legacy <master>.
      else if (cl[0] === 'ms') meta.unshift(['promotable', 'true']);
      const words = ['clone', id, member, ...descWords, ...(meta.length ? ['meta', ...meta.map(([k, v]) => `${k}=${v}`)] : []), ...this.attrWords('params', get('params')?.[1], `${id}.params`)];
      items.push(this.viaCrmsh(cl[1]!, words));
      return id;
    }
    this.fail(node as YNode, 'a resource starts with "primitive:", "group:", "clone:" or "ms:"');
  }

  constraint(node: unknown): ConfigItem {
    if (isScalar(node) && typeof node.value === 'string') return this.crmsh(node, node.value);
    const e = this.entries(node, 'a constraint');
    const m = new Map(e.map(([k, v]) => [k, v]));
    const s = (k: string) => (m.has(k) ? this.str(m.get(k), k) : undefined);
    const kindKey = ['location', 'colocation', 'order'].find((k) => m.has(k));
    if (!kindKey) this.fail(node as YNode, 'a constraint starts with "location:", "colocation:" or "order:" (or is a crmsh line)');
    const allowed: Record<string, string[]> = {
      location: ['location', 'rsc', 'score', 'node', 'role', 'resource-discovery'],
      colocation: ['colocation', 'rsc', 'with-rsc', 'score', 'rsc-role', 'with-rsc-role', 'node-attribute'],
      order: ['order', 'first', 'then', 'first-action', 'then-action', 'kind', 'score', 'symmetrical'],
    };
    for (const [k, , p] of e) if (!allowed[kindKey]!.includes(k)) this.fail(p, `unknown ${kindKey} key "${k}" (known: ${allowed[kindKey]!.join(', ')})`);
    const id = s(kindKey)!;
    const need = (k: string) => s(k) ?? this.fail(node as YNode, `${kindKey} "${id}" needs "${k}:"`);
    const q = (a: string, b: string | undefined) => (b ? `${a}:${b}` : a);
    const n0 = m.get(kindKey)!;
    if (kindKey === 'location') {
      const words = ['location', id, need('rsc')];
      if (s('role')) words.push(`role=${s('role')}`);
      if (s('resource-discovery')) words.push(`resource-discovery=${s('resource-discovery')}`);
      words.push(`${need('score')}:`, need('node'));
      return this.viaCrmsh(n0, words);
    }
    if (kindKey === 'colocation') {
      const words = ['colocation', id, `${need('score')}:`, q(need('rsc'), s('rsc-role')), q(need('with-rsc'), s('with-rsc-role'))];
      if (s('node-attribute')) words.push(`node-attribute=${s('node-attribute')}`);
      return this.viaCrmsh(n0, words);
    }
    const words = ['order', id];
    if (s('kind') !== undefined && s('score') !== undefined) this.fail(node as YNode, `order "${id}": give kind or score, not both`);
    const ks = s('kind') ?? s('score');
    if (ks !== undefined) words.push(`${ks}:`);
    words.push(q(need('first'), s('first-action')), q(need('then'), s('then-action')));
    if (s('symmetrical') !== undefined) words.push(`symmetrical=${s('symmetrical')}`);
    return this.viaCrmsh(n0, words);
  }

  document(root: unknown): ConfigItem[] {
    const items: ConfigItem[] = [];
    const e = this.entries(root, 'the configuration');
    for (const [k, v, p] of e) {
      switch (k) {
        case 'properties':
        case 'rsc_defaults':
        case 'op_defaults': {
          const ps = this.pairs(v, k);
          if (ps.length) items.push({ kind: k === 'properties' ? 'property' : k, pairs: ps });
          break;
        }
        case 'nodes':
          for (const n of this.seq(v, 'nodes')) {
            const ne = this.entries(n, 'a node');
            const nm = new Map(ne.map(([a, b]) => [a, b]));
            for (const [a, , pp] of ne) if (!['name', 'id', 'type', 'attributes', 'utilization', 'description'].includes(a)) this.fail(pp, `unknown node key "${a}"`);
            if (!nm.has('name')) this.fail(n as YNode, 'a node needs "name:"');
            const name = this.str(nm.get('name'), 'name');
            const words = ['node'];
            if (nm.has('id')) words.push(`$id=${this.str(nm.get('id'), 'id')}`);
            words.push(nm.has('type') ? `${name}:${this.str(nm.get('type'), 'type')}` : name);
            if (nm.has('description')) words.push(`description=${this.str(nm.get('description'), 'description')}`);
            words.push(...this.attrWords('attributes', nm.get('attributes'), `${name}.attributes`));
            words.push(...this.attrWords('utilization', nm.get('utilization'), `${name}.utilization`));
            items.push(this.viaCrmsh(n as YNode, words));
          }
          break;
        case 'resources':
          for (const r of this.seq(v, 'resources')) this.resource(r, items);
          break;
        case 'constraints':
          for (const c of this.seq(v, 'constraints')) items.push(this.constraint(c));
          break;
        default:
          this.fail(p, `unknown section "${k}" (known: properties, rsc_defaults, op_defaults, nodes, resources, constraints)`);
      }
    }
    return items;
  }
}

function itemId(it: ConfigItem): string {
  switch (it.kind) {
    case 'primitive':
      return it.primitive.id;
    case 'group':
      return it.group.id;
    case 'clone':
      return it.clone.id;
    case 'constraint':
      return it.constraint.id;
    case 'node':
      return it.node.uname;
    default:
      return '';
  }
}

/** Parse belay YAML into a CIB (an empty CIB with this configuration). */
export function parseCibYaml(text: string, fileName?: string): Cib {
  const lc = new LineCounter();
  const doc = YAML.parseDocument(text, { schema: 'failsafe', lineCounter: lc, prettyErrors: true });
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    const pos = err.linePos?.[0] ?? (err.pos ? lc.linePos(err.pos[0]) : undefined);
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new CibError(`malformed YAML: ${msg}`, { file: fileName, ...(pos ? { line: pos.line, column: pos.col } : {}) });
  }
  const reader = new YamlReader(fileName, lc);
  const items = reader.document(doc.contents);
  const cib = applyItems(emptyCib(), items, 'create');
  // YAML keys have no order that means anything: ops keep the model's attribute order.
  for (const r of allResources(cib)) if (r.tag === 'primitive') for (const o of (r as Primitive).operations) delete o.attrOrder;
  cib.epoch = 0;
  cib.numUpdates = 0;
  return cib;
}

// ---------------------------------------------------------------------------
// Export

type Y = Record<string, unknown>;

/** name: value mapping of a set; refuses (rather than loses) what the YAML form cannot hold. */
function pairsOf(sets: NvSet[], where = 'a set'): Y | undefined {
  if (sets.length > 1 || sets.some((s) => s.rules.length || s.score !== undefined || s.idRef !== undefined || s.nvpairs.some((p) => p.idRef !== undefined))) {
    throw new CibError(`${where}: several sets, rules, scores or id-refs cannot be written as belay YAML; keep this configuration as XML`);
  }
  const ps = sets.flatMap((s) => s.nvpairs);
  if (!ps.length) return undefined;
  const o: Y = {};
  for (const p of ps) o[p.name] = p.value ?? '';
  return o;
}

function agentOf(p: Primitive): string {
  return p.provider !== undefined ? `${p.class}:${p.provider}:${p.type}` : `${p.class}:${p.type}`;
}

function primitiveYaml(p: Primitive): Y {
  if (p.extra || p.operations.some((o) => o.extra || o.metaAttributes.length)) {
    throw new CibError(`primitive "${p.id}": attributes belay YAML has no words for; keep this configuration as XML`);
  }
  const o: Y = { primitive: p.id, agent: agentOf(p) };
  if (p.description !== undefined) o.description = p.description;
  const params = pairsOf(p.instanceAttributes, `${p.id} params`);
  if (params) o.params = params;
  const meta = pairsOf(p.metaAttributes, `${p.id} meta`);
  if (meta) o.meta = meta;
  const util = pairsOf(p.utilization, `${p.id} utilization`);
  if (util) o.utilization = util;
  if (p.operations.length) {
    o.ops = p.operations.map((op: Operation) => {
      const a: Y = {};
      if (op.interval !== '') a.interval = op.interval;
      for (const [f, n] of [['timeout', 'timeout'], ['role', 'role'], ['onFail', 'on-fail'], ['enabled', 'enabled'], ['startDelay', 'start-delay'], ['intervalOrigin', 'interval-origin'], ['recordPending', 'record-pending'], ['description', 'description']] as const) {
        if (op[f] !== undefined) a[n] = op[f];
      }
      const ia = pairsOf(op.instanceAttributes, `op ${op.id}`);
      if (ia) Object.assign(a, ia);
      return { [op.name]: a };
    });
  }
  return o;
}

function resourceYaml(r: Primitive | Group | Clone): Y {
  if (r.tag === 'primitive') return primitiveYaml(r);
  const meta = pairsOf(r.metaAttributes, `${r.id} meta`);
  const params = pairsOf(r.instanceAttributes, `${r.id} params`);
  if (r.tag === 'group') {
    const o: Y = { group: r.id };
    if (r.description !== undefined) o.description = r.description;
    o.resources = r.children.map(primitiveYaml);
    if (meta) o.meta = meta;
    if (params) o.params = params;
    return o;
  }
  const o: Y = { clone: r.id };
  if (r.description !== undefined) o.description = r.description;
  o.resource = resourceYaml(r.child);
  if (meta) o.meta = meta;
  if (params) o.params = params;
  return o;
}

/**
 * Export the configuration as belay YAML. Simple constraints are written as
 * mappings; those with rules or resource sets as crmsh lines.
 */
export function cibToYaml(cib: Cib): string {
  const conf = cib.configuration;
  const other = conf.otherSections.filter((x) => x.children.length > 0 || Object.keys(x.attrs).length > 0);
  if (other.length) {
    throw new CibError(`<${other[0]!.tag}> cannot be written as belay YAML; keep this configuration as XML`);
  }
  const out: Y = {};
  const props = pairsOf(conf.crmConfig, 'properties');
  if (props) out.properties = props;
  const rd = pairsOf(conf.rscDefaults, 'rsc_defaults');
  if (rd) out.rsc_defaults = rd;
  const od = pairsOf(conf.opDefaults, 'op_defaults');
  if (od) out.op_defaults = od;
  if (conf.nodes.length) {
    out.nodes = conf.nodes.map((n: Node) => {
      const o: Y = { name: n.uname };
      if (n.id !== n.uname) o.id = n.id;
      if (n.type !== undefined) o.type = n.type;
      if (n.description !== undefined) o.description = n.description;
      const a = pairsOf(n.instanceAttributes, `node ${n.uname} attributes`);
      if (a) o.attributes = a;
      const u = pairsOf(n.utilization, `node ${n.uname} utilization`);
      if (u) o.utilization = u;
      return o;
    });
  }
  if (conf.resources.length) {
    out.resources = conf.resources.map((r) => {
      if (r.tag !== 'primitive' && r.tag !== 'group' && r.tag !== 'clone') {
        throw new CibError(`resource "${r.id}" (${r.tag}) cannot be written as YAML`);
      }
      return resourceYaml(r as Primitive | Group | Clone);
    });
  }
  if (conf.constraints.length) {
    out.constraints = conf.constraints.map((c) => {
      if ('rules' in c && c.rules.length === 0 && c.sets.length === 0 && c.rsc !== undefined && c.node !== undefined) {
        const o: Y = { location: c.id, rsc: c.rsc };
        if (c.role !== undefined) o.role = c.role;
        if (c.resourceDiscovery !== undefined) o['resource-discovery'] = c.resourceDiscovery;
        o.score = yamlScore(c.score);
        o.node = c.node;
        return o;
      }
      if (c.tag === 'rsc_colocation' && 'sets' in c && c.sets.length === 0) {
        const cc = c as import('./model.js').ColocationConstraint;
        const o: Y = { colocation: cc.id, score: yamlScore(cc.score), rsc: cc.rsc };
        if (cc.rscRole) o['rsc-role'] = cc.rscRole;
        o['with-rsc'] = cc.withRsc;
        if (cc.withRscRole) o['with-rsc-role'] = cc.withRscRole;
        if (cc.nodeAttribute) o['node-attribute'] = cc.nodeAttribute;
        return o;
      }
      if (c.tag === 'rsc_order' && 'sets' in c && c.sets.length === 0) {
        const oc = c as import('./model.js').OrderConstraint;
        const o: Y = { order: oc.id };
        if (oc.kind !== undefined) o.kind = oc.kind;
        if (oc.score !== undefined) o.score = yamlScore(oc.score);
        o.first = oc.first;
        if (oc.firstAction) o['first-action'] = oc.firstAction;
        o.then = oc.then;
        if (oc.thenAction) o['then-action'] = oc.thenAction;
        if (oc.symmetrical !== undefined) o.symmetrical = oc.symmetrical;
        return o;
      }
      return showConstraint(c).replace(/ \\\n\t/g, ' ');
    });
  }
  return YAML.stringify(out, { schema: 'failsafe', lineWidth: 0 });
}

function yamlScore(s: string | undefined): string {
  if (s === 'INFINITY') return 'inf';
  if (s === '-INFINITY') return '-inf';
  return s ?? 'inf';
}
