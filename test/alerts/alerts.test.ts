/**
 * Pacemaker alerts: the CIB's <alerts> read as Pacemaker reads them, alert
 * events as a pure diff of two views, the agent environment, and the
 * shipped sample agent (alert_file.sh.sample) run unchanged by the shell.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyCib, type Cib, type LrmOp } from '../../src/cib/model.js';
import { parseCibXml } from '../../src/cib/xml.js';
import { alertsFromCib } from '../../src/alerts/config.js';
import { alertEvents, alertView, fencingRecords, type AlertEvent } from '../../src/alerts/events.js';
import { alertEnv, formatTimestamp } from '../../src/alerts/env.js';
import { AlertDispatcher } from '../../src/alerts/daemon.js';

const SAMPLE = '/usr/share/pacemaker/alerts/alert_file.sh.sample';
const work = mkdtempSync(join(tmpdir(), 'belay-alerts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cibWithAlerts(alertsXml: string): Cib {
  return parseCibXml(
    `<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes/><resources/><constraints/>${alertsXml}</configuration><status/></cib>`,
    'test.xml',
  );
}

const ALERTS = `<alerts>
  <alert id="file" path="/usr/local/bin/alert_file.sh">
    <meta_attributes id="file-meta"><nvpair id="m1" name="timeout" value="15s"/><nvpair id="m2" name="timestamp-format" value="%Y-%m-%d %H:%M:%S"/></meta_attributes>
    <instance_attributes id="file-inst"><nvpair id="i1" name="debug_exec_order" value="false"/></instance_attributes>
    <select><select_nodes/><select_resources/></select>
    <recipient id="file-log" value="/var/log/a.log"/>
    <recipient id="file-log2" value="/var/log/b.log">
      <meta_attributes id="r2-meta"><nvpair id="m3" name="timeout" value="2s"/></meta_attributes>
    </recipient>
  </alert>
  <alert id="all" path="/usr/local/bin/all.sh"/>
  <alert id="attrs" path="/usr/local/bin/attrs.sh"><select><select_attributes><attribute id="a1" name="standby"/></select_attributes></select></alert>
  <alert id="bad" path="relative.sh"/>
</alerts>`;

describe('alerts from the CIB', () => {
  it('reads paths, meta and instance attributes, select filters and recipients as Pacemaker', () => {
    const { alerts, warnings } = alertsFromCib(cibWithAlerts(ALERTS));
    expect(alerts.map((a) => a.id)).toEqual(['file', 'all', 'attrs']);
    expect(warnings.join()).toMatch(/alert bad: path 'relative.sh' is not an absolute path/);
    const [file, all, attrs] = alerts;
    expect([...file!.select.kinds].sort()).toEqual(['node', 'resource']);
    expect(file!.recipients.map((r) => [r.value, r.timeoutMs, r.timestampFormat])).toEqual([
      ['/var/log/a.log', 15000, '%Y-%m-%d %H:%M:%S'],
      ['/var/log/b.log', 2000, '%Y-%m-%d %H:%M:%S'],
    ]);
    expect(file!.recipients[0]!.env).toEqual({ debug_exec_order: 'false' });
    // No <select>: everything but attributes. No recipient: one run with an empty recipient.
    expect([...all!.select.kinds].sort()).toEqual(['fencing', 'node', 'resource']);
    expect(all!.recipients).toHaveLength(1);
    expect(all!.recipients[0]!.value).toBe('');
    expect(all!.recipients[0]!.timeoutMs).toBe(30000);
    expect(all!.recipients[0]!.timestampFormat).toBe('%H:%M:%S.%06N');
    expect([...attrs!.select.kinds]).toEqual(['attribute']);
    expect(attrs!.select.attributes).toEqual(['standby']);
  });
});

function op(id: string, operation: string, interval: number, call: number, rc: number, target = 0, status = 0): LrmOp {
  return {
    id,
    operation,
    interval: String(interval),
    callId: String(call),
    rcCode: String(rc),
    opStatus: String(status),
    transitionKey: `3:7:${target}:4dbf8148-1263-41b8-b1bc-c32ef290c8b6`,
    lastRcChange: '1800000000',
    execTime: '12',
  };
}

function statusCib(entries: Array<{ node: string; rsc: string; ops: LrmOp[] }>, attrs: Record<string, Record<string, string>> = {}): Cib {
  const cib = emptyCib();
  const nodes = new Set([...entries.map((e) => e.node), ...Object.keys(attrs)]);
  cib.status = [...nodes].map((node, i) => ({
    id: String(i + 1),
    uname: node,
    transientAttributes: [{ rules: [], nvpairs: Object.entries(attrs[node] ?? {}).map(([name, value]) => ({ name, value })) }],
    lrm: { resources: entries.filter((e) => e.node === node).map((e) => ({ id: e.rsc, class: 'ocf', provider: 'belay', type: 'FloatIP', ops: e.ops })) },
  }));
  return cib;
}

const names = new Map([
  [1, 'n1'],
  [2, 'n2'],
  [3, 'n3'],
]);

describe('alert events: a pure diff of two views', () => {
  it('node loss, the resulting start elsewhere, and what Pacemaker does not alert', () => {
    const before = alertView(statusCib([{ node: 'n1', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 5, 0), op('ip_monitor_5000', 'monitor', 5000, 6, 0)] }]), [1, 2, 3], names);
    const after = alertView(
      statusCib([
        { node: 'n1', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 5, 0), op('ip_monitor_5000', 'monitor', 5000, 6, 0)] },
        // n2: a probe that found it stopped (expected: no alert), then a start.
        { node: 'n2', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 9, 0), op('ip_monitor_5000', 'monitor', 5000, 10, 0)] },
        { node: 'n3', rsc: 'ip', ops: [op('ip_last_0', 'monitor', 0, 3, 7, 7)] },
      ]),
      [2, 3],
      names,
    );
    const events = alertEvents(before, after);
    expect(events).toEqual<AlertEvent[]>([
      { kind: 'node', node: 'n1', nodeId: '1', desc: 'lost' },
      { kind: 'resource', node: 'n2', rsc: 'ip', task: 'start', intervalMs: 0, rc: 0, targetRc: 0, status: 0, desc: 'ok', execTimeMs: 12, at: 1800000000 },
      { kind: 'resource', node: 'n2', rsc: 'ip', task: 'monitor', intervalMs: 5000, rc: 0, targetRc: 0, status: 0, desc: 'ok', execTimeMs: 12, at: 1800000000 },
    ]);
    // Nothing changed: nothing to say. The first view is the baseline.
    expect(alertEvents(after, after)).toEqual([]);
    expect(alertEvents(undefined, after)).toEqual([]);
  });

  it('failed monitors, timeouts, rejoining nodes, fencing and attributes', () => {
    const a = alertView(statusCib([{ node: 'n1', rsc: 'web', ops: [op('web_monitor_2000', 'monitor', 2000, 6, 0)] }], { n1: { standby: 'off' } }), [1, 2], names);
    const b = alertView(
      statusCib([{ node: 'n1', rsc: 'web', ops: [op('web_monitor_2000', 'monitor', 2000, 6, 7), op('web_last_failure_0', 'stop', 0, 8, 1, 0, 2)] }], { n1: { standby: 'on' } }),
      [1, 2, 3],
      names,
      [{ id: 'f1', target: 'n3', action: 'reboot', rc: 0, origin: 'n1', executioner: 'n2', client: 'pacemaker-controld.1234', completed: true }],
    );
    const events = alertEvents(a, b);
    expect(events).toContainEqual({ kind: 'node', node: 'n3', nodeId: '3', desc: 'member' });
    expect(events).toContainEqual({ kind: 'fencing', node: 'n3', task: 'reboot', rc: 0, desc: 'Operation reboot of n3 by n2 for pacemaker-controld.1234@n1: OK' });
    expect(events.find((e) => e.kind === 'resource' && e.task === 'monitor')).toMatchObject({ rc: 7, desc: 'not running' });
    expect(events.find((e) => e.kind === 'resource' && e.task === 'stop')).toMatchObject({ status: 2, desc: 'Timed Out' });
    expect(events).toContainEqual({ kind: 'attribute', node: 'n1', name: 'standby', value: 'on' });
  });
});

describe('fencing alerts from the fencing history', () => {
  it('alert once an operation finishes, with the fencer summary', () => {
    const pending = fencingRecords([{ id: '1-1', target: 'n3', action: 'reboot', state: 'pending', origin: 'n1', client: 'pacemaker-controld' }]);
    const done = fencingRecords([
      { id: '1-1', target: 'n3', action: 'reboot', state: 'done', origin: 'n1', client: 'pacemaker-controld', executioner: 'n2' },
      { id: '1-2', target: 'n2', action: 'off', state: 'failed', origin: 'n1', client: 'stonith_admin', executioner: 'n1', exitReason: 'device timed out' },
    ]);
    const cib = statusCib([]);
    const a = alertView(cib, [1, 2], names, pending);
    expect(alertEvents(alertView(cib, [1, 2], names, []), a)).toEqual([]);
    expect(alertEvents(a, alertView(cib, [1, 2], names, done))).toEqual([
      { kind: 'fencing', node: 'n3', task: 'reboot', rc: 0, desc: 'Operation reboot of n3 by n2 for pacemaker-controld@n1: OK' },
      { kind: 'fencing', node: 'n2', task: 'off', rc: 1, desc: 'Operation off of n2 by n1 for stonith_admin@n1: Error (device timed out)' },
    ]);
  });
});

describe('the agent environment', () => {
  it("sets Pacemaker's CRM_alert_* and CRM_notify_* variables, and the recipient's instance attributes", () => {
    const r = { id: 'r', value: '/var/log/a.log', timeoutMs: 1000, timestampFormat: '%H:%M:%S.%06N', env: { debug_exec_order: 'true', CRM_alert_kind: 'forged' } };
    const env = alertEnv(r, { kind: 'resource', node: 'n2', rsc: 'ip', task: 'start', intervalMs: 0, rc: 0, targetRc: 0, status: 0, desc: 'ok' }, { sequence: 7, nowMs: 1_800_000_000_123 });
    expect(env).toMatchObject({
      CRM_alert_kind: 'resource',
      CRM_alert_node: 'n2',
      CRM_alert_rsc: 'ip',
      CRM_alert_task: 'start',
      CRM_alert_interval: '0',
      CRM_alert_rc: '0',
      CRM_alert_target_rc: '0',
      CRM_alert_status: '0',
      CRM_alert_desc: 'ok',
      CRM_alert_recipient: '/var/log/a.log',
      CRM_alert_node_sequence: '7',
      CRM_alert_timestamp_epoch: '1800000000',
      CRM_alert_timestamp_usec: '123000',
      CRM_notify_rsc: 'ip',
      debug_exec_order: 'true',
    });
    expect(env['CRM_alert_version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(env['CRM_alert_timestamp']).toMatch(/^\d\d:\d\d:\d\d\.123000$/);
    expect(Object.keys(env).filter((k) => !k.startsWith('CRM_') && k !== 'PATH' && k !== 'debug_exec_order')).toEqual([]);
  });

  it('formats timestamps with strftime and %N', () => {
    const t = new Date(2026, 10, 22, 2, 24, 57, 45).getTime();
    expect(formatTimestamp('%Y-%m-%d %H:%M:%S.%06N', t)).toBe('2026-11-22 02:24:57.045000');
    expect(formatTimestamp('%b %e %T.%3N %%', t)).toBe('Nov 22 02:24:57.045 %');
  });
});

describe('the shell runs the sample agent shipped with Pacemaker, unchanged', () => {
  it('alert_file.sh.sample records node and resource events; a hung agent is killed at its timeout', async () => {
    if (!existsSync(SAMPLE)) throw new Error(`${SAMPLE} is missing: apt-get install pacemaker-common (scripts/debian-packages.txt)`);
    const agent = join(work, 'alert_file.sh');
    copyFileSync(SAMPLE, agent);
    chmodSync(agent, 0o755);
    const hung = join(work, 'hung.sh');
    writeFileSync(hung, '#!/bin/sh\nsleep 60\n', { mode: 0o755 });
    const log = join(work, 'alerts.log');
    const alerts = `<alerts><alert id="file" path="${agent}"><recipient id="r" value="${log}"/></alert>
      <alert id="hung" path="${hung}"><meta_attributes id="hm"><nvpair id="hm1" name="timeout" value="1s"/></meta_attributes><select><select_nodes/></select></alert></alerts>`;
    const withAlerts = (c: Cib): Cib => ({ ...c, configuration: cibWithAlerts(alerts).configuration });
    const lines: string[] = [];
    const d = new AlertDispatcher(names, (l) => lines.push(l));
    const node = { id: 2, name: 'n2' };
    const c1 = withAlerts(statusCib([{ node: 'n1', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 5, 0)] }]));
    expect(d.observe({ node, membership: { members: [1, 2, 3] }, cib: c1 })).toEqual([]);
    const c2 = withAlerts(statusCib([{ node: 'n1', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 5, 0)] }, { node: 'n2', rsc: 'ip', ops: [op('ip_last_0', 'start', 0, 9, 0)] }]));
    c2.numUpdates = 1;
    // n1's recorded results are not n2's to alert; node events are everyone's.
    c2.status![0]!.lrm!.resources[0]!.ops[0]!.callId = '6';
    const events = d.observe({ node, membership: { members: [2, 3] }, cib: c2 }, Date.now());
    expect(events.map((e) => `${e.kind}:${e.node}`)).toEqual(['node:n1', 'resource:n2']);
    await d.close();
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/: Node 'n1' is now 'lost'\n/);
    expect(text).toMatch(/: Resource operation 'start' for 'ip' on 'n2': ok\n/);
    expect(d.runs).toEqual({ ok: 2, timeout: 1 });
    expect(lines.join('\n')).toMatch(/alert hung \(recipient hung-no-recipient, node\): timed out after 1000 ms/);
  }, 30_000);
});
