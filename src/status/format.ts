/**
 * The cluster status text in Pacemaker's layout (`* Node List:` and
 * `* Full List of Resources:`), as crm_mon and crm_simulate print it.
 * A pure function of the unpacked working set.
 */
import type { WorkingSet } from '../scheduler/unpack.js';
import type { Rsc, SNode } from '../scheduler/types.js';

/** Pacemaker's pcmk__numeric_strcasecmp: digits compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const A = a.toLowerCase();
  const B = b.toLowerCase();
  while (i < A.length && j < B.length) {
    const ca = A[i]!;
    const cb = B[j]!;
    const da = ca >= '0' && ca <= '9';
    const db = cb >= '0' && cb <= '9';
    if (da && db) {
      let ea = i;
      while (ea < A.length && A[ea]! >= '0' && A[ea]! <= '9') ea++;
      let eb = j;
      while (eb < B.length && B[eb]! >= '0' && B[eb]! <= '9') eb++;
      const na = Number(A.slice(i, ea));
      const nb = Number(B.slice(j, eb));
      if (na !== nb) return na < nb ? -1 : 1;
      i = ea;
      j = eb;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  return A.length - i - (B.length - j);
}

/**
 * '3': crm_simulate's layout of Pacemaker 3 (the scheduler corpus's
 * outputs). '2.1.5': crm_mon of Pacemaker 2.1.5: no "maintenance" flag (a
 * resource in maintenance is unmanaged), pending operations shown
 * ("Starting", "Monitoring"), groups in the active list without their
 * inactive members and with "(N members inactive)".
 */
export type Style = '3' | '2.1.5';

const sortNodes = (l: SNode[]) => [...l].sort((x, y) => naturalCompare(x.name, y.name));

export function formatNodeList(ws: WorkingSet): string[] {
  const out: string[] = ['  * Node List:'];
  const online: string[] = [];
  const offline: string[] = [];
  for (const node of sortNodes(ws.nodes)) {
    let mode: string | undefined;
    if (node.unclean) mode = node.online ? 'UNCLEAN (online)' : node.pending ? 'UNCLEAN (pending)' : 'UNCLEAN (offline)';
    else if (node.pending) mode = 'pending';
    else if (node.standbyOnFail && node.online) mode = 'standby (on-fail)';
    else if (node.standby) mode = node.online ? (node.runningCount > 0 ? 'standby (with active resources)' : 'standby') : 'OFFLINE (standby)';
    else if (node.maintenance) mode = node.online ? 'maintenance' : 'OFFLINE (maintenance)';
    else if (node.online) {
      online.push(node.name);
      continue;
    } else {
      offline.push(node.name);
      continue;
    }
    out.push(`    * Node ${node.name}: ${mode}`);
  }
  if (online.length) out.push(`    * Online: [ ${online.join(' ')} ]`);
  if (offline.length) out.push(`    * OFFLINE: [ ${offline.join(' ')} ]`);
  return out;
}

function agentOf(r: Rsc): string {
  return r.provider ? `${r.cls}:${r.provider}:${r.type}` : `${r.cls}:${r.type}`;
}

const OCF_EXIT: Record<number, string> = {
  0: 'OK', 1: 'Error', 2: 'Invalid parameter', 3: 'Unimplemented feature', 4: 'Insufficient privileges',
  5: 'Not installed', 6: 'Not configured', 7: 'Not running', 8: 'Promoted', 9: 'Failed promoted',
};

/** services_ocf_exitcode_str of 2.1.5. */
const OCF_EXIT_215: Record<number, string> = {
  0: 'ok', 1: 'error', 2: 'invalid parameter', 3: 'unimplemented feature', 4: 'insufficient privileges',
  5: 'not installed', 6: 'not configured', 7: 'not running', 8: 'promoted', 9: 'promoted (failed)',
};

function flagList(r: Rsc, node: SNode | undefined, style: Style): string[] {
  const flags: string[] = [];
  if (node && !node.online && node.unclean) flags.push('UNCLEAN');
  if (style === '2.1.5') {
    if (r.pendingTask === 'monitor') flags.push('Monitoring');
    if (r.targetRole === 'Stopped') flags.push('disabled');
    else if (topPromotable(r) && r.targetRole === 'Unpromoted') flags.push('target-role:Unpromoted');
    if (r.blocked) flags.push('blocked');
    else if (!r.managed || r.maintenance) flags.push('unmanaged');
    if (r.failureIgnored) flags.push('failure ignored');
    return flags;
  }
  if (r.targetRole === 'Stopped') flags.push('disabled');
  else if (topPromotable(r) && r.targetRole === 'Unpromoted') flags.push('target-role:Unpromoted');
  if (r.blocked) flags.push('blocked');
  else if (r.maintenance) flags.push('maintenance');
  else if (!r.managed) flags.push('unmanaged');
  if (r.failureIgnored) flags.push('failure ignored');
  return flags;
}

function topPromotable(r: Rsc): boolean {
  let t = r;
  while (t.parent) t = t.parent;
  return t.promotable;
}

/** One primitive's line, as pcmk__native_output_string builds it. */
const PENDING_STATE: Record<string, string> = { start: 'Starting', stop: 'Stopping', migrate_to: 'Migrating', migrate_from: 'Migrating', promote: 'Promoting', demote: 'Demoting' };

export function primitiveLine(r: Rsc, indent: string, displayId = r.id, style: Style = '3'): string {
  const nodes = r.running;
  // pe__resource_text: a resource active nowhere is shown on the node of its pending (non-probe) action.
  const node = nodes.length === 1 ? nodes[0] : nodes.length === 0 && style === '2.1.5' && r.pendingTask !== undefined ? r.pendingNode : undefined;
  let s = `${indent}* ${displayId}\t(${agentOf(r)}):\t`;
  const words: string[] = [];
  if (r.orphan) words.push('ORPHANED');
  const role = r.role;
  if (r.failed) {
    words.push('FAILED');
    if (role === 'Promoted') words.push('Promoted');
  } else {
    const pending = style === '2.1.5' && r.pendingTask !== undefined ? PENDING_STATE[r.pendingTask] : undefined;
    words.push(pending ?? (nodes.length === 0 ? 'Stopped' : displayRole(r)));
  }
  if (node) words.push(node.name);
  s += ' ' + words.join(' ');
  if (nodes.length === 0) {
    const fp = [...r.failedProbes.values()][0];
    if (fp !== undefined) s += ` (${(style === '2.1.5' ? OCF_EXIT_215[fp] : OCF_EXIT[fp]) ?? 'error'}) `;
  }
  const flags = flagList(r, node, style);
  if (flags.length) s += ` (${flags.join(', ')})`;
  if (nodes.length > 1) s += ` [ ${sortNodesKeep(nodes).map((n) => n.name).join(' ')} ]`;
  return s;
}

function sortNodesKeep(l: SNode[]): SNode[] {
  return l;
}

function displayRole(r: Rsc): string {
  if (r.role === 'Promoted') return 'Promoted';
  if (r.role === 'Unpromoted' || (topPromotable(r) && r.role === 'Started')) return topPromotable(r) ? 'Unpromoted' : 'Started';
  return 'Started';
}

function groupFlags(g: Rsc, style: Style, inactiveMembers: number): string {
  const f: string[] = [];
  if (style === '2.1.5') {
    if (inactiveMembers > 0) f.push(`${inactiveMembers} member${inactiveMembers === 1 ? '' : 's'} inactive`);
    if (!g.managed || g.maintenance) f.push('unmanaged');
    if (g.targetRole === 'Stopped') f.push('disabled');
    return f.length ? ` (${f.join(', ')})` : '';
  }
  if (g.targetRole === 'Stopped') f.push('disabled');
  if (g.maintenance) f.push('maintenance');
  else if (!g.managed) f.push('unmanaged');
  return f.length ? ` (${f.join(', ')})` : '';
}

export function isActive(r: Rsc): boolean {
  return r.kind === 'primitive' ? r.running.length > 0 : r.children.some(isActive);
}

/**
 * A collective resource's running_on, as 2.1.5's native_add_running builds
 * it: the nodes of its members, except that an unmanaged member on an
 * offline node is not passed up to its parents.
 */
export function runningOn(r: Rsc): Set<SNode> {
  const out = new Set<SNode>();
  const visit = (x: Rsc) => {
    if (x.kind === 'primitive') {
      for (const n of x.running) if (n.online || x.managed) out.add(n);
    } else x.children.forEach(visit);
  };
  visit(r);
  return out;
}

/** rsc_printable_id: an anonymous clone's instances (and their group members) by the configured id. */
function printableId(r: Rsc): string {
  let t = r;
  while (t.parent) t = t.parent;
  return t.kind === 'clone' && !t.unique ? r.baseId : r.id;
}

function formatGroup(g: Rsc, indent: string, out: string[], style: Style = '3', inactive = true): void {
  if (style === '2.1.5') {
    // pe__group_default: without -r, inactive members are left out and counted in the header.
    const active = g.children.filter(isActive);
    const n = !inactive && active.length > 0 && active.length < g.children.length ? g.children.length - active.length : 0;
    const shown = inactive ? g.children : active;
    if (!shown.length) return;
    out.push(`${indent}* Resource Group: ${g.id}${groupFlags(g, style, n)}:`);
    for (const c of shown) out.push(primitiveLine(c, indent + '  ', printableId(c), style));
    return;
  }
  // Inactive orphan groups are not shown
  out.push(`${indent}* Resource Group: ${g.id}${groupFlags(g, style, 0)}:`);
  for (const c of g.children) {
    if (c.orphan && c.running.length === 0) continue;
    out.push(primitiveLine(c, indent + '  '));
  }
}

function anyRecursive(r: Rsc, f: (x: Rsc) => boolean): boolean {
  return f(r) || r.children.some((c) => anyRecursive(c, f));
}

function formatClone(ws: WorkingSet, c: Rsc, indent: string, out: string[], inactive = true, style: Style = '3'): void {
  const child = c.cloneCfg!.child;
  let hdr = `${indent}* Clone Set: ${c.id} [${child.id}]`;
  const hf: string[] = [];
  if (c.promotable) hf.push('promotable');
  if (c.unique) hf.push('unique');
  if (style === '2.1.5') {
    if (!c.managed || c.maintenance) hf.push('unmanaged');
  } else if (c.maintenance) hf.push('maintenance');
  else if (!c.managed) hf.push('unmanaged');
  if (c.targetRole === 'Stopped') hf.push('disabled');
  if (hf.length) hdr += ` (${hf.join(', ')})`;
  out.push(hdr + ':');
  const inner = indent + '  ';
  const promoted: SNode[] = [];
  const started: SNode[] = [];
  for (const inst of c.children) {
    const partially = isActive(inst);
    let full = false;
    if (c.unique) {
      // 2.1.5 tests the clone's orphan flag here, not the instance's: every instance is listed.
      if (partially || (style === '2.1.5' ? !c.orphan : inactive && !inst.orphan)) full = true;
    } else if (style === '2.1.5' && inst.pendingTask !== undefined) {
      // show_pending: an instance with a pending (non-probe) action is listed on its own.
      full = true;
    } else if (!partially) {
      // listed in Stopped below
    } else if (anyRecursive(inst, (x) => x.orphan) || anyRecursive(inst, (x) => !x.managed) || anyRecursive(inst, (x) => x.failed)) {
      full = true;
    } else if (inst.kind === 'primitive' || inst.children.every((m) => m.running.length > 0)) {
      const locs = inst.kind === 'primitive' ? inst.running : inst.children[0]!.running;
      const loc = locs.length === 1 ? locs[0]! : undefined;
      const sameEverywhere = inst.kind === 'primitive' || inst.children.every((m) => m.running.length === 1 && m.running[0] === loc);
      if (!loc || !sameEverywhere) full = true;
      else if (!loc.online && loc.unclean) full = true;
      else if (inst.role === 'Promoted' || (inst.kind === 'group' && inst.children.some((m) => m.role === 'Promoted'))) promoted.push(loc);
      else started.push(loc);
    } else full = true;
    if (full) {
      if (inst.kind === 'group') formatGroup(inst, inner, out, style, style === '2.1.5' ? inactive : true);
      else out.push(primitiveLine(inst, inner, c.unique ? inst.id : inst.baseId, style));
    }
  }
  if (promoted.length) out.push(`${inner}* Promoted: [ ${sortNodes(promoted).map((n) => n.name).join(' ')} ]`);
  if (started.length) {
    const names = sortNodes(started).map((n) => n.name).join(' ');
    if (c.promotable) {
      out.push(c.targetRole === 'Unpromoted' ? `${inner}* Unpromoted (target-role): [ ${names} ]` : `${inner}* Unpromoted: [ ${names} ]`);
    } else out.push(`${inner}* Started: [ ${names} ]`);
  }
  // active_instances: only the instances in the Promoted / Started lists (not those listed on their own).
  const activeInstances = promoted.length + started.length;
  if (inactive && !c.unique && c.cloneMax > activeInstances) {
    // Every allowed node (all nodes in a symmetric cluster; probed ones otherwise) without an instance.
    let list: SNode[];
    if (ws.options.symmetric) list = ws.nodes;
    else {
      const known = new Set<SNode>();
      const collect = (r: Rsc) => {
        r.knownOn.forEach((n) => known.add(n));
        r.children.forEach(collect);
      };
      collect(c);
      list = [...known];
    }
    // 2.1.5 leaves out nodes of unmanaged instances on offline nodes (runningOn); 3 counts every instance's node.
    const active = style === '2.1.5' ? runningOn(c) : new Set<SNode>();
    if (style !== '2.1.5') {
      const collect = (r: Rsc) => {
        r.running.forEach((n) => active.add(n));
        r.children.forEach(collect);
      };
      collect(c);
    }
    const byState = new Map<string, string[]>();
    for (const n of sortNodes(list)) {
      if (active.has(n)) continue;
      let state = c.targetRole === 'Stopped' ? 'Stopped (disabled)' : 'Stopped';
      const fp = probeFailure(c, n);
      if (fp !== undefined) state = `Stopped (${(style === '2.1.5' ? OCF_EXIT_215[fp] : OCF_EXIT[fp]) ?? 'error'})`;
      const l = byState.get(state) ?? [];
      l.push(n.name);
      byState.set(state, l);
    }
    for (const [state, names] of byState) out.push(`${inner}* ${state}: [ ${names.join(' ')} ]`);
  }
}

function probeFailure(r: Rsc, n: SNode): number | undefined {
  if (r.failedProbes.has(n)) return r.failedProbes.get(n);
  for (const c of r.children) {
    const v = probeFailure(c, n);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The resource list. crm_mon without -r passes inactive=false: resources
 * not even partially active, and clones' "Stopped: [ ... ]" lines, are left
 * out ("Active Resources").
 */
export function formatResources(ws: WorkingSet, opts: { inactive?: boolean; style?: Style } = {}): string[] {
  const inactive = opts.inactive ?? true;
  const style = opts.style ?? '3';
  const out: string[] = [inactive ? '  * Full List of Resources:' : '  * Active Resources:'];
  let any = false;
  for (const r of ws.resources) {
    const before = out.length;
    if (!inactive && !isActive(r)) continue;
    // resource_list: a partially active resource none of whose nodes reached its running_on is left out.
    if (style === '2.1.5' && r.kind !== 'primitive' && isActive(r) && runningOn(r).size === 0) continue;
    if (r.kind === 'primitive') {
      if (r.orphan && r.running.length === 0) continue;
      out.push(primitiveLine(r, '    ', r.id, style));
    } else if (r.kind === 'group') {
      if (r.children.every((c) => c.orphan) && !isActive(r)) continue;
      formatGroup(r, '    ', out, style, inactive);
    } else formatClone(ws, r, '    ', out, inactive, style);
    if (out.length > before) any = true;
  }
  if (!any) out.push(inactive ? '    * No resources' : '    * No active resources');
  return out;
}

/** The whole status block: node list, blank line, resource list. */
export function formatClusterStatus(ws: WorkingSet): string[] {
  return [...formatNodeList(ws), '', ...formatResources(ws)];
}

/** "N of M resource instances DISABLED and K BLOCKED ..." (empty when nothing is disabled or blocked). */
export function formatCounts(ws: WorkingSet): string[] {
  if (ws.disabled === 0 && ws.blocked === 0) return [];
  return [`${ws.disabled} of ${ws.ninstances} resource instances DISABLED and ${ws.blocked} BLOCKED from further action due to failure`];
}
