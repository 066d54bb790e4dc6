/**
 * Consistency checks of a CIB configuration, the kind `crm_verify` makes
 * before the scheduler runs: duplicate ids, references to resources that do
 * not exist, scores that are not scores, unknown resource classes. Pure;
 * returns problems (never throws) so callers decide what is fatal.
 */
import { isScore } from './score.js';
import { allResources, constraintRefs } from './edit.js';
import type { Cib, Clone, Group, NvSet, Primitive, RuleNode } from './model.js';

export interface Problem {
  /** The id of the element at fault (or the duplicated id). */
  id: string;
  message: string;
}

export const KNOWN_CLASSES = new Set(['ocf', 'lsb', 'systemd', 'service', 'stonith', 'upstart', 'nagios', 'heartbeat']);

export function validateCib(cib: Cib): Problem[] {
  const problems: Problem[] = [];
  const conf = cib.configuration;
  const seen = new Map<string, string>();
  const def = (id: string | undefined, what: string) => {
    if (id === undefined) return;
    const prev = seen.get(id);
    if (prev !== undefined) problems.push({ id, message: `id "${id}" is used twice (by a ${prev} and a ${what})` });
    else seen.set(id, what);
  };
  const rule = (r: RuleNode, owner: string) => {
    def(r.attrs.id, r.tag);
    if (r.tag === 'rule' && r.attrs.score !== undefined && !isScore(r.attrs.score)) {
      problems.push({ id: r.attrs.id ?? owner, message: `rule of "${owner}" has a bad score "${r.attrs.score}"` });
    }
    r.children.forEach((c) => rule(c, owner));
  };
  const sets = (ss: NvSet[], what: string, owner: string) => {
    for (const s of ss) {
      def(s.id, what);
      if (s.score !== undefined && !isScore(s.score)) problems.push({ id: s.id ?? owner, message: `${what} of "${owner}" has a bad score "${s.score}"` });
      s.rules.forEach((r) => rule(r, owner));
      for (const p of s.nvpairs) def(p.id, 'nvpair');
    }
  };
  sets(conf.crmConfig, 'cluster_property_set', 'crm_config');
  sets(conf.rscDefaults, 'meta_attributes', 'rsc_defaults');
  sets(conf.opDefaults, 'meta_attributes', 'op_defaults');
  const unames = new Set<string>();
  for (const n of conf.nodes) {
    def(n.id, 'node');
    if (unames.has(n.uname)) problems.push({ id: n.id, message: `node name "${n.uname}" is used twice` });
    unames.add(n.uname);
    sets(n.instanceAttributes, 'instance_attributes', n.id);
    sets(n.utilization, 'utilization', n.id);
  }
  const resources = allResources(cib);
  const rscIds = new Set<string>();
  for (const r of resources) {
    rscIds.add(r.id);
    if (r.tag === 'primitive') {
      const p = r as Primitive;
      def(p.id, 'primitive');
      if (p.class !== '' && !KNOWN_CLASSES.has(p.class)) {
        problems.push({ id: p.id, message: `primitive "${p.id}" has an unknown resource class "${p.class}"` });
      }
      if (p.class === 'ocf' && !p.provider) problems.push({ id: p.id, message: `primitive "${p.id}" of class ocf has no provider` });
      const template = p.extra?.['template'];
      if (template !== undefined && !conf.resources.some((t) => t.tag === 'template' && t.id === template)) {
        problems.push({ id: p.id, message: `primitive "${p.id}": ${template}: no such resource template` });
      }
      sets(p.instanceAttributes, 'instance_attributes', p.id);
      sets(p.metaAttributes, 'meta_attributes', p.id);
      sets(p.utilization, 'utilization', p.id);
      def(p.operationsId, 'operations');
      for (const o of p.operations) {
        def(o.id, 'op');
        sets(o.instanceAttributes, 'instance_attributes', o.id);
        sets(o.metaAttributes, 'meta_attributes', o.id);
      }
    } else if (r.tag === 'group' || r.tag === 'clone' || r.tag === 'master') {
      const c = r as Group | Clone;
      def(c.id, c.tag);
      sets(c.instanceAttributes, 'instance_attributes', c.id);
      sets(c.metaAttributes, 'meta_attributes', c.id);
      if (c.tag === 'group' && (c as Group).children.length === 0) problems.push({ id: c.id, message: `group "${c.id}" is empty` });
    } else def(r.id, r.tag);
  }
  for (const c of conf.constraints) {
    def(c.id, c.tag);
    if (!('sets' in c)) continue;
    for (const s of c.sets) {
      def(s.id, 'resource_set');
      if (s.score !== undefined && !isScore(s.score)) problems.push({ id: s.id ?? c.id, message: `resource_set of "${c.id}" has a bad score "${s.score}"` });
    }
    if ('rules' in c) c.rules.forEach((r) => rule(r, c.id));
    const score = (c as { score?: string }).score;
    if (score !== undefined && !isScore(score)) problems.push({ id: c.id, message: `${c.tag} "${c.id}" has a bad score "${score}"` });
    for (const ref of constraintRefs(c)) {
      if (!rscIds.has(ref)) problems.push({ id: c.id, message: `${c.tag} "${c.id}" refers to resource "${ref}", which does not exist` });
    }
    if (c.tag === 'rsc_location' && 'rules' in c) {
      if (c.rsc === undefined && c.rscPattern === undefined && c.sets.length === 0) {
        problems.push({ id: c.id, message: `rsc_location "${c.id}" names no resource` });
      }
      if (c.node === undefined && c.rules.length === 0 && (c.extra?.['score-attribute'] === undefined)) {
        problems.push({ id: c.id, message: `rsc_location "${c.id}" has neither a node nor a rule` });
      }
    }
  }
  return problems;
}
