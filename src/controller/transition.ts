/**
 * Running one transition graph on the DC, as Pacemaker's controller does
 * with the scheduler's graph: an action is ready when every action it
 * depends on has completed; pseudo actions (orderings for groups and
 * clones) complete as soon as they are ready; a failed action, or any
 * change from outside, aborts the transition and the DC reschedules.
 *
 * Pure: no clock, no I/O. The shell sends `ready()` actions to nodes and
 * feeds results back with `complete()`.
 */

export interface GraphAction {
  id: number;
  /** rsc: run by an executor; pseudo: an ordering point; cluster: e.g. clear_failcount; fence: fence `node`. */
  kind: 'rsc' | 'pseudo' | 'cluster' | 'fence';
  task: string;
  rsc?: string;
  node?: string;
  intervalMs: number;
  /** Ids of actions that must complete first. */
  inputs: number[];
  /** The rc that counts as success (7 for a probe expected to find nothing). */
  targetRc: number;
  /** An optional action whose failure does not fail the transition. */
  optional?: boolean;
}

export type TransitionState = 'running' | 'complete' | 'aborted';

export interface TransitionSnapshot {
  id: number;
  state: TransitionState;
  dispatched: number[];
  completed: number[];
  failed: number[];
  abortReason?: string;
}

export class TransitionRunner {
  readonly id: number;
  private readonly actions = new Map<number, GraphAction>();
  private readonly dependents = new Map<number, number[]>();
  /** Inputs not yet completed, per action. */
  private readonly pendingInputs = new Map<number, number>();
  /** Actions whose inputs are all complete and that were not dispatched yet. */
  private readyQueue: number[] = [];
  private readonly dispatched = new Set<number>();
  private readonly completed = new Set<number>();
  private readonly failed = new Set<number>();
  private state: TransitionState = 'running';
  private abortReason: string | undefined;

  constructor(id: number, actions: GraphAction[]) {
    this.id = id;
    for (const a of actions) this.actions.set(a.id, a);
    for (const a of actions) {
      for (const input of a.inputs) {
        if (!this.actions.has(input)) throw new Error(`transition ${id}: action ${a.id} depends on unknown action ${input}`);
        const list = this.dependents.get(input) ?? [];
        list.push(a.id);
        this.dependents.set(input, list);
      }
    }
    const cycle = findCycle(actions);
    if (cycle) throw new Error(`transition ${id}: ordering cycle among actions ${cycle.join(', ')}`);
    for (const a of actions) {
      const pending = new Set(a.inputs).size;
      this.pendingInputs.set(a.id, pending);
      if (pending === 0) this.readyQueue.push(a.id);
    }
    this.checkComplete();
  }

  get status(): TransitionState {
    return this.state;
  }

  /**
   * Actions to send now: resource and cluster actions whose inputs are all
   * complete and that were not sent yet. Pseudo actions on the way are
   * completed here, so the caller only ever sees real work.
   */
  ready(): GraphAction[] {
    if (this.state !== 'running') return [];
    const out: GraphAction[] = [];
    while (this.readyQueue.length > 0) {
      const id = this.readyQueue.pop()!;
      if (this.dispatched.has(id)) continue;
      const action = this.actions.get(id)!;
      this.dispatched.add(id);
      if (action.kind === 'pseudo') this.markCompleted(id);
      else out.push(action);
    }
    this.checkComplete();
    return out.sort((a, b) => a.id - b.id);
  }

  /** A result came back. Unknown or late results are ignored (returns false). */
  complete(actionId: number, rc: number): boolean {
    const action = this.actions.get(actionId);
    if (!action || !this.dispatched.has(actionId) || this.completed.has(actionId) || this.failed.has(actionId)) return false;
    if (rc === action.targetRc || action.optional) {
      this.markCompleted(actionId);
      this.checkComplete();
    } else {
      this.failed.add(actionId);
      this.abort(`${action.rsc ?? action.task} ${action.task} on ${action.node ?? '?'} returned rc ${rc} (expected ${action.targetRc})`);
    }
    return true;
  }

  /** Stop dispatching: something changed; the DC will reschedule. */
  abort(reason: string): void {
    if (this.state !== 'running') return;
    this.state = 'aborted';
    this.abortReason = reason;
  }

  /** Actions sent but not yet answered (the DC waits for them before the next transition). */
  inFlight(): GraphAction[] {
    return [...this.dispatched]
      .filter((id) => !this.completed.has(id) && !this.failed.has(id))
      .map((id) => this.actions.get(id)!)
      .filter((a) => a.kind !== 'pseudo');
  }

  snapshot(): TransitionSnapshot {
    const s: TransitionSnapshot = {
      id: this.id,
      state: this.state,
      dispatched: [...this.dispatched].sort((a, b) => a - b),
      completed: [...this.completed].sort((a, b) => a - b),
      failed: [...this.failed].sort((a, b) => a - b),
    };
    if (this.abortReason !== undefined) s.abortReason = this.abortReason;
    return s;
  }

  private markCompleted(id: number): void {
    this.completed.add(id);
    for (const dep of new Set(this.dependents.get(id) ?? [])) {
      const left = this.pendingInputs.get(dep)! - 1;
      this.pendingInputs.set(dep, left);
      if (left === 0) this.readyQueue.push(dep);
    }
  }

  private checkComplete(): void {
    if (this.state === 'running' && this.completed.size === this.actions.size) this.state = 'complete';
  }
}

/** Actions caught in an ordering cycle (Kahn's algorithm), or undefined. */
function findCycle(actions: GraphAction[]): number[] | undefined {
  const pending = new Map<number, number>();
  const dependents = new Map<number, number[]>();
  for (const a of actions) {
    const inputs = new Set(a.inputs);
    pending.set(a.id, inputs.size);
    for (const i of inputs) dependents.set(i, [...(dependents.get(i) ?? []), a.id]);
  }
  const queue = actions.filter((a) => pending.get(a.id) === 0).map((a) => a.id);
  let done = 0;
  while (queue.length > 0) {
    const id = queue.pop()!;
    done++;
    for (const d of dependents.get(id) ?? []) {
      const left = pending.get(d)! - 1;
      pending.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  if (done === actions.length) return undefined;
  return [...pending].filter(([, n]) => n > 0).map(([id]) => id).sort((a, b) => a - b);
}
