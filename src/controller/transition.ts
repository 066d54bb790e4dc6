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
  /** Dispatched non-pseudo actions not yet answered, per node ('' for none): for batch-limit and node-action-limit. */
  private readonly runningOn = new Map<string, number>();
  private running = 0;
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
    const cycle = findCycle(actions, this.dependents);
    if (cycle) throw new Error(`transition ${id}: ordering cycle among actions ${cycle.join(', ')}`);
    for (const a of actions) this.pendingInputs.set(a.id, new Set(a.inputs).size);
    // A stack: filled backwards so that the graph's first actions go first when a limit holds some back.
    for (let i = actions.length - 1; i >= 0; i--) if (this.pendingInputs.get(actions[i]!.id) === 0) this.readyQueue.push(actions[i]!.id);
    this.checkComplete();
  }

  get status(): TransitionState {
    return this.state;
  }

  /**
   * Actions to send now: resource and cluster actions whose inputs are all
   * complete and that were not sent yet. Pseudo actions on the way are
   * completed here, so the caller only ever sees real work. `admit` may
   * hold an action back for a later call (the caller's limits), or hold it
   * and everything after it back ('stop').
   */
  ready(admit: (action: GraphAction) => boolean | 'stop' = () => true): GraphAction[] {
    if (this.state !== 'running') return [];
    const out: GraphAction[] = [];
    const heldBack: number[] = [];
    while (this.readyQueue.length > 0) {
      const id = this.readyQueue.pop()!;
      if (this.dispatched.has(id)) continue;
      const action = this.actions.get(id)!;
      const verdict = action.kind === 'pseudo' || admit(action);
      if (verdict === 'stop') {
        heldBack.push(id);
        break;
      }
      if (!verdict) {
        heldBack.push(id);
        continue;
      }
      this.dispatched.add(id);
      if (action.kind === 'pseudo') this.markCompleted(id);
      else {
        this.changeRunning(action, 1);
        out.push(action);
      }
    }
    // Held back by the caller's limits: ready again at the next call, in the same order.
    for (let i = heldBack.length - 1; i >= 0; i--) this.readyQueue.push(heldBack[i]!);
    this.checkComplete();
    return out.sort((a, b) => a.id - b.id);
  }

  /** Actions ready but held back by the caller's limits at the last ready(). */
  get waiting(): number {
    return this.state === 'running' ? this.readyQueue.length : 0;
  }

  /** Dispatched actions not yet answered: all of them, or one node's. */
  runningCount(node?: string): number {
    return node === undefined ? this.running : this.runningOn.get(node) ?? 0;
  }

  /** A result came back. Unknown or late results are ignored (returns false). */
  complete(actionId: number, rc: number): boolean {
    const action = this.actions.get(actionId);
    if (!action || !this.dispatched.has(actionId) || this.completed.has(actionId) || this.failed.has(actionId)) return false;
    this.changeRunning(action, -1);
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

  private changeRunning(action: GraphAction, by: number): void {
    if (action.kind === 'pseudo') return;
    this.running += by;
    const node = action.node ?? '';
    this.runningOn.set(node, (this.runningOn.get(node) ?? 0) + by);
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
function findCycle(actions: GraphAction[], dependents: Map<number, number[]>): number[] | undefined {
  const pending = new Map<number, number>();
  for (const a of actions) pending.set(a.id, new Set(a.inputs).size);
  const queue = actions.filter((a) => pending.get(a.id) === 0).map((a) => a.id);
  let done = 0;
  while (queue.length > 0) {
    const id = queue.pop()!;
    done++;
    // An input listed twice counts once (as in pending), so its dependents are taken once each.
    for (const d of new Set(dependents.get(id) ?? [])) {
      const left = pending.get(d)! - 1;
      pending.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  if (done === actions.length) return undefined;
  return [...pending].filter(([, n]) => n > 0).map(([id]) => id).sort((a, b) => a - b);
}
