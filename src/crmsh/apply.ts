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
  bumpEpoch,
  checkRefs,
  findResource,
  mergeConfiguration,
  renameReferences,
  setOptions,
} from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import type { Cib, Clone, Group, Primitive, TopResource } from '../cib/model.js';
import type { ConfigItem } from './parse.js';

const ORDER: Record<ConfigItem['kind'], number> = {
  node: 0,
  primitive: 1,
  group: 2,
  clone: 3,
  constraint: 4,
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
      return addGroup(base, item.group, item.members);
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
      return setOptions(cib, 'rscDefaults', item.pairs, item.setId);
    case 'op_defaults':
      return setOptions(cib, 'opDefaults', item.pairs, item.setId);
    case 'xml':
      return mergeConfiguration(cib, item.configuration);
    case 'node': {
      const i = cib.configuration.nodes.findIndex((n) => n.uname === item.node.uname);
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
