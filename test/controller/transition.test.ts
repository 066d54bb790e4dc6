import { describe, expect, it } from 'vitest';
import { TransitionRunner, type GraphAction } from '../../src/controller/transition.js';

const act = (id: number, task: string, inputs: number[] = [], extra: Partial<GraphAction> = {}): GraphAction => ({
  id, kind: 'rsc', task, rsc: 'r', node: 'n1', intervalMs: 0, inputs, targetRc: 0, ...extra,
});

describe('transition runner', () => {
  it('runs actions in dependency order, completing pseudo actions itself', () => {
    // stop A -> (pseudo clone_stopped) -> start B -> monitor B
    const t = new TransitionRunner(1, [
      act(1, 'stop'),
      act(2, 'clone_stopped', [1], { kind: 'pseudo' }),
      act(3, 'start', [2]),
      act(4, 'monitor', [3], { intervalMs: 10_000 }),
    ]);
    expect(t.ready().map((a) => a.id)).toEqual([1]);
    expect(t.ready()).toEqual([]); // nothing twice
    t.complete(1, 0);
    expect(t.ready().map((a) => a.id)).toEqual([3]);
    t.complete(3, 0);
    expect(t.ready().map((a) => a.id)).toEqual([4]);
    expect(t.status).toBe('running');
    t.complete(4, 0);
    expect(t.status).toBe('complete');
  });

  it('treats a probe finding nothing (rc 7) as the expected result', () => {
    const t = new TransitionRunner(2, [act(1, 'monitor', [], { targetRc: 7 }), act(2, 'start', [1])]);
    t.ready();
    t.complete(1, 7);
    expect(t.ready().map((a) => a.id)).toEqual([2]);
  });

  it('aborts on an unexpected result and dispatches nothing more', () => {
    const t = new TransitionRunner(3, [act(1, 'start'), act(2, 'start', [], { rsc: 's' }), act(3, 'monitor', [1])]);
    expect(t.ready().map((a) => a.id)).toEqual([1, 2]);
    t.complete(1, 1);
    expect(t.status).toBe('aborted');
    expect(t.snapshot().abortReason).toMatch(/r start on n1 returned rc 1 \(expected 0\)/);
    expect(t.ready()).toEqual([]);
    expect(t.inFlight().map((a) => a.id)).toEqual([2]);
  });

  it('ignores late and unknown results', () => {
    const t = new TransitionRunner(4, [act(1, 'start'), act(2, 'start', [1])]);
    expect(t.complete(1, 0)).toBe(false); // not dispatched yet
    t.ready();
    expect(t.complete(9, 0)).toBe(false);
    expect(t.complete(1, 0)).toBe(true);
    expect(t.complete(1, 0)).toBe(false);
  });

  it('refuses a graph with an ordering cycle, naming the actions', () => {
    expect(() => new TransitionRunner(5, [act(1, 'start', [3]), act(2, 'start', [1]), act(3, 'start', [2]), act(4, 'stop')])).toThrow(
      /ordering cycle among actions 1, 2, 3/,
    );
  });

  it('handles a long chain (a group of 20,000 members) without deep recursion', () => {
    const n = 20_000;
    const actions = Array.from({ length: n }, (_, i) => act(i, 'start', i ? [i - 1] : []));
    const t = new TransitionRunner(6, actions);
    for (let i = 0; i < n; i++) {
      const ready = t.ready();
      expect(ready.length).toBe(1);
      t.complete(ready[0]!.id, 0);
    }
    expect(t.status).toBe('complete');
  });
});
