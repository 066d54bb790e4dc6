/**
 * belayd's metrics shell: keeps the few things that are history rather than
 * state (failover durations, scheduler run times, transitions seen), and
 * serves the text of src/metrics/cluster.ts on `metrics_listen`.
 */
import type { Cib } from '../cib/model.js';
import type { SchedulePort } from '../controller/core.js';
import type { FenceHistoryLike } from '../alerts/events.js';
import type { MonInput } from '../status/mon.js';
import { clusterFamilies, type BelayCounters, type RingView } from './cluster.js';
import { Histogram, renderFamilies } from './exposition.js';
import { FailoverTracker, placementOf } from './failover.js';
import { MetricsServer } from './server.js';

/** What belayd's status snapshot holds (src/daemon/belayd.ts statusSnapshot). */
export interface DaemonSnapshot {
  node: { id: number; name: string; address: string };
  dc: { id: number; name: string } | null;
  membership: { ringId: string; members: number[]; quorate: boolean };
  transition: { id: number; state: string; inFlight: number } | null;
  lastChange?: { at: number; user?: string; client?: string; origin?: string };
  now: number;
  cib: Cib;
  /** The fencing history (stonith_admin --history), oldest first, where belayd keeps one. */
  fencing?: ReadonlyArray<FenceHistoryLike & { requestedAt?: number; completedAt?: number }>;
}

export interface MetricsSource {
  snapshot(): DaemonSnapshot;
  ring(): unknown;
  counters: BelayCounters;
  nodes: Array<{ id: number; name: string; votes: number }>;
  /** Alert agent runs by result, when alerts are on. */
  alertsRun?: () => Record<string, number>;
}

/** Failovers take seconds to minutes (fencing, agent start timeouts). */
const FAILOVER_BUCKETS = [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];
/** Scheduler runs take milliseconds on small clusters. */
const SCHEDULER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class BelaydMetrics {
  readonly failover = new Histogram(FAILOVER_BUCKETS);
  readonly scheduler = new Histogram(SCHEDULER_BUCKETS);
  readonly transitions: Record<string, number> = {};
  private readonly tracker = new FailoverTracker();
  private lastKey = '';
  private lastTransition: { id: number; state: string; counted: boolean } | undefined;
  private server: MetricsServer | undefined;
  private source: MetricsSource | undefined;

  /** The scheduler port, timed. */
  timed(port: SchedulePort): SchedulePort {
    return (cib, now) => {
      const t0 = process.hrtime.bigint();
      try {
        return port(cib, now);
      } finally {
        this.scheduler.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    };
  }

  async listen(address: string, source: MetricsSource): Promise<{ host: string; port: number }> {
    this.source = source;
    this.server = new MetricsServer(() => this.text(), 'belayd');
    return this.server.listen(address);
  }

  /** Called after every change belayd handles: cheap unless the CIB or membership moved. */
  observe(s: DaemonSnapshot, nowMs = Date.now()): Array<{ rsc: string; from: string; to: string; seconds: number }> {
    if (!this.source) return []; // metrics off: keep no history
    const t = s.transition;
    if (t) {
      if (this.lastTransition && this.lastTransition.id !== t.id && !this.lastTransition.counted) this.count('superseded');
      if (!this.lastTransition || this.lastTransition.id !== t.id) this.lastTransition = { id: t.id, state: t.state, counted: false };
      if (t.state !== 'running' && !this.lastTransition.counted) {
        this.count(t.state);
        this.lastTransition.counted = true;
      }
    }
    const key = `${s.cib.adminEpoch}.${s.cib.epoch}.${s.cib.numUpdates}|${s.membership.ringId}|${s.membership.members.join(',')}`;
    if (key === this.lastKey) return [];
    this.lastKey = key;
    const names = s.membership.members.map((id) => this.source?.nodes.find((n) => n.id === id)?.name ?? String(id));
    const done = this.tracker.update(placementOf(s.cib, s.now, names), nowMs);
    for (const d of done) this.failover.observe(d.seconds);
    return done;
  }

  private count(result: string): void {
    this.transitions[result] = (this.transitions[result] ?? 0) + 1;
  }

  text(): string {
    const src = this.source;
    if (!src) throw new Error('metrics are not set up');
    const s = src.snapshot();
    const mon = monInputOf(s);
    const ring = src.ring() as Partial<RingView>;
    const input = {
      mon,
      self: s.node,
      nodes: src.nodes,
      membership: s.membership,
      counters: src.counters,
      transitions: this.transitions,
      failover: this.failover,
      scheduler: this.scheduler,
      ...(src.alertsRun ? { alertsRun: src.alertsRun() } : {}),
      ...(ring && ring.quorum && ring.counters ? { ring: ring as RingView } : {}),
    };
    return renderFamilies(clusterFamilies(input));
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}

/** crm_mon's input from a belayd snapshot (the metrics and the web console show the same view). */
export function monInputOf(s: DaemonSnapshot): MonInput {
  const input: MonInput = {
    cib: s.cib,
    now: s.now,
    dc: s.dc ? { id: String(s.dc.id), name: s.dc.name } : null,
    quorate: s.membership.quorate,
    version: 'belay',
    stack: 'belay',
  };
  if (s.lastChange && s.lastChange.at > 0) input.lastChange = s.lastChange;
  return input;
}
