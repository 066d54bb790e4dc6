/**
 * crm_simulate's text output, as a pure function of a CIB and "now":
 * the sections Current cluster status, Transition Summary, Executing
 * Cluster Transition and Revised Cluster Status.
 */
import type { Cib } from '../cib/model.js';
import { schedule, unpack, simulateTransition, type SchedulerCompat } from '../scheduler/index.js';
import type { Action } from '../scheduler/actions.js';
import { formatClusterStatus, formatCounts } from './format.js';

export interface SimulateOptions {
  simulate: boolean;
  run: boolean;
  showScores: boolean;
  quiet: boolean;
  now: number;
  /** Which Pacemaker release's placement to follow (default 3.0). */
  compat?: SchedulerCompat;
}

export interface SimulateOutput {
  stdout: string[];
  stderr: string[];
  scores: string[];
}

export function actionLine(a: Action): string {
  const key = (task: string, interval: number) => `${a.rsc ? a.rsc.id : ''}_${task}_${interval}`;
  if (a.fence) return `  * Fencing ${a.node?.name ?? ''} (reboot)`;
  if (a.cluster) return `  * Cluster action:  ${a.task} for ${a.rsc?.id ?? ''} on ${a.node?.name ?? ''}`;
  if (a.pseudo) return `  * Pseudo action:   ${a.rsc ? key(a.task, a.interval) : a.task}`;
  const task = a.task === 'monitor' && a.interval > 0 ? `monitor=${a.interval}` : a.task;
  return `  * Resource action: ${(a.rsc?.id ?? '').padEnd(15)} ${task} on ${a.node?.name ?? ''}`;
}

export function crmSimulate(cib: Cib, opts: SimulateOptions): SimulateOutput {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const res = schedule(cib, opts.now, { scores: opts.showScores, compat: opts.compat });
  if (!opts.quiet) {
    const current = unpack(cib, opts.now);
    const counts = formatCounts(current);
    if (counts.length) stdout.push(...counts, '');
    stdout.push('Current cluster status:', ...formatClusterStatus(current), '');
  }
  if (opts.showScores && !opts.quiet) {
    stdout.push(...res.scores);
    stdout.push('');
  }
  if (opts.simulate || opts.run) {
    stdout.push('Transition Summary:', ...res.summaryLines);
  }
  if (opts.simulate) {
    stdout.push('', 'Executing Cluster Transition:', ...res.actions.map(actionLine));
    const revised = simulateTransition(cib, res.actions, opts.now);
    if (!opts.quiet) {
      const ws2 = unpack(revised, opts.now);
      stdout.push('', 'Revised Cluster Status:', ...formatClusterStatus(ws2));
    }
  }
  for (const d of res.diagnostics) stderr.push(`${d.level}: ${d.message}`);
  return { stdout, stderr, scores: res.scores };
}
