/**
 * Operation digests, after Pacemaker's lib/pengine/pe_digest.c
 * (calculate_main_digest, calculate_restart_digest) and
 * pcmk__filter_op_for_digest: the MD5 of the canonical XML of an operation's
 * parameters, `<parameters a="1" b="2"/>` with attributes sorted by name,
 * after removing every CRM_meta_* attribute except CRM_meta_timeout of a
 * recurring operation. The controller records it as op-digest; the scheduler
 * recomputes it from the current definition and restarts (or reloads) a
 * resource whose definition changed. Pure: hashing only.
 */
import { createHash } from 'node:crypto';
import type { Group, LrmOp, NvSet, Operation } from '../cib/model.js';
import { unpackNvSets, type RuleContext } from './rules.js';
import type { Rsc, SNode } from './types.js';
import { intervalMs } from './unpack.js';

/** Attributes Pacemaker never hashes (should_filter_for_digest). */
const FILTERED = new Set(['id', 'crm_feature_set', 'op-digest', 'on_node', 'on_node_uuid', 'pcmk_external_ip']);

function escapeAttr(v: string): string {
  return v.replace(/[&<>"\n\r\t]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === '\n' ? '&#10;' : c === '\r' ? '&#13;' : '&#9;');
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** The digest of an already-filtered parameter set (calculate_operation_digest). */
export function digestOfParams(params: ReadonlyMap<string, string>): string {
  const names = [...params.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const attrs = names.map((n) => ` ${n}="${escapeAttr(params.get(n)!)}"`).join('');
  // Pacemaker's v1 digest text: a leading space and a trailing newline
  return md5(` <parameters${attrs}/>\n`);
}

/** pcmk__filter_op_for_digest: drop CRM_meta_* (keep the timeout of a recurring op) and bookkeeping attributes. */
export function filterForDigest(params: ReadonlyMap<string, string>, intervalMillis: number, timeoutMillis?: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (k.startsWith('CRM_meta_') || FILTERED.has(k)) continue;
    out.set(k, v);
  }
  if (intervalMillis > 0 && timeoutMillis !== undefined) out.set('CRM_meta_timeout', String(timeoutMillis));
  return out;
}

/**
 * The op-digest of an operation run with these instance parameters:
 * `params` are the resource's (and the operation's own) instance attributes,
 * `intervalMillis` the operation's interval and `timeoutMillis` its timeout
 * (only hashed for recurring operations, as Pacemaker does).
 */
export function operationDigest(params: ReadonlyMap<string, string> | Record<string, string>, intervalMillis = 0, timeoutMillis?: number): string {
  const m = params instanceof Map ? params : new Map(Object.entries(params));
  return digestOfParams(filterForDigest(m, intervalMillis, timeoutMillis));
}

/** calculate_restart_digest: only the parameters named in op-force-restart (" a b "). */
export function restartDigest(params: ReadonlyMap<string, string>, forceRestart: string | undefined): string {
  const filtered = filterForDigest(params, 0);
  if (forceRestart === undefined) return digestOfParams(filtered);
  const keep = new Set(forceRestart.split(/\s+/).filter((s) => s !== ''));
  const out = new Map<string, string>();
  for (const [k, v] of filtered) if (keep.has(k)) out.set(k, v);
  return digestOfParams(out);
}

/** The instance_attributes sets of a resource's configuration (primitive, group or clone). */
function instanceSets(r: Rsc, groups: ReadonlyMap<string, Group>): NvSet[] {
  if (r.prim) return r.prim.instanceAttributes;
  if (r.cloneCfg) return r.cloneCfg.instanceAttributes ?? [];
  if (r.kind === 'group') return groups.get(r.baseId)?.instanceAttributes ?? [];
  return [];
}

/** pe_rsc_params: the resource's instance attributes on a node, its own first, then its parents'. */
export function resourceParams(r: Rsc, node: SNode, now: number, groups: ReadonlyMap<string, Group>): Map<string, string> {
  const ctx: RuleContext = { node: node.attrs, now };
  const out = new Map<string, string>();
  for (let x: Rsc | undefined = r; x; x = x.parent) unpackNvSets(instanceSets(x, groups), ctx, out);
  // "#default" unsets a parameter (Pacemaker's populate_hash)
  for (const [k, v] of out) if (v.toLowerCase() === '#default') out.delete(k);
  return out;
}

/** pcmk__find_action_config: the configured operation for a task and interval (disabled ones too). */
export function findOpConfig(r: Rsc, task: string, intervalMillis: number): Operation | undefined {
  return r.operations.find((o) => o.name === task && (intervalMs(o.interval) || 0) === intervalMillis);
}

export type DigestResult = 'match' | 'restart' | 'reload';

/**
 * rsc_action_digest_cmp + pcmk__check_action_config for a one-shot operation
 * (start, promote, migrate_from, probe) of the history: compare the recorded
 * digests with the current definition. Without a recorded op-digest the
 * result is "match" (nothing is known to have changed).
 */
export function compareDigest(r: Rsc, node: SNode, op: LrmOp, now: number, groups: ReadonlyMap<string, Group>): DigestResult {
  if (op.opDigest === undefined) return 'match';
  const params = resourceParams(r, node, now, groups);
  const cfg = findOpConfig(r, op.operation, 0);
  // Parameters of the operation itself (<op><instance_attributes>)
  const extra = cfg ? unpackNvSets(cfg.instanceAttributes, { node: node.attrs, now }) : new Map<string, string>();
  for (const [k, v] of extra) params.set(k, v);
  const recordedRestart = op.extra?.['op-restart-digest'];
  if (recordedRestart !== undefined && restartDigest(params, op.extra?.['op-force-restart']) !== recordedRestart) return 'restart';
  if (operationDigest(params, 0) === op.opDigest) return 'match';
  // belay's controller (which records no crm_feature_set) hashes the
  // parameters its executor was given: the primitive's own instance
  // attributes, without rules, parents' or the operation's own. Compare with
  // those too, so such a definition cannot restart forever.
  if (r.prim && op.extra?.['crm_feature_set'] === undefined && operationDigest(executorParams(r.prim.instanceAttributes), 0) === op.opDigest) return 'match';
  // A CIB whose secrets were sanitized (crm_simulate's inputs): compare the
  // digest without the secure parameters (only_sanitized_changed)
  const recordedSecure = op.extra?.['op-secure-digest'];
  if (recordedSecure !== undefined && secureDigest(params, op.extra?.['op-secure-params'], r.cls === 'stonith') === recordedSecure) return 'match';
  // Operation-specific parameters changed: restart, so they apply to the operation
  if (extra.size > 0) return 'restart';
  // The agent supports reload when the history records a restart digest
  return recordedRestart !== undefined ? 'reload' : 'restart';
}

/** The parameters belay's executor passes to the agent (controller/resource-info nvValues). */
function executorParams(sets: NvSet[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const set of [...sets].sort((a, b) => Number(b.score ?? 0) - Number(a.score ?? 0))) {
    for (const p of set.nvpairs) if (p.value !== undefined && !out.has(p.name)) out.set(p.name, p.value);
  }
  return out;
}

/** calculate_secure_digest: without the parameters named in op-secure-params (and fencing's pcmk_* ones). */
export function secureDigest(params: ReadonlyMap<string, string>, secureParams: string | undefined, fencing: boolean): string {
  const drop = new Set((secureParams ?? '').split(/\s+/).filter((s) => s !== ''));
  const out = new Map<string, string>();
  for (const [k, v] of filterForDigest(params, 0)) {
    if (drop.has(k) || (fencing && k.startsWith('pcmk_'))) continue;
    out.set(k, v);
  }
  return digestOfParams(out);
}
