/**
 * Editing operations on the CIB model with Pacemaker/crmsh semantics.
 * Pure: every function takes a model and returns a new one (the input is
 * not touched), or throws CibError naming the id at fault.
 */
import { CibError } from './errors.js';
import type {
  AnyConstraint,
  ColocationConstraint,
  OrderConstraint,
  Cib,
  Clone,
  Group,
  Node,
  NvPair,
  NvSet,
  Primitive,
  RawConstraint,
  RawElement,
  Resource,
  ResourceSet,
  RuleNode,
  TopResource,
} from './model.js';

export function cloneCib(cib: Cib): Cib {
  return structuredClone(cib);
}

/** Configuration changed: epoch + 1, num_updates back to 0 (as Pacemaker does). */
export function bumpEpoch(cib: Cib): void {
  cib.epoch += 1;
  cib.numUpdates = 0;
}

// ---------------------------------------------------------------------------
// Ids

/** Every id defined in the configuration, with what defines it. */
export function collectIds(cib: Cib): Map<string, string> {
  const ids = new Map<string, string>();
  const add = (id: string | undefined, what: string) => {
    if (id !== undefined && !ids.has(id)) ids.set(id, what);
  };
  const sets = (ss: NvSet[], what: string) => {
    for (const s of ss) {
      add(s.id, what);
      s.rules.forEach((r) => rule(r));
      for (const p of s.nvpairs) add(p.id, 'nvpair');
    }
  };
  const rule = (r: RuleNode) => {
    add(r.attrs.id, r.tag);
    r.children.forEach(rule);
  };
  const prim = (p: Primitive) => {
    add(p.id, 'primitive');
    sets(p.instanceAttributes, 'instance_attributes');
    sets(p.metaAttributes, 'meta_attributes');
    sets(p.utilization, 'utilization');
    add(p.operationsId, 'operations');
    for (const o of p.operations) {
      add(o.id, 'op');
      sets(o.instanceAttributes, 'instance_attributes');
      sets(o.metaAttributes, 'meta_attributes');
    }
  };
  const conf = cib.configuration;
  sets(conf.crmConfig, 'cluster_property_set');
  sets(conf.rscDefaults, 'meta_attributes');
  sets(conf.opDefaults, 'meta_attributes');
  for (const n of conf.nodes) {
    add(n.id, 'node');
    sets(n.instanceAttributes, 'instance_attributes');
    sets(n.utilization, 'utilization');
  }
  for (const r of allResources(cib)) {
    if (r.tag === 'primitive') prim(r as Primitive);
    else if (r.tag === 'group' || r.tag === 'clone' || r.tag === 'master') {
      const c = r as Group | Clone;
      add(c.id, c.tag);
      sets(c.instanceAttributes, 'instance_attributes');
      sets(c.metaAttributes, 'meta_attributes');
    } else add(r.id, r.tag);
  }
  for (const c of conf.constraints) {
    add(c.id, c.tag);
    if ('sets' in c) for (const s of c.sets) add(s.id, 'resource_set');
    if (c.tag === 'rsc_location' && 'rules' in c) c.rules.forEach(rule);
  }
  return ids;
}

/** crmsh's id scheme: `base` if free, else base-0, base-1, ... */
export function uniqueId(taken: Set<string> | Map<string, unknown>, base: string): string {
  const clean = sanitizeId(base);
  if (!taken.has(clean)) return clean;
  for (let k = 0; ; k++) {
    const id = `${clean}-${k}`;
    if (!taken.has(id)) return id;
  }
}

/** XML ids must be NCNames: crmsh replaces other characters the same way. */
export function sanitizeId(s: string): string {
  let id = s.replace(/[^\w.-]/g, '_');
  if (!/^[A-Za-z_]/.test(id)) id = '_' + id;
  return id;
}

// ---------------------------------------------------------------------------
// Finding resources

export interface Found {
  res: TopResource;
  /** The group or clone holding it, if any (a primitive may sit in a group inside a clone). */
  parent?: Group | Clone;
  grandparent?: Clone;
}

/** All resources, depth first, in document order (parents before children). */
export function allResources(cib: Cib): TopResource[] {
  const out: TopResource[] = [];
  const walk = (r: TopResource) => {
    out.push(r);
    if (r.tag === 'group') (r as Group).children.forEach(walk);
    else if (r.tag === 'clone' || r.tag === 'master') walk((r as Clone).child);
  };
  cib.configuration.resources.forEach(walk);
  return out;
}

export function findResource(cib: Cib, id: string): Found | undefined {
  for (const r of cib.configuration.resources) {
    if (r.id === id) return { res: r };
    if (r.tag === 'group') {
      const g = r as Group;
      const p = g.children.find((c) => c.id === id);
      if (p) return { res: p, parent: g };
    } else if (r.tag === 'clone' || r.tag === 'master') {
      const cl = r as Clone;
      if (cl.child.id === id) return { res: cl.child, parent: cl };
      if (cl.child.tag === 'group') {
        const p = cl.child.children.find((c) => c.id === id);
        if (p) return { res: p, parent: cl.child, grandparent: cl };
      }
    }
  }
  return undefined;
}

export function findConstraint(cib: Cib, id: string): AnyConstraint | undefined {
  return cib.configuration.constraints.find((c) => c.id === id);
}

/** Resource ids a constraint refers to (rsc, with-rsc, first, then, set members). */
export function constraintRefs(c: AnyConstraint): string[] {
  const refs: string[] = [];
  const push = (v: string | undefined) => {
    if (v !== undefined) refs.push(v);
  };
  if (c.tag === 'rsc_location' && 'rules' in c) push(c.rsc);
  else if (c.tag === 'rsc_colocation' && 'sets' in c) {
    push(c.rsc);
    push(c.withRsc);
  } else if (c.tag === 'rsc_order' && 'sets' in c) {
    push(c.first);
    push(c.then);
  }
  if ('sets' in c) for (const s of c.sets as ResourceSet[]) refs.push(...s.resources);
  return refs;
}

// ---------------------------------------------------------------------------
// Adding and replacing

function assertFree(cib: Cib, ids: Map<string, string>, id: string, what: string): void {
  const have = ids.get(id);
  if (have !== undefined) throw new CibError(`cannot add ${what} "${id}": the id is already used by a ${have}`);
  void cib;
}

/** Add a new top-level primitive. */
export function addPrimitive(cib: Cib, p: Primitive): Cib {
  const next = cloneCib(cib);
  assertFree(next, collectIds(next), p.id, 'primitive');
  next.configuration.resources.push(structuredClone(p));
  bumpEpoch(next);
  return next;
}

/** Take top-level resources out of the list so they can be put into a group or clone. */
function takeTopLevel(cib: Cib, id: string, into: string, allowed: string[]): TopResource {
  const found = findResource(cib, id);
  if (!found) throw new CibError(`${into}: resource "${id}" does not exist`);
  if (found.parent) throw new CibError(`${into}: resource "${id}" is already in ${found.parent.tag} "${found.parent.id}"`);
  if (!allowed.includes(found.res.tag)) {
    throw new CibError(`${into}: resource "${id}" is a ${found.res.tag}, which cannot go into it`);
  }
  const list = cib.configuration.resources;
  list.splice(list.indexOf(found.res), 1);
  return found.res;
}

/** Make a group of existing top-level primitives (crmsh `group`). */
export function addGroup(cib: Cib, g: Group, members: string[]): Cib {
  const next = cloneCib(cib);
  assertFree(next, collectIds(next), g.id, 'group');
  if (members.length === 0) throw new CibError(`group "${g.id}" needs at least one resource`);
  const seen = new Set<string>();
  const at = firstIndex(next, members);
  const group: Group = { ...structuredClone(g), children: [] };
  for (const m of members) {
    if (seen.has(m)) throw new CibError(`group "${g.id}": resource "${m}" is listed twice`);
    seen.add(m);
    group.children.push(takeTopLevel(next, m, `group "${g.id}"`, ['primitive']) as Primitive);
  }
  next.configuration.resources.splice(Math.min(at, next.configuration.resources.length), 0, group);
  bumpEpoch(next);
  return next;
}

/** Wrap an existing top-level primitive or group in a clone (crmsh `clone`/`ms`). */
export function addClone(cib: Cib, c: Omit<Clone, 'child'>, member: string): Cib {
  const next = cloneCib(cib);
  assertFree(next, collectIds(next), c.id, c.tag);
  const at = firstIndex(next, [member]);
  const child = takeTopLevel(next, member, `${c.tag} "${c.id}"`, ['primitive', 'group']) as Primitive | Group;
  const clone: Clone = { ...structuredClone(c), child } as Clone;
  next.configuration.resources.splice(Math.min(at, next.configuration.resources.length), 0, clone);
  bumpEpoch(next);
  return next;
}

function firstIndex(cib: Cib, ids: string[]): number {
  const list = cib.configuration.resources;
  const idx = ids.map((id) => list.findIndex((r) => r.id === id)).filter((i) => i >= 0);
  return idx.length ? Math.min(...idx) : list.length;
}

/** Add a constraint; every resource it names must exist. */
export function addConstraint(cib: Cib, c: AnyConstraint): Cib {
  const next = cloneCib(cib);
  assertFree(next, collectIds(next), c.id, c.tag);
  checkRefs(next, c);
  next.configuration.constraints.push(structuredClone(c));
  bumpEpoch(next);
  return next;
}

export function checkRefs(cib: Cib, c: AnyConstraint): void {
  for (const r of constraintRefs(c)) {
    if (!findResource(cib, r)) throw new CibError(`${c.tag} "${c.id}" refers to resource "${r}", which does not exist`);
  }
}

/** Add a node (crmsh `node`). */
export function addNode(cib: Cib, n: Node): Cib {
  const next = cloneCib(cib);
  const clash = next.configuration.nodes.find((x) => x.uname === n.uname || x.id === n.id);
  if (clash) throw new CibError(`node "${n.uname}" already exists (id ${clash.id})`);
  assertFree(next, collectIds(next), n.id, 'node');
  next.configuration.nodes.push(structuredClone(n));
  bumpEpoch(next);
  return next;
}

export type SetSection = 'crmConfig' | 'rscDefaults' | 'opDefaults';
const DEFAULT_SET_ID: Record<SetSection, string> = {
  crmConfig: 'cib-bootstrap-options',
  rscDefaults: 'rsc-options',
  opDefaults: 'op-options',
};

/**
 * Set name=value pairs in a property / rsc_defaults / op_defaults set
 * (crmsh `property`): the named set, else the first set, else a new one.
 * A value of undefined deletes the name.
 */
export function setOptions(cib: Cib, section: SetSection, pairs: Array<[string, string | undefined]>, setId?: string): Cib {
  const next = cloneCib(cib);
  const list = next.configuration[section];
  let set = setId !== undefined ? list.find((s) => s.id === setId) : (list.find((s) => s.id === DEFAULT_SET_ID[section]) ?? list[0]);
  if (!set) {
    const id = setId ?? DEFAULT_SET_ID[section];
    const ids = collectIds(next);
    if (ids.has(id)) throw new CibError(`cannot create set "${id}": the id is already used by a ${ids.get(id)}`);
    set = { id, rules: [], nvpairs: [] };
    list.push(set);
  }
  for (const [name, value] of pairs) setNvPair(next, set, name, value);
  bumpEpoch(next);
  return next;
}

/** Set (or with value undefined, remove) one nvpair in a set, with a crmsh-style id. */
export function setNvPair(cib: Cib, set: NvSet, name: string, value: string | undefined): void {
  const i = set.nvpairs.findIndex((p) => p.name === name);
  if (value === undefined) {
    if (i >= 0) set.nvpairs.splice(i, 1);
    return;
  }
  if (i >= 0) {
    set.nvpairs[i]!.value = value;
    return;
  }
  const p: NvPair = { id: uniqueId(collectIds(cib), `${set.id ?? 'nvpair'}-${name}`), name, value };
  set.nvpairs.push(p);
}

/**
 * Set a meta attribute of a resource (crmsh `resource stop|start|meta`):
 * into its first meta_attributes set, made as `<id>-meta_attributes` if none.
 */
export function setResourceMeta(cib: Cib, id: string, name: string, value: string | undefined): Cib {
  const next = cloneCib(cib);
  const found = findResource(next, id);
  if (!found) throw new CibError(`resource "${id}" does not exist`);
  const r = found.res;
  if (!('metaAttributes' in r)) throw new CibError(`resource "${id}" is a ${r.tag}; belay cannot set its meta attributes`);
  let set = r.metaAttributes.find((s) => s.rules.length === 0 && s.idRef === undefined);
  if (!set) {
    if (value === undefined) return next;
    set = { id: uniqueId(collectIds(next), `${id}-meta_attributes`), rules: [], nvpairs: [] };
    r.metaAttributes.push(set);
  }
  setNvPair(next, set, name, value);
  bumpEpoch(next);
  return next;
}

// ---------------------------------------------------------------------------
// Replacing (crmsh `load update`: same id -> replace in place)

export function replaceTopResource(cib: Cib, r: TopResource): Cib {
  const next = cloneCib(cib);
  const list = next.configuration.resources;
  const i = list.findIndex((x) => x.id === r.id);
  if (i < 0) throw new CibError(`resource "${r.id}" does not exist`);
  list[i] = structuredClone(r);
  bumpEpoch(next);
  return next;
}

export function replaceConstraint(cib: Cib, c: AnyConstraint): Cib {
  const next = cloneCib(cib);
  const list = next.configuration.constraints;
  const i = list.findIndex((x) => x.id === c.id);
  if (i < 0) throw new CibError(`constraint "${c.id}" does not exist`);
  checkRefs(next, c);
  list[i] = structuredClone(c);
  bumpEpoch(next);
  return next;
}

// ---------------------------------------------------------------------------
// Deleting

/**
 * Delete resources, constraints or nodes by id (crmsh `configure delete`).
 * Deleting a resource also deletes what cannot live without it: the clone
 * around it, a group left empty, and constraints that name it (a resource
 * set loses the member; a set left empty goes, and a constraint left
 * without sets goes). Nodes can be named by uname too.
 */
export function deleteIds(cib: Cib, ids: string[], notes: string[] = []): Cib {
  let next = cloneCib(cib);
  // Every id must exist now; one that an earlier id's cascade removed is fine.
  for (const id of ids) deleteOne(cloneCib(cib), id);
  for (const id of ids) {
    try {
      next = deleteOne(next, id, notes);
    } catch (e) {
      if (!(e instanceof CibError)) throw e;
    }
  }
  bumpEpoch(next);
  return next;
}

function deleteOne(cib: Cib, id: string, notes: string[] = []): Cib {
  const conf = cib.configuration;
  const found = findResource(cib, id);
  if (found && (found.res.tag === 'group' || found.res.tag === 'clone' || found.res.tag === 'master')) {
    return deleteContainer(cib, found, notes);
  }
  if (found && found.res.tag === 'template' && !found.parent) {
    // crmsh: the primitives made from the template cannot live without it and go too.
    conf.resources.splice(conf.resources.indexOf(found.res), 1);
    let next = cib;
    for (const r of allResources(cib)) {
      if (r.tag !== 'primitive' || (r as Primitive).extra?.['template'] !== id) continue;
      notes.push(`hanging primitive:${r.id} deleted`);
      next = deleteOne(next, r.id, notes);
    }
    dropReferences(next, new Set([id]), notes);
    return next;
  }
  if (found) {
    const gone = new Set<string>();
    const collect = (r: TopResource) => {
      gone.add(r.id);
      if (r.tag === 'group') (r as Group).children.forEach(collect);
      else if (r.tag === 'clone' || r.tag === 'master') collect((r as Clone).child);
    };
    collect(found.res);
    const { parent, grandparent } = found;
    if (!parent) {
      conf.resources.splice(conf.resources.indexOf(found.res), 1);
    } else if (parent.tag === 'group') {
      const g = parent as Group;
      g.children = g.children.filter((c) => c.id !== id);
      if (g.children.length === 0) {
        gone.add(g.id);
        if (grandparent) {
          gone.add(grandparent.id);
          conf.resources.splice(conf.resources.indexOf(grandparent), 1);
        } else conf.resources.splice(conf.resources.indexOf(g), 1);
      }
    } else {
      // A clone cannot be empty: it goes with its child.
      gone.add(parent.id);
      conf.resources.splice(conf.resources.indexOf(parent), 1);
    }
    dropReferences(cib, gone, notes);
    return cib;
  }
  const ci = conf.constraints.findIndex((c) => c.id === id);
  if (ci >= 0) {
    conf.constraints.splice(ci, 1);
    return cib;
  }
  const ni = conf.nodes.findIndex((n) => n.id === id || n.uname === id);
  if (ni >= 0) {
    conf.nodes.splice(ni, 1);
    return cib;
  }
  for (const section of ['crmConfig', 'rscDefaults', 'opDefaults'] as const) {
    const si = conf[section].findIndex((s) => s.id === id);
    if (si >= 0) {
      conf[section].splice(si, 1);
      return cib;
    }
  }
  throw new CibError(`object "${id}" does not exist`);
}

/** crmsh's name for a constraint kind in its messages ("location:l1"). */
export function cliKind(tag: string): string {
  return tag === 'rsc_location' ? 'location' : tag === 'rsc_colocation' ? 'colocation' : tag === 'rsc_order' ? 'order' : tag === 'rsc_ticket' ? 'rsc_ticket' : tag;
}

function dropReferences(cib: Cib, gone: Set<string>, notes: string[] = []): void {
  const conf = cib.configuration;
  conf.constraints = conf.constraints.filter((c) => {
    const keep = keepConstraint(c, gone, notes);
    if (!keep) notes.push(`hanging ${cliKind(c.tag)}:${c.id} deleted`);
    return keep;
  });
}

function keepConstraint(c: AnyConstraint, gone: Set<string>, notes: string[] = []): boolean {
  {
    if (!('sets' in c)) {
      // rsc_ticket and other raw constraints: drop if they name a gone resource.
      const raw = (c as { raw: { attrs: Record<string, string> } }).raw;
      return !(raw && gone.has(raw.attrs.rsc ?? ''));
    }
    const direct =
      c.tag === 'rsc_location'
        ? [(c as { rsc?: string }).rsc]
        : c.tag === 'rsc_colocation'
          ? [(c as { rsc?: string }).rsc, (c as { withRsc?: string }).withRsc]
          : [(c as { first?: string }).first, (c as { then?: string }).then];
    if (direct.some((r) => r !== undefined && gone.has(r))) return false;
    if (c.sets.length === 0) return true;
    const before = c.sets.reduce((n, s) => n + s.resources.length, 0);
    for (const s of c.sets) s.resources = s.resources.filter((r) => !gone.has(r));
    c.sets = c.sets.filter((s) => s.resources.length > 0 || s.idRef !== undefined);
    const left = c.sets.reduce((n, s) => n + s.resources.length, 0);
    if (c.sets.length === 0) return false;
    if (left === before || c.tag === 'rsc_location') return true;
    // crmsh (xmlutil.silly_constraint): a colocation or order of one resource means nothing.
    if (left <= 1 && !c.sets.some((s) => s.idRef !== undefined)) return false;
    notes.push(`constraint ${cliKind(c.tag)}:${c.id} updated`);
    simplifySets(c as ColocationConstraint | OrderConstraint);
    return true;
  }
}

/**
 * crmsh's rset_convert: sets left with two resources in all (and no
 * unordered set of several) become a plain colocation or order of the two.
 * One set of two colocates its second resource with its first.
 */
function simplifySets(c: ColocationConstraint | OrderConstraint): void {
  if (c.sets.some((s) => s.idRef !== undefined || (s.sequential !== undefined && !isTrue(s.sequential) && s.resources.length > 1))) return;
  const refs = c.sets.flatMap((s) => s.resources.map((r) => ({ r, s })));
  if (refs.length !== 2) return;
  const [a, b] = refs as [{ r: string; s: ResourceSet }, { r: string; s: ResourceSet }];
  const oneSet = c.sets.length === 1;
  if (c.tag === 'rsc_colocation') {
    const x = c as ColocationConstraint;
    x.rsc = oneSet ? b.r : a.r;
    x.withRsc = oneSet ? a.r : b.r;
    if (a.s.role !== undefined) x.rscRole = a.s.role;
    if (b.s.role !== undefined) x.withRscRole = b.s.role;
  } else {
    const x = c as OrderConstraint;
    x.first = a.r;
    x.then = b.r;
    if (a.s.action !== undefined) x.firstAction = a.s.action;
    if (b.s.action !== undefined) x.thenAction = b.s.action;
  }
  c.sets = [];
}

function isTrue(v: string): boolean {
  return ['true', 'yes', 'on', '1', 'y'].includes(v.toLowerCase());
}

/**
 * Delete a group, clone or ms but not what it holds (crmsh's way): the
 * members take its place, and constraints that named it name its first
 * member instead ("modified location:l1 from g1 to d1").
 */
function deleteContainer(cib: Cib, found: Found, notes: string[]): Cib {
  const conf = cib.configuration;
  const c = found.res as Group | Clone;
  const kids: Resource[] = c.tag === 'group' ? (c as Group).children : [(c as Clone).child];
  const first = kids[0]!;
  if (!found.parent) {
    conf.resources.splice(conf.resources.indexOf(c), 1, ...kids);
  } else {
    // A group inside a clone: as crmsh, the clone goes first (its constraints
    // move to the group), then the group (they move on to its first member).
    const clone = found.parent as Clone;
    deleteContainer(cib, { res: clone }, notes);
    return deleteContainer(cib, { res: c }, notes);
  }
  renameReferences(cib, c.id, first.id, notes);
  return cib;
}

/** Constraints naming FROM name TO instead (crmsh: "modified location:l1 from g1 to c1"). */
export function renameReferences(cib: Cib, from: string, to: string, notes: string[] = []): void {
  for (const c of cib.configuration.constraints) {
    let changed = false;
    const swap = (v: string | undefined) => {
      if (v !== from) return v;
      changed = true;
      return to;
    };
    if (!('sets' in c)) {
      const raw = (c as RawConstraint).raw;
      const walk = (e: RawElement) => {
        for (const k of ['rsc', 'with-rsc', 'first', 'then']) if (e.attrs[k] === from) {
          e.attrs[k] = to;
          changed = true;
        }
        if (e.tag === 'resource_ref' && e.attrs.id === from) {
          e.attrs.id = to;
          changed = true;
        }
        e.children.forEach(walk);
      };
      if (raw) walk(raw);
    } else {
      const x = c as { rsc?: string; withRsc?: string; first?: string; then?: string };
      for (const k of ['rsc', 'withRsc', 'first', 'then'] as const) if (x[k] !== undefined) x[k] = swap(x[k]);
      for (const s of c.sets) s.resources = s.resources.map((r) => swap(r)!);
    }
    if (changed) notes.push(`modified ${cliKind(c.tag)}:${c.id} from ${from} to ${to}`);
  }
  for (const s of cib.configuration.otherSections) {
    if (s.tag !== 'tags') continue;
    for (const t of s.children) for (const r of t.children) if (r.tag === 'obj_ref' && r.attrs.id === from) r.attrs.id = to;
  }
}

// ---------------------------------------------------------------------------
// Loading a whole configuration (crm configure load replace|update)

function treeIds(r: TopResource): string[] {
  if (r.tag === 'group') return [r.id, ...(r as Group).children.map((c) => c.id)];
  if (r.tag === 'clone' || r.tag === 'master') return [r.id, ...treeIds((r as Clone).child)];
  return [r.id];
}

/**
 * Replace the configuration with another. Nodes are kept when the new
 * configuration names none (a file of resources and constraints should not
 * make the cluster forget its members).
 */
export function replaceConfiguration(cib: Cib, conf: Cib['configuration']): Cib {
  const next = cloneCib(cib);
  const fresh = structuredClone(conf);
  if (fresh.nodes.length === 0) fresh.nodes = next.configuration.nodes;
  next.configuration = fresh;
  bumpEpoch(next);
  return next;
}

/**
 * Merge a configuration into the CIB: objects with an id already present
 * are replaced in place, new ones are appended, option sets are merged name
 * by name.
 */
export function mergeConfiguration(cib: Cib, conf: Cib['configuration']): Cib {
  const next = cloneCib(cib);
  const mine = next.configuration;
  for (const r of conf.resources) {
    const incoming = new Set(treeIds(r));
    let at = -1;
    for (let i = mine.resources.length - 1; i >= 0; i--) {
      const old = mine.resources[i]!;
      const oldIds = treeIds(old);
      if (!oldIds.some((id) => incoming.has(id))) continue;
      if (!incoming.has(old.id)) {
        const clash = oldIds.find((id) => incoming.has(id));
        throw new CibError(`resource "${clash}" is already inside ${old.tag} "${old.id}"`);
      }
      mine.resources.splice(i, 1);
      at = i;
    }
    if (at >= 0) mine.resources.splice(at, 0, structuredClone(r));
    else mine.resources.push(structuredClone(r));
  }
  for (const c of conf.constraints) {
    const i = mine.constraints.findIndex((x) => x.id === c.id);
    if (i >= 0) mine.constraints[i] = structuredClone(c);
    else mine.constraints.push(structuredClone(c));
  }
  for (const n of conf.nodes) {
    const i = mine.nodes.findIndex((x) => x.uname === n.uname || x.id === n.id);
    if (i >= 0) mine.nodes[i] = structuredClone(n);
    else mine.nodes.push(structuredClone(n));
  }
  for (const section of ['crmConfig', 'rscDefaults', 'opDefaults'] as const) {
    for (const s of conf[section]) {
      const have = mine[section].find((x) => x.id !== undefined && x.id === s.id);
      if (!have) {
        mine[section].push(structuredClone(s));
        continue;
      }
      for (const p of s.nvpairs) {
        const j = have.nvpairs.findIndex((x) => x.name === p.name);
        if (j >= 0) have.nvpairs[j] = structuredClone(p);
        else have.nvpairs.push(structuredClone(p));
      }
    }
  }
  for (const s of conf.otherSections) {
    const i = mine.otherSections.findIndex((x) => x.tag === s.tag);
    if (i >= 0) mine.otherSections[i] = structuredClone(s);
    else mine.otherSections.push(structuredClone(s));
  }
  bumpEpoch(next);
  return next;
}

// ---------------------------------------------------------------------------
// Is a resource running? (from the status section's operation history)

/**
 * Nodes where the last recorded operation of the resource (or of one of its
 * clone instances, "rsc:0", ...) left it active. Pure reading of the lrm
 * history, good enough for crmsh's "is it running?" guard on delete.
 */
export function activeOn(cib: Cib, id: string): string[] {
  const found = findResource(cib, id);
  if (!found) return [];
  const ids = new Set<string>();
  const collect = (r: TopResource) => {
    ids.add(r.id);
    if (r.tag === 'group') (r as Group).children.forEach(collect);
    else if (r.tag === 'clone' || r.tag === 'master') collect((r as Clone).child);
  };
  collect(found.res);
  const nodes: string[] = [];
  for (const ns of cib.status ?? []) {
    for (const r of ns.lrm?.resources ?? []) {
      if (!ids.has(r.id.replace(/:\d+$/, ''))) continue;
      const last = [...r.ops]
        .filter((o) => o.opStatus === undefined || o.opStatus === '0')
        .sort((a, b) => Number(a.callId ?? 0) - Number(b.callId ?? 0))
        .filter((o) => !(o.operation === 'monitor' && o.interval !== '0'))
        .pop();
      if (!last) continue;
      const rc = last.rcCode ?? '0';
      const up =
        (['start', 'promote', 'demote', 'migrate_from'].includes(last.operation) && rc === '0') ||
        (last.operation === 'monitor' && (rc === '0' || rc === '8'));
      const name = ns.uname ?? ns.id;
      if (up && name !== undefined && !nodes.includes(name)) nodes.push(name);
    }
  }
  return nodes;
}

/** target-role of a resource as configured (first meta set naming it), if any. */
export function targetRole(cib: Cib, id: string): string | undefined {
  const found = findResource(cib, id);
  if (!found || !('metaAttributes' in found.res)) return undefined;
  for (const s of found.res.metaAttributes) for (const p of s.nvpairs) if (p.name === 'target-role') return p.value;
  return undefined;
}

// ---------------------------------------------------------------------------
// Node attributes (crm node standby|online|maintenance|ready|attribute)

/**
 * Set (value undefined: remove) a node attribute the way crm_attribute does:
 * lifetime "forever" in the node's <instance_attributes id="nodes-ID">,
 * lifetime "reboot" in the status section's transient attributes
 * (<instance_attributes id="status-ID">).
 */
export function setNodeAttribute(cib: Cib, nodeName: string, name: string, value: string | undefined, lifetime: 'forever' | 'reboot' = 'forever'): Cib {
  const next = cloneCib(cib);
  const node = next.configuration.nodes.find((n) => n.uname === nodeName || n.id === nodeName);
  if (!node) throw new CibError(`node "${nodeName}" does not exist`);
  let sets: NvSet[];
  let setId: string;
  if (lifetime === 'forever') {
    sets = node.instanceAttributes;
    setId = `nodes-${node.id}`;
  } else {
    next.status ??= [];
    let ns = next.status.find((s) => s.id === node.id);
    if (!ns) {
      ns = { id: node.id, uname: node.uname, transientAttributes: [] };
      next.status.push(ns);
    }
    ns.transientAttributesId ??= node.id;
    sets = ns.transientAttributes;
    setId = `status-${node.id}`;
  }
  let set = sets.find((s) => s.rules.length === 0 && s.idRef === undefined);
  if (!set) {
    if (value === undefined) return next;
    set = { id: uniqueId(collectIds(next), setId), rules: [], nvpairs: [] };
    sets.push(set);
  }
  setNvPair(next, set, name, value);
  bumpEpoch(next);
  return next;
}

/** A node attribute's value: transient (status) first, then permanent, as Pacemaker reads them. */
export function nodeAttribute(cib: Cib, nodeName: string, name: string): string | undefined {
  const node = cib.configuration.nodes.find((n) => n.uname === nodeName || n.id === nodeName);
  if (!node) throw new CibError(`node "${nodeName}" does not exist`);
  const ns = cib.status?.find((s) => s.id === node.id);
  for (const sets of [ns?.transientAttributes ?? [], node.instanceAttributes]) {
    for (const s of sets) for (const p of s.nvpairs) if (p.name === name) return p.value;
  }
  return undefined;
}

/**
 * `crm configure rename OLD NEW` (crmsh): the object's own id changes and
 * constraints that name it follow; ids inside it stay as they are, as in
 * crmsh.
 */
export function renameObject(cib: Cib, from: string, to: string): Cib {
  const next = cloneCib(cib);
  if (collectIds(next).has(to)) throw new CibError(`id "${to}" is already in use`);
  if (!/^[A-Za-z_][\w.:-]*$/.test(to)) throw new CibError(`"${to}" is not a valid id`);
  const found = findResource(next, from);
  if (found) {
    found.res.id = to;
    if (found.res.tag !== 'primitive' && found.res.tag !== 'group' && found.res.tag !== 'clone' && found.res.tag !== 'master') {
      (found.res as { raw: RawElement }).raw.attrs.id = to;
    }
    renameReferences(next, from, to);
    // The primitives made from a template follow it (crmsh 4.4 leaves them naming the old id, which the schema refuses).
    if (found.res.tag === 'template') {
      for (const r of allResources(next)) {
        const p = r as Primitive;
        if (r.tag === 'primitive' && p.extra?.['template'] === from) p.extra['template'] = to;
      }
    }
  } else {
    const c = next.configuration.constraints.find((x) => x.id === from);
    if (!c) throw new CibError(`object "${from}" does not exist`);
    c.id = to;
    if (!('sets' in c)) (c as RawConstraint).raw.attrs.id = to;
  }
  bumpEpoch(next);
  return next;
}

/**
 * `crm configure modgroup GROUP add RSC [after|before MEMBER]` and
 * `modgroup GROUP remove RSC` (crmsh): a top-level primitive joins the
 * group (at the end, or next to a member), or a member leaves it and
 * stands on its own again. Constraints are left as they are, as in crmsh.
 */
export function modifyGroup(cib: Cib, groupId: string, op: 'add' | 'remove', rsc: string, where?: { position: 'after' | 'before'; member: string }): Cib {
  const next = cloneCib(cib);
  const list = next.configuration.resources;
  const found = findResource(next, groupId);
  const g = found?.res as Group | undefined;
  if (!g || g.tag !== 'group') throw new CibError(`"${groupId}" is not a group`);
  // A member that leaves stands after the group (or the clone holding it).
  const gi = list.indexOf(found!.parent ?? g);
  if (op === 'add') {
    const ri = list.findIndex((r) => r.id === rsc);
    const p = list[ri];
    if (!p || p.tag !== 'primitive') throw new CibError(`"${rsc}" is not a primitive outside any group or clone`);
    let at = g.children.length;
    if (where) {
      const mi = g.children.findIndex((c) => c.id === where.member);
      if (mi < 0) throw new CibError(`"${where.member}" is not a member of group ${groupId}`);
      at = where.position === 'after' ? mi + 1 : mi;
    }
    g.children.splice(at, 0, p as Primitive);
    list.splice(ri, 1);
  } else {
    const mi = g.children.findIndex((c) => c.id === rsc);
    if (mi < 0) throw new CibError(`"${rsc}" is not a member of group ${groupId}`);
    if (g.children.length === 1) throw new CibError(`${rsc} is the last member of group ${groupId}: delete the group instead`);
    const [m] = g.children.splice(mi, 1);
    list.splice(gi + 1, 0, m!);
  }
  bumpEpoch(next);
  return next;
}
