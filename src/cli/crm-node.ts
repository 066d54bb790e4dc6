/**
 * `crm node ...` on a CIB file: standby/online and maintenance/ready set the
 * node attributes `standby` / `maintenance` (on/off), as crmsh does through
 * crm_attribute; `attribute` sets any node attribute.
 */
import { hostname } from 'node:os';
import { nodeAttribute, setNodeAttribute } from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import { adminSocketPath, commitCib, loadCib } from './crm-cibfile.js';

const HELP = `usage: crm node COMMAND ...
  standby [NODE] [reboot|forever]    put a node in standby (standby=on)
  online [NODE]                      take it out of standby (standby=off)
  maintenance [NODE]                 maintenance=on
  ready [NODE]                       maintenance=off
  attribute NODE set NAME VALUE | delete NAME | show NAME
  fence NODE                         fence a node (the cluster does it: terminate=true)
  clearstate NODE                    the node is down and clean: forget its state
                                     (stonith_admin --confirm; a cleanup when it is online)
  list                               nodes as crm_node -l: ID NAME member|lost
  show [NODE]                        nodes, their state and attributes (crmsh)
NODE defaults to this host's name. "reboot" keeps the attribute in the status
section (gone when the node restarts); the default is "forever".
`;

export async function runNode(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'standby':
    case 'online':
    case 'maintenance':
    case 'ready': {
      const lifetimes = ['reboot', 'forever', 'lifetime=reboot', 'lifetime=forever'];
      const life = rest.find((a) => lifetimes.includes(a))?.replace('lifetime=', '') as 'reboot' | 'forever' | undefined;
      const names = rest.filter((a) => !lifetimes.includes(a));
      if (names.length > 1) throw new CibError(`crm node ${cmd}: one node at a time (got ${names.join(', ')})`);
      const attr = cmd === 'standby' || cmd === 'online' ? 'standby' : 'maintenance';
      const value = cmd === 'standby' || cmd === 'maintenance' ? 'on' : 'off';
      const handle = await loadCib();
      const cib = handle.cib;
      // As crmsh: this node by default (belayd's own name on a live cluster).
      const node = names[0] ?? handle.localNode ?? hostname();
      let next = setNodeAttribute(cib, node, attr, value, life ?? 'forever');
      // "online" after a "standby ... reboot" must clear the transient one too.
      if (value === 'off' && life === undefined) next = setNodeAttribute(next, node, attr, undefined, 'reboot');
      await commitCib(handle, next);
      return 0;
    }
    case 'attribute': {
      const [node, op, name, value] = rest;
      if (!node || !name || (op !== 'set' && op !== 'delete' && op !== 'show') || (op === 'set' && value === undefined)) {
        throw new CibError('usage: crm node attribute NODE set NAME VALUE | delete NAME | show NAME');
      }
      const handle = await loadCib();
      const cib = handle.cib;
      if (op === 'show') {
        const v = nodeAttribute(cib, node, name);
        if (v === undefined) throw new CibError(`node "${node}" has no attribute "${name}"`);
        process.stdout.write(`scope=nodes  name=${name} value=${v}\n`);
        return 0;
      }
      await commitCib(handle, setNodeAttribute(cib, node, name, op === 'set' ? value : undefined));
      return 0;
    }
    case 'fence': {
      // As crmsh: ask the scheduler to fence the node ("termination was requested").
      const node = rest[0];
      if (!node || rest.length > 1) throw new CibError('usage: crm node fence NODE');
      const handle = await loadCib();
      if (!handle.cib.configuration.nodes.some((n) => n.uname === node)) throw new CibError(`node "${node}" does not exist`);
      await commitCib(handle, setNodeAttribute(handle.cib, node, 'terminate', 'true', 'reboot'));
      return 0;
    }
    case 'clearstate':
      return clearState(rest);
    case 'list':
    case 'show': {
      const handle = await loadCib();
      const cib = handle.cib;
      const nodes = cmd === 'show' && rest[0] !== undefined ? cib.configuration.nodes.filter((n) => n.uname === rest[0]) : cib.configuration.nodes;
      if (nodes.length === 0 && rest[0] !== undefined) throw new CibError(`node "${rest[0]}" does not exist`);
      const lines: string[] = [];
      for (const n of nodes) {
        const ns = (cib.status ?? []).find((s) => s.id === n.id || s.uname === n.uname);
        const member = ns?.inCcm === 'true' || (ns?.inCcm !== undefined && Number(ns.inCcm) > 0);
        if (cmd === 'list') {
          lines.push(`${n.id} ${n.uname} ${member ? 'member' : 'lost'}`);
          continue;
        }
        lines.push(`${n.uname}(${n.id}): ${n.type ?? 'member'}${member ? '' : ' (offline)'}`);
        for (const set of n.instanceAttributes) for (const p of set.nvpairs) lines.push(`\t${p.name}=${p.value ?? ''}`);
      }
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case undefined:
    case 'help':
      process.stdout.write(HELP);
      return cmd === undefined ? 1 : 0;
    default:
      throw new CibError(`crm node: unknown command "${cmd}" (known: standby, online, maintenance, ready, attribute, list, show)`);
  }
}

/**
 * crm node clearstate, as crmsh: an online node gets its resources cleaned
 * up; a node the membership still has but whose daemon is gone is refused;
 * otherwise the operator confirms it down (stonith_admin --confirm), and the
 * cluster forgets its state and recovers its resources.
 */
async function clearState(rest: string[]): Promise<number> {
  const node = rest[0];
  if (!node || rest.length > 1) throw new CibError('usage: crm node clearstate NODE');
  const handle = await loadCib();
  const cib = handle.cib;
  if (!cib.configuration.nodes.some((n) => n.uname === node)) throw new CibError(`node "${node}" does not exist`);
  const ns = (cib.status ?? []).find((s) => s.uname === node);
  const live = handle.path === undefined;
  if (ns?.crmd === 'online') {
    if (!live) throw new CibError(`node "${node}" is online: clean up its resources on the live cluster (crm resource cleanup --node ${node})`);
    const { adminCall } = await import('../admin/socket.js');
    await adminCall(adminSocketPath(), 'cleanup', { node });
    return 0;
  }
  if (ns?.inCcm === 'true') {
    process.stderr.write(`WARNING: Node is offline according to the cluster, but online according to the membership. First shut down node '${node}'\n`);
    return 1;
  }
  if (live) {
    const { adminCall } = await import('../admin/socket.js');
    try {
      await adminCall(adminSocketPath(), 'fence-confirm', { target: node, client: 'crm' });
    } catch (err) {
      throw new CibError((err as Error).message);
    }
    return 0;
  }
  // A CIB file: the node is down and clean, its history gone (what a confirmed fence records).
  const next = structuredClone(cib);
  const st = (next.status ?? []).find((s) => s.uname === node);
  if (st) Object.assign(st, { inCcm: 'false', crmd: 'offline', join: 'down', expected: 'down', lrm: { resources: [] }, transientAttributes: [] });
  await commitCib(handle, next);
  return 0;
}
