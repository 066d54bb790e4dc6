/**
 * The policy engine: a pure function of the CIB and "now" giving allocation
 * scores, the placement of every resource instance, the transition graph and
 * the transition summary. No I/O, no clock of its own.
 */
import type { Cib } from '../cib/model.js';
import { clusterOption, unpack, type WorkingSet } from './unpack.js';
import { unpackNvSets } from './rules.js';
import { placeResources } from './assign.js';
import { buildGraph, executableActions, formatSummary, type Action, type Graph, type SummaryLine } from './actions.js';
import type { Diagnostic } from './types.js';

export interface ScheduleResult {
  ws: WorkingSet;
  graph: Graph;
  summary: SummaryLine[];
  /** Transition Summary lines in Pacemaker's format. */
  summaryLines: string[];
  /** Actions to run, in a valid order. */
  actions: Action[];
  /** Allocation score lines (when asked), in the order computed. */
  scores: string[];
  diagnostics: Diagnostic[];
}

/**
 * Which Pacemaker release's placement to follow. The releases differ in how
 * clone instances are assigned (2.1: one pre-assignment try per active
 * instance; 3.0: repeated tries with reserved nodes), how far colocated
 * resources' preferences reach (2.1: each step at full strength; 3.0:
 * attenuated by every score on the way) and in which order colocations
 * are applied (3.0: mandatory ones first).
 */
export type SchedulerCompat = '2.1' | '3.0';

export interface ScheduleOptions {
  scores?: boolean;
  /** Default '3.0'. */
  compat?: SchedulerCompat;
}

/** Unpack the CIB at `now` (seconds since the epoch) and compute the transition. */
export function schedule(cib: Cib, now: number, opts: ScheduleOptions = {}): ScheduleResult {
  const ws = unpack(cib, now);
  const scores = placeResources(ws, !!opts.scores, opts.compat ?? '3.0');
  const { graph, summary, fences } = buildGraph(ws);
  const actions = executableActions(graph);
  const fenceAction = clusterOption(unpackNvSets(ws.cib.configuration.crmConfig, { now }), 'fencing-action') ?? 'reboot';
  const fenceLines = [...fences].reverse().map((f) => `  * Fence (${fenceAction}) ${f.node!.name} '${f.reason}'`);
  return { ws, graph, summary, summaryLines: [...fenceLines, ...formatSummary(summary)], actions, scores, diagnostics: ws.diagnostics };
}

export { unpack } from './unpack.js';
export type { WorkingSet } from './unpack.js';
export { simulateTransition } from './simulate.js';
