/**
 * Fencing history, as Pacemaker's fencer keeps it (stonith_admin --history,
 * crm_mon -m): one entry per fencing operation, replicated through the
 * agreed stream so every node shows the same history. Pure.
 */

export type FenceRequestAction = 'reboot' | 'off' | 'on';

export interface FenceEvent {
  /** Unique per request: "<origin node id>-<sequence>". */
  id: string;
  target: string;
  action: FenceRequestAction;
  state: 'pending' | 'done' | 'failed';
  /** The node that asked (the DC for the scheduler's fencing). */
  origin: string;
  /** Who asked there: pacemaker-controld, stonith_admin, crm. */
  client: string;
  /** The node that ran the device (Pacemaker's "delegate"). */
  executioner?: string;
  /** Devices that did it (or "manual ack"). */
  devices?: string[];
  /** Seconds since the epoch, from the sender's clock. */
  requestedAt: number;
  completedAt?: number;
  exitReason?: string;
}

/** Pacemaker keeps the last 500 operations. */
export const HISTORY_LIMIT = 500;

export function upsertEvent(history: readonly FenceEvent[], event: FenceEvent): FenceEvent[] {
  const out = history.filter((e) => e.id !== event.id);
  out.push(event);
  return out.length > HISTORY_LIMIT ? out.slice(out.length - HISTORY_LIMIT) : out;
}

/** The newest entry of each state for a target, as stonith_admin -H shows them (newest first). */
export function historyFor(history: readonly FenceEvent[], target: string | undefined): FenceEvent[] {
  const list = history.filter((e) => target === undefined || target === '*' || e.target === target);
  return list.slice().sort((a, b) => (b.completedAt ?? b.requestedAt) - (a.completedAt ?? a.requestedAt) || (b.id < a.id ? -1 : 1));
}
