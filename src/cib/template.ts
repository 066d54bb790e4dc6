/**
 * Resource templates (and tags) expanded, as Pacemaker's scheduler does
 * before it looks at resources and constraints (lib/pengine/complex.c
 * unpack_template / add_template_rsc, lib/pacemaker/pcmk_sched_constraints.c
 * pcmk__tag_to_set / pcmk__expand_tags_in_sets). Pure: a CIB in, a CIB out.
 *
 * - A primitive made from a template (`<primitive id="p" template="t">`)
 *   takes class, provider and type from the template. Its own
 *   instance_attributes, meta_attributes and utilization are merged with
 *   the template's, its own winning on a clash; its operations are merged
 *   with the template's, an operation of its own replacing the template's
 *   operation of the same name and role (Pacemaker's template_op_key: the
 *   interval is not part of it; no role, Started and Unpromoted are one).
 * - The <template> elements themselves are no resources: they are removed.
 * - A constraint naming a template (or a tag) in rsc / first / then is
 *   rewritten into its resource-set form, the template standing for every
 *   primitive made from it (a colocation into the one colocation per
 *   primitive that Pacemaker's sets unpack to); a resource_ref naming a
 *   template in a set is replaced, in place, by those primitives.
 *
 * Every consumer that reads a primitive's agent, parameters or operations
 * (scheduler, controller, crm_mon through the scheduler's unpack) goes
 * through this module, so they agree.
 */
import type {
  AnyConstraint,
  Cib,
  Clone,
  ColocationConstraint,
  Configuration,
  Group,
  LocationConstraint,
  Operation,
  OrderConstraint,
  Primitive,
  RawElement,
  ResourceSet,
  TopResource,
} from './model.js';
import { parseCibXml, rawToXml } from './xml.js';
import { CibError } from './errors.js';

export interface Expansion<T> {
  value: T;
  /** Configuration errors met (a missing template, a constraint that cannot be expanded): what was ignored and why. */
  problems: string[];
}

const parsedTemplates = new WeakMap<RawElement, Primitive>();

/**
 * A <template> element read as the primitive definition it is. Throws
 * CibError (naming the template) when it is not a valid one.
 */
export function templatePrimitive(raw: RawElement): Primitive {
  const cached = parsedTemplates.get(raw);
  if (cached) return cached;
  const { template: _multiLevel, ...attrs } = raw.attrs; // Pacemaker disables templates of templates
  const xml = rawToXml({ ...raw, attrs, tag: 'primitive' });
  let p: TopResource | undefined;
  try {
    p = parseCibXml(`<cib><configuration><resources>${xml}</resources></configuration></cib>`).configuration.resources[0];
  } catch (e) {
    throw new CibError(`template "${raw.attrs['id'] ?? '?'}": ${e instanceof Error ? e.message : String(e)}`);
  }
  if (p?.tag !== 'primitive') throw new CibError(`template "${raw.attrs['id'] ?? '?'}" is not a primitive definition`);
  parsedTemplates.set(raw, p as Primitive);
  return p as Primitive;
}

/** The <template> elements of a configuration by id. */
export function templatesOf(conf: Configuration): Map<string, RawElement> {
  const out = new Map<string, RawElement>();
  for (const r of conf.resources) {
    if (r.tag === 'template' && 'raw' in r) out.set(r.id, r.raw);
  }
  return out;
}

/** The template a primitive is made from, if any. */
export function templateRef(p: Primitive): string | undefined {
  return p.extra?.['template'];
}

/** Pacemaker's template_op_key: name and role, where no role, Started and Unpromoted/Slave are one. */
export function templateOpKey(o: Operation): string {
  const role = o.role === undefined || /^(started|unpromoted|slave)$/i.test(o.role) ? 'Unknown' : o.role;
  return `${o.name}-${role}`;
}

/**
 * The primitive `p` made from template `t`: the template's agent, the sets of
 * both (p's first, so that p's values win: every reader of name/value sets
 * takes the first set of equal score), and p's operations with the
 * template's that p does not redefine.
 */
export function mergeTemplate(p: Primitive, t: Primitive): Primitive {
  const own = new Set(p.operations.map(templateOpKey));
  const out: Primitive = {
    ...p,
    class: t.class,
    type: t.type,
    instanceAttributes: [...p.instanceAttributes, ...t.instanceAttributes],
    metaAttributes: [...p.metaAttributes, ...t.metaAttributes],
    utilization: [...p.utilization, ...t.utilization],
    operations: [...p.operations, ...t.operations.filter((o) => !own.has(templateOpKey(o)))],
  };
  if (t.provider !== undefined) out.provider = t.provider;
  else delete out.provider;
  const description = p.description ?? t.description;
  if (description !== undefined) out.description = description;
  const operationsId = p.operationsId ?? t.operationsId;
  if (operationsId !== undefined) out.operationsId = operationsId;
  const operationsIdRef = p.operationsIdRef ?? (p.operations.length === 0 ? t.operationsIdRef : undefined);
  if (operationsIdRef !== undefined) out.operationsIdRef = operationsIdRef;
  const { template: _ref, ...extra } = p.extra ?? {};
  if (Object.keys(extra).length > 0) out.extra = extra;
  else delete out.extra;
  return out;
}

/**
 * One primitive as the cluster runs it: itself when it names no template,
 * else merged with its template. Throws CibError when the template is
 * missing or invalid.
 */
export function expandPrimitive(conf: Configuration, p: Primitive, templates?: Map<string, RawElement>): Primitive {
  const ref = templateRef(p);
  if (ref === undefined) return p;
  if (ref === p.id) throw new CibError(`primitive "${p.id}" names itself as its template`);
  // Looked up only for a primitive made from a template: the controller
  // resolves every action through here, and the list scan was a cost per action.
  const raw = (templates ?? templatesOf(conf)).get(ref);
  if (!raw) throw new CibError(`primitive "${p.id}": no template named "${ref}"`);
  return mergeTemplate(p, templatePrimitive(raw));
}

/** Whether the configuration has anything to expand: templates, primitives made from one, or tags. */
function needsExpansion(conf: Configuration): boolean {
  if (conf.otherSections.some((s) => s.tag === 'tags' && s.children.length > 0)) return true;
  const uses = (p: Primitive) => templateRef(p) !== undefined;
  for (const r of conf.resources) {
    if (r.tag === 'template') return true;
    if (r.tag === 'primitive' && uses(r as Primitive)) return true;
    if (r.tag === 'group' && (r as Group).children.some(uses)) return true;
    if (r.tag === 'clone' || r.tag === 'master') {
      const c = (r as Clone).child;
      if (c.tag === 'primitive' ? uses(c) : c.children.some(uses)) return true;
    }
  }
  return false;
}

/**
 * Expand every primitive made from a template, drop the templates, and
 * rewrite the constraints that name a template or a tag. A configuration
 * with none of these is returned as it is (the same object).
 */
export function expandConfiguration(conf: Configuration): Expansion<Configuration> {
  if (!needsExpansion(conf)) return { value: conf, problems: [] };
  const problems: string[] = [];
  const templates = templatesOf(conf);
  /** template id -> ids of the primitives made from it, in document order. */
  const derived = new Map<string, string[]>();
  for (const id of templates.keys()) derived.set(id, []);
  /** Every resource id that stays configured. */
  const resourceIds = new Set<string>();

  const primitive = (p: Primitive): Primitive | undefined => {
    try {
      const out = expandPrimitive(conf, p, templates);
      const ref = templateRef(p);
      if (ref !== undefined) derived.get(ref)!.push(p.id);
      resourceIds.add(p.id);
      return out;
    } catch (e) {
      // Pacemaker does not unpack such a resource at all.
      problems.push(`Resource ${p.id} is ignored: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };
  const group = (g: Group): Group => {
    resourceIds.add(g.id);
    const children = g.children.map(primitive).filter((c): c is Primitive => c !== undefined);
    return children.every((c, i) => c === g.children[i]) && children.length === g.children.length ? g : { ...g, children };
  };

  const resources: TopResource[] = [];
  for (const r of conf.resources) {
    if (r.tag === 'template') continue;
    if (r.tag === 'primitive') {
      const p = primitive(r as Primitive);
      if (p) resources.push(p);
    } else if (r.tag === 'group') resources.push(group(r as Group));
    else if (r.tag === 'clone' || r.tag === 'master') {
      const c = r as Clone;
      const child = c.child.tag === 'primitive' ? primitive(c.child) : group(c.child);
      if (!child) {
        problems.push(`Resource ${c.id} is ignored: its primitive ${c.child.id} could not be unpacked`);
        continue;
      }
      resourceIds.add(c.id);
      resources.push(child === c.child ? c : { ...c, child });
    } else {
      resourceIds.add(r.id);
      resources.push(r);
    }
  }

  // Tags (<tags><tag id><obj_ref id/></tag></tags>) stand for their members the same way.
  const tags = new Map<string, string[]>();
  for (const s of conf.otherSections) {
    if (s.tag !== 'tags') continue;
    for (const t of s.children) {
      const id = t.attrs['id'];
      if (t.tag === 'tag' && id !== undefined) {
        tags.set(id, t.children.filter((c) => c.tag === 'obj_ref' && c.attrs['id'] !== undefined).map((c) => c.attrs['id']!));
      }
    }
  }
  const refsOf = (id: string): string[] | undefined => {
    const list = derived.get(id) ?? tags.get(id);
    return list === undefined ? undefined : [...new Set(list)];
  };

  const constraints: AnyConstraint[] = [];
  for (const c of conf.constraints) {
    try {
      constraints.push(...expandConstraint(c, resourceIds, refsOf));
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  return { value: { ...conf, resources, constraints }, problems };
}

/** The CIB with its configuration expanded (expandConfiguration). */
export function expandTemplates(cib: Cib): Expansion<Cib> {
  const x = expandConfiguration(cib.configuration);
  return { value: x.value === cib.configuration ? cib : { ...cib, configuration: x.value }, problems: x.problems };
}

type RefsOf = (id: string) => string[] | undefined;

/**
 * One constraint with its template/tag references expanded (a colocation may
 * become several); [the constraint] when it names none. Throws (the message says why it is ignored)
 * where Pacemaker ignores the constraint.
 */
function expandConstraint(c: AnyConstraint, resourceIds: Set<string>, refsOf: RefsOf): AnyConstraint[] {
  if (c.tag !== 'rsc_location' && c.tag !== 'rsc_colocation' && c.tag !== 'rsc_order') return [c];
  if (!('sets' in c)) return [c];
  const ignored = (id: string) => new CibError(`Ignoring constraint '${c.id}' because '${id}' is not a valid resource or tag`);
  /** Whether id is a template or tag (true), a resource (false); throws when it is a template with no primitive. */
  const isTag = (id: string): boolean => {
    if (resourceIds.has(id)) return false;
    const refs = refsOf(id);
    if (refs === undefined) return false; // neither: left for the scheduler to report
    if (refs.length === 0) throw ignored(id);
    return true;
  };

  if (c.sets.length > 0) {
    // pcmk__expand_tags_in_sets: a ref to a template or tag becomes its members, in place.
    let any = false;
    const sets = c.sets.map((s): ResourceSet => {
      if (!s.resources.some((r) => isTag(r))) return s;
      any = true;
      return { ...s, resources: s.resources.flatMap((r) => (isTag(r) ? refsOf(r)! : [r])) };
    });
    return [any ? { ...c, sets } : c];
  }

  // pcmk__tag_to_set: the template/tag becomes a set of its members (not sequential);
  // with convert, a plain resource on the other side becomes a set of one.
  const toSet = (id: string, convert: boolean): ResourceSet | undefined => {
    if (isTag(id)) return { id, sequential: 'false', resources: refsOf(id)! };
    return convert ? { id, resources: [id] } : undefined;
  };

  if (c.tag === 'rsc_location') {
    const loc = c as LocationConstraint;
    if (loc.rsc === undefined || !isTag(loc.rsc)) return [c];
    // The role stays on the constraint, where belay's scheduler reads it for every member.
    const { rsc: _rsc, ...rest } = loc;
    return [{ ...rest, sets: [toSet(loc.rsc, false)!] }];
  }
  if (c.tag === 'rsc_colocation') {
    const col = c as ColocationConstraint;
    if (col.rsc === undefined || col.withRsc === undefined) return [c];
    const depTag = isTag(col.rsc);
    const priTag = isTag(col.withRsc);
    if (!depTag && !priTag) return [c];
    if (depTag && priTag) throw new CibError(`Ignoring constraint '${c.id}' because two templates or tags cannot be colocated`);
    // Pacemaker makes the two sets {template members, not sequential} and {the
    // resource}, which unpack to one colocation per member (colocate_rsc_sets,
    // the set of one being "sequential"): those colocations are written here
    // directly, each under the constraint's id, the roles as they were.
    return depTag
      ? refsOf(col.rsc)!.map((m) => ({ ...col, rsc: m }))
      : refsOf(col.withRsc)!.map((m) => ({ ...col, withRsc: m }));
  }
  const ord = c as OrderConstraint;
  if (ord.first === undefined || ord.then === undefined) return [c];
  if (!isTag(ord.first) && !isTag(ord.then)) return [c];
  const { first, then, firstAction, thenAction, ...rest } = ord;
  const a = toSet(first, true)!;
  const b = toSet(then, true)!;
  if (firstAction !== undefined) a.action = firstAction;
  if (thenAction !== undefined) b.action = thenAction;
  return [{ ...rest, sets: [a, b] }];
}
