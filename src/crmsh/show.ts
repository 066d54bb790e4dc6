/**
 * `crm configure show`: the configuration in crmsh 4.x's layout.
 *
 * Objects come in crmsh's order (nodes, primitives, groups, clones,
 * locations, colocations, orders, property, rsc_defaults, op_defaults), one
 * statement each; continuation lines end with " \" and start with a tab.
 * ocf:heartbeat agents print as the bare type, as crmsh does.
 */
import { allResources } from '../cib/edit.js';
import { isScore } from '../cib/score.js';
import { templatePrimitive } from '../cib/template.js';
import { constraintToXml, opPairs, optionSetToXml, parseCibXml, rawToXml } from '../cib/xml.js';
import type {
  Commented,
  AnyConstraint,
  Cib,
  Clone,
  ColocationConstraint,
  Group,
  LocationConstraint,
  Node,
  NvPair,
  NvSet,
  Operation,
  OrderConstraint,
  Primitive,
  RawElement,
  ResourceSet,
  RuleNode,
  TopResource,
} from '../cib/model.js';

/** crmsh quotes a value unless it is made of word characters, dots and dashes. */
export function quoteWrap(v: string): string {
  if (/^[\w.-]+$/.test(v)) return v;
  if (v.includes('"')) return `"${v.replace(/"/g, '\\"')}"`;
  return `"${v}"`;
}

function nvpairFormat(n: string, v: string | undefined): string {
  return v === undefined ? n : `${n}=${quoteWrap(v)}`;
}

function cliNvpair(p: NvPair): string {
  if (p.idRef !== undefined) return p.name ? `@${p.idRef}:${p.name}` : `@${p.idRef}`;
  return nvpairFormat(p.name, p.value);
}

/** Join statement parts: " \" + newline + tab between them. */
function cliFormat(parts: string[]): string {
  return parts.join(' \\\n\t');
}

function scoreText(s: string | undefined): string {
  if (s === undefined || s === '') return '';
  return s.replace('INFINITY', 'inf');
}

/**
 * Parameters crmsh never prints in clear: those matching its
 * `obscure_pattern` option, "passw*" by default (password, passwd, ...).
 */
export const OBSCURE_PATTERN = /^passw/;

export function isSecretParameter(name: string): boolean {
  return OBSCURE_PATTERN.test(name);
}

function attrSet(keyword: string, s: NvSet): string {
  const bits = [keyword];
  if (s.idRef !== undefined) bits.push(`$id-ref=${s.idRef}`);
  if (s.score) bits.push(`${s.score}:`);
  for (const r of s.rules) bits.push(`rule ${cliRule(r)}`);
  for (const p of s.nvpairs) {
    if (keyword === 'params' && p.value !== undefined && p.idRef === undefined && isSecretParameter(p.name)) bits.push(`${p.name}="******"`);
    else bits.push(cliNvpair(p));
  }
  return bits.join(' ');
}

function agentSpec(p: Primitive): string {
  if (p.extra?.template !== undefined) return `@${p.extra.template}`;
  let s = '';
  if (p.class) s += `${p.class}:`;
  if (p.provider) s += `${p.provider}:`;
  s += p.type;
  return s.startsWith('ocf:heartbeat:') ? s.slice('ocf:heartbeat:'.length) : s;
}

/**
 * An op as crmsh prints it: `op NAME` and the <op> attributes in their XML
 * order (id left out); each instance_attributes / meta_attributes set of
 * the op on a line of its own as `op_params` / `op_meta`, with its score
 * and rules, so that loading the text back gives the same op.
 */
function opParts(o: Operation): string[] {
  const bits = ['op', o.name];
  for (const [k, v] of opPairs(o)) if (k !== 'id' && k !== 'name') bits.push(nvpairFormat(k, v));
  const parts = [bits.join(' ')];
  for (const s of o.instanceAttributes) parts.push(attrSet('op_params', s));
  for (const s of o.metaAttributes) parts.push(attrSet('op_meta', s));
  return parts;
}

export function showPrimitive(p: Primitive, keyword = 'primitive'): string {
  const parts = [`${keyword} ${p.id} ${agentSpec(p)}`];
  if (p.description !== undefined) parts.push(nvpairFormat('description', p.description));
  for (const s of p.instanceAttributes) parts.push(attrSet('params', s));
  for (const s of p.metaAttributes) parts.push(attrSet('meta', s));
  for (const s of p.utilization) parts.push(attrSet('utilization', s));
  if (p.operationsId !== undefined) parts.push(`operations $id=${p.operationsId}`);
  // crmsh prints the reference with two blanks ("operations  $id-ref=X").
  if (p.operationsIdRef !== undefined) parts.push(`operations  $id-ref=${p.operationsIdRef}`);
  for (const o of p.operations) parts.push(...opParts(o));
  return cliFormat(parts);
}

function showContainer(keyword: string, c: Group | Clone, members: string[]): string {
  const parts = [`${keyword} ${c.id} ${members.join(' ')}`];
  if (c.description !== undefined) parts.push(nvpairFormat('description', c.description));
  for (const s of c.metaAttributes) parts.push(attrSet('meta', s));
  for (const s of c.instanceAttributes) parts.push(attrSet('params', s));
  return cliFormat(parts);
}

function exp2cli(e: RuleNode): string {
  const a = e.attrs;
  if (e.tag === 'date_expression') {
    const op = a.operation === 'in_range' ? 'in' : a.operation === 'date_spec' ? 'spec' : (a.operation ?? '');
    const bits = ['date', op];
    if (a.operation === 'gt') bits.push(quoteWrap(a.start ?? ''));
    else if (a.operation === 'lt') bits.push(quoteWrap(a.end ?? ''));
    else {
      if (a.operation === 'in_range') for (const n of ['start', 'end']) if (a[n] !== undefined) bits.push(nvpairFormat(n, a[n]));
      for (const c of e.children) for (const [n, v] of Object.entries(c.attrs)) if (n !== 'id') bits.push(nvpairFormat(n, v));
    }
    return bits.join(' ');
  }
  if (e.tag === 'rule') return `( ${cliExprs(e)} )`;
  let op = a.operation ?? '';
  if (a.type) op = `${a.type}:${op}`;
  if (!a.value) return `${op} ${a.attribute ?? ''}`;
  const vs = a['value-source'];
  return vs && vs !== 'literal' ? `${a.attribute} ${op} ${vs}{${a.value}}` : `${a.attribute} ${op} ${a.value}`;
}

function cliExprs(r: RuleNode): string {
  const op = r.attrs['boolean-op'] ?? 'and';
  return r.children.map(exp2cli).join(` ${op} `);
}

function cliRule(r: RuleNode, referenced: ReadonlySet<string> = new Set()): string {
  if (r.attrs['id-ref'] !== undefined) return `$id-ref=${r.attrs['id-ref']}`;
  const bits: string[] = [];
  // crmsh shows a rule's id when another rule refers to it.
  if (r.attrs.id !== undefined && referenced.has(r.attrs.id)) bits.push(`$id=${r.attrs.id}`);
  if (r.attrs.role) bits.push(`$role=${r.attrs.role}`);
  const score = r.attrs.score === 'INFINITY' ? '' : r.attrs.score ? scoreText(r.attrs.score) : (r.attrs['score-attribute'] ?? '');
  if (score) bits.push(`${score}:`);
  bits.push(cliExprs(r));
  return bits.join(' ');
}

/** Resource sets as crmsh writes them: "( a b )" sequential=false, "[ a b ]" require-all=false. */
function rscSets(sets: ResourceSet[], kind: 'colocation' | 'order' | 'location'): string[] {
  const col: string[] = [];
  let cnt = 0;
  let sequential: boolean | undefined;
  let requireAll: boolean | undefined;
  const bool = (v: string | undefined) => (v === undefined ? undefined : ['true', 'yes', 'on', '1', 'y'].includes(v.toLowerCase()));
  for (const s of sets) {
    sequential = bool(s.sequential);
    requireAll = bool(s.requireAll);
    if (requireAll === false) col.push('[');
    else if (sequential === false) col.push('(');
    const q = kind === 'order' ? s.action : s.role;
    for (const r of s.resources) {
      col.push(q ? `${r}:${q}` : r);
      cnt++;
    }
    if (requireAll === false) {
      if (sequential === undefined || sequential === true) col.push('sequential=true');
      col.push(']');
    } else if (sequential === false) col.push(')');
  }
  const seqAll = (sequential === undefined || sequential) && (requireAll === undefined || requireAll);
  if (kind !== 'location' && seqAll && cnt <= 2) col.unshift('_rsc_set_');
  return col;
}

/** Ids of location rules that a rule elsewhere refers to ($id-ref). */
function referencedRules(cib: Cib): Set<string> {
  const out = new Set<string>();
  for (const c of cib.configuration.constraints) {
    if (c.tag !== 'rsc_location' || !('rules' in c)) continue;
    for (const r of (c as LocationConstraint).rules) if (r.attrs['id-ref'] !== undefined) out.add(r.attrs['id-ref']);
  }
  return out;
}

function showLocation(c: LocationConstraint, referenced: ReadonlySet<string> = new Set()): string {
  let rsc: string;
  if (c.rsc !== undefined) rsc = c.rsc;
  else if (c.rscPattern !== undefined) rsc = `/${c.rscPattern}/`;
  else rsc = `{ ${rscSets(c.sets, 'location').join(' ')} }`;
  let head = `location ${c.id} ${rsc}`;
  if (c.role !== undefined) head += ` role=${c.role}`;
  if (c.resourceDiscovery !== undefined) head += ` resource-discovery=${c.resourceDiscovery}`;
  if (c.node !== undefined) head += ` ${scoreText(c.score ?? c.extra?.['score-attribute'])}: ${c.node}`;
  return cliFormat([head, ...c.rules.map((r) => `rule ${cliRule(r, referenced)}`)]);
}

function showColocation(c: ColocationConstraint): string {
  const score = scoreText(c.score ?? c.extra?.['score-attribute']);
  const col = c.sets.length
    ? rscSets(c.sets, 'colocation')
    : [c.rscRole ? `${c.rsc}:${c.rscRole}` : (c.rsc ?? ''), c.withRscRole ? `${c.withRsc}:${c.withRscRole}` : (c.withRsc ?? '')];
  if (c.nodeAttribute !== undefined) col.push(`node-attribute=${c.nodeAttribute}`);
  return `colocation ${c.id} ${score !== '' ? `${score}: ` : ''}${col.join(' ')}`;
}

function showOrder(c: OrderConstraint): string {
  const score = scoreText(c.score) || (c.kind ?? '');
  const col = c.sets.length
    ? rscSets(c.sets, 'order')
    : [c.firstAction ? `${c.first}:${c.firstAction}` : (c.first ?? ''), c.thenAction ? `${c.then}:${c.thenAction}` : (c.then ?? '')];
  if (c.symmetrical !== undefined) col.push(`symmetrical=${c.symmetrical}`);
  return `order ${c.id} ${score !== '' ? `${score}: ` : ''}${col.join(' ')}`;
}

function showNode(n: Node): string {
  let head = n.id === n.uname ? `node ${n.uname}` : `node ${n.id}: ${n.uname}`;
  if (n.type !== undefined && n.type !== 'member' && n.type !== 'normal') head += `:${n.type}`;
  const parts = [head];
  if (n.description !== undefined) parts.push(nvpairFormat('description', n.description));
  for (const s of n.instanceAttributes) parts.push(attrSet('attributes', s));
  for (const s of n.utilization) parts.push(attrSet('utilization', s));
  return cliFormat(parts);
}

function showOptions(keyword: string, s: NvSet): string {
  const idPart = s.id !== undefined ? (/^[\w.-]+$/.test(s.id) ? `${s.id}:` : `$id="${s.id}"`) : '';
  const parts = [idPart ? `${keyword} ${idPart}` : keyword];
  for (const r of s.rules) parts.push(`rule ${cliRule(r)}`);
  for (const p of s.nvpairs) parts.push(cliNvpair(p));
  return cliFormat(parts);
}

/** XML of an element the CLI syntax cannot express, as crmsh's `xml` statement. */
function rawXml(r: RawElement, depth = 0): string[] {
  const attrs = Object.entries(r.attrs)
    .map(([k, v]) => ` ${k}="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`)
    .join('');
  const pad = '  '.repeat(depth);
  if (r.children.length === 0) return [`${pad}<${r.tag}${attrs}/>`];
  return [`${pad}<${r.tag}${attrs}>`, ...r.children.flatMap((c) => rawXml(c, depth + 1)), `${pad}</${r.tag}>`];
}

function showRaw(raw: RawElement): string {
  return `xml ${rawXml(raw).join(' \\\n')}`;
}

function showXmlText(xml: string): string {
  return `xml ${xml.trimEnd().split('\n').join(' \\\n')}`;
}

/** Rule trees the crmsh syntax can say: one level of expressions and date expressions. */
function ruleIsCli(r: RuleNode): boolean {
  return r.tag === 'rule' && r.children.every((c) => c.tag === 'expression' || c.tag === 'date_expression');
}

function setsAreCli(sets: NvSet[]): boolean {
  return sets.every((s) => s.rules.every(ruleIsCli) && (s.score === undefined || isScore(s.score)));
}

/** crmsh prints what its syntax cannot say as an `xml` statement; so does belay. */
function constraintIsCli(c: AnyConstraint): boolean {
  if (!('sets' in c)) return false;
  if ('rules' in c && !c.rules.every(ruleIsCli)) return false;
  // Location with resource sets has a crmsh form ({ a b }) belay does not parse: keep it as XML.
  if ('rules' in c && c.sets.length > 0) return false;
  const score = (c as { score?: string }).score;
  if (score !== undefined && !isScore(score)) return false;
  if (c.tag === 'rsc_order') {
    const kind = (c as OrderConstraint).kind;
    if (kind !== undefined && !['Mandatory', 'Optional', 'Serialize'].includes(kind)) return false;
  }
  return !c.extra;
}

export function showResource(r: TopResource): string {
  switch (r.tag) {
    case 'primitive':
      return showPrimitive(r as Primitive);
    case 'group':
      return showContainer('group', r as Group, (r as Group).children.map((c) => c.id));
    case 'clone':
      return showContainer('clone', r as Clone, [(r as Clone).child.id]);
    case 'master':
      return showContainer('ms', r as Clone, [(r as Clone).child.id]);
    case 'template': {
      // A template is a primitive's definition under another tag: shown as one, as `rsc_template`.
      const raw = (r as { raw: RawElement }).raw;
      try {
        return showPrimitive(templatePrimitive(raw), 'rsc_template');
      } catch {
        // Not a valid primitive: shown as XML below.
      }
      return showRaw(raw);
    }
    default:
      return showRaw((r as { raw: RawElement }).raw);
  }
}

export function showConstraint(c: AnyConstraint, referenced: ReadonlySet<string> = new Set()): string {
  if ('sets' in c && !constraintIsCli(c)) return showXmlText(constraintToXml(c));
  if ('rules' in c) return showLocation(c, referenced);
  if (c.tag === 'rsc_colocation' && 'sets' in c) return showColocation(c as ColocationConstraint);
  if (c.tag === 'rsc_order' && 'sets' in c) return showOrder(c as OrderConstraint);
  const raw = (c as { raw: RawElement }).raw;
  if (raw.tag === 'rsc_ticket') {
    const t = showTicket(raw);
    if (t !== undefined) return t;
  }
  return showRaw(raw);
}

/** rsc_ticket ID TICKET: RSC[:ROLE]... [loss-policy=X], when the XML has that shape. */
function showTicket(raw: RawElement): string | undefined {
  const a = raw.attrs;
  const known = new Set(['id', 'ticket', 'rsc', 'rsc-role', 'loss-policy']);
  if (!a.id || !a.ticket || Object.keys(a).some((k) => !known.has(k))) return undefined;
  const refs: string[] = [];
  if (a.rsc !== undefined) {
    if (raw.children.length) return undefined;
    refs.push(a['rsc-role'] ? `${a.rsc}:${a['rsc-role']}` : a.rsc);
  } else {
    for (const set of raw.children) {
      if (set.tag !== 'resource_set' || Object.keys(set.attrs).some((k) => k !== 'id' && k !== 'role')) return undefined;
      for (const r of set.children) refs.push(set.attrs.role ? `${r.attrs.id}:${set.attrs.role}` : r.attrs.id!);
    }
  }
  const bits = [`rsc_ticket ${a.id} ${a.ticket}:`, ...refs];
  if (a['loss-policy'] !== undefined) bits.push(nvpairFormat('loss-policy', a['loss-policy']));
  return bits.join(' ');
}

/**
 * crmsh's order of statements (xmlutil's _sort_cli_order): by kind, then
 * by id (crmsh's default sort_elements=yes). A promotable `clone` is a
 * clone here, the legacy <master> an `ms`, so `ms` comes first.
 */
const CLI_RANK: Record<string, number> = {
  node: 0,
  rsc_template: 1,
  template: 1,
  primitive: 2,
  bundle: 3,
  group: 4,
  master: 5,
  clone: 6,
  tag: 8,
  tags: 8,
  rsc_location: 9,
  rsc_colocation: 9,
  rsc_order: 9,
  rsc_ticket: 10,
  'fencing-topology': 10,
  crm_config: 11,
  rsc_defaults: 12,
  op_defaults: 13,
  acl_role: 14,
  role: 14,
  acl_target: 15,
  acl_group: 15,
  acl_user: 15,
  alert: 16,
};
const RANK_LAST = 1000;

function byCliOrder<T extends { rank: number; id: string }>(list: T[], sortElements: boolean): T[] {
  return list
    .map((x, i) => [x, i] as const)
    .sort(([a, i], [b, j]) => a.rank - b.rank || (sortElements && a.id !== b.id ? (a.id < b.id ? -1 : 1) : i - j))
    .map(([x]) => x);
}

/** crmsh's user options that change what `show` prints. */
export interface ShowOptions {
  /** crmsh's sort_elements (default yes): sort objects of a kind by id, else keep CIB order. */
  sortElements?: boolean;
  /** One line per object and no comments (crmsh's format_mode -1, the text `filter` gets). */
  oneLine?: boolean;
}

/** An object's statement with its comments above it (crmsh's _cli_format_and_comment), or on one line without them. */
function withComments(text: string, o: Commented, oneLine: boolean): string {
  if (oneLine) return text;
  return o.comments?.length ? `${o.comments.join('\n')}\n${text}` : text;
}

/** The statements of a configuration, in crmsh's order, each with the ids it shows. */
export function showStatements(cib: Cib, show: ShowOptions = {}): Array<{ ids: string[]; text: string }> {
  const conf = cib.configuration;
  const out: Array<{ ids: string[]; text: string; rank: number; id: string }> = [];
  const one = show.oneLine ?? false;
  for (const n of conf.nodes) out.push({ ids: [n.id, n.uname], text: withComments(showNode(n), n, one), rank: CLI_RANK.node!, id: n.id || n.uname });
  for (const r of allResources(cib)) out.push({ ids: [r.id], text: withComments(showResource(r), r as Commented, one), rank: CLI_RANK[r.tag] ?? RANK_LAST, id: r.id });
  const referenced = referencedRules(cib);
  for (const c of conf.constraints) out.push({ ids: [c.id], text: withComments(showConstraint(c, referenced), c as Commented, one), rank: CLI_RANK[c.tag] ?? RANK_LAST, id: c.id });
  const opts = (keyword: string, section: 'crm_config' | 'rsc_defaults' | 'op_defaults', sets: NvSet[]) => {
    for (const s of sets) {
      const text = setsAreCli([s]) && s.idRef === undefined ? showOptions(keyword, s) : showXmlText(optionSetToXml(section, s));
      out.push({ ids: s.id ? [s.id] : [], text, rank: CLI_RANK[section]!, id: s.id ?? '' });
    }
  };
  opts('property', 'crm_config', conf.crmConfig);
  opts('rsc_defaults', 'rsc_defaults', conf.rscDefaults);
  opts('op_defaults', 'op_defaults', conf.opDefaults);
  for (const s of conf.otherSections) {
    for (const st of showSection(s, cib)) out.push(st);
  }
  return byCliOrder(out, show.sortElements ?? true).map(({ ids, text }) => ({ ids, text: one ? text.replace(/ \\\n\t?/g, ' ') : text }));
}

/** Statements of a section the model keeps as XML (tags, fencing-topology, acls, alerts). */
function showSection(s: RawElement, cib: Cib): Array<{ ids: string[]; text: string; rank: number; id: string }> {
  if (s.tag === 'tags') {
    return s.children.map((t) => ({
      ids: [t.attrs.id ?? ''],
      text: t.tag === 'tag' && t.children.every((c) => c.tag === 'obj_ref') ? `tag ${t.attrs.id} ${t.children.map((c) => c.attrs.id).join(' ')}` : showRaw(t),
      rank: CLI_RANK.tag!,
      id: t.attrs.id ?? '',
    }));
  }
  if (s.tag === 'fencing-topology' && s.children.every((c) => c.tag === 'fencing-level')) {
    return [{ ids: ['fencing_topology'], text: showFencingTopology(s, cib), rank: CLI_RANK['fencing-topology']!, id: 'fencing_topology' }];
  }
  if (s.tag === 'acls' || s.tag === 'alerts') {
    // crmsh shows each role, target and alert as an object of its own.
    return s.children.map((c) => ({ ids: [c.attrs.id ?? ''], text: (s.tag === 'acls' ? showAcl(c) : showAlert(c)) ?? showRaw(c), rank: CLI_RANK[c.tag] ?? RANK_LAST, id: c.attrs.id ?? '' }));
  }
  return [{ ids: s.attrs.id ? [s.attrs.id] : [], text: showRaw(s), rank: CLI_RANK[s.tag] ?? RANK_LAST, id: s.attrs.id ?? s.tag }];
}

/**
 * crmsh's ACL shortcuts (constants.acl_shortcuts): an xpath of one of these
 * forms is shown as NAME:ARG[:ARG].
 */
export const ACL_SHORTCUTS: Array<[string, string[]]> = [
  ['meta', ["//primitive[@id='@@']/meta_attributes", "/nvpair[@name='@@']"]],
  ['params', ["//primitive[@id='@@']/instance_attributes", "/nvpair[@name='@@']"]],
  ['utilization', ["//primitive[@id='@@']/utilization"]],
  ['location', ["//rsc_location[@id='cli-prefer-@@' and @rsc='@@']"]],
  ['property', ['//crm_config/cluster_property_set', "/nvpair[@name='@@']"]],
  ['nodeattr', ['//nodes/node/instance_attributes', "/nvpair[@name='@@']"]],
  ['nodeutil', ['//nodes/node/utilization', "[@uname='@@']"]],
  ['node', ['//nodes/node', "[@uname='@@']"]],
  ['status', ['/cib/status']],
  ['cib', ['/cib']],
];

function aclXpath(xpath: string): string {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/@@/g, '([a-zA-Z_][a-zA-Z0-9_.-]*)');
  for (const [name, parts] of ACL_SHORTCUTS) {
    for (let i = 0; i < parts.length; i++) {
      const m = new RegExp(`^${parts.slice(0, i + 1).map(esc).join('')}$`).exec(xpath);
      // crmsh keeps one group per part (the location shortcut's second @@ is dropped).
      if (m) return [name, ...m.slice(1, i + 2)].join(':');
    }
  }
  return `xpath:${quoteWrap(xpath)}`;
}

/** `role ID RULE...` / `acl_target ID ROLE...` / `acl_group ...` as crmsh 4.4 prints them; undefined when the syntax cannot say it. */
function showAcl(e: RawElement): string | undefined {
  const id = e.attrs.id;
  if (id === undefined) return undefined;
  if (e.tag === 'acl_role') {
    if (!e.children.every((c) => c.tag === 'acl_permission') || Object.keys(e.attrs).some((k) => k !== 'id')) return undefined;
    const rules = e.children.map((c) => {
      const bits = [c.attrs.kind ?? ''];
      if (c.attrs.description !== undefined) bits.push(nvpairFormat('description', c.attrs.description));
      if (c.attrs.xpath !== undefined) bits.push(aclXpath(c.attrs.xpath));
      if (c.attrs.reference !== undefined) bits.push(`ref:${c.attrs.reference}`);
      if (c.attrs.attribute !== undefined) bits.push(`attr:${c.attrs.attribute}`);
      if (c.attrs['object-type'] !== undefined) bits.push(`type:${c.attrs['object-type']}`);
      return bits.join(' ');
    });
    return cliFormat([`role ${id}`, ...rules]);
  }
  if (e.tag === 'acl_target' || e.tag === 'acl_group') {
    if (!e.children.every((c) => c.tag === 'role' && c.attrs.id !== undefined)) return undefined;
    return cliFormat([`${e.tag} ${id}`, ...e.children.map((c) => c.attrs.id!)]);
  }
  return undefined;
}

/** An attribute set kept as XML, as crmsh prints it (`attributes a=1`); undefined when it has rules or references. */
function rawAttrSet(keyword: string, e: RawElement): string | undefined {
  if (e.attrs['id-ref'] !== undefined || !e.children.every((c) => c.tag === 'nvpair' && c.attrs['id-ref'] === undefined)) return undefined;
  return [keyword, ...e.children.map((c) => nvpairFormat(c.attrs.name ?? '', c.attrs.value))].join(' ');
}

/** `alert ID PATH [attributes ...] [meta ...] [select ...] [to ...]` as crmsh prints it. */
function showAlert(e: RawElement): string | undefined {
  if (e.tag !== 'alert' || e.attrs.id === undefined || e.attrs.path === undefined) return undefined;
  const setName: Record<string, string> = { instance_attributes: 'attributes', meta_attributes: 'meta' };
  const kids = e.children.filter((c) => ['recipient', 'instance_attributes', 'meta_attributes'].includes(c.tag)).map((c) => c.tag);
  const ri = kids.indexOf('recipient');
  // Sets after a recipient would read as the recipient's: crmsh then puts recipients in braces.
  const complex = ri >= 0 && kids.slice(ri + 1).some((t) => t !== 'recipient');
  const parts = [`alert ${e.attrs.id} ${quoteWrap(e.attrs.path)}`];
  if (e.attrs.description !== undefined) parts.push(nvpairFormat('description', e.attrs.description));
  for (const c of e.children) {
    if (setName[c.tag]) {
      const t = rawAttrSet(setName[c.tag]!, c);
      if (t === undefined) return undefined;
      parts.push(t);
    } else if (c.tag === 'select') {
      const r = ['select'];
      for (const sel of c.children) {
        if (!sel.tag.startsWith('select_')) continue;
        r.push(sel.tag.slice('select_'.length));
        if (sel.tag === 'select_attributes') r.push('{', ...sel.children.filter((a) => a.tag === 'attribute').map((a) => a.attrs.name ?? ''), '}');
      }
      parts.push(r.join(' '));
    } else if (c.tag === 'recipient') {
      const r = ['to'];
      if (complex) r.push('{');
      r.push(quoteWrap(c.attrs.value ?? ''));
      for (const sub of c.children) {
        const t = setName[sub.tag] ? rawAttrSet(setName[sub.tag]!, sub) : undefined;
        if (t === undefined) return undefined;
        r.push(t);
      }
      if (complex) r.push('}');
      parts.push(r.join(' '));
    } else return undefined;
  }
  return cliFormat(parts);
}

/**
 * fencing_topology as crmsh prints it: `fencing_topology DEVICES...` when
 * every node has the same levels, else the levels per target
 * (`node1: a b`, `attr:NAME=VALUE: ...`, `pattern:RE: ...`).
 */
function showFencingTopology(s: RawElement, cib: Cib): string {
  const byTarget = new Map<string, Map<number, string>>();
  for (const l of s.children) {
    const a = l.attrs;
    const key = a['target-pattern'] !== undefined ? `pattern:${a['target-pattern']}` : a['target-attribute'] !== undefined ? `attr:${a['target-attribute']}=${a['target-value'] ?? ''}` : `${a.target ?? ''}:`;
    if (!byTarget.has(key)) byTarget.set(key, new Map());
    byTarget.get(key)!.set(Number(a.index), a.devices ?? '');
  }
  const lines = [...byTarget].map(([k, levels]) => [k, [...levels].sort((x, y) => x[0] - y[0]).map(([, d]) => d).join(' ')] as const);
  const distinct = new Set(lines.map(([, d]) => d));
  if (distinct.size === 1 && byTarget.size === cib.configuration.nodes.length) return `fencing_topology ${lines[0]![1]}`;
  return cliFormat(['fencing_topology', ...lines.map(([k, d]) => `${k} ${d}`)]);
}

/** `crm configure show [ID...]`: the whole configuration, or the named objects. */
export function showConfiguration(cib: Cib, ids?: string[], opts: ShowOptions = {}): string {
  let st = showStatements(cib, opts);
  if (ids && ids.length) st = st.filter((s) => s.ids.some((i) => ids.includes(i)));
  return st.map((s) => s.text + '\n').join('');
}
