/**
 * crmsh's id harvesting (cibconfig.py fix_node_ids, xmlutil.lookup_node,
 * idmgmt.new): when an object is given again in crmsh text (edit, filter,
 * load update), the parts the text does not name by id take the ids of the
 * matching parts of the object as it was, so that an edit changes only what
 * it changes. `show` hides most ids (rule ids, nvpair ids, ...): without
 * this, editing one expression would renumber every rule of a location.
 */
import { collectIds, findResource } from '../cib/edit.js';
import type { AnyConstraint, Cib, Commented, Constraint, Primitive, RawElement, TopResource } from '../cib/model.js';
import { constraintToXml, parseCibXml, parseXmlTree, rawToXml, resourceToXml } from '../cib/xml.js';
import type { ConfigItem } from './parse.js';

/** Attributes that make a part "the same" as an old one (xmlutil.match_list); other tags match on the tag alone. */
const MATCH: Record<string, string[]> = {
  node: ['uname'],
  nvpair: ['name'],
  op: ['name', 'interval'],
  rule: ['score', 'score-attribute', 'role'],
  expression: ['attribute', 'operation', 'value'],
  'fencing-level': ['target', 'devices'],
  alert: ['path'],
  recipient: ['value'],
};

/** The id prefix of a top-level object without an id of its own. */
const HINT: Record<string, string> = {
  node: 'node',
  primitive: 'rsc',
  template: 'rsc',
  master: 'grp',
  group: 'grp',
  clone: 'grp',
  rsc_location: 'location',
  'fencing-topology': 'fencing',
  tags: 'tag',
  alerts: 'alert',
};

const IDLESS = new Set(['operations', 'fencing-topology', 'network', 'docker', 'rkt', 'storage', 'select', 'select_attributes', 'select_fencing', 'select_nodes', 'select_resources']);
const IS_REF = new Set(['resource_ref', 'obj_ref', 'crmsh-ref']);

/** What a generated id adds to its prefix, per tag (constants.subpfx_list). */
const SUB_PREFIX: Record<string, string> = {
  instance_attributes: 'instance_attributes',
  meta_attributes: 'meta_attributes',
  utilization: 'utilization',
  operations: 'ops',
  rule: 'rule',
  expression: 'expression',
  date_expression: 'expression',
  duration: 'duration',
  date_spec: 'date_spec',
  read: 'read',
  write: 'write',
  deny: 'deny',
};

/** A new id for an element (idmgmt.new): PREFIX-NAME for nvpairs, PREFIX-NAME-INTERVAL for ops, PREFIX-SUB otherwise; -0, -1, ... when taken. */
export function newElementId(e: RawElement, prefix: string, taken: Set<string>): string {
  const pfx = /^\d+$/.test(prefix) && e.tag !== 'node' ? `num-${prefix}` : prefix;
  const name = e.attrs.name;
  let id: string;
  if (e.tag === 'nvpair') id = `${pfx}-${name}`;
  else if (e.tag === 'op') id = e.attrs.interval ? `${pfx}-${name}-${e.attrs.interval}` : `${pfx}-${name}`;
  else id = SUB_PREFIX[e.tag] ? `${pfx}-${SUB_PREFIX[e.tag]}` : pfx;
  if (taken.has(id)) {
    for (let k = 0; k < 99; k++) {
      if (!taken.has(`${id}-${k}`)) {
        id = `${id}-${k}`;
        break;
      }
    }
  }
  taken.add(id);
  return id;
}

/**
 * Give every element of FRESH that needs an id and has none an id: the id
 * of the matching element of OLD (each old element given once), else a new
 * one from its parent's id. TAKEN holds the ids in use and gets the new ones.
 */
export function harvestIds(fresh: RawElement, old: RawElement | undefined, taken: Set<string>): void {
  const used = new Set<RawElement>();
  const lookup = (e: RawElement, parent: RawElement | undefined): RawElement | undefined => {
    if (!parent) return undefined;
    const keys = [...(MATCH[e.tag] ?? [])];
    if (e.attrs.id) keys.push('id');
    return parent.children.find((c) => !used.has(c) && c.tag === e.tag && keys.every((k) => c.attrs[k] === e.attrs[k]));
  };
  const recurse = (e: RawElement, oldParent: RawElement | undefined, prefix: string): void => {
    const ref = lookup(e, oldParent);
    if (!IS_REF.has(e.tag) && e.attrs['id-ref'] === undefined && !IDLESS.has(e.tag)) {
      const oldId = ref?.attrs.id;
      const id = e.attrs.id || oldId || e.attrs.uname;
      if (id) {
        taken.add(id);
        e.attrs = { id, ...e.attrs };
        if (ref && oldId === id) used.add(ref);
      } else e.attrs = { id: newElementId(e, prefix, taken), ...e.attrs };
    }
    const next = e.tag === 'node' && e.attrs.uname !== undefined ? e.attrs.uname : (e.attrs.id ?? prefix);
    for (const c of e.children) recurse(c, ref ?? oldParent, next);
  };
  recurse(fresh, old, HINT[fresh.tag] ?? '');
}

/** Remove the ids the parser made up (GENERATED) from an element tree, so that harvestIds gives them again. */
export function stripIds(e: RawElement, generated: ReadonlySet<string>): void {
  for (const c of e.children) {
    if (c.attrs.id !== undefined && generated.has(c.attrs.id)) {
      const { id: _drop, ...rest } = c.attrs;
      c.attrs = rest;
    }
    stripIds(c, generated);
  }
}

function withComments<T extends Commented>(o: T, comments: string[] | undefined): T {
  if (comments) o.comments = comments;
  else delete o.comments;
  return o;
}

/**
 * crmsh text applied over a configuration (edit, filter, load update): each
 * primitive or constraint already in CIB gets the ids of its old self where
 * the text left them to the parser (GENERATED). RESERVED holds ids that
 * crmsh still counts as taken (those an earlier edit of this session
 * dropped) and gets the ones this edit drops.
 */
export function harvestItemIds(cib: Cib, items: ConfigItem[], generated: ReadonlySet<string>, reserved: Set<string> = new Set()): ConfigItem[] {
  const taken = new Set<string>([...collectIds(cib).keys(), ...reserved]);
  const redo = (freshXml: string, oldXml: string, section: 'resources' | 'constraints') => {
    const fresh = parseXmlTree(freshXml);
    const old = parseXmlTree(oldXml);
    stripIds(fresh, generated);
    harvestIds(fresh, old, taken);
    const before = new Set<string>();
    const after = new Set<string>();
    const ids = (e: RawElement, into: Set<string>) => {
      if (e.attrs.id !== undefined) into.add(e.attrs.id);
      e.children.forEach((c) => ids(c, into));
    };
    ids(old, before);
    ids(fresh, after);
    for (const id of before) if (!after.has(id)) reserved.add(id);
    return parseCibXml(`<cib><configuration><${section}>${rawToXml(fresh)}</${section}></configuration></cib>`).configuration;
  };
  return items.map((it) => {
    if (it.kind === 'primitive') {
      const old = findResource(cib, it.primitive.id);
      if (!old || old.res.tag !== 'primitive') return it;
      const p = redo(resourceToXml(it.primitive), resourceToXml(old.res as TopResource), 'resources').resources[0];
      // The XML tree of the round trip has no comments: they come from the text.
      return p && p.tag === 'primitive' ? { ...it, primitive: withComments(p as Primitive, it.primitive.comments) } : it;
    }
    if (it.kind === 'constraint') {
      const old = cib.configuration.constraints.find((c) => c.id === it.constraint.id);
      if (!old || old.tag !== it.constraint.tag) return it;
      const c = redo(constraintToXml(it.constraint), constraintToXml(old as AnyConstraint), 'constraints').constraints[0];
      return c && c.tag === it.constraint.tag && !('raw' in c) ? { ...it, constraint: withComments(c as Constraint, it.constraint.comments) } : it;
    }
    return it;
  });
}
