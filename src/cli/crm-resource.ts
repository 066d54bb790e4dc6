/**
 * `crm resource ...`, as crmsh does it on top of crm_resource:
 * - stop/start set the target-role meta attribute; restart = stop, wait
 *   until it is stopped everywhere, start.
 * - move/migrate and ban add crm_resource's location constraints
 *   (cli-prefer-RSC at INFINITY, cli-ban-RSC-on-NODE at -INFINITY); clear
 *   (unmove, unmigrate) removes them.
 * - cleanup forgets a resource's history and failures (belayd's `cleanup`;
 *   on a CIB file the same change is made in the file); failcount shows or
 *   deletes (= cleans up) a fail count.
 * - status (crm_resource --locate) says where it runs, read by the scheduler's
 *   unpack of the current CIB.
 */
import type { Cib, Clone, Group, LocationConstraint, TopResource } from '../cib/model.js';
import { cloneCib, findResource, setResourceMeta } from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import { parseScore } from '../cib/score.js';
import { unpack } from '../scheduler/unpack.js';
import type { Rsc } from '../scheduler/types.js';
import { formatResources, naturalCompare } from '../status/format.js';
import { adminSocketPath, commitCib, loadCib, type CibHandle } from './crm-cibfile.js';

const HELP = `usage: crm resource COMMAND ...
  status [RSC]                 where resources run (crm_resource --locate)
  start RSC...                 set target-role=Started
  stop RSC...                  set target-role=Stopped
  restart RSC...               stop, wait until stopped everywhere, start
  move|migrate RSC NODE        prefer NODE (constraint cli-prefer-RSC, INFINITY)
  move|migrate RSC             move away from where it runs now (cli-ban-RSC-on-NODE)
  ban RSC [NODE]               keep it off NODE (cli-ban-RSC-on-NODE, -INFINITY)
  clear|unmove|unmigrate RSC   remove the cli-prefer / cli-ban constraints of RSC
  cleanup [RSC] [NODE]         forget history and failures, so the cluster probes again
  failcount RSC show|delete NODE
  meta RSC set ATTR VALUE | delete ATTR | show ATTR
`;

/** Seconds restart waits for the resource to stop. */
const RESTART_WAIT_MS = 120_000;

export async function runResource(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'stop':
    case 'start': {
      if (rest.length === 0) throw new CibError(`crm resource ${cmd}: name a resource`);
      const handle = await loadCib();
      let next = handle.cib;
      for (const id of rest) next = setResourceMeta(next, id, 'target-role', cmd === 'stop' ? 'Stopped' : 'Started');
      await commitCib(handle, next);
      return 0;
    }
    case 'restart':
      if (rest.length === 0) throw new CibError('crm resource restart: name a resource');
      return restart(rest);
    case 'move':
    case 'migrate':
      return move(rest);
    case 'ban':
      return ban(rest);
    case 'clear':
    case 'unmove':
    case 'unmigrate':
      return clear(rest);
    case 'cleanup':
    case 'refresh':
      return cleanup(rest);
    case 'failcount':
      return failcount(rest);
    case 'status':
    case 'show':
    case 'locate':
    case 'list':
      return status(rest);
    case 'meta':
      return meta(rest);
    case undefined:
    case 'help':
      process.stdout.write(HELP);
      return cmd === undefined ? 1 : 0;
    default:
      throw new CibError(`crm resource: unknown command "${cmd}" (known: status, start, stop, restart, move, ban, clear, cleanup, failcount, meta)`);
  }
}

/** crmsh's trailing words of move: "force" and a lifetime; belay keeps constraints until cleared. */
function dropMoveOptions(words: string[]): string[] {
  return words.filter((w) => w !== 'force' && !/^(lifetime=)?P(T?\d)/.test(w));
}

function requireResource(cib: Cib, id: string): TopResource {
  const f = findResource(cib, id);
  if (!f) throw new CibError(`resource "${id}" does not exist`);
  return f.res;
}

function requireNode(cib: Cib, name: string): void {
  if (!cib.configuration.nodes.some((n) => n.uname === name)) {
    throw new CibError(`node "${name}" does not exist (nodes: ${cib.configuration.nodes.map((n) => n.uname).join(', ') || 'none'})`);
  }
}

/** The scheduler's view of a resource in this CIB (primitive, group or clone). */
function stateOf(cib: Cib, id: string): Rsc | undefined {
  const ws = unpack(cib, Math.floor(Date.now() / 1000));
  const direct = ws.byId.get(id);
  if (direct) return direct;
  // A clone's child named by its own id: the clone.
  return ws.resources.find((r) => r.kind === 'clone' && r.cloneCfg?.child.id === id);
}

function runningNodes(r: Rsc | undefined): string[] {
  if (!r) return [];
  const names = new Set<string>();
  const walk = (x: Rsc) => {
    x.running.forEach((n) => names.add(n.name));
    x.children.forEach(walk);
  };
  walk(r);
  return [...names].sort(naturalCompare);
}

function setLocation(cib: Cib, c: LocationConstraint): Cib {
  const next = cloneCib(cib);
  next.configuration.constraints = next.configuration.constraints.filter((x) => x.id !== c.id);
  next.configuration.constraints.push(c);
  return next;
}

async function move(words: string[]): Promise<number> {
  const [id, node, ...extra] = dropMoveOptions(words);
  if (!id || extra.length) throw new CibError('usage: crm resource move RSC [NODE] [force]');
  const handle = await loadCib();
  requireResource(handle.cib, id);
  if (node === undefined) {
    // As crm_resource --move without a node: ban it from where it runs now.
    const on = runningNodes(stateOf(handle.cib, id));
    if (on.length !== 1) {
      throw new CibError(on.length === 0 ? `resource ${id} is not running; name a node: crm resource move ${id} NODE` : `resource ${id} is active on ${on.length} nodes (${on.join(' ')}); name a node`);
    }
    return banOn(handle, id, on[0]!);
  }
  requireNode(handle.cib, node);
  const c: LocationConstraint = { tag: 'rsc_location', id: `cli-prefer-${id}`, rsc: id, role: 'Started', node, score: 'INFINITY', rules: [], sets: [] };
  await commitCib(handle, setLocation(handle.cib, c));
  process.stdout.write(`INFO: Move constraint created for ${id} to ${node}\n`);
  return 0;
}

async function ban(words: string[]): Promise<number> {
  const [id, node, ...extra] = dropMoveOptions(words);
  if (!id || extra.length) throw new CibError('usage: crm resource ban RSC [NODE]');
  const handle = await loadCib();
  requireResource(handle.cib, id);
  if (node === undefined) {
    const on = runningNodes(stateOf(handle.cib, id));
    if (on.length !== 1) throw new CibError(`resource ${id} runs on ${on.length === 0 ? 'no node' : on.join(' ')}; name the node to ban it from`);
    return banOn(handle, id, on[0]!);
  }
  requireNode(handle.cib, node);
  return banOn(handle, id, node);
}

async function banOn(handle: CibHandle, id: string, node: string): Promise<number> {
  const c: LocationConstraint = { tag: 'rsc_location', id: `cli-ban-${id}-on-${node}`, rsc: id, role: 'Started', node, score: '-INFINITY', rules: [], sets: [] };
  await commitCib(handle, setLocation(handle.cib, c));
  process.stdout.write(`INFO: Ban constraint created for ${id} on ${node}\n`);
  return 0;
}

async function clear(words: string[]): Promise<number> {
  const [id, ...extra] = dropMoveOptions(words);
  if (!id || extra.length) throw new CibError('usage: crm resource clear RSC');
  const handle = await loadCib();
  requireResource(handle.cib, id);
  const mine = (cid: string) => cid === `cli-prefer-${id}` || cid.startsWith(`cli-ban-${id}-on-`);
  const gone = handle.cib.configuration.constraints.filter((c) => mine(c.id));
  if (gone.length === 0) {
    process.stdout.write(`INFO: ${id} has no move or ban constraints\n`);
    return 0;
  }
  const next = cloneCib(handle.cib);
  next.configuration.constraints = next.configuration.constraints.filter((c) => !mine(c.id));
  await commitCib(handle, next);
  for (const c of gone) process.stdout.write(`INFO: Removed ${c.id}\n`);
  return 0;
}

/** Every primitive id under a resource (a clone's or group's members). */
function primitiveIds(r: TopResource): string[] {
  if (r.tag === 'primitive') return [r.id];
  if (r.tag === 'group') return (r as Group).children.map((c) => c.id);
  if (r.tag === 'clone' || r.tag === 'master') return primitiveIds((r as Clone).child);
  return [r.id];
}

/** History ids in the status section (orphans included: cleaning up a deleted resource is allowed). */
function historyIds(cib: Cib): Set<string> {
  const s = new Set<string>();
  for (const ns of cib.status ?? []) for (const r of ns.lrm?.resources ?? []) s.add(r.id.replace(/:\d+$/, ''));
  return s;
}

async function cleanup(words: string[]): Promise<number> {
  const positional = words.filter((w) => !w.startsWith('-') && w !== 'force');
  if (positional.length > 2) throw new CibError('usage: crm resource cleanup [RSC] [NODE]');
  const handle = await loadCib();
  const cib = handle.cib;
  let [id, node] = positional as [string | undefined, string | undefined];
  // "crm resource cleanup NODE" is not crmsh syntax; a lone word is a resource.
  let ids: Array<string | undefined> = [undefined];
  if (id !== undefined) {
    const f = findResource(cib, id);
    if (f) ids = primitiveIds(f.res);
    else if (historyIds(cib).has(id)) ids = [id];
    else throw new CibError(`resource "${id}" does not exist`);
  }
  if (node !== undefined) requireNode(cib, node);
  const nodes = node !== undefined ? [node] : cib.configuration.nodes.map((n) => n.uname);
  if (handle.path === undefined) {
    const { adminCall } = await import('../admin/socket.js');
    for (const rsc of ids) {
      try {
        await adminCall(adminSocketPath(), 'cleanup', { ...(rsc !== undefined ? { rsc } : {}), ...(node !== undefined ? { node } : {}) });
      } catch (err) {
        throw new CibError((err as Error).message);
      }
    }
  } else {
    const { applyMessage, initialReplica } = await import('../controller/replica.js');
    const refs = cib.configuration.nodes.map((n, i) => ({ id: Number(n.id) || i + 1, name: n.uname }));
    let state = initialReplica(cib, refs);
    for (const rsc of ids) state = applyMessage(state, { kind: 'cleanup', from: 0, rsc, node }).state;
    await commitCib(handle, state.cib);
  }
  if (id === undefined) process.stdout.write(`Cleaned up all resources on ${node ?? 'all nodes'}\n`);
  else for (const rsc of ids) for (const n of nodes) process.stdout.write(`Cleaned up ${rsc} on ${n}\n`);
  return 0;
}

async function failcount(words: string[]): Promise<number> {
  const [id, op, node] = words;
  if (!id || (op !== 'show' && op !== 'delete' && op !== 'set') || !node) throw new CibError('usage: crm resource failcount RSC show|delete NODE');
  if (op === 'set') throw new CibError('crm resource failcount: "set" is not supported; fail counts come from real failures (use delete to clear one)');
  if (op === 'delete') return cleanup([id, node]);
  const handle = await loadCib();
  const cib = handle.cib;
  requireNode(cib, node);
  const f = findResource(cib, id);
  if (!f && !historyIds(cib).has(id)) throw new CibError(`resource "${id}" does not exist`);
  const ids = new Set(f ? primitiveIds(f.res) : [id]);
  const cfgNode = cib.configuration.nodes.find((n) => n.uname === node)!;
  const ns = (cib.status ?? []).find((s) => s.id === cfgNode.id || s.uname === node);
  let total = 0;
  for (const set of ns?.transientAttributes ?? []) {
    for (const p of set.nvpairs) {
      const m = /^fail-count-(.+?)(?:#.*)?$/.exec(p.name);
      if (!m || !ids.has(m[1]!.replace(/:\d+$/, ''))) continue;
      const v = parseScore(p.value ?? '0', 0);
      total = Math.min(1_000_000, total + (Number.isNaN(v) ? 0 : v));
    }
  }
  process.stdout.write(`scope=status  name=fail-count-${id} value=${total >= 1_000_000 ? 'INFINITY' : total}\n`);
  return 0;
}

async function status(words: string[]): Promise<number> {
  const handle = await loadCib();
  const ws = unpack(handle.cib, Math.floor(Date.now() / 1000));
  if (words.length === 0) {
    process.stdout.write(`${formatResources(ws).map((l, i) => (i === 0 ? l.replace(/^ {2}\* /, '') : l.slice(2))).join('\n')}\n`);
    return 0;
  }
  for (const id of words) {
    requireResource(handle.cib, id);
    const on = runningNodes(stateOf(handle.cib, id));
    if (on.length === 0) process.stdout.write(`resource ${id} is NOT running\n`);
    for (const n of on) process.stdout.write(`resource ${id} is running on: ${n}\n`);
  }
  return 0;
}

async function meta(rest: string[]): Promise<number> {
  const [id, op, attr, value] = rest;
  if (!id || (op !== 'set' && op !== 'delete' && op !== 'show') || !attr || (op === 'set' && value === undefined)) {
    throw new CibError('usage: crm resource meta NAME set ATTR VALUE | delete ATTR | show ATTR');
  }
  const handle = await loadCib();
  const cib = handle.cib;
  if (op === 'show') {
    const f = findResource(cib, id);
    if (!f) throw new CibError(`resource "${id}" does not exist`);
    const sets = 'metaAttributes' in f.res ? f.res.metaAttributes : [];
    const p = sets.flatMap((s) => s.nvpairs).find((x) => x.name === attr);
    if (!p) throw new CibError(`resource "${id}" has no meta attribute "${attr}"`);
    process.stdout.write(`${p.value ?? ''}\n`);
    return 0;
  }
  await commitCib(handle, setResourceMeta(cib, id, attr, op === 'set' ? value : undefined));
  return 0;
}

/**
 * restart: target-role=Stopped, wait until the resource runs nowhere (the
 * live cluster's status, polled), then target-role=Started. On a CIB file
 * nothing runs, so it is stop then start.
 */
async function restart(ids: string[]): Promise<number> {
  let handle = await loadCib();
  for (const id of ids) requireResource(handle.cib, id);
  let next = handle.cib;
  for (const id of ids) next = setResourceMeta(next, id, 'target-role', 'Stopped');
  await commitCib(handle, next);
  if (handle.path === undefined) {
    const start = Date.now();
    process.stdout.write(`INFO: ordering ${ids.join(', ')} to stop\n`);
    for (;;) {
      handle = await loadCib();
      const still = ids.filter((id) => runningNodes(stateOf(handle.cib, id)).length > 0);
      if (still.length === 0) break;
      if (Date.now() - start > RESTART_WAIT_MS) {
        throw new CibError(`${still.join(', ')} did not stop within ${RESTART_WAIT_MS / 1000} s; it stays stopped (target-role=Stopped): look at crm_mon, then crm resource start ${still.join(' ')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } else handle = await loadCib();
  next = handle.cib;
  for (const id of ids) next = setResourceMeta(next, id, 'target-role', 'Started');
  await commitCib(handle, next);
  if (handle.path === undefined) process.stdout.write(`INFO: ordering ${ids.join(', ')} to start\n`);
  return 0;
}
