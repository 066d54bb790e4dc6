/**
 * Recurring monitors report the first result and then only changes (as
 * Pacemaker's execd does, so the CIB is not rewritten every interval). Pure.
 */
import type { ExecStatus } from './rc.js';

export interface ResultKey {
  rc: number;
  status: ExecStatus;
}

/** Should this recurring result be reported, given the last one reported? */
export function shouldReportRecurring(last: ResultKey | undefined, next: ResultKey): boolean {
  if (next.status === 'cancelled') return false;
  if (last === undefined) return true;
  return last.rc !== next.rc || last.status !== next.status;
}

/** Key Pacemaker uses for an operation: RSC_ACTION_INTERVALMS (e.g. ip_monitor_10000). */
export function operationKey(rscId: string, action: string, intervalMs: number): string {
  return `${rscId}_${action}_${intervalMs}`;
}
