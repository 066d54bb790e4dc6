/**
 * Failover durations, measured from what a node sees: a resource ran on a
 * node, the node left the membership, and the resource is later seen running
 * on another member. The duration is from the membership change to that
 * first sighting. Pure: the caller passes each new placement and the time.
 */
import type { Cib } from '../cib/model.js';
import { unpack } from '../scheduler/index.js';
import type { Rsc } from '../scheduler/types.js';

export interface PlacementView {
  /** Node names in the membership. */
  members: string[];
  /** Primitive resources outside clones, by id: the nodes they run on. */
  running: Map<string, string[]>;
}

/** Give up on a failover that never completes after this long (ms). */
const FORGET_AFTER_MS = 3_600_000;

export class FailoverTracker {
  private prev: PlacementView | undefined;
  private readonly pending = new Map<string, { from: string; since: number }>();

  /** Feed the next view; returns the failovers completed by it, in seconds. */
  update(view: PlacementView, nowMs: number): Array<{ rsc: string; from: string; to: string; seconds: number }> {
    const done: Array<{ rsc: string; from: string; to: string; seconds: number }> = [];
    const members = new Set(view.members);
    if (this.prev) {
      const lost = this.prev.members.filter((n) => !members.has(n));
      for (const [rsc, nodes] of this.prev.running) {
        const from = nodes.find((n) => lost.includes(n));
        if (from !== undefined && !this.pending.has(rsc)) this.pending.set(rsc, { from, since: nowMs });
      }
    }
    for (const [rsc, p] of this.pending) {
      const now = view.running.get(rsc) ?? [];
      const to = now.find((n) => n !== p.from && members.has(n));
      if (to !== undefined) {
        done.push({ rsc, from: p.from, to, seconds: (nowMs - p.since) / 1000 });
        this.pending.delete(rsc);
      } else if ((members.has(p.from) && now.includes(p.from)) || nowMs - p.since > FORGET_AFTER_MS || !view.running.has(rsc)) {
        // Back where it was (the node returned), given up, or no longer configured.
        this.pending.delete(rsc);
      }
    }
    this.prev = view;
    return done;
  }
}

/** Where each primitive outside a clone runs, as the scheduler reads the CIB. */
export function placementOf(cib: Cib, nowSeconds: number, members: string[]): PlacementView {
  const running = new Map<string, string[]>();
  const walk = (r: Rsc) => {
    if (r.kind === 'clone') return;
    if (r.kind === 'primitive') running.set(r.id, r.running.map((n) => n.name));
    for (const c of r.children) walk(c);
  };
  for (const r of unpack(cib, nowSeconds).resources) walk(r);
  return { members, running };
}
