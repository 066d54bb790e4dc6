/**
 * What a node needs to run one action of a resource, read from its own CIB
 * replica (replicas are equal, so the DC only names the resource and task):
 * the agent, its parameters, meta attributes and the operation's timeout.
 */
import { parseDurationMs } from '../cib/duration.js';
import type { Cib, Clone, Group, NvSet, Operation, Primitive, TopResource } from '../cib/model.js';
import { expandPrimitive } from '../cib/template.js';

export interface ResolvedAction {
  /** The primitive's id (an instance "web:1" resolves to "web"). */
  primitiveId: string;
  /** ocf:PROVIDER:TYPE, lsb:TYPE, ... */
  agent: string;
  params: Record<string, string>;
  /** Meta attributes, clone meta included (clone-max, ...), as OCF_RESKEY_CRM_meta_*. */
  meta: Record<string, string>;
  timeoutMs: number;
  /** The op's on-fail, when configured. */
  onFail?: string;
}

export const DEFAULT_OP_TIMEOUT_MS = 20_000;

/** Values of name/value sets, first set (by score, then order) wins per name. Rules are not evaluated here. */
export function nvValues(sets: NvSet[]): Record<string, string> {
  const ordered = [...sets].sort((a, b) => Number(b.score ?? 0) - Number(a.score ?? 0));
  const out: Record<string, string> = {};
  for (const set of ordered) {
    for (const pair of set.nvpairs) {
      if (pair.value !== undefined && !(pair.name in out)) out[pair.name] = pair.value;
    }
  }
  return out;
}

interface Located {
  primitive: Primitive;
  parents: Array<Group | Clone>;
}

/**
 * Every primitive of a resources list by id, built once per list: the
 * replica never edits a list in place (a change makes a new one), and the DC
 * resolves each of a transition's thousands of actions against the same list.
 */
const indexes = new WeakMap<TopResource[], Map<string, Located>>();

function locate(resources: TopResource[], id: string): Located | undefined {
  let index = indexes.get(resources);
  if (!index) {
    index = new Map();
    const add = (primitive: Primitive, parents: Array<Group | Clone>) => {
      if (!index!.has(primitive.id)) index!.set(primitive.id, { primitive, parents });
    };
    for (const r of resources) {
      if (r.tag === 'primitive') add(r as Primitive, []);
      else if (r.tag === 'group') for (const p of (r as Group).children) add(p, [r as Group]);
      else if (r.tag === 'clone' || r.tag === 'master') {
        const c = r as Clone;
        if (c.child.tag === 'primitive') add(c.child, [c]);
        else if (c.child.tag === 'group') for (const p of c.child.children) add(p, [c.child, c]);
      }
    }
    indexes.set(resources, index);
  }
  return index.get(id);
}

/** Resolve "web", "web:1" (a clone instance) or a group member. */
export function resolveAction(cib: Cib, rscId: string, task: string, intervalMs: number): ResolvedAction | undefined {
  const [base, instance] = rscId.split(':', 2) as [string, string | undefined];
  const located = locateExpanded(cib, base);
  if (!located) return undefined;
  const { found, p } = located;
  const agent = p.provider ? `${p.class}:${p.provider}:${p.type}` : `${p.class}:${p.type}`;
  const meta: Record<string, string> = { ...nvValues(cib.configuration.rscDefaults) };
  for (const parent of [...found.parents].reverse()) Object.assign(meta, nvValues(parent.metaAttributes));
  Object.assign(meta, nvValues(p.metaAttributes));
  const clone = found.parents.find((x): x is Clone => x.tag === 'clone' || x.tag === 'master');
  // The instance number reaches the agent as OCF_RESKEY_CRM_meta_clone.
  if (clone && instance !== undefined) meta['clone'] = instance;
  const op = findOperation(p, task, intervalMs);
  const resolved: ResolvedAction = {
    primitiveId: p.id,
    agent,
    params: nvValues(p.instanceAttributes),
    meta,
    timeoutMs: operationTimeoutMs(cib, op),
  };
  if (op?.onFail !== undefined) resolved.onFail = op.onFail;
  return resolved;
}

function findOperation(p: Primitive, task: string, intervalMs: number): Operation | undefined {
  return p.operations.find((o) => o.name === task && parseDurationMs(o.interval) === intervalMs);
}

function operationTimeoutMs(cib: Cib, op: Operation | undefined): number {
  const ms = parseDurationMs(op?.timeout ?? nvValues(cib.configuration.opDefaults)['timeout'], DEFAULT_OP_TIMEOUT_MS);
  return Number.isFinite(ms) ? ms : DEFAULT_OP_TIMEOUT_MS;
}

/**
 * Only the timeout of an action (resolveAction's timeoutMs): what the DC
 * needs for its action timer, without building the parameters and meta
 * attributes of each of a large transition's actions.
 */
export function actionTimeoutMs(cib: Cib, rscId: string, task: string, intervalMs: number): number | undefined {
  const located = locateExpanded(cib, rscId.split(':', 1)[0]!);
  return located && operationTimeoutMs(cib, findOperation(located.p, task, intervalMs));
}

/**
 * A primitive by id with its place, as the scheduler saw it: one made from a
 * resource template merged with it. Undefined when it is not configured or
 * its template is missing (the scheduler ignores it too).
 */
function locateExpanded(cib: Cib, id: string): { found: Located; p: Primitive } | undefined {
  const found = locate(cib.configuration.resources, id);
  if (!found) return undefined;
  try {
    return { found, p: expandPrimitive(cib.configuration, found.primitive) };
  } catch {
    return undefined;
  }
}
