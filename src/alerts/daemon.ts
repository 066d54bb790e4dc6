/**
 * belayd's alert shell: after every change it compares the new view with
 * the last one (src/alerts/events.ts), picks the events this node sends
 * (as Pacemaker: node and fencing events on every node, resource results
 * and attribute changes on the node they happened on), filters them by
 * each alert's <select>, and runs the agents, one process per recipient,
 * all at once, each with its timeout (killed as a process group after it).
 */
import type { Cib } from '../cib/model.js';
import { runAgentProcess } from '../executor/run.js';
import { alertsFromCib, type AlertDef } from './config.js';
import { alertEnv } from './env.js';
import { alertEvents, alertView, fencingRecords, type AlertEvent, type AlertView, type FenceHistoryLike, type FencingRecord } from './events.js';

export interface AlertSnapshot {
  node: { id: number; name: string };
  membership: { members: number[] };
  cib: Cib;
  fencing?: readonly FenceHistoryLike[];
}

/** Events whose result was recorded this long before we started are history, not news (s). */
const STALE_AFTER_S = 5;

export class AlertDispatcher {
  private prev: AlertView | undefined;
  private lastKey = '';
  private sequence = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private lastWarnings = '';
  private closed = false;
  /** Agent runs by result (ok, failed, timeout, spawn-error), for the metrics. */
  readonly runs: Record<string, number> = {};

  constructor(
    private readonly names: Map<number, string>,
    private readonly log: (line: string) => void,
    /** The fencing history as alert records; without it, the snapshot's `fencing` is read. */
    private readonly fencing?: () => FencingRecord[],
  ) {}

  observe(s: AlertSnapshot, nowMs = Date.now()): AlertEvent[] {
    if (this.closed) return [];
    const fencing = this.fencing ? this.fencing() : fencingRecords(s.fencing ?? []);
    const key = `${s.cib.adminEpoch}.${s.cib.epoch}.${s.cib.numUpdates}|${s.membership.members.join(',')}|${fencing.map((f) => `${f.id}${f.completed ? '+' : '-'}`).join(',')}`;
    if (key === this.lastKey) return [];
    this.lastKey = key;
    // No alerts configured: nothing to compare; the first view after they are added is the baseline.
    if (!s.cib.configuration.otherSections.some((x) => x.tag === 'alerts')) {
      this.prev = undefined;
      return [];
    }
    const view = alertView(s.cib, s.membership.members, this.names, fencing);
    const events = alertEvents(this.prev, view).filter((e) => this.mine(e, s.node.name));
    this.prev = view;
    if (events.length === 0) return [];
    const { alerts, warnings } = alertsFromCib(s.cib);
    const w = warnings.join('; ');
    if (w && w !== this.lastWarnings) this.log(`alerts: ${w}`);
    this.lastWarnings = w;
    for (const ev of events) this.send(alerts, ev, nowMs);
    return events;
  }

  private mine(e: AlertEvent, self: string): boolean {
    if (e.kind === 'node' || e.kind === 'fencing') return true;
    if (e.node !== self) return false;
    return !(e.kind === 'resource' && e.at !== undefined && e.at < this.startedAt - STALE_AFTER_S);
  }

  private send(alerts: AlertDef[], ev: AlertEvent, nowMs: number): void {
    for (const a of alerts) {
      if (!a.select.kinds.has(ev.kind)) continue;
      if (ev.kind === 'attribute' && a.select.attributes.length > 0 && !a.select.attributes.includes(ev.name)) continue;
      for (const r of a.recipients) {
        const env = alertEnv(r, ev, { sequence: ++this.sequence, nowMs });
        this.track(this.runOne(a, r.id, env, r.timeoutMs));
      }
    }
  }

  private async runOne(a: AlertDef, recipient: string, env: Record<string, string>, timeoutMs: number): Promise<void> {
    const r = await runAgentProcess({ file: a.path, args: [], env, timeoutMs });
    const result = r.spawnError ? 'spawn-error' : r.timedOut ? 'timeout' : r.exitCode === 0 ? 'ok' : 'failed';
    this.runs[result] = (this.runs[result] ?? 0) + 1;
    if (result !== 'ok') {
      const why = r.spawnError ? `cannot run ${a.path}: ${r.spawnError}` : r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.exitCode ?? r.signal}`;
      const out = (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? '';
      this.log(`alert ${a.id} (recipient ${recipient}, ${env['CRM_alert_kind']}): ${why}${out ? `: ${out}` : ''}`);
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Wait for agents still running (each is bounded by its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
  }
}
