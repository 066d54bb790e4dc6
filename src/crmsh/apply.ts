/**
 * Apply parsed crmsh statements to a CIB, with crmsh's two modes:
 * "create" (a `crm configure primitive ...` command: the id must be new) and
 * "update" (`load update`: an existing object with the same id is replaced).
 */
import {
  addClone,
  allResources,
  addConstraint,
  addGroup,
  addNode,
  addPrimitive,
  cloneCib,
  collectIds,
  uniqueId,
  bumpEpoch,
  checkRefs,
  findResource,
  mergeConfiguration,
  renameReferences,
  setOptions,
} from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import type { Cib, Clone, Commented, Group, LocationConstraint, Operation, Primitive, RawElement, RuleNode, TopResource } from '../cib/model.js';
import { cibToXml, parseCibXml, parseXmlTree, rawToXml } from '../cib/xml.js';
import type { ConfigItem, FencingLevelSpec } from './parse.js';

const ORDER: Record<ConfigItem['kind'], number> = {
  node: 0,
  primitive: 1,
  group: 2,
  clone: 3,
  constraint: 4,
  ticket: 4,
  monitor: 1.5,
  tag: 4,
  section: 8,
  fencing_topology: 4,
  property: 5,
  rsc_defaults: 6,
  op_defaults: 7,
  xml: 8,
};

/** An xml statement goes where its content belongs, so option sets keep their order. */
function rank(it: ConfigItem): number {
  if (it.kind !== 'xml') return ORDER[it.kind];
  const c = it.configuration;
  if (c.nodes.length) return ORDER.node;
  if (c.resources.length) return ORDER.clone + 0.5;
  if (c.constraints.length) return ORDER.constraint;
  if (c.crmConfig.length) return ORDER.property;
  if (c.rscDefaults.length) return ORDER.rsc_defaults;
  if (c.opDefaults.length) return ORDER.op_defaults;
  return ORDER.xml;
}

/** Items in an order where every reference is defined first (stable within a kind). */
export function sortItems(items: ConfigItem[]): ConfigItem[] {
  return items
    .map((it, i) => [it, i] as const)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
    .map(([it]) => it);
}

export function applyItem(cib: Cib, item: ConfigItem, mode: 'create' | 'update' = 'create', notes: string[] = []): Cib {
  switch (item.kind) {
    case 'primitive': {
      const p = item.primitive.operationsIdRef !== undefined ? resolveOperationsRef(cib, item.primitive) : item.primitive;
      const found = findResource(cib, p.id);
      if (found && mode === 'update' && found.res.tag === 'primitive') return replacePrimitive(cib, p);
      return addPrimitive(cib, p);
    }
    case 'group': {
      let base = cib;
      if (mode === 'update' && findResource(cib, item.group.id)?.res.tag === 'group') base = unwrap(cib, item.group.id);
      const grouped = addGroup(base, item.group, item.members);
      // crmsh: constraints on the members now apply to the group.
      if (mode === 'create') {
        for (const m of item.members) renameReferences(grouped, m, item.group.id, notes);
        // A colocation or order between two members now names the group twice: it goes.
        grouped.configuration.constraints = grouped.configuration.constraints.filter((c) => {
          const x = c as { rsc?: string; withRsc?: string; first?: string; then?: string };
          return !((x.rsc !== undefined && x.rsc === x.withRsc) || (x.first !== undefined && x.first === x.then));
        });
      }
      return grouped;
    }
    case 'clone': {
      let base = cib;
      const old = findResource(cib, item.clone.id)?.res.tag;
      if (mode === 'update' && (old === 'clone' || old === 'master')) base = unwrap(cib, item.clone.id);
      const next = addClone(base, item.clone, item.member);
      // crmsh: constraints on what was cloned now apply to the clone.
      if (mode === 'create') renameReferences(next, item.member, item.clone.id, notes);
      return next;
    }
    case 'constraint': {
      if (item.constraint.tag === 'rsc_location') item.constraint.rules = item.constraint.rules.map((r) => resolveRuleRef(cib, r));
      const i = cib.configuration.constraints.findIndex((c) => c.id === item.constraint.id);
      if (i >= 0 && mode === 'update') {
        const next = cloneCib(cib);
        checkRefs(next, item.constraint);
        next.configuration.constraints[i] = structuredClone(item.constraint);
        bumpEpoch(next);
        return next;
      }
      return addConstraint(cib, item.constraint);
    }
    case 'property':
      return setOptions(cib, 'crmConfig', item.pairs, item.setId);
    case 'rsc_defaults':
      return withRules(setOptions(cib, 'rscDefaults', item.pairs, item.setId), 'rscDefaults', item.setId, item.rules);
    case 'op_defaults':
      return withRules(setOptions(cib, 'opDefaults', item.pairs, item.setId), 'opDefaults', item.setId, item.rules);
    case 'xml':
      return mergeConfiguration(cib, item.configuration);
    case 'monitor': {
      const next = cloneCib(cib);
      const found = findResource(next, item.rsc);
      if (!found || found.res.tag !== 'primitive') throw new CibError(`monitor: "${item.rsc}" is not a primitive`);
      const p = found.res as Primitive;
      if (p.operations.some((o) => o.name === 'monitor' && o.interval === item.interval)) throw new CibError(`${item.rsc} already has a monitor op with interval ${item.interval}`);
      const id = uniqueId(collectIds(next), `${item.rsc}-monitor-${item.interval}`);
      const op: Operation = { id, name: 'monitor', interval: item.interval, instanceAttributes: [], metaAttributes: [] };
      if (item.timeout !== undefined) op.timeout = item.timeout;
      if (item.role !== undefined) {
        op.role = item.role;
        op.attrOrder = ['role', 'interval', ...(item.timeout !== undefined ? ['timeout'] : [])];
      }
      p.operations.push(op);
      bumpEpoch(next);
      return next;
    }
    case 'ticket':
      return addConstraint(cib, item.constraint);
    case 'tag':
      return addTag(cib, item.tag);
    case 'section':
      return putSectionChild(cib, item.section, item.element, mode);
    case 'fencing_topology':
      return setFencingTopology(cib, item.levels);
    case 'node': {
      const i = cib.configuration.nodes.findIndex((n) => n.uname === item.node.uname);
      if (i >= 0 && mode === 'create') {
        // crmsh: `node NAME attributes ...` on a node already there adds to its attributes.
        const next = cloneCib(cib);
        const node = next.configuration.nodes[i]!;
        for (const kind of ['instanceAttributes', 'utilization'] as const) {
          for (const set of item.node[kind]) {
            const into = node[kind][0];
            if (!into) {
              node[kind].push(structuredClone(set));
              continue;
            }
            for (const p of set.nvpairs) {
              const have = into.nvpairs.find((x) => x.name === p.name);
              if (have) have.value = p.value;
              else into.nvpairs.push({ ...p, id: uniqueId(collectIds(next), `${into.id}-${p.name}`) });
            }
          }
        }
        bumpEpoch(next);
        return next;
      }
      if (i >= 0 && mode === 'update') {
        const next = cloneCib(cib);
        next.configuration.nodes[i] = structuredClone(item.node);
        bumpEpoch(next);
        return next;
      }
      return addNode(cib, item.node);
    }
  }
}

/**
 * `operations $id-ref=X`: X names an <operations> set, or (as crmsh allows)
 * a resource whose operations set is meant; the reference must resolve.
 */
function resolveOperationsRef(cib: Cib, p: Primitive): Primitive {
  const ref = p.operationsIdRef!;
  const prims = allResources(cib).filter((r): r is Primitive => r.tag === 'primitive');
  if (prims.some((r) => r.operationsId === ref)) return p;
  const owner = prims.find((r) => r.id === ref);
  if (owner?.operationsId !== undefined) return { ...p, operationsIdRef: owner.operationsId };
  throw new CibError(`${p.id}: operations $id-ref=${ref}: no operations set with that id`);
}

/** Add a <tag> to the <tags> section (made when missing); its id must be new. */
function addTag(cib: Cib, tag: RawElement): Cib {
  const next = cloneCib(cib);
  if (collectIds(next).has(tag.attrs.id!)) throw new CibError(`id "${tag.attrs.id}" is already in use`);
  for (const ref of tag.children) {
    if (!findResource(next, ref.attrs.id!)) throw new CibError(`tag ${tag.attrs.id}: resource "${ref.attrs.id}" does not exist`);
  }
  let tags = next.configuration.otherSections.find((s) => s.tag === 'tags');
  if (!tags) {
    tags = { tag: 'tags', attrs: {}, children: [] };
    next.configuration.otherSections.push(tags);
  }
  tags.children.push(structuredClone(tag));
  bumpEpoch(next);
  return next;
}

/** Add (or, updating, replace) an object of a section kept as XML (<acls>, <alerts>), by id. */
function putSectionChild(cib: Cib, section: string, el: RawElement, mode: 'create' | 'update'): Cib {
  const next = cloneCib(cib);
  let s = next.configuration.otherSections.find((x) => x.tag === section);
  if (!s) {
    s = { tag: section, attrs: {}, children: [] };
    next.configuration.otherSections.push(s);
  }
  const i = s.children.findIndex((c) => c.attrs.id === el.attrs.id);
  if (i >= 0 && mode === 'create') throw new CibError(`id "${el.attrs.id}" is already in use`);
  if (i < 0 && collectIds(next).has(el.attrs.id!)) throw new CibError(`id "${el.attrs.id}" is already in use`);
  if (i >= 0) s.children[i] = structuredClone(el);
  else s.children.push(structuredClone(el));
  bumpEpoch(next);
  return next;
}

/**
 * The <fencing-topology> section from `fencing_topology` levels, replacing
 * the one there: levels are numbered per target from 1; a level without a
 * target applies to every node of the CIB (crmsh's expansion). Level ids
 * are crmsh's: fencing, fencing-0, fencing-1, ...
 */
function setFencingTopology(cib: Cib, levels: FencingLevelSpec[]): Cib {
  const next = cloneCib(cib);
  const others = next.configuration.otherSections.filter((s) => s.tag !== 'fencing-topology');
  const taken = collectIds({ ...next, configuration: { ...next.configuration, otherSections: others } });
  const expanded: FencingLevelSpec[] = [];
  if (levels.length && 'allNodes' in levels[0]!.target) {
    for (const n of next.configuration.nodes) for (const l of levels) expanded.push({ target: { node: n.id }, devices: l.devices });
  } else expanded.push(...levels);
  const index = new Map<string, number>();
  const section: RawElement = { tag: 'fencing-topology', attrs: {}, children: [] };
  for (const l of expanded) {
    const t = l.target;
    const key = 'node' in t ? t.node : 'pattern' in t ? t.pattern : 'attribute' in t ? t.attribute : '';
    const i = (index.get(key) ?? 0) + 1;
    index.set(key, i);
    const attrs: Record<string, string> = {};
    if ('node' in t) Object.assign(attrs, { target: t.node, index: String(i), devices: l.devices });
    else if ('pattern' in t) Object.assign(attrs, { index: String(i), devices: l.devices, 'target-pattern': t.pattern });
    else if ('attribute' in t) Object.assign(attrs, { index: String(i), devices: l.devices, 'target-attribute': t.attribute, 'target-value': t.value });
    attrs.id = uniqueId(taken, 'fencing');
    taken.set(attrs.id, 'fencing-level');
    section.children.push({ tag: 'fencing-level', attrs, children: [] });
  }
  const devices = new Set(allResources(next).map((r) => r.id));
  for (const c of section.children) {
    for (const d of c.attrs.devices!.split(',')) if (!devices.has(d)) throw new CibError(`fencing_topology: device "${d}" is not a resource`);
  }
  const at = next.configuration.otherSections.findIndex((s) => s.tag === 'fencing-topology');
  if (at >= 0) next.configuration.otherSections[at] = section;
  else next.configuration.otherSections.push(section);
  bumpEpoch(next);
  return next;
}

/** Rules of a defaults set given with its nvpairs: the set (named, or the default one) gets them. */
function withRules(cib: Cib, section: 'rscDefaults' | 'opDefaults', setId: string | undefined, rules: RuleNode[] | undefined): Cib {
  if (!rules?.length) return cib;
  const id = setId ?? (section === 'rscDefaults' ? 'rsc-options' : 'op-options');
  const set = cib.configuration[section].find((s) => s.id === id);
  if (set) set.rules = structuredClone(rules);
  return cib;
}

/** `rule $id-ref=X`: X is a rule's id, or (as crmsh takes it) a location whose first rule is meant. */
function resolveRuleRef(cib: Cib, r: RuleNode): RuleNode {
  const ref = r.attrs['id-ref'];
  if (ref === undefined) return r;
  const rules: RuleNode[] = [];
  for (const c of cib.configuration.constraints) if (c.tag === 'rsc_location' && 'rules' in c) rules.push(...(c as LocationConstraint).rules);
  if (rules.some((x) => x.attrs.id === ref)) return r;
  const loc = cib.configuration.constraints.find((c) => c.id === ref && c.tag === 'rsc_location') as LocationConstraint | undefined;
  const first = loc?.rules[0]?.attrs.id;
  if (first === undefined) throw new CibError(`rule $id-ref=${ref}: no rule with that id`);
  return { ...r, attrs: { 'id-ref': first } };
}

/** Replace a primitive wherever it sits (top level, group, clone). */
function replacePrimitive(cib: Cib, p: Primitive): Cib {
  const next = cloneCib(cib);
  const found = findResource(next, p.id)!;
  const fresh = structuredClone(p);
  if (!found.parent) {
    const list = next.configuration.resources;
    list[list.indexOf(found.res)] = fresh;
  } else if (found.parent.tag === 'group') {
    const g = found.parent as Group;
    g.children[g.children.indexOf(found.res as Primitive)] = fresh;
  } else (found.parent as Clone).child = fresh;
  bumpEpoch(next);
  return next;
}

/** Take a group or clone apart, leaving its children at top level where it was. */
function unwrap(cib: Cib, id: string): Cib {
  const next = cloneCib(cib);
  const list = next.configuration.resources;
  const i = list.findIndex((r) => r.id === id);
  if (i < 0) throw new CibError(`"${id}" is not a top-level resource`);
  const r = list[i]!;
  const kids: TopResource[] = r.tag === 'group' ? (r as Group).children : [(r as Clone).child];
  list.splice(i, 1, ...kids);
  return next;
}

/** Apply many items (a loaded file), in dependency order. */
export function applyItems(cib: Cib, items: ConfigItem[], mode: 'create' | 'update'): Cib {
  let next = cib;
  for (const it of sortItems(items)) next = applyItem(next, it, mode);
  return next;
}

/**
 * crmsh's `set ID.NAME VALUE` / `set ID.OP.NAME VALUE` /
 * `set ID.OP.INTERVAL.NAME VALUE`: the one nvpair NAME inside object ID
 * (its params, meta, ops' params, ...) gets VALUE, or the op's attribute
 * NAME does. Errors as crmsh words them.
 */
export function setAttributePath(cib: Cib, path: string, value: string): Cib {
  const parts = path.split('.');
  if (parts.length < 2 || parts.length > 4) throw new CibError(`Invalid path: "${path}"; Valid path: "id.[op_type.][interval.]name"`);
  const [objId, ...rest] = parts as [string, ...string[]];
  const tree = parseXmlTree(cibToXml(cib, { omitStatus: true }));
  const conf = tree.children.find((c) => c.tag === 'configuration');
  const find = (e: RawElement): RawElement | undefined => (e.attrs.id === objId && e.tag !== 'node' ? e : e.children.map(find).find((x) => x !== undefined));
  const obj = conf && (find(conf) ?? conf.children.find((s) => s.tag === 'nodes')?.children.find((n) => n.attrs.uname === objId));
  if (!obj) throw new CibError(`Object ${objId} not found`);
  const all = (e: RawElement, tag: string): RawElement[] => [...(e.tag === tag ? [e] : []), ...e.children.flatMap((c) => all(c, tag))];
  if (rest.length === 1) {
    const pairs = all(obj, 'nvpair').filter((p) => p.attrs.name === rest[0]);
    if (!pairs.length) throw new CibError(`Attribute not found: ${path}`);
    if (pairs.length !== 1) throw new CibError(`Expected 1 attribute named ${rest[0]}, found ${pairs.length}`);
    pairs[0]!.attrs.value = value;
  } else {
    const ops = all(obj, 'operations').flatMap((o) => o.children.filter((c) => c.tag === 'op'));
    if (rest.length === 2) {
      const [opType, name] = rest as [string, string];
      const found = ops.filter((o) => o.attrs.name === opType);
      if (!found.length) throw new CibError(`Operation "${opType}" not found for resource ${objId}`);
      if (found.length > 1) throw new CibError(`Should specify interval of ${opType}`);
      found[0]!.attrs[name] = value;
    } else {
      const [opType, interval, name] = rest as [string, string, string];
      const op = ops.find((o) => o.attrs.id === `${objId}-${opType}-${interval}`);
      if (!op) throw new CibError(`Operation "${opType}" interval "${interval}" not found for resource ${objId}`);
      op.attrs[name] = value;
    }
  }
  const next = cloneCib(cib);
  next.configuration = parseCibXml(rawToXml(tree)).configuration;
  // The element tree has no comments: the objects keep theirs.
  const commented = (c: Cib) => [...c.configuration.nodes, ...allResources(c), ...c.configuration.constraints] as Array<{ id: string } & Commented>;
  const comments = new Map(commented(cib).filter((o) => o.comments).map((o) => [o.id, o.comments!]));
  for (const o of commented(next)) if (comments.has(o.id)) o.comments = comments.get(o.id);
  bumpEpoch(next);
  return next;
}
