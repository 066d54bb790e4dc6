/** The CIBs of the reference scenarios (../shared/reference/pacemaker-2.1.5). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cib, LrmOp, NodeState } from '../../src/cib/model.js';
import { parseCibXml } from '../../src/cib/xml.js';

export const REF = join(import.meta.dirname, '../../../shared/reference/pacemaker-2.1.5');
export const ref = (f: string) => readFileSync(join(REF, f), 'utf8');
export const at = (hms: string) => Date.parse(`2026-11-22T${hms}Z`) / 1000;

export function healthyCib(): Cib {
  return parseCibXml(ref('cibadmin_query.xml'), 'cibadmin_query.xml');
}

export function op(rsc: string, operation: string, interval: number, call: number, rc: number, when: string, exec: number, queue = 0, expected = 0): LrmOp {
  return {
    id: interval > 0 ? `${rsc}_${operation}_${interval}` : `${rsc}_last_0`,
    operation,
    interval: String(interval),
    callId: String(call),
    rcCode: String(rc),
    opStatus: '0',
    transitionKey: `1:1:${expected}:4dbf8148-1263-41b8-b1bc-c32ef290c8b6`,
    lastRcChange: String(at(when)),
    lastRun: String(at(when)),
    execTime: String(exec),
    queueTime: String(queue),
  };
}

export function nodeState(cib: Cib, name: string): NodeState {
  const ns = cib.status!.find((s) => s.uname === name);
  if (!ns) throw new Error(`no node_state for ${name}`);
  return ns;
}

function setHistory(cib: Cib, node: string, rsc: string, type: string, ops: LrmOp[]): void {
  const ns = nodeState(cib, node);
  ns.lrm ??= { resources: [] };
  const list = ns.lrm.resources;
  const i = list.findIndex((r) => r.id === rsc);
  const entry = { id: rsc, class: 'ocf', provider: 'heartbeat', type, ops };
  if (i >= 0) list[i] = entry;
  else list.push(entry);
}

/** n1 crashed: out of the membership, its history gone; FloatIP recovered on n2 (reference: crm_mon-1-node-offline). */
export function offlineCib(): Cib {
  const cib = healthyCib();
  const n1 = nodeState(cib, 'n1');
  Object.assign(n1, { inCcm: 'false', crmd: 'offline', join: 'down' });
  n1.lrm = { resources: [] };
  n1.transientAttributes = [];
  setHistory(cib, 'n2', 'FloatIP', 'IPaddr2', [op('FloatIP', 'start', 0, 13, 0, '02:25:55', 82), op('FloatIP', 'monitor', 15000, 14, 0, '02:25:55', 85)]);
  return cib;
}

/** `crm node standby n1`: everything left n1, n3 is the DC now (reference: crm_mon-1-standby). */
export function standbyCib(): Cib {
  const cib = healthyCib();
  cib.dcUuid = '3';
  cib.extra = { ...cib.extra, 'cib-last-written': 'Sun Nov 22 02:29:32 2026' };
  cib.configuration.nodes[0]!.instanceAttributes = [{ id: 'nodes-1', rules: [], nvpairs: [{ id: 'nodes-1-standby', name: 'standby', value: 'on' }] }];
  setHistory(cib, 'n1', 'FloatIP', 'IPaddr2', [op('FloatIP', 'monitor', 15000, 14, 0, '02:29:02', 45), op('FloatIP', 'stop', 0, 16, 0, '02:29:32', 110)]);
  setHistory(cib, 'n1', 'nginx', 'nginx', [op('nginx', 'monitor', 15000, 12, 0, '02:28:35', 47), op('nginx', 'stop', 0, 18, 0, '02:29:32', 1098)]);
  setHistory(cib, 'n2', 'FloatIP', 'IPaddr2', [op('FloatIP', 'start', 0, 13, 0, '02:29:32', 63), op('FloatIP', 'monitor', 15000, 14, 0, '02:29:32', 55)]);
  setHistory(cib, 'n2', 'nginx', 'nginx', [op('nginx', 'start', 0, 11, 0, '02:29:12', 95), op('nginx', 'monitor', 15000, 12, 0, '02:29:12', 66, 7)]);
  return cib;
}

