/**
 * Second half of the simulator sweep, exact replay, convergence bound, and
 * tests of the checker itself (a broken core must be caught).
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../src/sim/sim.js';
import type { ConfChg } from '../../src/totem/core.js';
import type { StackOutput } from '../../src/totem/stack.js';
import { BASE, SEEDS, sweep } from './sim-sweep.js';

const half = Math.ceil(SEEDS / 2);
const rest = SEEDS - half;
const per = Math.min(200, rest); // the codec chunk

describe('totem simulator, seeds of the second half', () => {
  it(`seeds ${BASE + half}..${BASE + half + per - 1} (wire codec): no invariant violations`, () => sweep(BASE + half, per, true));
  it(`seeds ${BASE + half + per}..${BASE + SEEDS - 1}: no invariant violations`, () => sweep(BASE + half + per, rest - per, false));
});

describe('totem simulator', () => {
  it('replays a seed exactly', () => {
    const a = runSeed(4242, { trace: true });
    const b = runSeed(4242, { trace: true });
    expect(a.trace.length).toBeGreaterThan(100);
    expect(b.trace).toEqual(a.trace);
    expect(b.delivered).toBe(a.delivered);
  });

  it('converges quickly after the heal (median under 1 s simulated)', () => {
    const conv: number[] = [];
    for (let s = 9000; s < 9100; s++) {
      const r = runSeed(s);
      expect(r.convergedAt).not.toBeNull();
      conv.push(r.convergedAt!);
    }
    conv.sort((a, b) => a - b);
    expect(conv[50]!).toBeLessThan(1000);
  });
});

describe('totem simulator with other timer settings', () => {
  const sets = [
    { token: 100, consensus: 120, join: 20, merge: 100 },
    { token: 1000, consensus: 1200 },
    { max_messages: 3, window_size: 8 },
    { token_retransmits_before_loss_const: 1 },
  ];
  it.each(sets.map((t) => [JSON.stringify(t), t] as const))('%s: 20 seeds, no violations', (_n, timers) => {
    const bad: string[] = [];
    for (let s = 50_001; s <= 50_020; s++) {
      const r = runSeed(s, { timers, convergeMs: 15_000 });
      if (r.violations.length > 0) bad.push(`seed ${s}: ${r.violations[0]}`);
    }
    expect(bad).toEqual([]);
  });
});

describe('the checker catches broken cores', () => {
  it('flags a node that delivers out of order', () => {
    let hits = 0;
    for (let s = 1; s <= 20; s++) {
      const r = runSeed(s, {
        mutate: (node, out) => {
          if (node === 1 && out.events.filter((e) => e.type === 'deliver').length >= 2) out.events.reverse();
        },
      });
      if (r.violations.some((v) => /sender order|others delivered/.test(v))) hits++;
    }
    expect(hits).toBeGreaterThan(10);
  });

  it('flags a duplicate delivery', () => {
    const r = runSeed(7, {
      mutate: (node, out) => {
        const d = out.events.find((e) => e.type === 'deliver');
        if (node === 2 && d) out.events.push(d);
      },
    });
    expect(r.violations.some((v) => /twice/.test(v))).toBe(true);
  });

  it('flags disagreement on membership', () => {
    const r = runSeed(3, {
      nodes: 3,
      mutate: (node, out) => {
        for (const c of confchgs(out)) if (node === 3 && c.kind === 'regular' && c.members.length > 1) c.members = c.members.slice(1);
      },
    });
    expect(r.violations.some((v) => /installed members|without itself/.test(v))).toBe(true);
  });

  it('flags a lost message (a node that silently drops deliveries)', () => {
    const r = runSeed(11, {
      mutate: (node, out, now) => {
        if (node === 1 && now > 1000) out.events = out.events.filter((e) => e.type !== 'deliver');
      },
    });
    expect(r.violations.length).toBeGreaterThan(0);
  });

  it('flags quorum claimed by disjoint partitions', () => {
    // Pretend node 1 always sees itself alone (and so quorate if it had votes for it).
    const r = runSeed(5, {
      nodes: 3,
      mutate: (node, out) => {
        for (const c of confchgs(out)) if (node === 1 && c.kind === 'regular') c.members = [1, 2];
        for (const c of confchgs(out)) if (node === 3 && c.kind === 'regular') c.members = [3, 2];
      },
    });
    expect(r.violations.some((v) => /disjoint|installed members/.test(v))).toBe(true);
  });
});

function confchgs(out: StackOutput): ConfChg[] {
  return out.events.flatMap((e) => (e.type === 'confchg' ? [e.confchg] : []));
}
