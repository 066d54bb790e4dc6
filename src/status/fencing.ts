/**
 * crm_mon's fencing sections, in Pacemaker's layout: "Failed Fencing
 * Actions" (shown by default), "Pending Fencing Actions", and with -m the
 * "Fencing History". The history comes from belayd's replicated record.
 */
import type { FenceEvent } from '../fencing/history.js';

const p2 = (n: number) => String(n).padStart(2, '0');

/** Pacemaker's time_t_string: "2026-12-03 09:41:07 +00:00" (local time). */
export function fenceTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const off = -d.getTimezoneOffset();
  const tz = `${off >= 0 ? '+' : '-'}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${tz}`;
}

const STATE = { done: 'successful', failed: 'failed', pending: 'pending' } as const;

/** One history entry as stonith__history_description writes it with details. */
export function fenceEventText(e: FenceEvent, full: boolean, laterSucceeded?: string): string {
  let s = `${e.action} of ${e.target} ${STATE[e.state]}`;
  if (e.state === 'failed' && e.exitReason) s += ` (${e.exitReason})`;
  s += ': ';
  if (e.state !== 'pending' && e.executioner) s += `delegate=${e.executioner}, `;
  s += `client=${e.client}, origin=${e.origin}`;
  if (e.state !== 'pending' && e.completedAt !== undefined) {
    s += `, ${full ? 'completed' : e.state === 'failed' ? 'last-failed' : 'last-successful'}='${fenceTime(e.completedAt)}'`;
  }
  if (e.state === 'failed' && laterSucceeded) s += ` (a later attempt from ${laterSucceeded} succeeded)`;
  return s;
}

/**
 * The sections for crm_mon's text output, newest first. `level` is crm_mon's
 * --fence-history: 0 none, 1 failed and pending (the default), 2 also
 * successful (-m), 3 every entry, not only the last per target and action.
 */
export function fencingSections(history: readonly FenceEvent[] | undefined, level: number): string[] {
  if (!history || history.length === 0 || level <= 0) return [];
  const newest = [...history].reverse();
  // Below level 3, only the last entry per target, action and state.
  const shown = level >= 3 ? newest : newest.filter((e, i) => newest.findIndex((x) => x.target === e.target && x.action === e.action && x.state === e.state) === i);
  const later = (e: FenceEvent) => newest.slice(0, newest.indexOf(e)).find((x) => x.target === e.target && x.state === 'done')?.executioner;
  const out: string[] = [];
  const failed = shown.filter((e) => e.state === 'failed');
  if (failed.length > 0) out.push('', 'Failed Fencing Actions:', ...failed.map((e) => `  * ${fenceEventText(e, level >= 3, later(e))}`));
  const pending = shown.filter((e) => e.state === 'pending');
  if (pending.length > 0) out.push('', 'Pending Fencing Actions:', ...pending.map((e) => `  * ${fenceEventText(e, level >= 3)}`));
  if (level >= 2) {
    const done = shown.filter((e) => e.state === 'done');
    if (done.length > 0) out.push('', 'Fencing History:', ...done.map((e) => `  * ${fenceEventText(e, level >= 3)}`));
  }
  return out;
}
