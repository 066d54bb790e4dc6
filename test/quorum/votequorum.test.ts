/** votequorum rules, data-driven: each row is a configuration and a sequence of memberships. */
import { describe, expect, it } from 'vitest';
import { VoteQuorum, QuorumError, type QuorumConfig } from '../../src/quorum/votequorum.js';

const votes = (n: number, v: Record<number, number> = {}) => new Map(Array.from({ length: n }, (_, i) => [i + 1, v[i + 1] ?? 1]));

interface Row {
  name: string;
  cfg: Omit<QuorumConfig, 'nodeId'>;
  /** membership → expected quorate (and optionally expected_votes after it) */
  steps: Array<{ members: number[]; quorate: boolean; expected?: number; lms?: true }>;
}

const rows: Row[] = [
  {
    name: '3 nodes: 2 of 3 is quorate, 1 is not',
    cfg: { votes: votes(3) },
    steps: [
      { members: [1], quorate: false },
      { members: [1, 2], quorate: true },
      { members: [1, 2, 3], quorate: true },
      { members: [3], quorate: false },
    ],
  },
  {
    name: '4 nodes: an even split is not quorate',
    cfg: { votes: votes(4) },
    steps: [
      { members: [1, 2], quorate: false },
      { members: [1, 2, 3], quorate: true },
    ],
  },
  {
    name: 'weighted votes',
    cfg: { votes: votes(3, { 1: 3 }) },
    steps: [
      { members: [1], quorate: true },
      { members: [2, 3], quorate: false },
    ],
  },
  {
    name: 'expected_votes above the node count',
    cfg: { votes: votes(3), expected_votes: 5 },
    steps: [
      { members: [1, 2], quorate: false },
      { members: [1, 2, 3], quorate: true },
    ],
  },
  {
    name: 'two_node: one of two is quorate, but only after both were seen (wait_for_all)',
    cfg: { votes: votes(2), two_node: true },
    steps: [
      { members: [1], quorate: false },
      { members: [1, 2], quorate: true },
      { members: [1], quorate: true },
    ],
  },
  {
    name: 'wait_for_all on 3 nodes',
    cfg: { votes: votes(3), wait_for_all: true },
    steps: [
      { members: [1, 2], quorate: false },
      { members: [1, 2, 3], quorate: true },
      { members: [1, 2], quorate: true },
      { members: [1], quorate: false },
    ],
  },
  {
    name: 'last_man_standing: expected votes shrink after the window',
    cfg: { votes: votes(5), last_man_standing: true },
    steps: [
      { members: [1, 2, 3, 4, 5], quorate: true, expected: 5 },
      { members: [1, 2, 3], quorate: true, expected: 5 },
      { members: [1, 2, 3], quorate: true, expected: 3, lms: true },
      { members: [1, 2], quorate: true, expected: 3 },
      { members: [1, 2], quorate: true, expected: 2, lms: true },
      { members: [1, 2, 3, 4, 5], quorate: true, expected: 5 },
    ],
  },
  {
    name: 'last_man_standing never lowers a non-quorate partition',
    cfg: { votes: votes(5), last_man_standing: true },
    steps: [
      { members: [1, 2], quorate: false, expected: 5 },
      { members: [1, 2], quorate: false, expected: 5, lms: true },
    ],
  },
];

describe('votequorum', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, row) => {
    const q = new VoteQuorum({ nodeId: 1, ...row.cfg });
    for (const s of row.steps) {
      if (s.lms) q.step({ type: 'timer', name: 'lms' });
      else q.step({ type: 'membership', members: s.members, ring: 'r' });
      const st = q.status();
      expect({ members: s.members, quorate: st.quorate }).toEqual({ members: s.members, quorate: s.quorate });
      if (s.expected !== undefined) expect(st.expectedVotes).toBe(s.expected);
    }
  });

  it('emits an event only when quorum or membership changes', () => {
    const q = new VoteQuorum({ nodeId: 1, votes: votes(3) });
    expect(q.step({ type: 'membership', members: [1, 2], ring: 'a' }).event?.quorate).toBe(true);
    expect(q.step({ type: 'membership', members: [1, 2], ring: 'b' }).event).toBeUndefined();
    expect(q.step({ type: 'membership', members: [1], ring: 'c' }).event?.quorate).toBe(false);
  });

  it('asks for the last_man_standing timer and reports flags like corosync', () => {
    const q = new VoteQuorum({ nodeId: 1, votes: votes(3), last_man_standing: true, last_man_standing_window: 1234 });
    q.step({ type: 'membership', members: [1, 2, 3], ring: 'a' });
    const out = q.step({ type: 'membership', members: [1, 2], ring: 'b' });
    expect(out.timers).toEqual([{ name: 'lms', ms: 1234 }]);
    expect(q.status().flags).toEqual(['Quorate', 'LastManStanding']);
    expect(q.status().quorum).toBe(2);
  });

  it('rejects bad configurations', () => {
    expect(() => new VoteQuorum({ nodeId: 1, votes: votes(3), two_node: true })).toThrow(QuorumError);
    expect(() => new VoteQuorum({ nodeId: 1, votes: new Map([[1, -1]]) })).toThrow(/bad votes/);
  });
});
